"""Operating a long run from outside: ``opsctl pause`` / ``opsctl cancel`` (asked through the
ledger, from any process), its progress and time left in ``history``, and ``history --run ID
--follow`` in a real second process while the test writes the run's checkpoints.

The running run is this test process's own (``Ledger.start`` with the real process), so it
is alive as far as reaping goes; the test ends it as the runner would when it sees the ask.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import PG_SERVER, PG_VARIABLE, server_database
from runkit import spawned

from opsctl import history
from opsctl import progress as headway
from opsctl.follow import follow_run
from opsctl.ledger import glance as glance_module
from opsctl.ledger.facts import journal_folder
from opsctl.ledger.glance import glance
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process, Progress, Run
from opsctl.project import Project

KEY = "recycle/backfill"
T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


def _project(project: Path, url: str) -> Iterator[Ledger]:
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{url}"\n',
                                            encoding="utf-8")
    (project / "offline_script" / "recycle" / "backfill.py").write_text('"""Backfill."""\n')
    opened = Ledger.open(url)
    yield opened
    opened.close()


@pytest.fixture
def book(project: Path, tmp_path: Path) -> Iterator[Ledger]:
    yield from _project(project, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")


def running(book: Ledger, total: int | None = 1_000, key: str = KEY,
            **progress: object) -> Run:
    """A run of ``key`` by this live process, with its progress row."""
    run = book.start(script=key, process=Process.current("alice"), args=["--since", "2020"])
    book.begin_progress(run.id, total=total, **progress)  # type: ignore[arg-type]
    return run


# -- the words -------------------------------------------------------------------------------


def _progress(done: int, total: int | None, **extra: object) -> Progress:
    return Progress(run_id=1, done=done, total=total, cursor=None,
                    updated_at=T0 + dt.timedelta(seconds=60), **extra)  # type: ignore[arg-type]


def _run(status: str = "running") -> Run:
    return Run(1, KEY, None, [], "alice", "h", 1, T0, None, status, None, False, None, None,
               None, None, None, None, {})


@pytest.mark.parametrize(("done", "total", "status", "expected"), [
    (4_500, 10_000, "running", "45% 4,500/10,000, ~1 min left"),  # 4,500 a minute
    (4_500, None, "running", "4,500 done"),
    (9_999, 10_000, "paused", "99% 9,999/10,000"),  # never 100% before the last item
    (0, 0, "running", "0 done"),
])
def test_progress_text(done: int, total: int | None, status: str, expected: str) -> None:
    run, progress = _run(status), _progress(done, total)
    assert headway.text(run, progress, headway.rate_since_start(run, progress)) == expected


def test_time_left_counts_only_what_the_run_did_itself() -> None:
    # Resumed at 4,000 of 10,000: 500 in its first minute, so 5,500 to go is 11 minutes.
    run, progress = _run(), _progress(4_500, 10_000, request="pause")
    rate = headway.rate_since_start(run, progress, carried=4_000)
    assert headway.text(run, progress, rate) == "45% 4,500/10,000, ~11 min left, pausing"
    recent = [(T0, 100), (T0 + dt.timedelta(seconds=10), 600)]  # 50 a second lately
    assert headway.rate_of(recent) == 50.0 and headway.rate_of(recent[:1]) is None


def test_the_table_reads_progress_once_and_what_resumed_runs_carried_once() -> None:
    asked: list[list[int]] = []
    rows = {1: _progress(4_500, 10_000, resumed_from=7), 7: _progress(4_000, 10_000)}

    def progress_of(ids: Iterable[int]) -> dict[int, Progress]:
        asked.append(sorted(ids))
        return {n: p for n, p in rows.items() if n in asked[-1]}

    ended = _run("succeeded")._replace(id=2)
    assert headway.cells(progress_of, [_run(), ended]) == {1: "45% 4,500/10,000, ~11 min left"}
    assert asked == [[1], [7]]  # the page's running and paused runs, then what they resumed
    assert headway.cells(progress_of, [ended]) == {} and len(asked) == 2  # none: no query


@pytest.mark.parametrize(("seconds", "expected"), [
    (0.2, "~1 s left"), (42, "~42 s left"), (180, "~3 min left"), (5_400, "~1 h 30 min left"),
    (7_200, "~2 h left"), (5 * 86_400, "~5 days left")])
def test_time_left_text(seconds: float, expected: str) -> None:
    assert headway.left_text(seconds) == expected


# -- pause and cancel ------------------------------------------------------------------------


def test_pause_asks_the_run_and_says_what_will_happen(invoke: Callable[..., Result],
                                                      project: Path, book: Ledger) -> None:
    run = running(book)
    result = invoke(project, "--developer", "bob", "pause", str(run.id))
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"run {run.id} ({KEY}) will pause at its next batch boundary; "
                             f"resume it with: opsctl run --resume {run.id}\n")
    progress = book.progress(run.id)
    assert progress is not None and (progress.request, progress.requested_by) == ("pause", "bob")
    result = invoke(project, "--developer", "carol", "cancel", str(run.id))
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"run {run.id} ({KEY}) will be cancelled at its next batch "
                             "boundary (a cancelled run cannot be resumed); this replaces "
                             "the pause asked by bob\n")
    assert book.requested(run.id) == "cancel"


def test_pause_refuses_what_it_cannot_stop(invoke: Callable[..., Result], project: Path,
                                           book: Ledger) -> None:
    result = invoke(project, "pause", "99")
    assert (result.exit_code, result.stderr) == (
        1, "Error: no run 99 in the ledger; 'opsctl history' lists the runs\n")
    plain = book.start(script=KEY, process=Process.current("alice"), args=[])
    result = invoke(project, "cancel", str(plain.id))
    assert result.exit_code == 83, result.output
    assert result.stderr == (
        f"Error: run {plain.id} ({KEY}) has recorded no batch: only a script looping over "
        "batches() or track() stops at a batch boundary, and this one has reached none; "
        f"nothing asked (Ctrl-C or SIGTERM to pid {plain.pid} on {plain.host} interrupts it)\n")
    assert book.progress(plain.id) is None  # nothing asked, no progress made up
    book.finish(plain, status="succeeded", exit_code=0)
    result = invoke(project, "pause", str(plain.id))
    assert (result.exit_code, result.stderr) == (82, (
        f"Error: run {plain.id} ({KEY}) is not running: it ended succeeded, exit 0; nothing "
        "to pause\n"))


def test_pause_of_a_sharded_run_refuses_when_no_shard_could_be_asked(
        invoke: Callable[..., Result], project: Path, book: Ledger) -> None:
    """A sharded run whose shards have all ended: nothing is asked, and ``cancel`` says so
    with the exit code of a run that is not running, as for an unsharded run."""
    me = Process.current("alice")
    parent = book.start(script=KEY, process=me, args=[])
    child = book.enqueue(script=KEY, process=me, args=[], sha256=None)
    book.link_shard(child.id, parent_id=parent.id, index=1, count=2)
    other = book.enqueue(script=KEY, process=me, args=[], sha256=None)
    book.link_shard(other.id, parent_id=parent.id, index=2, count=2)
    started = book.start_shard(child.id, process=me)
    result = invoke(project, "pause", str(parent.id))  # shard 1 asked, shard 2 paused
    assert result.exit_code == 0, result.output
    assert "shard 2/2: run" in result.stdout and "is paused: it had not started" in result.stdout
    book.finish(started, status="succeeded", exit_code=0)
    book.close_parent(parent.id)
    ended = book.run(parent.id)
    assert ended is not None and ended.status not in ("queued", "running")
    result = invoke(project, "cancel", str(parent.id))
    assert result.exit_code == 82, result.output
    assert f"run {parent.id} ({KEY}) is not running" in result.stderr


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def any_book(request: pytest.FixtureRequest, project: Path,
             tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        yield from _project(project, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    else:
        for url in server_database(PG_SERVER, PG_VARIABLE):
            yield from _project(project, url)


def _ends_when_asked(book: Ledger, run: Run, status: str, code: int) -> threading.Thread:
    """What the runner does at its next batch boundary: it sees the ask and ends the run."""
    def runner() -> None:
        while book.requested(run.id) is None:
            threading.Event().wait(0.05)
        book.finish(run, status=status, exit_code=code)

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    return thread


def test_wait_returns_once_the_run_has_stopped(invoke: Callable[..., Result], project: Path,
                                               any_book: Ledger) -> None:
    run = running(any_book)
    any_book.checkpoint(run.id, done=400, cursor={"id": 400})
    thread = _ends_when_asked(any_book, run, "paused", 80)
    result = invoke(project, "pause", str(run.id), "--wait")
    thread.join(10)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == (f"run {run.id} paused (exit 80) at 40% 400/1,000; "
                                             f"resume it with: opsctl run --resume {run.id}")
    other = running(any_book)
    thread = _ends_when_asked(any_book, other, "succeeded", 0)  # done before the boundary
    result = invoke(project, "cancel", str(other.id), "--wait")
    thread.join(10)
    assert result.exit_code == 82, result.output
    assert result.stderr == (f"Error: run {other.id} succeeded (exit 0) at 0% 0/1,000: it ended "
                             "before its next batch boundary, not cancelled\n")


# -- history ---------------------------------------------------------------------------------


def test_history_shows_progress_of_running_and_paused_runs(invoke: Callable[..., Result],
                                                           project: Path, book: Ledger) -> None:
    first = running(book, total=None)
    book.checkpoint(first.id, done=4_500, cursor=4_500)
    book.finish(first, status="paused", exit_code=80)
    second = running(book, done=4_500, cursor=4_500, resumed_from=first.id)
    book.checkpoint(second.id, done=5_000, cursor=5_000, total=10_000)
    book.request(second.id, "cancel", operator="bob")
    done = running(book, key="recycle/other")
    book.finish(done, status="succeeded", exit_code=0)
    result = invoke(project, "history")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert re.search(r" running +50% 5,000/10,000, ~.+ left, cancelling$", rows[str(second.id)])
    assert re.search(r" paused +4,500 done +80 ", rows[str(first.id)])
    assert re.search(r" succeeded +0 ", rows[str(done.id)])  # ended: no progress shown

    data = {r["id"]: r for r in json.loads(invoke(project, "history", "--json").stdout)}
    assert data[second.id]["progress"] == {
        "done": 5_000, "total": 10_000, "cursor": 5_000, "resumed_from": first.id,
        "request": "cancel", "requested_by": "bob",
        "updated_at": data[second.id]["progress"]["updated_at"]}
    assert data[done.id]["progress"]["done"] == 0  # any run with batches has one in JSON

    text = invoke(project, "history", "--run", str(first.id)).stdout
    assert "  progress:     4,500 done (last checkpoint " in text
    assert "  cursor:       4500\n" in text and f"  resumed by:   run {second.id}\n" in text
    text = invoke(project, "history", "--run", str(second.id)).stdout
    assert f"  resumed from: run {first.id}\n  stop asked:   cancel by bob\n" in text
    whole = json.loads(invoke(project, "history", "--run", str(first.id), "--json").stdout)
    assert whole["resumed_by"] == [second.id] and whole["progress"]["cursor"] == 4_500


def test_a_long_listing_never_leaves_progress_out(project: Path, book: Ledger) -> None:
    paused = running(book, total=None)
    book.checkpoint(paused.id, done=4_500)
    book.finish(paused, status="paused", exit_code=80)
    book.finish(running(book), status="succeeded", exit_code=0)
    with history.shown(Project(project), None, status=None, limit=None) as found:
        shown = history.table(found, size=1)  # a page a run: the first has no progress
        assert shown is not None and "progress" not in shown.columns
        pages = list(shown.pages)
    assert [page[0][-1] for page in pages] == ["", "progress: 4,500 done"]


def test_history_reads_progress_in_one_primary_key_query(
        invoke: Callable[..., Result], project: Path, book: Ledger,
        monkeypatch: pytest.MonkeyPatch) -> None:
    paused = running(book, key="recycle/other")
    book.finish(paused, status="paused", exit_code=80)
    running(book)
    seen: list[str] = []
    real = glance_module._sqlite().connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(glance_module._sqlite(), "connect", connect)
    result = invoke(project, "history")
    assert result.exit_code == 0 and "0% 0/1,000" in result.stdout, result.output
    on_progress = [s for s in seen if "FROM opsctl_progress" in s]
    assert len(on_progress) == 1, seen  # read without SQLAlchemy: one query for the page
    with sqlite3.connect(book.url.removeprefix("sqlite:///")) as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {on_progress[0]}").fetchall()
    conn.close()
    assert "USING INTEGER PRIMARY KEY" in str(plan[0][-1]), plan


def test_a_glance_reads_progress_as_the_ledger_does(project: Path, book: Ledger) -> None:
    first = running(book, cursor={"id": 7, "at": "x"})
    second = running(book, total=None, key="recycle/other", resumed_from=first.id)
    book.request(second.id, "pause", operator="bob")
    reader = glance(book.url, journal_folder(str(project)))
    assert reader is not None
    try:
        for ids in ([first.id, second.id, 999], [second.id, first.id]):  # a list; a range
            assert reader.progress_of(ids) == book.progress_of(ids)
        assert reader.progress_of([second.id]) == {second.id: book.progress(second.id)}
        assert reader.progress(first.id) == book.progress(first.id)
        assert reader.resumed_by(first.id) == book.resumed_by(first.id) == [second.id]
    finally:
        reader.close()


@pytest.mark.slow
def test_follow_prints_a_line_per_checkpoint_and_exits_with_the_run(project: Path,
                                                                    book: Ledger) -> None:
    run = running(book)
    with spawned(project, "history", "--run", str(run.id), "--follow") as proc:
        killer = threading.Timer(60, proc.kill)  # a hang fails instead of blocking the suite
        killer.start()
        assert proc.stdout is not None

        def line() -> str:
            return proc.stdout.readline().rstrip("\n")  # type: ignore[union-attr]

        assert line() == f"run {run.id}: 0% 0/1,000"
        book.checkpoint(run.id, done=400, cursor=400)
        assert re.fullmatch(rf"run {run.id}: 40% 400/1,000, ~\d+ (s|min) left", line())
        book.request(run.id, "pause", operator="bob")
        assert re.fullmatch(rf"run {run.id}: 40% 400/1,000, ~\d+ (s|min) left, pausing", line())
        book.checkpoint(run.id, done=500, cursor=500)
        assert re.fullmatch(rf"run {run.id}: 50% 500/1,000, ~\d+ (s|min) left, pausing", line())
        book.finish(run, status="paused", exit_code=80)
        assert line() == (f"run {run.id} paused (exit 80) at 50% 500/1,000; resume it with: "
                          f"opsctl run --resume {run.id}")
        assert proc.wait(30) == 80
        killer.cancel()
        assert proc.stdout.read() == "" and proc.stderr is not None and \
            proc.stderr.read() == ""


def test_follow_ends_when_the_run_s_process_died(project: Path, book: Ledger,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    started = subprocess.run([sys.executable, "-c", (
        "import sys; from opsctl.ledger.store import Ledger; "
        "from opsctl.ledger.values import Process; book = Ledger.open(sys.argv[1]); "
        f"run = book.start(script={KEY!r}, process=Process.current('alice'), args=[]); "
        "book.begin_progress(run.id, total=1000); print(run.id)"), book.url],
        capture_output=True, text=True, check=True, timeout=60)
    run_id = int(started.stdout)
    assert follow_run(Project(project), run_id) == 1  # a lost run has no exit code
    assert capsys.readouterr().out == f"run {run_id} lost (no exit code) at 0% 0/1,000\n"
