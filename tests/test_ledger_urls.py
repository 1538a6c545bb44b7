"""Ledger URLs as they come: ``postgres://`` as hosting providers hand it out, a plain
``postgresql://`` on whichever PostgreSQL driver is installed, and whether two URLs name one
database (the ledger in the app's own)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest
from conftest import PG_SERVER, PG_VARIABLE, REPO, server_database

from opsctl.ledger.engine import driver_url, make_engine, normal_url, same_database
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process

#: The test environment (the ``test`` extra) has psycopg 3 and not psycopg2, as
#: ``opsctl[postgres]`` does; the psycopg2-only case gets a virtual environment of its own.
ONLY_PSYCOPG = importlib.util.find_spec("psycopg2") is None


@pytest.mark.parametrize(("url", "normal"), [
    ("postgres://u:pw@db.example.com:5432/shop", "postgresql://u:***@db.example.com:5432/shop"),
    ("postgres+psycopg2://u@h/shop", "postgresql+psycopg2://u@h/shop"),
    ("postgresql+psycopg://u@h/shop", "postgresql+psycopg://u@h/shop"),
    ("mysql+pymysql://u@h/shop", "mysql+pymysql://u@h/shop"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_postgres_urls_are_read_as_postgresql(url: str, normal: str) -> None:
    assert normal_url(url).render_as_string(hide_password=True) == normal


def test_a_postgres_url_gets_the_installed_driver() -> None:
    assert ONLY_PSYCOPG, "the test extra installs psycopg 3 alone"
    assert driver_url("postgres://u@h/shop").drivername == "postgresql+psycopg"
    assert driver_url("postgresql://u@h/shop").drivername == "postgresql+psycopg"
    engine = make_engine("postgres://u@h/shop")  # refused before the fix: no 'postgres'
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    finally:
        engine.dispose()


@pytest.mark.parametrize(("first", "second", "same"), [
    ("postgres://app:pw@db.example.com/shop", "postgresql+psycopg://ops@db.example.com:5432/shop",
     True),
    ("postgresql://localhost/shop", "postgresql+psycopg://127.0.0.1/shop", True),
    ("postgresql:///shop", "postgresql://localhost:5432/shop", True),  # the local socket
    ("postgresql://h/shop", "postgresql://h/shop_ledger", False),
    ("postgresql://h/shop", "postgresql://h:5433/shop", False),
    ("postgresql://h/shop", "postgresql://other/shop", False),
    ("mysql+pymysql://root@h/shop", "mariadb+pymysql://root@h:3306/shop", True),
    ("mysql://h/shop", "postgresql://h/shop", False),
    ("sqlite:///{tmp}/a.db", "sqlite+pysqlite:///{tmp}/sub/../a.db", True),
    ("sqlite:///{tmp}/a.db", "sqlite:///{tmp}/b.db", False),
    ("sqlite://", "sqlite://", False),  # in memory: never one database
    ("sqlite:///:memory:", "sqlite:///:memory:", False),
    ("notaurl", "notaurl", False),
])
def test_same_database(tmp_path: Path, first: str, second: str, same: bool) -> None:
    (tmp_path / "sub").mkdir()
    first, second = first.format(tmp=tmp_path), second.format(tmp=tmp_path)
    assert same_database(first, second) is same
    assert same_database(second, first) is same


@pytest.mark.slow
def test_a_postgres_url_ledger_records_a_run() -> None:
    databases = server_database(PG_SERVER, PG_VARIABLE)
    url = next(databases)
    try:
        hosted = url.replace("postgresql+psycopg://", "postgres://")
        book = Ledger.open(hosted)
        try:
            run = book.start(script="recycle/x", process=Process.current("ann"), args=[])
            book.finish(run, status="succeeded", exit_code=0)
            assert [r.status for r in book.runs("recycle/x")] == ["succeeded"]
        finally:
            book.close()
    finally:
        databases.close()


PSYCOPG2_ONLY = """
import importlib.util, sys
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process

assert importlib.util.find_spec("psycopg") is None
for url in sys.argv[1:]:
    book = Ledger.open(url)
    try:
        run = book.start(script="recycle/x", process=Process.current("ann"), args=[])
        book.finish(run, status="succeeded", exit_code=0)
        print(book.engine.dialect.driver, len(book.runs("recycle/x")))
    finally:
        book.close()
"""


@pytest.mark.slow
def test_with_only_psycopg2_installed_a_plain_url_uses_it(tmp_path: Path) -> None:
    """A project whose app already talks to PostgreSQL through psycopg2, and no psycopg 3:
    ``postgresql://`` and ``postgres://`` ledgers use psycopg2."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir)  # without pip: this pip installs into it (--python), skipping ensurepip
    python = str(env_dir / "bin" / "python")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "psycopg2-binary",
         "sqlalchemy>=2.0", "click>=8.1"], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    databases = server_database(PG_SERVER, PG_VARIABLE)
    url = next(databases)
    try:
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        hosted = url.replace("postgresql+psycopg://", "postgres://")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCTL_", "PYTHON"))}
        env["PYTHONPATH"] = str(REPO)  # opsctl from the checkout, the drivers from the venv
        done = subprocess.run([python, "-c", textwrap.dedent(PSYCOPG2_ONLY), plain, hosted],
                              capture_output=True, text=True, env=env, timeout=120,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n") == ["psycopg2 1", "psycopg2 2", ""]
    finally:
        databases.close()
    assert sys.executable != python  # the test's own interpreter was never the one used
