"""``opsctl_latest`` (:mod:`opsctl.ledger.latest`): each script's newest run, kept by the
database's triggers on the runs, so ``list`` reads one small table whatever the number of runs.

After every kind of write (a run started, finished, failed, queued and started, recorded
whole, reaped, written by hand, deleted, moved back in time) the table holds exactly the
newest run of each script as the runs say it; an upgrade from schema 8 fills it from the runs
already there; and ``list`` (its glance) answers as the ledger does. Every test takes
``ledger_url``: MariaDB keeps no table, and its answers are checked all the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from conftest import write
from runkit import engine_of

from opsctl.ledger.engine import driver_url
from opsctl.ledger.facts import SCHEMA_VERSION, journal_folder
from opsctl.ledger.glance import glance
from opsctl.ledger.lastruns import last_seen
from opsctl.ledger.latest import NAME, keep_latest, kept, unkept
from opsctl.ledger.schema import RUNS
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process
from opsctl.ledger.writes import whole_values

KEYS = ["recycle/clear_cache", "recycle/fix_totals", "unrecycle/backfill"]



def newest_by_runs(url: str) -> dict[str, tuple[Any, ...]]:
    """Each script's newest run as the runs say it: ``(id, started_at, operator, status,
    dry_run)``."""
    with engine_of(url) as engine, engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT script, id, started_at, operator, status, dry_run FROM opsctl_runs "
            "ORDER BY started_at, id").all()
    return {script: (run_id, str(at), operator, status, bool(dry))
            for script, run_id, at, operator, status, dry in found}


def latest_table(url: str) -> dict[str, tuple[Any, ...]] | None:
    """The table's rows, as :func:`newest_by_runs` has them; None where there is none."""
    with engine_of(url) as engine:
        if not sa.inspect(engine).has_table(NAME):
            return None
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                f"SELECT script, run_id, started_at, operator, status, dry_run FROM {NAME}").all()
    return {script: (run_id, str(at), operator, status, bool(dry))
            for script, run_id, at, operator, status, dry in found}


def assert_kept(url: str) -> None:
    """The table (where the database keeps one) is exactly the newest run of each script."""
    table = latest_table(url)
    expected = newest_by_runs(url)
    if kept(sa.engine.make_url(driver_url(url)).get_backend_name()):
        assert table == expected
    else:
        assert table is None


def bob() -> Process:
    return Process.current("bob")


def test_every_write_keeps_the_newest_run_of_each_script(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        assert_kept(ledger_url)
        first = book.start(script=KEYS[0], process=bob(), args=[])
        assert_kept(ledger_url)  # running
        book.finish(first, status="succeeded", exit_code=0, output_tail="done\n")
        assert_kept(ledger_url)
        failed = book.start(script=KEYS[0], process=bob(), args=[], dry_run=True)
        book.finish(failed, status="failed", exit_code=1, error="ValueError: no")
        assert_kept(ledger_url)
        table = latest_table(ledger_url)
        assert table is None or [(v[0], v[2:]) for v in table.values()] == [
            (failed.id, ("bob", "failed", True))]
        queued = book.enqueue(script=KEYS[1], process=bob(), args=[], sha256=None)
        assert_kept(ledger_url)
        started = book.start_queued(queued.id, process=bob(), environment=None)
        assert_kept(ledger_url)
        book.finish(started, status="interrupted", exit_code=130)
        assert_kept(ledger_url)
        book.record(script=KEYS[2], process=bob(), args=[], status="failed", exit_code=1,
                    error="ImportError: no module")
        assert_kept(ledger_url)
    assert {k: v[3] for k, v in newest_by_runs(ledger_url).items()} == {
        KEYS[0]: "failed", KEYS[1]: "interrupted", KEYS[2]: "failed"}


def test_writes_by_hand_deletes_and_runs_older_than_the_newest(ledger_url: str) -> None:
    """What no opsctl write does, and a person or another program may: an older run inserted
    after a newer one, a status changed by hand, a run deleted, a run moved back in time
    (the newest then is another), the last run of a script deleted."""
    with Ledger.open(ledger_url) as book:
        first = book.start(script=KEYS[0], process=bob(), args=[])
        book.finish(first, status="succeeded", exit_code=0)
        second = book.start(script=KEYS[0], process=bob(), args=[])
        book.finish(second, status="succeeded", exit_code=0)
        other = book.start(script=KEYS[1], process=bob(), args=[])
        book.finish(other, status="succeeded", exit_code=0)
    old = dt.datetime(2020, 1, 1, 12, 0, 0)
    mark = "?" if ledger_url.startswith("sqlite") else "%s"
    with engine_of(ledger_url) as engine:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO opsctl_runs (script, args, operator, host, pid, started_at, "
                f"status, dry_run) VALUES ({mark}, '[]', 'carol', 'vm', 1, {mark}, 'failed', "
                f"{mark})", (KEYS[0], old if mark == "%s" else str(old), False))
        assert_kept(ledger_url)
        for sql, params in (
                (f"UPDATE opsctl_runs SET status = 'lost' WHERE id = {mark}", (second.id,)),
                (f"UPDATE opsctl_runs SET started_at = {mark} WHERE id = {mark}",
                 (old - dt.timedelta(days=1), second.id)),
                (f"DELETE FROM opsctl_runs WHERE id = {mark}", (first.id,)),
                (f"DELETE FROM opsctl_runs WHERE id = {mark}", (other.id,))):
            with engine.begin() as conn:
                conn.exec_driver_sql(sql, params)
            assert_kept(ledger_url)
    newest = newest_by_runs(ledger_url)
    assert set(newest) == {KEYS[0]} and newest[KEYS[0]][2:4] == ("carol", "failed")


def test_runs_written_in_bulk_without_the_triggers_are_kept_after(ledger_url: str) -> None:
    """A bulk write (the benchmark's fill) drops the triggers, writes its runs, then makes the
    triggers again and fills the table once: the table is then the newest of each script,
    and the runs written after are kept again, one by one."""
    with Ledger.open(ledger_url) as book, book.engine.begin() as conn:
        unkept(conn)
        for i in range(6):
            conn.execute(RUNS.insert().values(**whole_values(
                script=KEYS[i % 2], process=bob(), args=[], status="succeeded", exit_code=0,
                dry_run=False, environment="production")))
        if kept(conn.dialect.name):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {NAME}").scalar() == 0
        keep_latest(conn)
    assert_kept(ledger_url)
    with Ledger.open(ledger_url) as book:
        book.finish(book.start(script=KEYS[2], process=bob(), args=[]), status="failed",
                    exit_code=1)
    assert_kept(ledger_url)
    assert set(newest_by_runs(ledger_url)) == set(KEYS)


def test_a_run_an_older_process_ends_after_the_upgrade_is_seen(ledger_url: str) -> None:
    """A process that opened the ledger at schema 8 ends its run after another upgraded it:
    its own write, which knows nothing of the table, still moves it (a trigger)."""
    with Ledger.open(ledger_url) as book:
        run = book.start(script=KEYS[0], process=bob(), args=[])
    with engine_of(ledger_url) as engine, engine.begin() as conn:
        mark = "?" if ledger_url.startswith("sqlite") else "%s"
        conn.exec_driver_sql(f"UPDATE opsctl_runs SET status = 'succeeded', exit_code = 0 "
                             f"WHERE id = {mark}", (run.id,))
    assert_kept(ledger_url)
    assert newest_by_runs(ledger_url)[KEYS[0]][3] == "succeeded"


def downgrade_to_8(url: str) -> None:
    """The ledger as schema 8 had it: no table, no triggers, version 8."""
    with engine_of(url) as engine, engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for event in ("insert", "update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {NAME}_{event}")
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {NAME}_keep ON opsctl_runs")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {NAME}_keep()")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {NAME}")
        conn.exec_driver_sql("UPDATE opsctl_meta SET value = '8' WHERE name = 'schema'")


def test_an_upgrade_from_schema_8_fills_the_table_from_the_runs(ledger_url: str) -> None:
    from bench import fill_ledger

    fill_ledger(ledger_url, 300, KEYS, batch=70, tail=10)
    downgrade_to_8(ledger_url)
    with engine_of(ledger_url) as engine, engine.begin() as conn:  # as schema 8 wrote them
        for status in ("running", "failed"):
            conn.execute(RUNS.insert().values(**whole_values(
                script=KEYS[1], process=bob(), args=[], status=status, exit_code=None)))
    assert latest_table(ledger_url) is None
    with Ledger.open(ledger_url) as book:
        assert book.upgraded_from == 8
        assert set(book.last_runs(KEYS)) == set(KEYS)
    assert_kept(ledger_url)
    newest = newest_by_runs(ledger_url)
    assert len(newest) == len(KEYS) and newest[KEYS[1]][2:4] == ("bob", "failed")
    with Ledger.open(ledger_url) as book:  # kept from then on
        run = book.start(script=KEYS[1], process=bob(), args=[])
        book.finish(run, status="failed", exit_code=1)
        assert book.upgraded_from is None
    assert_kept(ledger_url)


def test_the_step_done_but_not_recorded_is_done_again_without_harm(ledger_url: str) -> None:
    """The table and its triggers there, the version row still 8 (a step cut short): the
    next opener creates nothing twice and fills the table again."""
    with Ledger.open(ledger_url) as book:
        run = book.start(script=KEYS[0], process=bob(), args=[])
        book.finish(run, status="succeeded", exit_code=0)
    with engine_of(ledger_url) as engine, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE opsctl_meta SET value = '8' WHERE name = 'schema'")
    with Ledger.open(ledger_url) as book:
        assert book.upgraded_from == 8
        run = book.start(script=KEYS[0], process=bob(), args=[])
        book.finish(run, status="failed", exit_code=1)
    assert_kept(ledger_url)
    assert newest_by_runs(ledger_url)[KEYS[0]][3] == "failed"


@pytest.mark.slow
def test_list_shows_what_the_table_keeps(invoke: Callable[..., Result], project: Path,
                                         ledger_url: str) -> None:
    """``list`` (its glance, through the table) and the ledger give the same last runs,
    after a run, a failed run, and a move (followed over the runs, as before)."""
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{ledger_url}"\n',
                                            encoding="utf-8")
    for key in KEYS:
        write(project / "offline_script" / f"{key}.py", f'"""Run {key}."""\n')
    with Ledger.open(ledger_url) as book:
        for key, status in zip(KEYS, ("succeeded", "failed", "succeeded"), strict=True):
            run = book.start(script=key, process=bob(), args=[])
            book.finish(run, status=status, exit_code=0 if status == "succeeded" else 1)
        book.record_move(KEYS[2], "recycle/backfilled", "bob")
        wanted = [*KEYS[:2], "recycle/backfilled", "recycle/never_ran"]
        expected = book.last_runs(wanted)
    from opsctl.project import Project

    config = Project(str(project)).config
    assert {k: (r.started_at, r.operator, r.status, r.dry_run)
            for k, r in expected.items()} == last_seen(config, wanted)
    assert set(expected) == {*KEYS[:2], "recycle/backfilled"}
    result = invoke(project, "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.count(" bob failed") == 1 and result.stdout.count(" bob succeeded") == 1


def test_the_glance_reads_the_table_at_the_current_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    with Ledger.open(url) as book:
        run = book.start(script=KEYS[0], process=bob(), args=[], dry_run=True)
        book.finish(run, status="succeeded", exit_code=0)
    reader = glance(url, journal_folder(str(tmp_path)))
    assert reader is not None and SCHEMA_VERSION == 9
    try:
        (seen,) = reader.last_seen(KEYS).values()
        assert (seen.operator, seen.status, seen.dry_run) == ("bob", "succeeded", True)
        assert reader.last_runs(KEYS)[KEYS[0]].id == run.id
    finally:
        reader.close()
