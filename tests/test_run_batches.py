"""``opsctl run`` with batches, end to end on the shop app (SQLite; the databases' own parts
are in tests/test_batches.py): --limit pauses (exit 80), --resume goes on with the same
arguments and reason and skips nothing, a dry run's batches are rolled back and resumed dry,
a cancel asked from another process ends the run at the next boundary (exit 81), and what
--resume refuses."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from runkit import ledger, opsctl, spawned, wait_for, write_project, write_script
from sqlalchemy.pool import NullPool
from test_run_dry import snapshot

from opsctl.ledger.values import Process

BUMP = '''\
"""Raise every item's price, one item a batch."""
import time
from pathlib import Path

import click
import sqlalchemy as sa
from opsctl import batches, current_run, report
from shopapp import Item, db


@click.command()
@click.option("--by", type=int, default=1)
@click.option("--gate", default=None)
@click.option("--peek", is_flag=True, help="Report the price of the item before each batch's.")
def main(by, gate, peek):
    seen = []
    for batch in batches(sa.select(Item), size=1):
        if peek and batch[0].id > 1:
            seen.append(db.session.get(Item, batch[0].id - 1).price)
        for item in batch:
            item.price += by
        db.session.commit()
        if gate and batch[0].id == 2:  # the second batch, done and committed, waits
            Path(gate, "started").write_text("")
            while not Path(gate, "go").exists():
                time.sleep(0.02)
    report(done=current_run().progress.done, **({"seen": seen} if peek else {}))
'''

TALLY = '''\
"""Look at the items with track(), then raise every price in batches."""
from pathlib import Path

import click
import sqlalchemy as sa
from opsctl import batches, current_run, report, track
from shopapp import Item, db


@click.command()
@click.option("--stop", default=None)
def main(stop):
    for _ in track(range(5)):
        pass
    if stop and Path(stop).exists():
        raise SystemExit("stopped between the loops")
    for batch in batches(sa.select(Item), size=2):
        for item in batch:
            item.price += 1
        db.session.commit()
    report(done=current_run().progress.done)
'''


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    project = write_project(tmp_path, url, app="shopapp:create_app", database=url)
    seed(tmp_path)
    write_script(project, "recycle/bump", BUMP)
    return project, url


def seed(base: Path) -> None:
    """The shop's tables and items (as shopapp.seed() makes them), without a process."""
    for name, sql in (("shop", "CREATE TABLE shop_item (id INTEGER PRIMARY KEY, name "
                       "VARCHAR(50) NOT NULL, price INTEGER NOT NULL)"),
                      ("audit", "CREATE TABLE shop_audit (id INTEGER PRIMARY KEY, text "
                       "VARCHAR(100) NOT NULL)")):
        engine = sa.create_engine(f"sqlite:///{base / name}.sqlite3", poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
            if name == "shop":
                conn.execute(sa.text("INSERT INTO shop_item VALUES (1, 'apple', 100), "
                                     "(2, 'pear', 200), (3, 'plum', 300)"))
        engine.dispose()


def prices(project: Path) -> list[object]:
    return [row[2] for row in snapshot(project)[0]]


@pytest.mark.slow
def test_limit_pauses_and_resume_goes_on_with_the_same_arguments(
        shop: tuple[Path, str]) -> None:
    project, url = shop
    first = opsctl(project, "run", "--limit", "2", "--reason", "T-1", "recycle/bump",
                   "--by", "5")
    assert first.returncode == 80, first.stderr
    assert "paused after 2 items (--limit 2)" in first.stderr
    assert "opsctl run --resume 1 goes on from there" in first.stderr
    assert prices(project) == [105, 205, 300]
    second = opsctl(project, "run", "--resume", "recycle/bump")
    assert second.returncode == 0, second.stderr
    assert prices(project) == [105, 205, 305]
    with ledger(url) as book:
        old, new = book.run(1), book.run(2)
        assert old is not None and new is not None
        assert (old.status, old.exit_code) == ("paused", 80)
        assert (new.status, new.args, new.reason) == ("succeeded", ["--by", "5"], "T-1")
        assert new.summary == {"done": 3}
        progress = book.progress(2)
        assert progress is not None
        assert (progress.done, progress.total, progress.resumed_from) == (3, 3, 1)


def test_a_resume_carries_nothing_over_from_a_track_loop(shop: tuple[Path, str],
                                                         tmp_path: Path) -> None:
    """A run that ended after a track() loop recorded its progress, before its batches()
    loop began: the progress has no cursor, so its resume's batches start from the first
    item with nothing done, instead of counting the track() loop's items as done."""
    project, url = shop
    write_script(project, "recycle/tally", TALLY)
    stop = tmp_path / "stop"
    stop.write_text("")
    first = opsctl(project, "run", "recycle/tally", "--stop", str(stop))
    assert first.returncode == 1, first.stderr
    with ledger(url) as book:
        tracked = book.progress(1)
        assert tracked is not None and (tracked.done, tracked.cursor) == (5, None)
    stop.unlink()
    second = opsctl(project, "run", "--resume", "recycle/tally")
    assert second.returncode == 0, second.stderr
    assert prices(project) == [101, 201, 301]
    with ledger(url) as book:
        run = book.run(2)
        assert run is not None and run.summary == {"done": 3}
        progress = book.progress(2)
        assert progress is not None
        assert (progress.done, progress.total, progress.resumed_from) == (3, 3, 1)


@pytest.mark.slow
def test_a_dry_run_rolls_back_each_batch_and_resumes_dry(shop: tuple[Path, str]) -> None:
    project, url = shop
    first = opsctl(project, "run", "--dry-run", "--limit", "1", "recycle/bump")
    assert first.returncode == 80, first.stderr
    second = opsctl(project, "run", "--resume", "1", "recycle/bump", "--peek")
    assert second.returncode == 0, second.stderr
    assert prices(project) == [100, 200, 300]
    with ledger(url) as book:
        runs = [book.run(1), book.run(2)]
        assert [(r.status, r.dry_run) for r in runs if r] == [("paused", True),
                                                             ("succeeded", True)]
        assert [(p.done, p.total) for p in book.progress_of([1, 2]).values()] == [(1, 3),
                                                                               (3, 3)]
        # Each batch was rolled back at its end: the next one saw the price before it.
        assert runs[1].summary == {"done": 3, "seen": [100, 200]}  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_cancel_asked_from_another_process_ends_the_run_at_the_next_batch(
        shop: tuple[Path, str], tmp_path: Path) -> None:
    project, url = shop
    with spawned(project, "run", "recycle/bump", "--gate", str(tmp_path)) as proc:
        wait_for(lambda: (tmp_path / "started").exists(), what="the first batch")
        with ledger(url) as book:
            assert book.request(1, "cancel", operator="bob") is not None
        (tmp_path / "go").write_text("")
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 81, err
    assert "recycle/bump cancelled after 2 items, as bob asked (run 1)" in err
    assert prices(project) == [101, 201, 300]
    with ledger(url) as book:
        run = book.run(1)
        assert run is not None and run.status == "cancelled"
        assert book.progress(1).done == 2  # type: ignore[union-attr]
        assert book.holder("recycle/bump") is None  # the lock is released


@pytest.mark.slow
def test_ctrl_c_in_a_batch_is_interrupted_and_its_last_checkpoint_resumes(
        shop: tuple[Path, str], tmp_path: Path) -> None:
    """SIGINT while the second batch runs: the run ends interrupted, the checkpoint of the
    first batch stands, and the resume does the second batch again (at most one batch twice)
    and the third."""
    project, url = shop
    with spawned(project, "run", "recycle/bump", "--gate", str(tmp_path)) as proc:
        wait_for(lambda: (tmp_path / "started").exists(), what="the second batch")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    with ledger(url) as book:
        assert book.run(1).status == "interrupted"  # type: ignore[union-attr]
        assert (book.progress(1).done, book.progress(1).cursor) == \
            (1, {"key": ["shop_item.id"], "after": [1]})  # type: ignore[union-attr]
    (tmp_path / "go").write_text("")  # the resume has the same --gate: let it through
    resumed = opsctl(project, "run", "--resume", "recycle/bump")
    assert resumed.returncode == 0, resumed.stderr
    assert prices(project) == [101, 202, 301]


def test_what_resume_refuses(shop: tuple[Path, str],
                             invoke: Callable[..., Result]) -> None:
    """Each refusal is one line, before the app loads (so in process here)."""
    project, url = shop
    nothing = "Error: --resume: recycle/bump has no unfinished run to resume (failed, " \
              "interrupted, lost, paused)"
    cases = [(("--resume", "recycle/bump"), nothing),
             (("--resume", "7"), "Error: --resume 7: there is no run 7 in the ledger"),
             (("--resume",), "Error: Missing argument 'SCRIPT'."),
             (("--resume", "--no-ledger", "recycle/bump"), "cannot be used with --no-ledger")]
    check(invoke, project, cases)
    write_script(project, "recycle/other", '"""Another."""\ndef main():\n    pass\n')
    with ledger(url) as book:
        for status in ("succeeded", "cancelled", "paused", "failed"):
            run = book.start(script="recycle/bump", process=Process.current("ann"), args=[])
            book.end(run, status=status, exit_code=0)
        book.begin_progress(4, resumed_from=3)
        gone = book.start(script="recycle/gone", process=Process.current("ann"), args=[])
        book.end(gone, status="failed", exit_code=1)
    check(invoke, project, [
        (("--resume", "1"), "Error: --resume: run 1 of recycle/bump ended succeeded: only a "
         "failed, interrupted, lost or paused run can be resumed"),
              (("--resume", "2"), "ended cancelled"),
              (("--resume", "3"), "Error: --resume: run 3 was already resumed by run 4; "
               "resume that one (--resume 4)"),
              (("--resume", "1", "recycle/other"), "Error: --resume 1: run 1 is a run of "
               "recycle/bump, not of recycle/other"),
        (("--resume", "5"), "Error: --resume 5: run 5's script recycle/gone is not there any "
         "more; if it was moved, name it: --resume 5 NEW_NAME")])


def check(invoke: Callable[..., Result], project: Path,
          cases: list[tuple[tuple[str, ...], str]]) -> None:
    for args, message in cases:
        result = invoke(project, "run", *args)
        assert result.exit_code in (1, 2, 74), (args, result.output, result.stderr)
        assert message in result.stderr.strip().splitlines()[-1], (args, result.stderr)


@pytest.mark.slow
def test_a_lost_one_off_fix_is_resumed_without_force(shop: tuple[Path, str]) -> None:
    """Run-once refuses a one-off fix whose last run was lost (it may have succeeded), but
    resuming that run goes on from its checkpoint; once it succeeded, run-once stands."""
    project, url = shop
    write_script(project, "unrecycle/bump", BUMP)
    with ledger(url) as book:
        run = book.start(script="unrecycle/bump", process=Process.current("ann"),
                         args=["--by", "5"])
        book.begin_progress(run.id, total=3, done=2, cursor=[2])
        book.end(run, status="lost", exit_code=None)
    resumed = opsctl(project, "run", "--resume", "unrecycle/bump")
    assert resumed.returncode == 0, resumed.stderr
    assert prices(project) == [100, 200, 305]
    again = opsctl(project, "run", "unrecycle/bump")
    assert again.returncode == 76, again.stderr


@pytest.mark.slow
def test_a_dry_preview_of_a_resume_does_not_block_the_real_resume(
        shop: tuple[Path, str]) -> None:
    """Run 1 paused after item 1; run 2 previewed its resume (--dry-run --resume 1) and
    succeeded. The real resume of run 1 still goes on from its checkpoint: a dry run changed
    nothing, so it resumed nothing."""
    project, url = shop
    with ledger(url) as book:
        real = book.start(script="recycle/bump", process=Process.current("ann"), args=[])
        book.begin_progress(real.id, total=3, done=1, cursor=[1])
        book.end(real, status="paused", exit_code=80)
        dry = book.start(script="recycle/bump", process=Process.current("ann"), args=[],
                         dry_run=True)
        book.begin_progress(dry.id, total=3, done=3, cursor=[3], resumed_from=real.id)
        book.end(dry, status="succeeded", exit_code=0)
    resumed = opsctl(project, "run", "--resume", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert prices(project) == [100, 201, 301]
