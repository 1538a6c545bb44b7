"""The ledger's schema version and its in-place upgrades, from ledgers opsctl 0.1.0 wrote.

``fixtures/ledger-0.1.0.sqlite3`` is a ledger the 0.1.0 release wrote itself (three runs and
a promote); on PostgreSQL and MariaDB, the tables come from the DDL 0.1.0 sent
(``fixtures/ledger-0.1.0-*.sql``) with the same rows inserted. Every test takes
``ledger_url``, so each runs once per database.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from conftest import write
from runkit import engine_of, env, opsctl, write_project, write_script

from opsctl.errors import LEDGER_UNREACHABLE, LedgerTooNew
from opsctl.ledger.schema import RUNS
from opsctl.ledger.store import Ledger
from opsctl.ledger.upgrade import SCHEMA_VERSION, STEPS
from opsctl.ledger.values import Process

CURRENT = str(SCHEMA_VERSION)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: Version 2's index; version 5 replaces it (and the two 0.1.0 made) by :data:`INDEXES`.
INDEX = "ix_opsctl_runs_started_at"
#: The indexes of the runs table at the current version, one per read of the runs.
INDEXES = sorted(str(ix.name) for ix in RUNS.indexes)
#: The runs in the 0.1.0 ledger, newest first: (id, script, status).
OLD_RUNS = [(3, "alice/ts_2026_11_20_export_order", "succeeded"),
            (2, "recycle/fix_totals", "failed"),
            (1, "recycle/clear_cache", "succeeded")]



def load_0_1_0(url: str) -> None:
    """Make the (empty) database at ``url`` a ledger as opsctl 0.1.0 left it."""
    if url.startswith("sqlite"):
        shutil.copy(FIXTURES / "ledger-0.1.0.sqlite3", url.removeprefix("sqlite:///"))
        return
    name = "postgresql" if url.startswith("postgresql") else "mariadb"
    text = (FIXTURES / f"ledger-0.1.0-{name}.sql").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    with engine_of(url) as engine, engine.begin() as conn:
        for statement in filter(str.strip, code.split(";\n")):
            conn.exec_driver_sql(statement)
        _insert_0_1_0_rows(conn)


def _insert_0_1_0_rows(conn: sa.engine.Connection) -> None:
    """The rows of the SQLite fixture: what 0.1.0's run and promote wrote."""
    import datetime as dt

    runs = sa.table("opsctl_runs", *(sa.column(c) for c in (
        "id", "script", "args", "operator", "host", "pid", "started_at", "ended_at", "status",
        "exit_code", "dry_run", "error", "reason", "summary")))
    moves = sa.table("opsctl_moves", *(sa.column(c) for c in (
        "old_key", "new_key", "operator", "moved_at")))
    at = dt.datetime(2026, 11, 29, 21, 40, 50)
    common = {"args": "[]", "operator": "alice", "host": "vm", "pid": 4242, "dry_run": False,
              "error": None, "reason": None, "summary": "{}"}
    for run_id, script, status in reversed(OLD_RUNS):
        started = at + dt.timedelta(seconds=run_id)
        row = {**common, "id": run_id, "script": script, "started_at": started,
               "ended_at": started, "status": status,
               "exit_code": 0 if status == "succeeded" else 1}
        if run_id == 1:
            row["summary"] = '{"deleted": 3}'
        if run_id == 2:
            row["error"] = ("Traceback (most recent call last):\n"
                            "ValueError: totals do not add up")
        if run_id == 3:
            row["reason"] = "TICKET-7"
        conn.execute(runs.insert().values(**row))
    conn.execute(moves.insert().values(old_key=OLD_RUNS[0][1], new_key="recycle/export_order",
                                       operator="alice", moved_at=at + dt.timedelta(seconds=9)))
    if conn.dialect.name == "postgresql":  # ids were given: move the sequence past them
        conn.exec_driver_sql("SELECT setval('opsctl_runs_id_seq', 3)")


def version_of(url: str) -> str | None:
    with engine_of(url) as engine, engine.connect() as conn:
        return conn.execute(sa.text("SELECT value FROM opsctl_meta WHERE name = 'schema'")) \
            .scalar()


def indexes_of(url: str) -> list[str]:
    with engine_of(url) as engine:
        return [str(ix["name"]) for ix in sa.inspect(engine).get_indexes("opsctl_runs")]


@pytest.fixture
def old_ledger(ledger_url: str) -> str:
    """``ledger_url``, holding a ledger opsctl 0.1.0 wrote (schema version 1)."""
    load_0_1_0(ledger_url)
    assert version_of(ledger_url) == "1" and INDEX not in indexes_of(ledger_url)
    return ledger_url


def project_on(base: Path, url: str) -> Path:
    """A project (with a Flask app, for ``run``) whose ledger is at ``url``, holding the
    scripts the 0.1.0 ledger knows."""
    project = write_project(base, url)
    write_script(project, "recycle/clear_cache", '''\
        """Clear the cache."""
        import opsctl


        def main():
            opsctl.report(deleted=5)
        ''')
    write(project / "offline_script" / "recycle" / "fix_totals.py", '"""Fix totals."""\n')
    write(project / "offline_script" / "recycle" / "export_order.py", '"""Export."""\n')
    return project


def test_the_current_version_is_nine_with_eight_steps() -> None:
    assert SCHEMA_VERSION == 9 and len(STEPS) == SCHEMA_VERSION - 1
    assert INDEXES == ["ix_opsctl_runs_script_start", "ix_opsctl_runs_script_status",
                       "ix_opsctl_runs_start", "ix_opsctl_runs_status_start"]


def test_version_5_indexes_every_read_and_drops_what_it_replaces(old_ledger: str) -> None:
    """The 0.1.0 ledger had ``(script, started_at)`` and ``(status)``; step 1 added
    ``(started_at)``. Each is the first columns of a version-5 index, so they go."""
    before = indexes_of(old_ledger)
    assert sorted(before) == ["ix_opsctl_runs_script_started", "ix_opsctl_runs_status"]
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1 and len(book.runs()) == 3
    assert sorted(indexes_of(old_ledger)) == INDEXES
    with engine_of(old_ledger) as engine:
        found = {str(ix["name"]): list(ix["column_names"])
                 for ix in sa.inspect(engine).get_indexes("opsctl_runs")}
    assert found == {"ix_opsctl_runs_script_start": ["script", "started_at", "id"],
                     "ix_opsctl_runs_script_status": ["script", "status", "started_at", "id"],
                     "ix_opsctl_runs_start": ["started_at", "id"],
                     "ix_opsctl_runs_status_start": ["status", "started_at", "id"]}


def test_step_five_cut_short_is_completed(old_ledger: str) -> None:
    """Half of step 5 done (MariaDB commits each index as it goes): the version row still
    says 4, one new index is there and one old one gone; the next opener finishes."""
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1
    with engine_of(old_ledger) as engine, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE opsctl_meta SET value = '4' WHERE name = 'schema'")
        on = " ON opsctl_runs" if conn.dialect.name in ("mysql", "mariadb") else ""
        for name in ("ix_opsctl_runs_script_status", "ix_opsctl_runs_start"):
            conn.exec_driver_sql(f"DROP INDEX {name}{on}")
        conn.exec_driver_sql("CREATE INDEX ix_opsctl_runs_status ON opsctl_runs (status)")
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 4 and len(book.runs()) == 3
    assert version_of(old_ledger) == CURRENT and sorted(indexes_of(old_ledger)) == INDEXES


def test_version_6_adds_the_progress_table_and_old_runs_have_none(old_ledger: str) -> None:
    """Step 5 → 6 makes ``opsctl_progress``; the runs 0.1.0 recorded have no progress, and
    a new run's checkpoints, resume link and stop request are kept in it."""
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1
        assert book.progress_of([1, 2, 3]) == {}
        run = book.start(script="recycle/clear_cache", process=Process.current("bob"), args=[])
        book.begin_progress(run.id, total=10, resumed_from=2)
        assert book.checkpoint(run.id, done=3, cursor=[31]) is None  # nothing asked yet
        asked = book.request(run.id, "pause", operator="carol")
        assert asked is not None and asked.status == "running"
        assert book.checkpoint(run.id, done=4, cursor=[41]) == "pause"  # read as it writes
        got = book.progress(run.id)
        assert got is not None
        assert (got.done, got.total, got.cursor, got.resumed_from, got.request,
                got.requested_by, got.fraction) == (4, 10, [41], 2, "pause", "carol", 0.4)
        assert book.resumed_by(2) == [run.id]
        book.finish(run, status="paused", exit_code=0)
        assert book.request(run.id, "cancel", operator="carol").status == "paused"
        assert book.requested(run.id) == "pause"  # a run no longer running is not asked
    with engine_of(old_ledger) as engine:
        assert sa.inspect(engine).has_table("opsctl_progress")


def test_step_six_cut_short_is_completed(old_ledger: str) -> None:
    """The table made but the version row not raised (MariaDB commits DDL as it goes): the
    next opener finds the table and only raises the version."""
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1
    with engine_of(old_ledger) as engine, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE opsctl_meta SET value = '5' WHERE name = 'schema'")
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 5
        book.begin_progress(1, total=3)
        assert book.progress(1) is not None
    assert version_of(old_ledger) == CURRENT


def test_version_7_links_a_shard_to_its_parent(old_ledger: str) -> None:
    """Step 6 → 7 adds ``parent_id``, ``shard`` and ``key_range`` to ``opsctl_progress``
    (and an index on ``parent_id``); a shard written after the upgrade reads back."""
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1
        parent = book.start(script="recycle/clear_cache", process=Process.current("bob"),
                            args=[])
        book.link_shard(9, parent_id=parent.id, index=2, count=4, key_range=[5, None])
        assert book.shard_of(9) == (parent.id, 2, 4, [5, None])
    with engine_of(old_ledger) as engine:
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("opsctl_progress")}
        found = {str(ix["name"]) for ix in inspector.get_indexes("opsctl_progress")}
    assert {"parent_id", "shard", "key_range"} <= columns
    assert "ix_opsctl_progress_parent_id" in found


def test_step_seven_done_but_not_recorded_is_only_recorded(old_ledger: str) -> None:
    """The columns there but the version row still 6 (MariaDB commits DDL as it goes):
    the next opener adds nothing twice and raises the version."""
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1
    with engine_of(old_ledger) as engine, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE opsctl_meta SET value = '6' WHERE name = 'schema'")
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 6
    assert version_of(old_ledger) == CURRENT


def lock_indexes_of(url: str) -> set[str]:
    with engine_of(url) as engine:
        return {str(ix["name"]) for ix in sa.inspect(engine).get_indexes("opsctl_locks")}


def at_version_7(url: str) -> None:
    """``url``, a ledger as version 7 left it: no index on ``opsctl_locks.run_id``."""
    Ledger.open(url).close()
    with engine_of(url) as engine, engine.begin() as conn:
        locks = sa.Table("opsctl_locks", sa.MetaData(), sa.Column("run_id", sa.Integer))
        sa.Index(LOCKS_INDEX, locks.c.run_id).drop(conn)
        conn.exec_driver_sql("UPDATE opsctl_meta SET value = '7' WHERE name = 'schema'")
    assert LOCKS_INDEX not in lock_indexes_of(url)


LOCKS_INDEX = "ix_opsctl_locks_run_id"


def test_version_8_indexes_the_locks_by_run(ledger_url: str) -> None:
    """Step 7 → 8 adds an index on ``opsctl_locks.run_id`` (a run's end, its heartbeat and a
    sharded run's close find its lock by it); runs start and end on the upgraded ledger."""
    at_version_7(ledger_url)
    with Ledger.open(ledger_url) as book:
        assert book.upgraded_from == 7
        run = book.start(script="recycle/clear_cache", process=Process.current("bob"),
                         args=[])
        assert book.finish(run, status="succeeded", exit_code=0)
        assert book.holder("recycle/clear_cache") is None
    assert LOCKS_INDEX in lock_indexes_of(ledger_url)
    assert version_of(ledger_url) == CURRENT


def test_step_eight_done_but_not_recorded_is_only_recorded(ledger_url: str) -> None:
    """The index there but the version row still 7 (MariaDB commits DDL as it goes): the
    next opener makes nothing twice and raises the version."""
    Ledger.open(ledger_url).close()
    assert LOCKS_INDEX in lock_indexes_of(ledger_url)  # a new ledger has it from the start
    with engine_of(ledger_url) as engine, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE opsctl_meta SET value = '7' WHERE name = 'schema'")
    with Ledger.open(ledger_url) as book:
        assert book.upgraded_from == 7
    assert version_of(ledger_url) == CURRENT


def test_a_0_1_0_ledger_gets_the_locks_index(old_ledger: str) -> None:
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1
    assert LOCKS_INDEX in lock_indexes_of(old_ledger)


def test_version_4_tells_an_absorption_from_a_move(old_ledger: str) -> None:
    """``opsctl_moves.kind``: the moves 0.1.0 recorded read as moves (NULL), still followed;
    an absorption is told apart."""
    with Ledger.open(old_ledger) as book:
        assert [r.id for r in book.runs("recycle/export_order")] == [3]
        book.record_absorb("recycle/fix_totals", "recycle/export_order", "bob")
    with engine_of(old_ledger) as engine:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("opsctl_moves")}
        with engine.connect() as conn:
            kinds = conn.exec_driver_sql("SELECT kind FROM opsctl_moves ORDER BY id").all()
    assert "kind" in columns and [k for (k,) in kinds] == [None, "absorb"]
    with Ledger.open(old_ledger) as book:
        assert [r.id for r in book.runs("recycle/export_order")] == [3, 2]


@pytest.mark.slow
def test_a_0_1_0_ledger_is_upgraded_in_place_and_keeps_its_history(
        invoke: Callable[..., Result], tmp_path: Path, old_ledger: str) -> None:
    project = project_on(tmp_path, old_ledger)
    # Reading upgrades it: history shows what 0.1.0 recorded.
    shown = invoke(project, "history")
    assert shown.exit_code == 0, shown.output
    assert "deleted=3" in shown.stdout and "reason: TICKET-7" in shown.stdout
    data = json.loads(invoke(project, "history", "--json").stdout)
    assert [(r["id"], r["script"], r["status"]) for r in data] == OLD_RUNS
    by_id = {r["id"]: r for r in data}
    assert by_id[1]["summary"] == {"deleted": 3}
    assert by_id[2]["exit_code"] == 1
    assert by_id[2]["error"].rstrip().endswith("ValueError: totals do not add up")
    assert by_id[3]["reason"] == "TICKET-7"
    # The promote 0.1.0 recorded is followed: the temporary script's run is export_order's.
    moved = json.loads(invoke(project, "history", "recycle/export_order", "--json").stdout)
    assert [r["id"] for r in moved] == [3]
    assert version_of(old_ledger) == str(SCHEMA_VERSION) == "9"
    assert sorted(indexes_of(old_ledger)) == INDEXES
    # A new run is recorded next to the old ones.
    ran = opsctl(project, "run", "recycle/clear_cache")
    assert ran.returncode == 0, ran.stderr
    data = json.loads(invoke(project, "history", "--json").stdout)
    assert [(r["id"], r["status"]) for r in data][:2] == [(4, "succeeded"), (3, "succeeded")]
    assert data[0]["summary"] == {"deleted": 5} and len(data) == 4
    assert version_of(old_ledger) == str(SCHEMA_VERSION)


def test_list_reads_an_old_ledger_and_upgrades_it(invoke: Callable[..., Result],
                                                  tmp_path: Path, old_ledger: str) -> None:
    project = project_on(tmp_path, old_ledger)
    listed = invoke(project, "list", "--json")
    assert listed.exit_code == 0 and listed.stderr == ""
    last = {e["key"]: (e["last_run"] or {}).get("id") for e in json.loads(listed.stdout)}
    assert last == {"recycle/clear_cache": 1, "recycle/fix_totals": 2,
                    "recycle/export_order": 3}  # the promote 0.1.0 recorded, followed
    assert version_of(old_ledger) == CURRENT and sorted(indexes_of(old_ledger)) == INDEXES


def test_opening_an_old_ledger_through_the_api_says_it_upgraded(old_ledger: str) -> None:
    with Ledger.open(old_ledger, create=False) as book:
        assert book.has_schema and book.upgraded_from == 1
        assert [(r.id, r.script, r.status) for r in book.runs()] == OLD_RUNS
        run = book.start(script="recycle/clear_cache", process=Process.current("bob"),
                         args=[])
        book.finish(run, status="succeeded", exit_code=0)
    with Ledger.open(old_ledger) as again:
        assert again.upgraded_from is None  # done once
        assert [r.id for r in again.runs("recycle/clear_cache")] == [run.id, 1]
    assert version_of(old_ledger) == CURRENT and sorted(indexes_of(old_ledger)) == INDEXES


def test_a_new_ledger_is_created_at_the_current_version(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        assert book.has_schema and book.upgraded_from is None
    assert version_of(ledger_url) == CURRENT and sorted(indexes_of(ledger_url)) == INDEXES


def test_a_step_cut_short_is_completed(old_ledger: str) -> None:
    """The index is there but the version row was not raised (MariaDB commits DDL as it
    goes, so a process killed between the two leaves this): the next opener finishes."""
    with engine_of(old_ledger) as engine, engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX {INDEX} ON opsctl_runs (started_at)")
    with Ledger.open(old_ledger) as book:
        assert book.upgraded_from == 1 and len(book.runs()) == 3
    assert version_of(old_ledger) == CURRENT and sorted(indexes_of(old_ledger)) == INDEXES


def test_tables_without_a_version_row_are_brought_up_to_date(old_ledger: str) -> None:
    """Tables an interrupted creation left (no version row yet) may be of any older
    version: every step runs, each checking first."""
    with engine_of(old_ledger) as engine, engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM opsctl_meta")
    with Ledger.open(old_ledger, create=False) as reader:
        assert not reader.has_schema and reader.runs() == []  # a reader changes nothing
    assert version_of(old_ledger) is None
    with Ledger.open(old_ledger) as book:
        assert book.has_schema and len(book.runs()) == 3
    assert version_of(old_ledger) == CURRENT and sorted(indexes_of(old_ledger)) == INDEXES


#: Opens the ledger at argv[1] once every process has been let go. The upgrade step notes
#: that it ran, then waits (holding the schema lock) until argv[3] processes have reached the
#: lock. Prints what it upgraded from and how many runs it reads.
RACER = textwrap.dedent('''\
    import os, sys, time
    from contextlib import contextmanager
    from pathlib import Path

    import sqlalchemy as sa

    from opsctl.ledger import upgrade
    from opsctl.ledger.engine import backend_for
    from opsctl.ledger.store import Ledger

    url, here, expected = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    backend = backend_for(sa.engine.make_url(url).get_backend_name())
    take_lock = backend.schema_change

    @contextmanager
    def arriving(engine):
        (here / f"arrived-{os.getpid()}").touch()
        with take_lock(engine) as conn:
            yield conn

    def wait_for_everyone(step):
        def waiting(conn):
            (here / f"stepped-{os.getpid()}").touch()
            deadline = time.monotonic() + 60
            while len(list(here.glob("arrived-*"))) < expected:
                assert time.monotonic() < deadline, "the others never reached the lock"
                time.sleep(0.02)
            time.sleep(0.2)  # and are waiting on it
            step(conn)
        return waiting

    backend.schema_change = arriving
    upgrade.STEPS[:] = [wait_for_everyone(step) for step in upgrade.STEPS]
    (here / f"ready-{os.getpid()}").touch()
    while not (here / "go").exists():
        time.sleep(0.01)
    with Ledger.open(url) as book:
        print(book.upgraded_from, len(book.runs()))
''')


@pytest.mark.slow
def test_two_processes_opening_an_old_ledger_at_once_upgrade_it_once(
        tmp_path: Path, old_ledger: str) -> None:
    here = tmp_path / "race"
    here.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", RACER, old_ledger, str(here), "2"],
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    try:
        import time

        deadline = time.monotonic() + 60
        while len(list(here.glob("ready-*"))) < 2 and all(p.poll() is None for p in procs):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (here / "go").touch()
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    # Both reached the lock; one upgraded, the other then found it done.
    assert len(list(here.glob("arrived-*"))) == 2
    assert len(list(here.glob("stepped-*"))) == 1
    assert sorted(out.split() for out, _ in results) == [["1", "3"], ["None", "3"]]
    assert version_of(old_ledger) == CURRENT and sorted(indexes_of(old_ledger)) == INDEXES


NEWER = SCHEMA_VERSION + 1
TOO_NEW = f"{NEWER}, newer than this opsctl understands ({SCHEMA_VERSION})"


def make_newer(url: str) -> None:
    """A ledger a future opsctl (one schema version ahead) has upgraded."""
    Ledger.open(url).close()
    with engine_of(url) as engine, engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE opsctl_meta SET value = '{NEWER}' WHERE name = 'schema'")


def test_a_newer_ledger_is_refused(ledger_url: str) -> None:
    make_newer(ledger_url)
    for create in (True, False):
        with pytest.raises(LedgerTooNew) as caught:
            Ledger.open(ledger_url, create=create)
        assert caught.value.exit_code == LEDGER_UNREACHABLE == 78
        assert caught.value.message.endswith(
            f"has schema version {TOO_NEW}; upgrade opsctl")
    assert version_of(ledger_url) == str(NEWER)  # untouched


@pytest.mark.slow
def test_a_newer_ledger_is_one_line_in_run_history_and_list(
        invoke: Callable[..., Result], tmp_path: Path, ledger_url: str) -> None:
    project = project_on(tmp_path, ledger_url)
    make_newer(ledger_url)
    ran = opsctl(project, "run", "recycle/clear_cache")
    assert ran.returncode == 78 and ran.stdout == ""
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr
    assert f"has schema version {TOO_NEW}; upgrade opsctl" \
        in ran.stderr
    history = invoke(project, "history")
    assert history.exit_code == 78 and history.stderr.count("\n") == 1
    assert history.stderr.startswith("Error: the ledger at ")
    assert f"schema version {TOO_NEW}" in history.stderr
    # list still lists the scripts, and says in one line why there are no last runs.
    listed = invoke(project, "list")
    assert listed.exit_code == 0 and "recycle/clear_cache" in listed.stdout
    assert listed.stderr.count("\n") == 1
    assert f"schema version {TOO_NEW}" in listed.stderr
    assert version_of(ledger_url) == str(NEWER)


def test_an_up_to_date_ledger_is_opened_with_one_read_and_no_write(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        for create in (True, False):
            Ledger.open(ledger_url, create=create).close()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert len(statements) == 2, statements
    for statement in statements:
        assert statement.startswith("SELECT opsctl_meta.value FROM opsctl_meta WHERE"), statement
    assert version_of(ledger_url) == str(SCHEMA_VERSION)


def columns_of(url: str) -> list[str]:
    with engine_of(url) as engine:
        return [str(c["name"]) for c in sa.inspect(engine).get_columns("opsctl_runs")]


def test_step_two_adds_run_notes_and_old_runs_read_without_any(old_ledger: str) -> None:
    assert "notes" not in columns_of(old_ledger)
    with Ledger.open(old_ledger) as book:
        assert all(r.notes == () for r in book.runs())
        run = book.start(script="recycle/clear_cache", process=Process.current("bob"),
                         args=[], notes=["the app says production"])
        assert run.notes == ("the app says production",)
        book.finish(run, status="succeeded", exit_code=0,
                    notes=["the app says production", "écrit tard, depuis le journal"])
        assert book.run(run.id).notes == ("the app says production",  # type: ignore[union-attr]
                                          "écrit tard, depuis le journal")
    assert "notes" in columns_of(old_ledger)
    assert version_of(old_ledger) == str(SCHEMA_VERSION)
