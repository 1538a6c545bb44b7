"""``list`` on a PostgreSQL or MariaDB ledger reads its last runs through the driver alone
(:mod:`opsctl.ledger.serverglance`): the answers the ledger gives, one statement per page of
keys walking the script index once a key, no SQLAlchemy; and whenever that would not be the
whole truth or the URL says more than it reads, the ledger as before.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from bench import fill_ledger
from conftest import (
    MARIADB_SERVER,
    MARIADB_VARIABLE,
    PG_SERVER,
    PG_VARIABLE,
    server_database,
    write,
)
from test_ledger_glance import KEYS, PROBE

from opsctl.errors import LedgerUnreachable
from opsctl.ledger.facts import SCHEMA_VERSION
from opsctl.ledger.glance import _SEEN
from opsctl.ledger.serverglance import ServerGlance, WireGlance, connect_args, server_glance
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_libpq_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq's variables send a read to the driver (:mod:`opsctl.ledger.pgwire`): none
    here, unless a test sets one."""
    for name in [k for k in os.environ if k.startswith("PG")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL or MariaDB ledger of 2,000 runs over :data:`KEYS`, a move, an absorption
    and a run under the moved name, its statistics up to date."""
    server = (PG_SERVER, PG_VARIABLE) if request.param == "postgresql" else \
        (MARIADB_SERVER, MARIADB_VARIABLE)
    for url in server_database(*server):
        fill_ledger(url, 2_000, KEYS, tail=50)
        with Ledger.open(url) as book:
            book.record_move(KEYS[0], "unrecycle/job_00", "alice")
            book.record_absorb(KEYS[1], "unrecycle/job_00", "bob")
            run = book.start(script=KEYS[0], process=Process.current("carol"), args=[])
            book.finish(run, status="succeeded", exit_code=0, output_tail="tail\n")
            with book.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE" if url.startswith("postgres") else
                                     "ANALYZE TABLE opsctl_runs")
        yield url


@pytest.fixture
def reader(pg_url: str, tmp_path: Path) -> Iterator[ServerGlance]:
    found = server_glance(pg_url, str(tmp_path / "journal"))
    assert found is not None
    try:
        yield found
    finally:
        found.close()


def test_it_answers_as_the_ledger_does(pg_url: str, reader: ServerGlance) -> None:
    keys = [*KEYS, "unrecycle/job_00", "recycle/none"]
    with Ledger.open(pg_url) as book:
        expected = book.last_runs(keys)
    assert reader.last_runs(keys) == expected and "unrecycle/job_00" in expected
    assert reader.last_seen(keys) == {
        key: (r.started_at, r.operator, r.status, r.dry_run) for key, r in expected.items()}
    assert reader.last_runs(["recycle/none"]) == {} and reader.last_seen([]) == {}


def test_the_last_runs_are_one_read_of_the_latest_runs_or_a_walk_per_key(
        pg_url: str, reader: ServerGlance) -> None:
    """PostgreSQL: one read of the table the ledger keeps (:mod:`opsctl.ledger.latest`), no
    walk of the runs. MariaDB, which keeps none: one walk of the script index per key."""
    if pg_url.startswith("postgres"):
        traced: list[str] = []
        execute = reader._execute

        def trace(sql: str, params: Sequence[Any] = ()) -> Any:
            traced.append(sql)
            return execute(sql, params)

        reader._execute = trace  # type: ignore[method-assign]
        assert reader.last_seen(KEYS[2:])
        assert len(traced) == 2 and "opsctl_moves" in traced[0], traced
        assert "FROM opsctl_latest" in traced[1] and "opsctl_runs" not in traced[1], traced
        return
    statement, params = reader._page(KEYS, _SEEN)
    found = reader._execute(f"EXPLAIN {statement}", params).fetchall()
    # MariaDB: table, access type, key and extra of each step.
    steps = [(row[2], row[3], row[5], row[9] or "") for row in found]
    assert ("x", "ref", "ix_opsctl_runs_script_start") in [s[:3] for s in steps], steps
    assert not [s for s in steps if s[0] in ("x", "opsctl_runs") and
                (s[1] == "ALL" or "filesort" in s[3])], steps
    assert statement.count("%s") == len(KEYS)


def test_it_reads_only_what_is_all_there_is(pg_url: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    write(journal / "0123456789abcdef-run-9.json", "{}")
    assert server_glance(pg_url, str(journal)) is None  # the ledger records it first
    (journal / "0123456789abcdef-run-9.json").unlink()
    assert server_glance(pg_url + "?sslmode=require", str(journal)) is None
    assert server_glance(pg_url.replace("+psycopg", "+pg8000").replace("+pymysql", "+mysqldb"),
                         str(journal)) is None
    assert server_glance(pg_url.rsplit("/", 1)[0] + "/no_such_db", str(journal)) is None
    if pg_url.startswith("postgres"):
        # A driver the URL names must be installed, as the ledger needs it, even where the
        # read would not use it.
        import importlib.util

        other = server_glance(pg_url.replace("+psycopg", "+psycopg2"), str(journal))
        assert (other is None) == (importlib.util.find_spec("psycopg2") is None)
        if other is not None:
            other.close()
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)  # not the ledger, which would upgrade it
    try:
        for version in (SCHEMA_VERSION - 1, SCHEMA_VERSION):
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE opsctl_meta SET value = %s WHERE name = 'schema'",
                                     (str(version),))
            # An older ledger is the ledger's to upgrade; this opsctl's is read here.
            found = server_glance(pg_url, str(journal))
            assert (found is None) == (version < SCHEMA_VERSION)
            if found is not None:
                found.close()
    finally:
        engine.dispose()


def test_urls_are_read_as_sqlalchemy_reads_them() -> None:
    import sqlalchemy as sa

    for url in ("postgresql://al%40ice:p%3Ass@db.example:6543/led%20ger",
                "postgres://bob@[::1]/x", "postgresql+psycopg2://h/d", "postgresql:///d"):
        parsed = sa.engine.make_url(url)
        found = connect_args(url)
        assert found is not None
        args: dict[str, Any] = found[1]
        assert (args.get("user"), args.get("password"), args.get("host"), args.get("port"),
                args.get("dbname")) == (parsed.username, parsed.password, parsed.host,
                                        parsed.port, parsed.database), url
    assert connect_args("postgresql+psycopg2://h/d")[0] == "psycopg2"  # type: ignore[index]
    assert connect_args("mariadb+pymysql://u:p@db/x") == ("pymysql", {
        "connect_timeout": 5, "user": "u", "password": "p", "host": "db", "database": "x",
        "charset": "utf8mb4", "init_command": "SET SESSION TRANSACTION READ ONLY"})
    assert connect_args("mysql+mysqldb://h/d")[0] == "MySQLdb"  # type: ignore[index]
    for other in ("postgresql://h/d?host=/tmp", "mysql+pymysql://h/d?ssl_ca=x",
                  "postgresql+asyncpg://h/d", "sqlite:///x.db"):
        assert connect_args(other) is None, other


def test_list_on_it_imports_no_sqlalchemy(pg_url: str, project: Path, tmp_path: Path) -> None:
    for key in KEYS:
        write(project / "offline_script" / f"{key}.py", f'"""Run {key}."""\n')
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{pg_url}"\n',
                                            encoding="utf-8")
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), "list"], cwd=project,
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.count(" carol ") + proc.stdout.count(" bob ") + \
        proc.stdout.count(" alice ") >= len(KEYS) - 2, proc.stdout
    modules = json.loads(out.read_text(encoding="utf-8"))
    assert [m for m in modules if m.split(".")[0] == "sqlalchemy"] == []
    if pg_url.startswith("postgres"):  # a server on this machine: no driver either
        assert "opsctl.ledger.pgwire" in modules
        assert [m for m in modules if m.split(".")[0] in ("psycopg", "psycopg2")] == []
    else:
        assert "pymysql" in modules


@pytest.mark.parametrize("pg_url", ["postgresql"], indirect=True)
def test_the_driver_answers_alike_where_the_wire_client_does_not_go(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [*KEYS, "unrecycle/job_00", "recycle/none"]
    wire = server_glance(pg_url, str(tmp_path))
    monkeypatch.setenv("PGAPPNAME", "opsctl-test")  # libpq reads it: the driver connects
    driver = server_glance(pg_url, str(tmp_path))
    assert isinstance(wire, WireGlance) and type(driver) is ServerGlance
    try:
        assert wire.last_seen(keys) == driver.last_seen(keys)
        assert wire.last_runs(keys) == driver.last_runs(keys)
    finally:
        wire.close()
        driver.close()


@pytest.mark.parametrize("pg_url", ["postgresql"], indirect=True)
def test_a_value_holding_a_separator_is_read_whole(pg_url: str, tmp_path: Path) -> None:
    """The table's last runs come as one text split on control characters
    (:meth:`WireGlance._latest`); an operator named with them is read cell by cell."""
    keys = [*KEYS, "unrecycle/job_00"]
    with Ledger.open(pg_url) as book:
        for operator in ("odd\x1fname", "odd\x1ename"):
            run = book.start(script=KEYS[5], process=Process.current(operator), args=[])
            book.finish(run, status="failed", exit_code=1, output_tail="")
            expected = book.last_runs(keys)
            reader = server_glance(pg_url, str(tmp_path))
            assert isinstance(reader, WireGlance)
            try:
                seen = reader.last_seen(keys)
            finally:
                reader.close()
            assert seen[KEYS[5]].operator == operator
            assert seen == {key: (r.started_at, r.operator, r.status, r.dry_run)
                            for key, r in expected.items()}


@pytest.fixture
def nothing_listens() -> Iterator[int]:
    """A port on this machine bound by no server (connecting is refused)."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


@pytest.mark.parametrize(("url", "driver"), [
    ("postgresql+psycopg://postgres:se%40cret@127.0.0.1:{port}/x", False),
    ("postgresql://postgres@localhost:{port}/x", False),
    ("postgresql+psycopg://postgres:se%40cret@127.0.0.1:{port}/x", True),  # libpq's
    ("postgresql://postgres@localhost:{port}/x", True),
    ("mysql+pymysql://root:secret@127.0.0.1:{port}/x", False)])
def test_a_server_that_is_down_is_said_once(url: str, driver: bool, nothing_listens: int,
                                            project: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a glance that gives up, then the ledger connecting again (and waiting again,
    for a host that does not answer): the first refusal is the ledger's warning, at once,
    without SQLAlchemy."""
    url = url.format(port=nothing_listens)
    if driver:
        monkeypatch.setenv("PGAPPNAME", "opsctl-test")  # libpq reads it: psycopg connects
    with pytest.raises(LedgerUnreachable) as caught:
        server_glance(url, str(tmp_path))
    message = caught.value.format_message()
    assert f":{nothing_listens}/x is unreachable" in message and "secret" not in message
    assert "refused" in message.lower() or "can't connect" in message.lower(), message
    for key in KEYS[:3]:
        write(project / "offline_script" / f"{key}.py", f'"""Run {key}."""\n')
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCTL_")}
    env.update(OPSCTL_LEDGER_URL=url)
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), "list"], cwd=project,
                          check=False, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning: ") == 1 and "is unreachable (" in proc.stderr
    assert "listing without last runs" in proc.stderr and "secret" not in proc.stderr
    assert all(key in proc.stdout for key in KEYS[:3])
    modules = json.loads(out.read_text(encoding="utf-8"))
    assert [m for m in modules if m.split(".")[0] == "sqlalchemy"] == []
    assert ("psycopg" in modules) == driver


def test_a_connection_begun_before_the_walk_is_the_one_read(pg_url: str, tmp_path: Path) -> None:
    """``list`` begins its connection before walking the tree: the glance finishes that one
    (none left begun); one begun and not read is closed by forget; a begun connection the
    server refuses is no glance, as an unbegun one."""
    from opsctl.ledger import serverglance

    journal = str(tmp_path / "journal")
    with Ledger.open(pg_url) as book:
        expected = book.last_runs(KEYS)
    serverglance.prepare(pg_url)
    begun = serverglance._BEGUN.get(pg_url)
    assert (begun is not None) == pg_url.startswith("postgres")  # pgwire's only
    found = server_glance(pg_url, journal)
    assert found is not None and serverglance._BEGUN == {}
    try:
        if begun is not None:
            assert found._conn is begun
        assert {k: r.started_at for k, r in found.last_runs(KEYS).items()} == \
            {k: r.started_at for k, r in expected.items()}
    finally:
        found.close()
    if begun is None:
        return
    serverglance.prepare(pg_url)
    unused = serverglance._BEGUN[pg_url]
    serverglance.forget()
    assert serverglance._BEGUN == {} and unused._sock.fileno() == -1
    elsewhere = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    serverglance.prepare(elsewhere)
    assert elsewhere in serverglance._BEGUN
    assert server_glance(elsewhere, journal) is None and serverglance._BEGUN == {}
