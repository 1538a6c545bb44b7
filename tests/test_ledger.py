"""The ledger module on SQLite, PostgreSQL and MariaDB: rows, locks, moves and stats.

Every test takes ``ledger_url``, so the whole module runs once per database.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsctl.config import load_config
from opsctl.errors import LedgerUnreachable
from opsctl.ledger.engine import driver_url
from opsctl.ledger.locks import LEASE_SECONDS
from opsctl.ledger.processes import node_id
from opsctl.ledger.rows import TEXT_LIMIT
from opsctl.ledger.schema import LOCKS, server_utcnow
from opsctl.ledger.store import Ledger, last_runs, open_ledger
from opsctl.ledger.values import AlreadySucceeded, LockBusy, Process


@pytest.fixture
def ledger(ledger_url: str) -> Ledger:
    opened = Ledger.open(ledger_url)
    yield opened
    opened.close()


def me(operator: str = "alice") -> Process:
    return Process.current(operator)


def elsewhere(operator: str = "bob") -> Process:
    """A process on another machine (pid checks do not apply there)."""
    return Process(operator, "other-host", 4242, "other-host/boot/ns", None)


def dead_here() -> Process:
    """A process on this node that has exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(proc.stdout)
    return Process("carol", "this-host", pid, node_id(), None)


def test_tables_are_created_on_first_use_and_reopen(ledger_url: str) -> None:
    first = Ledger.open(ledger_url)
    assert first.has_schema
    first.close()
    engine = sa.create_engine(driver_url(ledger_url))
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"opsctl_runs", "opsctl_locks", "opsctl_moves", "opsctl_meta"} <= names
    again = Ledger.open(ledger_url)
    assert again.runs() == []
    again.close()


def test_new_tables_have_every_index_of_the_schema(ledger_url: str) -> None:
    """However a database makes them (MariaDB: declared in each CREATE TABLE)."""
    from opsctl.ledger.schema import METADATA

    Ledger.open(ledger_url).close()
    engine = sa.create_engine(driver_url(ledger_url))
    try:
        inspector = sa.inspect(engine)
        for table in METADATA.sorted_tables:
            found = {i["name"]: (i["column_names"], bool(i["unique"]))
                     for i in inspector.get_indexes(table.name)}
            wanted = {i.name: ([c.name for c in i.columns], bool(i.unique))
                      for i in table.indexes}
            assert {name: found.get(name) for name in wanted} == wanted, table.name
    finally:
        engine.dispose()


def test_read_only_open_creates_nothing(ledger_url: str) -> None:
    reader = Ledger.open(ledger_url, create=False)
    try:
        assert not reader.has_schema
        assert reader.runs() == [] and reader.stats() == {} and reader.last_runs(["a/b"]) == {}
    finally:
        reader.close()
    engine = sa.create_engine(driver_url(ledger_url))
    try:
        assert not [t for t in sa.inspect(engine).get_table_names() if t.startswith("opsctl")]
    finally:
        engine.dispose()


def test_a_run_keeps_every_field(ledger: Ledger) -> None:
    run = ledger.start(script="recycle/clear_cache", process=me(),
                       args=["--older-than", "7d", "--token", "***"], sha256="ab" * 32,
                       dry_run=True, git_revision="c0ffee" * 6 + "abcd", git_dirty=True,
                       environment="staging", reason="TICKET-42 — ünïcode")
    assert run.status == "running" and run.ended_at is None
    ledger.finish(run, status="failed", exit_code=3, error="Traceback...\nValueError: x",
                  output_tail="line 1\nline 2\n", summary={"deleted": 12, "file": "é.csv"})
    (got,) = ledger.runs("recycle/clear_cache")
    assert got.id == run.id and got.script == "recycle/clear_cache"
    assert got.sha256 == "ab" * 32
    assert got.args == ["--older-than", "7d", "--token", "***"]
    assert (got.operator, got.host, got.pid) == ("alice", run.host, os.getpid())
    assert got.status == "failed" and got.exit_code == 3 and got.dry_run is True
    assert got.error == "Traceback...\nValueError: x"
    assert got.output_tail == "line 1\nline 2\n"
    assert got.git_revision == "c0ffee" * 6 + "abcd" and got.git_dirty is True
    assert got.environment == "staging" and got.reason == "TICKET-42 — ünïcode"
    assert got.summary == {"deleted": 12, "file": "é.csv"}
    assert got.started_at.tzinfo is dt.UTC and got.ended_at is not None
    # Fractions of a second survive (MySQL drops them unless asked).
    assert got.started_at == run.started_at
    assert got.ended_at >= got.started_at
    data = got.as_dict()
    assert data["started_at"].endswith("+00:00") and data["summary"]["deleted"] == 12
    assert ledger.run(run.id) == got and ledger.run(run.id + 1000) is None


def test_long_output_keeps_its_end(ledger: Ledger) -> None:
    run = ledger.start(script="recycle/x", process=me(), args=[])
    text = "".join(f"line {i}\n" for i in range(20_000))
    ledger.finish(run, status="succeeded", exit_code=0, output_tail=text)
    (got,) = ledger.runs("recycle/x")
    assert got.output_tail is not None and got.output_tail.endswith("line 19999\n")
    assert len(got.output_tail) <= TEXT_LIMIT + 3


def test_the_lock_refuses_a_second_run_and_is_released(ledger: Ledger) -> None:
    first = ledger.start(script="recycle/x", process=me(), args=[])
    with pytest.raises(LockBusy) as busy:
        ledger.start(script="recycle/x", process=me("bob"), args=[])
    assert busy.value.holder.run_id == first.id
    assert "alice" in busy.value.holder.describe()
    assert ledger.holder("recycle/x") is not None
    # Another script is not blocked.
    other = ledger.start(script="recycle/y", process=me(), args=[])
    ledger.finish(other, status="succeeded", exit_code=0)
    ledger.finish(first, status="succeeded", exit_code=0)
    assert ledger.holder("recycle/x") is None
    # The refused start left no row behind.
    assert [r.id for r in ledger.runs("recycle/x")] == [first.id]


def test_a_dead_holder_on_this_node_is_taken_over(ledger: Ledger) -> None:
    dead = ledger.start(script="recycle/x", process=dead_here(), args=[])
    assert ledger.holder("recycle/x") is None  # seen as stale, taken over
    assert ledger.run(dead.id).status == "lost"  # type: ignore[union-attr]
    new = ledger.start(script="recycle/x", process=me(), args=[])
    ledger.finish(new, status="succeeded", exit_code=0)
    assert [r.status for r in ledger.runs("recycle/x")] == ["succeeded", "lost"]


def test_start_takes_over_a_dead_holder_itself(ledger: Ledger) -> None:
    dead = ledger.start(script="recycle/x", process=dead_here(), args=[])
    new = ledger.start(script="recycle/x", process=me(), args=[])
    assert ledger.run(dead.id).status == "lost"  # type: ignore[union-attr]
    ledger.finish(new, status="succeeded", exit_code=0)


def test_a_holder_on_another_machine_counts_until_its_lease_expires(ledger: Ledger) -> None:
    remote = ledger.start(script="recycle/x", process=elsewhere(), args=[])
    with pytest.raises(LockBusy):
        ledger.start(script="recycle/x", process=me(), args=[])
    assert ledger.stats()["recycle/x"].running
    # Its heartbeat stops: older than the lease by the database's own clock.
    with ledger.engine.begin() as conn:
        now = conn.execute(sa.select(server_utcnow())).scalar()
        old = now - dt.timedelta(seconds=LEASE_SECONDS + 5)
        conn.execute(LOCKS.update().values(heartbeat_at=old))
    assert not ledger.stats()["recycle/x"].running
    new = ledger.start(script="recycle/x", process=me(), args=[])
    assert ledger.run(remote.id).status == "lost"  # type: ignore[union-attr]
    ledger.finish(new, status="succeeded", exit_code=0)


def test_heartbeat_refreshes_and_notices_a_takeover(ledger: Ledger) -> None:
    run = ledger.start(script="recycle/x", process=me(), args=[])
    assert ledger.heartbeat(run)
    ledger.finish(run, status="succeeded", exit_code=0)
    assert not ledger.heartbeat(run)


def test_reap_marks_dead_runs_lost(ledger: Ledger) -> None:
    dead = ledger.start(script="recycle/x", process=dead_here(), args=[])
    live = ledger.start(script="recycle/y", process=me(), args=[])
    assert ledger.reap() == [dead.id]
    assert ledger.run(dead.id).status == "lost"  # type: ignore[union-attr]
    assert ledger.run(live.id).status == "running"  # type: ignore[union-attr]
    ledger.finish(live, status="succeeded", exit_code=0)


def test_runs_filters_and_orders(ledger: Ledger) -> None:
    ids = []
    for status in ("succeeded", "failed", "succeeded"):
        run = ledger.start(script="recycle/x", process=me(), args=[])
        ledger.finish(run, status=status, exit_code=0 if status == "succeeded" else 1)
        ids.append(run.id)
    assert [r.id for r in ledger.runs()] == ids[::-1]
    assert [r.id for r in ledger.runs("recycle/x", status="failed")] == [ids[1]]
    assert [r.id for r in ledger.runs(limit=2)] == ids[:0:-1]
    with pytest.raises(ValueError):
        ledger.finish(ledger.run(ids[0]), status="done", exit_code=0)  # type: ignore[arg-type]


def test_moves_give_a_script_its_former_runs(ledger: Ledger) -> None:
    ts = "alice/ts_2024_06_10_export_order"
    old = ledger.start(script=ts, process=me(), args=[])
    ledger.finish(old, status="succeeded", exit_code=0)
    ledger.record_move(ts, "recycle/export_order", "alice")
    new = ledger.start(script="recycle/export_order", process=me("bob"), args=[])
    ledger.finish(new, status="succeeded", exit_code=0)
    ledger.record_move("recycle/export_order", "unrecycle/export_order", "bob")

    assert ledger.aliases("unrecycle/export_order") == [
        "unrecycle/export_order", "recycle/export_order", ts]
    runs = ledger.runs("unrecycle/export_order")
    assert [(r.id, r.script) for r in runs] == [(new.id, "recycle/export_order"), (old.id, ts)]
    assert ledger.runs("unrecycle/export_order", follow_moves=False) == []
    assert ledger.has_succeeded("unrecycle/export_order") is not None
    stats = ledger.stats()
    assert set(stats) == {"unrecycle/export_order"}
    s = stats["unrecycle/export_order"]
    assert (s.runs, s.succeeded, s.operators) == (2, 2, frozenset({"alice", "bob"}))
    assert s.first_at == old.started_at and s.last_at == new.started_at and not s.running
    assert ledger.last_runs(["unrecycle/export_order"])["unrecycle/export_order"].id == new.id


def test_a_name_freed_by_a_move_starts_a_new_history(ledger: Ledger) -> None:
    before = ledger.start(script="recycle/report", process=me(), args=[])
    ledger.finish(before, status="succeeded", exit_code=0)
    ledger.record_move("recycle/report", "unrecycle/report", "alice")
    # A different script now takes the name recycle/report.
    after = ledger.start(script="recycle/report", process=me(), args=[])
    ledger.finish(after, status="failed", exit_code=1)
    assert [r.id for r in ledger.runs("recycle/report")] == [after.id]
    assert [r.id for r in ledger.runs("unrecycle/report")] == [before.id]
    assert ledger.aliases("recycle/report") == ["recycle/report"]
    stats = ledger.stats()
    assert stats["recycle/report"].runs == 1 and stats["unrecycle/report"].runs == 1
    assert ledger.has_succeeded("recycle/report") is None


def test_dry_runs_count_as_runs_not_as_successes(ledger: Ledger) -> None:
    dry = ledger.start(script="unrecycle/fix", process=me(), args=[], dry_run=True)
    ledger.finish(dry, status="succeeded", exit_code=0)
    assert ledger.has_succeeded("unrecycle/fix") is None
    s = ledger.stats()["unrecycle/fix"]
    assert s.runs == 1 and s.succeeded == 0


def test_a_run_started_before_a_move_still_holds_the_lock(ledger: Ledger) -> None:
    running = ledger.start(script="alice/ts_2024_06_10_x", process=me(), args=[])
    ledger.record_move("alice/ts_2024_06_10_x", "recycle/x", "alice")
    with pytest.raises(LockBusy):
        ledger.start(script="recycle/x", process=me(), args=[])
    assert ledger.holder("recycle/x") is not None
    assert ledger.stats()["recycle/x"].running
    ledger.finish(running, status="succeeded", exit_code=0)
    ledger.finish(ledger.start(script="recycle/x", process=me(), args=[]),
                  status="succeeded", exit_code=0)


def test_open_ledger_and_last_runs_with_the_default_sqlite(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert last_runs(config, ["recycle/x"]) == {}
    assert not (tmp_path / "instance").exists()  # reading created nothing
    with open_ledger(config) as opened:
        run = opened.start(script="recycle/x", process=me(), args=[])
        opened.finish(run, status="succeeded", exit_code=0)
    assert (tmp_path / "instance" / "opsctl.sqlite3").is_file()
    assert last_runs(config, ["recycle/x", "recycle/y"])["recycle/x"].id == run.id


def test_unreachable_database_is_a_clear_error(ledger_url: str) -> None:
    bad = {"sqlite": "sqlite:////nonexistent-folder/x/ledger.sqlite3",
           "postgresql": "postgresql://postgres:secret@127.0.0.1:1/nothing",
           "mysql": "mysql://root:secret@127.0.0.1:1/nothing",
           "mariadb": "mysql://root:secret@127.0.0.1:1/nothing"}
    url = bad[sa.engine.make_url(ledger_url).get_backend_name()]
    with pytest.raises(LedgerUnreachable) as exc:
        Ledger.open(url)
    message = exc.value.format_message()
    assert "unreachable" in message and "fix ledger_url" in message
    assert "--no-ledger" not in message  # only 'run' has it: it adds it itself
    assert "secret" not in message
    assert exc.value.exit_code == 78


def test_start_once_refuses_what_already_succeeded_with_the_lock_held(ledger: Ledger) -> None:
    first = ledger.start(script="unrecycle/fix", process=me(), args=[], once=True)
    ledger.finish(first, status="succeeded", exit_code=0)
    with pytest.raises(AlreadySucceeded) as refused:
        ledger.start(script="unrecycle/fix", process=me(), args=[], once=True)
    assert refused.value.run.id == first.id
    # Nothing of the refused start is left: no row, no lock.
    assert [r.id for r in ledger.runs("unrecycle/fix")] == [first.id]
    assert ledger.holder("unrecycle/fix") is None
    again = ledger.start(script="unrecycle/fix", process=me(), args=[])  # --force
    assert again.id != first.id


@pytest.mark.parametrize(("url", "said", "fix"), [
    ("notaurl", "the ledger_url 'notaurl' is not a database URL", "fix ledger_url"),
    ("nosuchdb://x/y", "names a database SQLAlchemy does not know", "fix ledger_url"),
    ("postgresql+psycopg2://u:secret@h/db", "needs the psycopg2 driver, which is not installed",
     'pip install "opsctl[postgres]" and write the URL as postgresql+psycopg://'),
    ("mysql+mysqldb://u:secret@h/db", "needs the MySQLdb driver, which is not installed",
     'pip install "opsctl[mysql]"'),
], ids=["not-a-url", "unknown-database", "postgres-driver", "mysql-driver"])
def test_a_bad_url_or_a_missing_driver_says_what_to_do(url: str, said: str, fix: str) -> None:
    with pytest.raises(LedgerUnreachable) as exc:
        Ledger.open(url)
    assert said in exc.value.diagnosis and fix in exc.value.fix
    assert "secret" not in exc.value.format_message()
    assert "unreachable" not in exc.value.format_message()


def test_reading_an_absent_sqlite_ledger_creates_no_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent.sqlite3'}"
    book = Ledger.open(url, create=False)
    try:
        assert book.runs() == [] and book.has_succeeded("recycle/x") is None
    finally:
        book.close()
    assert not (tmp_path / "absent.sqlite3").exists()


def test_finish_after_a_takeover_keeps_the_outcome_and_says_so(ledger: Ledger) -> None:
    run = ledger.start(script="recycle/slow", process=elsewhere(), args=[])
    (holder,) = [h for h in [ledger.holder("recycle/slow")] if h is not None]
    assert ledger._take_over(holder)  # what a stale lease leads to on another machine
    assert ledger.run(run.id).status == "lost"  # type: ignore[union-attr]
    assert ledger.finish(run, status="succeeded", exit_code=0) is False
    after = ledger.run(run.id)
    assert after is not None and (after.status, after.exit_code) == ("succeeded", 0)
    assert (after.error or "").startswith("taken over: lost:")
    assert "the run went on and ended succeeded" in (after.error or "")
    mine = ledger.start(script="recycle/slow", process=me(), args=[])
    assert ledger.finish(mine, status="succeeded", exit_code=0) is True
    assert ledger.run(mine.id).error is None  # type: ignore[union-attr]


@pytest.mark.parametrize(("url", "plain"), [
    ("mysql+pymysql://root@127.0.0.1:3306/ledger", True),
    ("mariadb+pymysql://root@localhost/ledger", True),
    ("mysql+pymysql://root@[::1]:3306/ledger", True),
    ("mysql+pymysql://root@db.example.com/ledger", False),
    ("mysql+pymysql://root@127.0.0.1/ledger?ssl_ca=/etc/ca.pem", False),
    ("mysql+pymysql://root@127.0.0.1/ledger?ssl_disabled=false", False),
])
def test_a_mysql_ledger_on_this_machine_connects_without_tls(url: str, plain: bool) -> None:
    """PyMySQL tries TLS by default, loading the certificate store for every connection
    (tens of ms per run); to this same machine it protects nothing. Anywhere else, or with
    TLS settings in the URL, the driver's own choice stands."""
    from opsctl.ledger.engine import backend_for

    parsed = sa.engine.make_url(url)
    options = backend_for(parsed.get_backend_name()).engine_options(parsed)
    assert ("ssl_disabled" in options["connect_args"]) is plain
    assert options["connect_args"].get("ssl_disabled", True) is True


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    from conftest import MARIADB_SERVER, MARIADB_VARIABLE, server_database

    yield from server_database(MARIADB_SERVER, MARIADB_VARIABLE)


@pytest.mark.slow
def test_a_local_mariadb_ledger_records_runs_over_a_plain_connection(mariadb_url: str) -> None:
    with Ledger.open(mariadb_url) as book:
        run = book.start(script="recycle/x", process=me(), args=[])
        book.finish(run, status="succeeded", exit_code=0)
        raw = book.engine.raw_connection()
        try:
            assert raw.driver_connection.ssl is False  # type: ignore[union-attr]
        finally:
            raw.close()
        assert book.runs()[0].status == "succeeded"
