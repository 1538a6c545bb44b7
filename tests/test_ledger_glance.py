"""``history`` and ``list`` on a SQLite ledger read it without SQLAlchemy (``glance``), with
the answers the ledger gives and the same limited walks of its indexes; and whenever that would
not be the whole truth (a journal entry to record, a run to reap, an older schema), they open
the ledger as before. The command itself is traced: ``history`` sends one statement on the
runs, with its LIMIT, that walks an index (SQLite and, through the ledger, PostgreSQL and
MariaDB).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from bench import fill_ledger
from click.testing import Result
from conftest import write
from test_ledger_scale import assert_index_walk

from opsctl.ledger import glance as glance_module
from opsctl.ledger.facts import journal_folder
from opsctl.ledger.glance import COLUMNS, Glance, glance
from opsctl.ledger.processes import node_id
from opsctl.ledger.schema import RUNS
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process

KEYS = [f"recycle/job_{i:02d}" for i in range(40)]


def test_the_columns_are_the_schemas() -> None:
    assert COLUMNS == tuple(c.name for c in RUNS.c)


@pytest.fixture
def sqlite_project(project: Path) -> Path:
    """A project with 40 recycle scripts and a default SQLite ledger of 2,000 runs."""
    for key in KEYS:
        write(project / "offline_script" / f"{key}.py", f'"""Run {key}."""\n')
    (project / "instance").mkdir()
    fill_ledger(f"sqlite:///{project / 'instance' / 'opsctl.sqlite3'}", 2_000, KEYS, tail=50)
    return project


def url_of(project: Path) -> str:
    return f"sqlite:///{project / 'instance' / 'opsctl.sqlite3'}"


def look(project: Path, *, reaping: bool = False) -> Glance | None:
    return glance(url_of(project), journal_folder(str(project)), reaping=reaping)


def test_a_glance_answers_as_the_ledger_does(sqlite_project: Path) -> None:
    """Moves, an absorption, a reused name: every read history and list make, both ways."""
    url = url_of(sqlite_project)
    with Ledger.open(url) as book:
        book.record_move(KEYS[0], "unrecycle/job_00", "alice")
        book.record_absorb(KEYS[1], "unrecycle/job_00", "bob")
        run = book.start(script=KEYS[0], process=Process.current("carol"), args=[])
        book.finish(run, status="succeeded", exit_code=0, output_tail="tail\n")
        reader = look(sqlite_project, reaping=True)
        assert reader is not None
        try:
            for key in (None, "unrecycle/job_00", KEYS[0], KEYS[1], KEYS[5], "recycle/none"):
                for status in (None, "failed"):
                    for limit in (None, 20, 1):
                        args: dict[str, Any] = {"status": status, "limit": limit}
                        assert list(reader.iter_runs(key, **args)) == book.runs(key, **args)
                if key is not None:
                    assert list(reader.iter_runs(key, all_under_key=True)) == \
                        book.runs(key, all_under_key=True)
                    assert reader.owners(key) == book.owners(key)
                    assert reader.absorbed_spans(key) == book.absorbed_spans(key)
            keys = [*KEYS, "unrecycle/job_00", "recycle/none"]
            assert reader.last_runs(keys) == book.last_runs(keys)
            # What list's table reads of them: the same runs, four of their columns.
            assert reader.last_seen(keys) == {
                key: (r.started_at, r.operator, r.status, r.dry_run)
                for key, r in book.last_runs(keys).items()}
            assert reader.owners(KEYS[0]) == [("unrecycle/job_00", 50)]
            assert reader.run(run.id) == book.run(run.id) and reader.run(10**9) is None
        finally:
            reader.close()


def test_it_reads_only_what_is_all_there_is(sqlite_project: Path) -> None:
    """An older schema, a journal entry, a run to reap, a URL with options, another driver:
    no glance (the ledger upgrades, records, reaps); a live run is no reason."""
    assert look(sqlite_project) is not None
    url = url_of(sqlite_project)
    with Ledger.open(url) as book:
        live = book.start(script=KEYS[2], process=Process.current("alice"), args=[])
        assert look(sqlite_project, reaping=True) is not None
        with book.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE opsctl_locks SET pid = 999999999, node = ?",
                                 (node_id(),))
        assert look(sqlite_project, reaping=True) is None  # its holder is gone: reap first
        assert look(sqlite_project) is not None  # list does not reap
        with book.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM opsctl_locks")
        assert look(sqlite_project, reaping=True) is None  # running, without its lock
        book.finish(live, status="succeeded", exit_code=0)
    assert look(sqlite_project, reaping=True) is not None
    folder = Path(journal_folder(str(sqlite_project)))
    write(folder / "0123456789abcdef-run-9.json", "{}")
    assert look(sqlite_project) is None
    (folder / "0123456789abcdef-run-9.json").unlink()
    assert glance(url + "?timeout=5", str(folder)) is None
    assert glance(url.replace("sqlite:", "sqlite+pysqlcipher:"), str(folder)) is None
    assert glance(f"sqlite:///{sqlite_project / 'nothing.sqlite3'}", str(folder)) is None
    assert not (sqlite_project / "nothing.sqlite3").exists()
    with sqlite3.connect(sqlite_project / "instance" / "opsctl.sqlite3") as conn:
        conn.execute("UPDATE opsctl_meta SET value = '4' WHERE name = 'schema'")
    conn.close()
    assert look(sqlite_project) is None


#: Runs opsctl as the console script does and writes the modules it imported to argv[1].
PROBE = """
import atexit, json, sys
out, sys.argv = sys.argv[1], ["opsctl", *sys.argv[2:]]
atexit.register(lambda: json.dump(sorted(sys.modules), open(out, "w")))
from opsctl.cli.main import main
sys.exit(main())
"""


@pytest.mark.parametrize("args", [("history",), ("history", "--json", "--limit", "0"),
                                  ("history", KEYS[3], "--status", "failed"),
                                  ("history", "--run", "7"), ("list",), ("list", "--json")],
                         ids=" ".join)
def test_history_and_list_import_no_sqlalchemy(sqlite_project: Path, tmp_path: Path,
                                               args: tuple[str, ...]) -> None:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=sqlite_project,
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "recycle/job_" in proc.stdout or "run 7:" in proc.stdout
    modules = json.loads(out.read_text(encoding="utf-8"))
    assert [m for m in modules if m.split(".")[0] == "sqlalchemy"] == []
    if args == ("list", "--json"):
        listed = json.loads(proc.stdout)
        assert all(e["last_run"] is not None and "output_tail" not in e["last_run"]
                   for e in listed)


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent meanwhile: SQLite's own (``sqlite3``, with the parameters in
    them), the ledger's engines' (with their parameters, as ``(statement, params)``) and a
    server glance's (as ``("glance", statement, params)``)."""
    from opsctl.ledger.serverglance import ServerGlance

    seen: list[Any] = []
    real = sqlite3.connect
    execute = ServerGlance._execute

    def server(self: ServerGlance, sql: str, params: Any = ()) -> Any:
        seen.append(("glance", sql, params))
        return execute(self, sql, params)

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    def record(conn: object, cursor: object, statement: str, parameters: Any,
               context: object, executemany: bool) -> None:
        seen.append((statement, parameters))

    monkeypatch.setattr(glance_module._sqlite(), "connect", connect)
    monkeypatch.setattr(ServerGlance, "_execute", server)
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_history_sends_one_limited_walk_of_the_start_index(
        invoke: Callable[..., Result], sqlite_project: Path, traced: list[Any]) -> None:
    """``opsctl history`` on a default SQLite ledger: SQLite's plan of what it sends."""
    result = invoke(sqlite_project, "history")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 21
    on_runs = [s for s in traced if isinstance(s, str) and "FROM opsctl_runs" in s]
    assert not [s for s in traced if not isinstance(s, str)]  # nothing through SQLAlchemy
    assert len(on_runs) == 2, on_runs  # whether a run is to be reaped, then the history
    assert re.search(r"\bLIMIT 20$", on_runs[1]), on_runs[1]
    with sqlite3.connect(sqlite_project / "instance" / "opsctl.sqlite3") as conn:
        found = conn.execute(f"EXPLAIN QUERY PLAN {on_runs[1]}").fetchall()
    explained = "\n".join(str(r[-1]) for r in found)
    assert explained == "SCAN opsctl_runs USING INDEX ix_opsctl_runs_start", explained
    conn.close()


def test_history_on_a_server_ledger_sends_one_limited_index_walk(
        invoke: Callable[..., Result], project: Path, ledger_url: str,
        traced: list[Any]) -> None:
    """The same on each database, read by a server glance (:mod:`.serverglance`): one
    statement with its LIMIT, which the database runs as a walk of an index newest first."""
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{ledger_url}"\n',
                                            encoding="utf-8")
    fill_ledger(ledger_url, 2_000, KEYS, tail=50)
    with Ledger.open(ledger_url) as book, book.engine.begin() as conn:
        # Statistics up to date for the planner, as a server keeps them after a while.
        conn.exec_driver_sql("ANALYZE" if conn.dialect.name in ("sqlite", "postgresql")
                             else "ANALYZE TABLE opsctl_runs")
    traced.clear()
    result = invoke(project, "history")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 21
    on_runs = [s for s in traced if "opsctl_runs" in str(s) and "SELECT" in str(s)]
    history = on_runs[-1]
    if isinstance(history, str):  # SQLite, read without SQLAlchemy
        assert ledger_url.startswith("sqlite")
        return
    assert all(s[0] == "glance" for s in traced), traced  # nothing through SQLAlchemy
    _, statement, parameters = history
    assert re.search(r"\bLIMIT\b", statement) and "ORDER BY" in statement, statement
    with Ledger.open(ledger_url) as book:
        from test_ledger_scale import plan

        assert_index_walk(book, plan(book, statement, tuple(parameters)),
                          "ix_opsctl_runs_start")


@pytest.mark.parametrize("args", [("list", "--json"), ("list",)], ids=" ".join)
def test_list_reads_the_latest_runs_table_and_walks_no_script_index(
        invoke: Callable[..., Result], sqlite_project: Path, traced: list[Any],
        args: tuple[str, ...]) -> None:
    """``opsctl list``: the last runs of its 40 scripts in one statement on the table the
    ledger keeps of them (:mod:`opsctl.ledger.latest`), whatever the number of runs: the
    table's rows alone for the table's columns; for JSON, each run's row by its id, no output
    tail read. No walk of a script's runs."""
    result = invoke(sqlite_project, *args)
    assert result.exit_code == 0 and result.stdout.count("recycle/job_") >= len(KEYS)
    reads = [s for s in traced if isinstance(s, str) and "opsctl_latest" in s]
    assert len(reads) == 1 and "output_tail" not in reads[0], traced
    assert not [s for s in traced if isinstance(s, str) and "FROM opsctl_runs" in s], traced
    with sqlite3.connect(sqlite_project / "instance" / "opsctl.sqlite3") as conn:
        found = conn.execute(f"EXPLAIN QUERY PLAN {reads[0]}").fetchall()
    conn.close()
    explained = "\n".join(str(r[-1]) for r in found)
    assert "ix_opsctl_runs" not in explained and "TEMP B-TREE" not in explained, explained
    if "--json" in args:
        assert "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)" in explained, explained
    else:
        assert "opsctl_runs" not in reads[0] and explained == "SCAN opsctl_latest", explained
