"""Shared fixtures: a CLI runner, throwaway projects, and ledger databases.

Ledger databases: ``ledger_url`` is parametrized over SQLite, PostgreSQL and MariaDB. Each test
gets a database of its own, created and dropped around it. Locally, a server that cannot be
reached skips its tests with the reason; under ``CI=true`` it fails them instead.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from opsctl.cli.group import cli

PG_SERVER = os.environ.get("OPSCTL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
MARIADB_SERVER = os.environ.get("OPSCTL_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner) -> Callable[..., Result]:
    """``invoke(project_dir, "list", "--json")``: run opsctl on a project, never chdir."""

    def _invoke(project_dir: Path, *args: str, input: str | None = None,
                env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, ["--project", str(project_dir), *args], input=input,
                             env=env, catch_exceptions=False)

    return _invoke


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty opsctl project: pyproject.toml with [tool.opsctl] and the layout."""
    proj = tmp_path / "proj"
    for folder in ("offline_script/recycle", "offline_script/unrecycle"):
        (proj / folder).mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    return proj


def write(path: Path, text: str = '"""A script."""\n') -> Path:
    """Create a file and its folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` as a fixed test identity; its stdout."""
    import subprocess

    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own git configuration (signing, hooks, default branch) and any
    GIT_DIR-style variables out of a test's git repositories."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def _unreachable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable ({type(exc).__name__}: {exc})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it (.ci/run starts it)")
    pytest.skip(message)


def _server_database(server_url: str, what: str) -> Iterator[str]:
    import sqlalchemy as sa

    name = f"opsctl_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = sa.create_engine(server_url + ("/postgres" if "postgresql" in server_url
                                               else "/test"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # any driver error means the server is not usable here
        _unreachable(what, exc)
    try:
        yield f"{server_url}/{name}"
    finally:
        with admin.connect() as conn:
            if "postgresql" in server_url:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


#: The server databases make a test slow: the quick subset (-m "not slow") runs on SQLite alone.
LEDGER_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow),
                    pytest.param("mariadb", marks=pytest.mark.slow)]


@pytest.fixture(params=LEDGER_DATABASES)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL for a ledger, on each of the three databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    elif request.param == "postgresql":
        yield from _server_database(PG_SERVER, "PostgreSQL at 127.0.0.1:5432")
    else:
        yield from _server_database(MARIADB_SERVER, "MariaDB at 127.0.0.1:3306")


@pytest.fixture
def python() -> str:
    """The interpreter running the tests, for real subprocesses."""
    return sys.executable
