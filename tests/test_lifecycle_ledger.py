"""The lifecycle against a real ledger (SQLite, PostgreSQL, MariaDB): suggestions built from
recorded runs, history that follows a promote, and moves that leave tree and ledger as they
were when anything fails."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from click.testing import Result
from conftest import git, write

from opsctl.catalogue import Catalogue
from opsctl.config import load_config
from opsctl.errors import LedgerUnreachable
from opsctl.ledger import rows as ledger_clock
from opsctl.ledger.processes import node_id, process_start
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process, Run
from opsctl.lifecycle.book import script_stats
from opsctl.lifecycle.candidates import demote_candidates, promote_candidates, suggest
from opsctl.lifecycle.cleaning import clean_project, plan_clean_project
from opsctl.lifecycle.moves import apply_move, plan_move
from opsctl.naming import Naming

UTC = _dt.UTC
TS = "ts_2024_06_10_export_order_data"
OLD = f"yuzaoyah/{TS}"
NEW = "recycle/export_order_data"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, isolated_git: None) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "yuzaoyah")


@pytest.fixture
def proj(project: Path, ledger_url: str) -> Path:
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{ledger_url}"\n',
                                            encoding="utf-8")
    return project


@pytest.fixture
def book(ledger_url: str) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_url)
    yield opened
    opened.close()


def at(days_ago: int, hour: int = 12) -> _dt.datetime:
    """Noon UTC ``days_ago`` days ago: distinct days stay distinct in any local zone."""
    day = _dt.datetime.now(UTC).date() - _dt.timedelta(days=days_ago)
    return _dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def add_run(book: Ledger, key: str, operator: str, when: _dt.datetime,
            status: str = "succeeded", *, dry: bool = False) -> Run:
    """A finished run of ``key`` by ``operator`` at ``when`` (a dry run with ``dry``), through
    the ledger's own start/finish (its clock set to ``when``)."""
    process = Process(operator, "host-1", os.getpid(), node_id(), process_start(os.getpid()))
    with mock.patch.object(ledger_clock, "utcnow", return_value=when):
        run = book.start(script=key, process=process, args=[], dry_run=dry)
        book.finish(run, status=status, exit_code=0 if status == "succeeded" else 1)
    return run


def start_run(book: Ledger, key: str) -> Run:
    """A run in progress: its lock is held by this (live) test process."""
    process = Process("lihua", "host-1", os.getpid(), node_id(), process_start(os.getpid()))
    return book.start(script=key, process=process, args=[])


def snapshot(top: Path) -> dict[str, object]:
    files: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in (".git", "instance")]
        files[os.path.relpath(dirpath, top) + "/"] = None
        for name in filenames:
            if not name.startswith("ledger.sqlite3"):
                files[os.path.relpath(os.path.join(dirpath, name), top)] = \
                    Path(dirpath, name).read_bytes()
    if (top / ".git").is_dir():
        files["git status"] = git(top, "status", "--porcelain=v1", "--untracked-files=all")
        files["git index"] = git(top, "ls-files", "-s")
    return files


@contextmanager
def fresh(url: str) -> Iterator[Ledger]:
    """A ledger opened now, as a new process would: what the CLI wrote, read back (a
    long-lived Ledger keeps the moves it read first)."""
    opened = Ledger.open(url)
    try:
        yield opened
    finally:
        opened.close()


def moves_of(url: str, key: str) -> list[str]:
    """``key`` and the keys it had, as a fresh reader sees them."""
    with fresh(url) as reader:
        return reader.aliases(key)


# -- the suggestions -------------------------------------------------------------------------


def test_promote_candidates_need_two_days_or_two_operators(proj: Path, book: Ledger) -> None:
    root = proj / "offline_script"
    for rel in ("yuzaoyah/ts_2024_06_01_same_day.py", "yuzaoyah/ts_2024_06_02_two_days.py",
                "yuzaoyah/ts_2024_06_03_two_people.py", "yuzaoyah/ts_2024_06_04_once.py",
                "yuzaoyah/ts_2024_06_05_never.py", "recycle/clear_cache.py"):
        write(root / rel)
    add_run(book, "yuzaoyah/ts_2024_06_01_same_day", "yuzaoyah", at(3, 9))
    add_run(book, "yuzaoyah/ts_2024_06_01_same_day", "yuzaoyah", at(3, 15))
    add_run(book, "yuzaoyah/ts_2024_06_02_two_days", "yuzaoyah", at(5))
    add_run(book, "yuzaoyah/ts_2024_06_02_two_days", "yuzaoyah", at(4), status="failed")
    add_run(book, "yuzaoyah/ts_2024_06_02_two_days", "yuzaoyah", at(2))
    add_run(book, "yuzaoyah/ts_2024_06_03_two_people", "yuzaoyah", at(1, 9))
    add_run(book, "yuzaoyah/ts_2024_06_03_two_people", "lihua", at(1, 10))
    add_run(book, "yuzaoyah/ts_2024_06_04_once", "yuzaoyah", at(1))
    for days in (1, 2, 3):
        add_run(book, "recycle/clear_cache", "lihua", at(days))  # recycle: never a candidate

    config = load_config(proj)
    found = promote_candidates(Catalogue(config.root), script_stats(config))
    assert [(c.script.key, c.target, c.runs, c.days, c.operators, c.why) for c in found] == [
        ("yuzaoyah/ts_2024_06_02_two_days", "recycle/two_days", 2, 2, ("yuzaoyah",),
         "run on 2 days"),
        ("yuzaoyah/ts_2024_06_03_two_people", "recycle/two_people", 2, 1, ("lihua", "yuzaoyah"),
         "by 2 operators"),
    ]


def test_promote_counts_only_runs_that_really_succeeded(proj: Path, book: Ledger) -> None:
    """Failed, interrupted and dry runs are no evidence that a script was needed again: a
    script that never worked, or was only rehearsed, is no candidate, however often it ran."""
    root = proj / "offline_script"
    never, rehearsed, needed = (f"yuzaoyah/ts_2024_06_0{i}_{what}" for i, what in
                                enumerate(("never_worked", "rehearsed", "needed"), 1))
    for key in (never, rehearsed, needed):
        write(root / f"{key}.py")
    add_run(book, never, "yuzaoyah", at(3), status="failed")
    add_run(book, never, "lihua", at(2), status="failed")
    add_run(book, never, "lihua", at(1), status="failed")  # 3 failed runs by 2 operators
    add_run(book, rehearsed, "yuzaoyah", at(3), dry=True)
    add_run(book, rehearsed, "lihua", at(2), dry=True)
    add_run(book, rehearsed, "lihua", at(1))  # one real run: needed once so far
    add_run(book, needed, "yuzaoyah", at(5))
    add_run(book, needed, "yuzaoyah", at(4), status="failed")
    add_run(book, needed, "yuzaoyah", at(3), status="interrupted")
    add_run(book, needed, "lihua", at(3), dry=True)
    add_run(book, needed, "lihua", at(2))

    config = load_config(proj)
    found = promote_candidates(Catalogue(config.root), script_stats(config))
    assert [(c.script.key, c.runs, c.days, c.operators, c.why, c.last_at) for c in found] == [
        (needed, 2, 2, ("lihua", "yuzaoyah"), "run on 2 days by 2 operators", at(2))]
    assert found[0].other_runs == (("dry", 1), ("failed", 1), ("interrupted", 1))
    assert found[0].as_dict()["other_runs"] == {"dry": 1, "failed": 1, "interrupted": 1}


def test_demote_a_dry_rehearsal_is_not_a_use(proj: Path, book: Ledger) -> None:
    """Needed once: one real run that succeeded, with no real run after it; dry runs never
    count, and failed attempts before the one success are part of getting it done."""
    root = proj / "offline_script"
    for name in ("rehearsed", "retried", "again", "only_dry", "dry_lately", "failed_lately"):
        write(root / f"recycle/{name}.py")
    add_run(book, "recycle/rehearsed", "yuzaoyah", at(12), dry=True)
    add_run(book, "recycle/rehearsed", "yuzaoyah", at(12, 14), dry=True)
    add_run(book, "recycle/rehearsed", "yuzaoyah", at(10))
    add_run(book, "recycle/retried", "lihua", at(10), status="failed")
    add_run(book, "recycle/retried", "lihua", at(9))
    add_run(book, "recycle/again", "yuzaoyah", at(10))
    add_run(book, "recycle/again", "lihua", at(3), status="failed")  # reached for again
    add_run(book, "recycle/only_dry", "yuzaoyah", at(5), dry=True)
    for days in (300, 200):
        add_run(book, "recycle/dry_lately", "yuzaoyah", at(days))
        add_run(book, "recycle/failed_lately", "yuzaoyah", at(days))
    add_run(book, "recycle/dry_lately", "lihua", at(1), dry=True)
    add_run(book, "recycle/failed_lately", "lihua", at(1), status="failed")
    old = at(400).timestamp()
    os.utime(root / "recycle/only_dry.py", (old, old))

    config = load_config(proj)
    found = demote_candidates(Catalogue(config.root), script_stats(config), stale_days=90,
                              now=at(0))
    by_key = {c.script.key: c for c in found}
    assert set(by_key) == {"recycle/rehearsed", "recycle/retried", "recycle/only_dry",
                           "recycle/dry_lately"}
    rehearsed = by_key["recycle/rehearsed"]
    assert (rehearsed.why, rehearsed.runs, rehearsed.other_runs) == (
        "run exactly once, 10 days ago", 1, (("dry", 2),))
    assert by_key["recycle/retried"].why == "run exactly once, 9 days ago"
    assert by_key["recycle/retried"].other_runs == (("failed", 1),)
    assert by_key["recycle/only_dry"].why == "never run for real; unchanged for 400 days"
    assert by_key["recycle/only_dry"].runs == 0
    assert by_key["recycle/dry_lately"].why == "not run for 200 days"
    assert by_key["recycle/dry_lately"].last_at == at(200)


def test_demote_candidates_once_or_not_for_stale_days(proj: Path, book: Ledger) -> None:
    root = proj / "offline_script"
    for name in ("once", "long_ago", "busy", "never_old", "never_new"):
        write(root / f"recycle/{name}.py")
    write(root / "unrecycle/fix_rows.py")
    add_run(book, "recycle/once", "yuzaoyah", at(10))
    add_run(book, "recycle/long_ago", "yuzaoyah", at(300))
    add_run(book, "recycle/long_ago", "lihua", at(200))
    add_run(book, "recycle/busy", "yuzaoyah", at(30))
    add_run(book, "recycle/busy", "yuzaoyah", at(2))
    add_run(book, "unrecycle/fix_rows", "yuzaoyah", at(1))  # unrecycle: never a candidate
    old = at(400).timestamp()
    os.utime(root / "recycle/never_old.py", (old, old))

    config = load_config(proj)
    found = demote_candidates(Catalogue(config.root), script_stats(config), stale_days=90,
                              now=at(0))
    by_key = {c.script.key: c for c in found}
    assert set(by_key) == {"recycle/once", "recycle/long_ago", "recycle/never_old"}
    assert by_key["recycle/once"].why == "run exactly once, 10 days ago"
    assert by_key["recycle/once"].target == "unrecycle/once"
    assert by_key["recycle/long_ago"].why == "not run for 200 days"
    assert by_key["recycle/long_ago"].operators == ("lihua", "yuzaoyah")
    assert by_key["recycle/never_old"].why == "never run; unchanged for 400 days"
    assert found[0].script.key == "recycle/never_old"  # fewest runs first


def test_the_no_argument_forms_list_and_exit_zero(invoke: Callable[..., Result], proj: Path,
                                                 book: Ledger) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    write(root / "recycle/export_order.py")
    add_run(book, OLD, "yuzaoyah", at(8))
    add_run(book, OLD, "yuzaoyah", at(5), status="failed")
    add_run(book, OLD, "lihua", at(1))
    add_run(book, "recycle/export_order", "yuzaoyah", at(3), dry=True)
    add_run(book, "recycle/export_order", "yuzaoyah", at(1))

    result = invoke(proj, "promote")
    assert result.exit_code == 0, result.output
    title, header, row = result.stdout.splitlines()
    assert title == ("Temporary scripts needed again (runs that succeeded for real, on 2+ days "
                     "or by 2+ operators):")
    assert header.split() == ["SCRIPT", "RUNS", "DAYS", "OPERATORS", "LAST", "RUN", "OTHER",
                              "RUNS"]
    assert row.split() == [OLD, "2", "2", "lihua,", "yuzaoyah", f"{at(1).astimezone():%Y-%m-%d}",
                           "1", "failed"]
    assert "promote one with: opsctl promote <script> [--as NAME]" in result.stderr
    data = json.loads(invoke(proj, "promote", "--json").stdout)
    assert data[0]["key"] == OLD and data[0]["operators"] == ["lihua", "yuzaoyah"]
    assert data[0]["other_runs"] == {"failed": 1}

    demote = invoke(proj, "demote")
    assert demote.exit_code == 0
    title, header, row = demote.stdout.splitlines()
    assert title == ("Recycle scripts that look one-off (run once for real, or not run for 90 "
                     "days; dry runs do not count):")
    assert "run exactly once," in row and row.split()[-2:] == ["1", "dry"]
    assert [(d["key"], d["why"][:16]) for d in json.loads(invoke(proj, "demote", "--json")
                                                          .stdout)] == [
        ("recycle/export_order", "run exactly once")]


def test_accepting_candidates_at_a_terminal(invoke: Callable[..., Result], proj: Path,
                                            book: Ledger, ledger_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    write(root / "yuzaoyah/ts_2024_06_11_clear_sessions.py")
    write(root / "recycle/export_order.py")
    for key in (OLD, "yuzaoyah/ts_2024_06_11_clear_sessions"):
        add_run(book, key, "yuzaoyah", at(3))
        add_run(book, key, "yuzaoyah", at(2))
    monkeypatch.setattr("opsctl.cli.lifecycle.interactive", lambda: True)
    result = invoke(proj, "promote", input="y\nn\n")
    assert result.exit_code == 0, result.output
    assert "similar purpose: recycle/export_order" in result.stderr
    assert f"Promote {OLD} to {NEW}? [y/N]" in result.stderr
    assert (root / f"{NEW}.py").exists()
    assert (root / "yuzaoyah/ts_2024_06_11_clear_sessions.py").exists()  # skipped
    assert moves_of(ledger_url, NEW) == [NEW, OLD]


def test_a_candidate_gone_before_it_is_moved(invoke: Callable[..., Result], proj: Path,
                                             book: Ledger, ledger_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    add_run(book, OLD, "yuzaoyah", at(3))
    add_run(book, OLD, "yuzaoyah", at(2))
    monkeypatch.setattr("opsctl.cli.lifecycle.interactive", lambda: True)

    def confirm_after_someone_deletes_it(*args: object, **kwargs: object) -> bool:
        (root / f"{OLD}.py").unlink()
        return True

    monkeypatch.setattr("click.confirm", confirm_after_someone_deletes_it)
    result = invoke(proj, "promote")
    assert result.exit_code == 1
    assert f"{OLD} not promoted: {OLD} is gone" in result.stderr
    assert not (root / "recycle/export_order_data.py").exists()
    assert moves_of(ledger_url, NEW) == [NEW]


# -- moves and the ledger ---------------------------------------------------------------------


def test_history_follows_a_promote(invoke: Callable[..., Result], proj: Path,
                                   book: Ledger, ledger_url: str) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    first = add_run(book, OLD, "yuzaoyah", at(9))
    second = add_run(book, OLD, "lihua", at(4))
    result = invoke(proj, "promote", OLD)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"promoted {OLD} -> {NEW}.py (rename)"
    third = add_run(book, NEW, "yuzaoyah", _dt.datetime.now(UTC))

    with fresh(ledger_url) as reader:
        runs = reader.runs(NEW)
        stats = reader.stats()[NEW]
    assert [r.id for r in runs] == [third.id, second.id, first.id]
    assert [r.script for r in runs] == [NEW, OLD, OLD]
    assert (stats.runs, len(stats.days), stats.operators) == (3, 3,
                                                              frozenset({"yuzaoyah", "lihua"}))
    history = invoke(proj, "history", NEW, "--json")
    assert history.exit_code == 0, history.output
    assert [r["script"] for r in json.loads(history.stdout)] == [NEW, OLD, OLD]


def test_run_once_follows_a_demote(invoke: Callable[..., Result], proj: Path,
                                   book: Ledger, ledger_url: str) -> None:
    root = proj / "offline_script"
    write(root / "recycle/flush_order_data.py")
    run = add_run(book, "recycle/flush_order_data", "yuzaoyah", at(1))
    assert invoke(proj, "demote", "recycle/flush_order_data").exit_code == 0
    with fresh(ledger_url) as reader:
        found = reader.has_succeeded("unrecycle/flush_order_data")
    assert found is not None and found.id == run.id  # what the run-once guard asks


def test_a_running_script_is_not_moved(invoke: Callable[..., Result], proj: Path,
                                       book: Ledger, ledger_url: str) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    run = start_run(book, OLD)
    before = snapshot(proj)
    result = invoke(proj, "promote", OLD)
    assert result.exit_code == 1
    assert f"is running now (run {run.id} by lihua" in result.stderr
    assert snapshot(proj) == before and moves_of(ledger_url, NEW) == [NEW]


def test_a_ledger_failure_leaves_tree_and_ledger(invoke: Callable[..., Result], proj: Path,
                                                 book: Ledger, ledger_url: str) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    git(proj, "init", "-q")
    git(proj, "add", "offline_script")
    git(proj, "commit", "-q", "-m", "scripts")
    before = snapshot(proj)

    def refuse(*args: object) -> None:
        raise LedgerUnreachable("the connection was closed")

    with mock.patch.object(Ledger, "record_move", refuse):
        result = invoke(proj, "promote", OLD)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: could not record the move in the ledger (the connection was closed); "
        f"{OLD} was moved back, nothing changed")
    assert snapshot(proj) == before and moves_of(ledger_url, NEW) == [NEW]


def test_a_locked_index_leaves_tree_and_ledger(invoke: Callable[..., Result], proj: Path,
                                               book: Ledger, ledger_url: str) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    add_run(book, OLD, "yuzaoyah", at(2))
    git(proj, "init", "-q")
    git(proj, "add", "offline_script")
    git(proj, "commit", "-q", "-m", "scripts")
    (proj / ".git" / "index.lock").write_bytes(b"")
    before = snapshot(proj)
    result = invoke(proj, "promote", OLD)
    assert result.exit_code == 1
    assert "git mv failed: Unable to create" in result.stderr and "index.lock" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(proj) == before
    assert moves_of(ledger_url, NEW) == [NEW]
    with fresh(ledger_url) as reader:
        assert [r.script for r in reader.runs(OLD)] == [OLD]


def test_promote_and_demote_in_git_keep_history(invoke: Callable[..., Result], proj: Path,
                                                book: Ledger, ledger_url: str) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py", '"""Export order data."""\n')
    git(proj, "init", "-q")
    git(proj, "add", "offline_script")
    git(proj, "commit", "-q", "-m", "write")
    promoted = invoke(proj, "promote", OLD)
    assert promoted.stdout.strip() == f"promoted {OLD} -> {NEW}.py (git mv)"
    git(proj, "commit", "-q", "-m", "promote")
    demoted = invoke(proj, "demote", NEW)
    assert demoted.stdout.strip() == f"demoted {NEW} -> unrecycle/export_order_data.py (git mv)"
    git(proj, "commit", "-q", "-m", "demote")
    log = git(proj, "log", "--follow", "--format=%s", "--",
              "offline_script/unrecycle/export_order_data.py")
    assert log.split() == ["demote", "promote", "write"]
    assert moves_of(ledger_url, "unrecycle/export_order_data") == [
        "unrecycle/export_order_data", NEW, OLD]


def test_a_name_freed_by_a_later_move_starts_afresh(invoke: Callable[..., Result], proj: Path,
                                                    book: Ledger, ledger_url: str) -> None:
    """recycle/x got its name by a move, ran, then moved on: a new script later written as
    recycle/x has none of those runs; they follow the script that left."""
    ts = "yuzaoyah/ts_2024_06_10_flush_rows"
    write(proj / f"offline_script/{ts}.py")
    assert invoke(proj, "promote", ts).exit_code == 0
    ran = add_run(book, "recycle/flush_rows", "yuzaoyah", _dt.datetime.now(UTC))
    assert invoke(proj, "demote", "recycle/flush_rows").exit_code == 0
    write(proj / "offline_script/recycle/flush_rows.py")  # a new script takes the name
    fresh_history = invoke(proj, "history", "recycle/flush_rows", "--json")
    assert json.loads(fresh_history.stdout) == []
    moved = json.loads(invoke(proj, "history", "unrecycle/flush_rows", "--json").stdout)
    assert [r["id"] for r in moved] == [ran.id]
    with fresh(ledger_url) as reader:
        assert reader.has_succeeded("recycle/flush_rows") is None


# -- stale and clean with runs -----------------------------------------------------------------


def test_stale_shows_last_runs_and_clean_spares_a_running_script(
        invoke: Callable[..., Result], proj: Path, book: Ledger) -> None:
    root = proj / "offline_script"
    write(root / "yuzaoyah/ts_2020_01_01_busy.py")
    write(root / "yuzaoyah/ts_2020_01_02_done.py")
    add_run(book, "yuzaoyah/ts_2020_01_02_done", "lihua", at(400, 9))
    start_run(book, "yuzaoyah/ts_2020_01_01_busy")

    stale = json.loads(invoke(proj, "stale", "--json").stdout)
    assert [(s["key"], s["running"]) for s in stale] == [
        ("yuzaoyah/ts_2020_01_01_busy", True), ("yuzaoyah/ts_2020_01_02_done", False)]
    assert stale[1]["last_run"]["operator"] == "lihua"

    result = invoke(proj, "clean", "--yes")
    assert result.exit_code == 0, result.output
    assert "running now  keep: a run is in progress" in result.stdout
    assert "deleted yuzaoyah/ts_2020_01_02_done" in result.stdout
    assert (root / "yuzaoyah/ts_2020_01_01_busy.py").exists()
    assert not (root / "yuzaoyah/ts_2020_01_02_done.py").exists()


def test_run_facts_read_the_locks_not_every_run(proj: Path, book: Ledger) -> None:
    from opsctl.lifecycle.book import run_facts

    root = proj / "offline_script"
    busy, done, gone = (Catalogue(root).resolve(str(write(root / f"yuzaoyah/{name}.py")))
                        for name in ("ts_2020_01_01_busy", "ts_2020_01_02_done",
                                     "ts_2020_01_03_gone"))
    add_run(book, done.key, "lihua", at(400, 9))
    start_run(book, busy.key)
    # A run whose process died without finishing: still marked running, its lock stale.
    dead = Process("lihua", "host-1", 2**22 + 1, node_id(), "never")
    book.start(script=gone.key, process=dead, args=[])
    with mock.patch.object(Ledger, "stats", side_effect=AssertionError("reads every run")):
        runs, running = run_facts(load_config(proj), [busy, done, gone])
    assert set(runs) == {busy.key, done.key, gone.key}
    assert running == {busy.key}


def test_clean_refuses_when_the_ledger_is_unreachable(invoke: Callable[..., Result],
                                                      project: Path) -> None:
    # Whether a run is in progress cannot be known: clean deletes nothing.
    (project / "pyproject.toml").write_text(
        '[tool.opsctl]\nledger_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n',
        encoding="utf-8")
    write(project / "offline_script/yuzaoyah/ts_2020_01_01_old.py")
    result = invoke(project, "clean", "--yes")
    assert result.exit_code == 78
    assert "unreachable" in result.stderr
    assert (project / "offline_script/yuzaoyah/ts_2020_01_01_old.py").exists()
    listed = invoke(project, "stale")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[1].split()[-1] == "unknown"  # not "never": unknown
    assert "unreachable" in listed.stderr and "last runs are not shown" in listed.stderr


def test_a_move_is_refused_when_the_ledger_is_unreachable(invoke: Callable[..., Result],
                                                          project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.opsctl]\nledger_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n',
        encoding="utf-8")
    write(project / f"offline_script/{OLD}.py")
    before = snapshot(project)
    result = invoke(project, "promote", OLD)
    assert result.exit_code == 78
    assert "unreachable" in result.stderr and "nothing was moved" in result.stderr
    assert "--no-ledger" not in result.stderr  # run's way round it; a move has none
    assert snapshot(project) == before


def test_run_once_refuses_a_demoted_script_that_already_succeeded(tmp_path: Path) -> None:
    # End to end in real processes: the run-once guard of 'opsctl run' sees the success the
    # script had under recycle/, because the demote was recorded.
    from runkit import opsctl, write_project, write_script

    proj = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    write_script(proj, "recycle/fix_rows", '''\
        """Fix the rows."""

        def main():
            print("fixing")
        ''')
    assert opsctl(proj, "run", "recycle/fix_rows").returncode == 0
    demoted = opsctl(proj, "demote", "recycle/fix_rows")
    assert demoted.returncode == 0, demoted.stderr
    again = opsctl(proj, "run", "unrecycle/fix_rows")
    assert again.returncode == 76, again.stderr
    assert "already succeeded" in again.stderr and "fixing" not in again.stdout


# -- the module functions the commands call, on a real ledger ----------------------------------


def test_suggest_reads_the_ledger(proj: Path, book: Ledger) -> None:
    root = proj / "offline_script"
    write(root / f"{OLD}.py")
    write(root / "recycle/once.py")
    add_run(book, OLD, "yuzaoyah", at(3))
    add_run(book, OLD, "yuzaoyah", at(2))
    add_run(book, "recycle/once", "lihua", at(5))
    config = load_config(proj)
    assert [(c.script.key, c.target) for c in suggest("promote", config, Catalogue(root))] == [
        (OLD, NEW)]
    assert [(c.script.key, c.why) for c in suggest("demote", config, Catalogue(root),
                                                   now=at(0))] == [
        ("recycle/once", "run exactly once, 5 days ago")]


def test_apply_move_records_it(proj: Path, book: Ledger, ledger_url: str) -> None:
    root = proj / "offline_script"
    source = Catalogue(root).resolve(str(write(root / f"{OLD}.py")))
    move = plan_move("promote", source, naming=Naming())
    moved = apply_move(move, config=load_config(proj), operator="yuzaoyah")
    assert (moved.move, moved.method) == (move, "rename")
    assert (root / f"{NEW}.py").exists() and not source.path.exists()
    assert moves_of(ledger_url, NEW) == [NEW, OLD]


def test_clean_project_rechecks_the_locks(proj: Path, book: Ledger) -> None:
    root = proj / "offline_script"
    write(root / "yuzaoyah/ts_2020_01_01_busy.py")
    write(root / "yuzaoyah/ts_2020_01_02_done.py")
    add_run(book, "yuzaoyah/ts_2020_01_02_done", "lihua", at(400, 9))
    config = load_config(proj)
    plan = plan_clean_project(config, Catalogue(root))
    assert [d.stale.script.key for d in plan.doomed] == ["yuzaoyah/ts_2020_01_01_busy",
                                                         "yuzaoyah/ts_2020_01_02_done"]
    assert plan.deletions[1].stale.last_run is not None
    start_run(book, "yuzaoyah/ts_2020_01_01_busy")  # after the plan, before the deletion
    result = clean_project(config, plan.deletions)
    assert [d.stale.script.key for d in result.deleted] == ["yuzaoyah/ts_2020_01_02_done"]
    assert [(d.stale.script.key, d.keep) for d in result.kept] == [
        ("yuzaoyah/ts_2020_01_01_busy", "a run started meanwhile")]
    assert (root / "yuzaoyah/ts_2020_01_01_busy.py").exists()
