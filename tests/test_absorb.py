"""``opsctl absorb KEEP OTHER``: once a person has folded OTHER's purpose into KEEP, OTHER goes
(``git rm`` when tracked) and its history becomes KEEP's, marked as absorbed; an
``unrecycle/`` OTHER's run-once and any lock under its name carry over. On every database."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from click.testing import Result
from conftest import git, write
from test_lifecycle_ledger import add_run, at, fresh, snapshot, start_run

from opsctl.errors import LedgerUnreachable
from opsctl.ledger.processes import node_id
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import LockBusy, Process

KEEP = "recycle/export_order"
OTHER = "recycle/export_order_ids"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, isolated_git: None) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "yuzaoyah")


@pytest.fixture
def proj(project: Path, ledger_url: str) -> Path:
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{ledger_url}"\n',
                                            encoding="utf-8")
    root = project / "offline_script"
    write(root / f"{KEEP}.py", '"""Export orders, with a choice of fields."""\n')
    write(root / f"{OTHER}.py", '"""Export the ids of orders."""\n')
    write(root / "unrecycle/fix_rows.py", '"""Fix the rows, all of them."""\n')
    write(root / "unrecycle/fix_order_rows.py", '"""Fix the order rows."""\n')
    return project


@pytest.fixture
def book(ledger_url: str) -> Ledger:
    opened = Ledger.open(ledger_url)
    yield opened  # type: ignore[misc]
    opened.close()


def commit_all(top: Path, message: str = "scripts") -> None:
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", message)


# -- history, run-once and the lock carry over, on every database ------------------------------


def test_history_of_keep_shows_other_s_runs_as_absorbed(invoke: Callable[..., Result],
                                                        proj: Path, book: Ledger,
                                                        ledger_url: str) -> None:
    own = add_run(book, KEEP, "yuzaoyah", at(6))
    theirs = add_run(book, OTHER, "lihua", at(3))
    result = invoke(proj, "absorb", KEEP, OTHER)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"absorbed {OTHER} into {KEEP} (delete); its 1 run now shows in "
        f"opsctl history {KEEP}")
    assert not (proj / f"offline_script/{OTHER}.py").exists()
    assert (proj / f"offline_script/{KEEP}.py").exists()
    later = add_run(book, KEEP, "yuzaoyah", _dt.datetime.now(_dt.UTC))

    history = invoke(proj, "history", KEEP, "--json")
    assert history.exit_code == 0, history.output
    assert [(r["id"], r["script"], r["absorbed"]) for r in json.loads(history.stdout)] == [
        (later.id, KEEP, False), (theirs.id, OTHER, True), (own.id, KEEP, False)]
    table = invoke(proj, "history", KEEP).stdout.splitlines()
    assert f"{OTHER} (absorbed)" in table[2] and "(absorbed)" not in table[1] + table[3]
    with fresh(ledger_url) as reader:
        stats = reader.stats()
        newest = reader.last_runs([KEEP])
    assert OTHER not in stats and stats[KEEP].runs == 3
    assert stats[KEEP].operators == frozenset({"yuzaoyah", "lihua"})
    assert newest[KEEP].id == later.id


def test_absorbed_runs_keep_following_later_moves(invoke: Callable[..., Result], proj: Path,
                                                  book: Ledger, ledger_url: str) -> None:
    """OTHER's own former names come along, and a later rename of KEEP takes it all."""
    write(proj / "offline_script/yuzaoyah/ts_2024_06_10_export_ids.py")
    temporary = add_run(book, "yuzaoyah/ts_2024_06_10_export_ids", "yuzaoyah", at(20))
    proj_root = proj / "offline_script"
    (proj_root / f"{OTHER}.py").unlink()
    assert invoke(proj, "promote", "yuzaoyah/ts_2024_06_10_export_ids", "--as",
                  "export_order_ids").exit_code == 0
    theirs = add_run(book, OTHER, "lihua", _dt.datetime.now(_dt.UTC))
    assert invoke(proj, "absorb", KEEP, OTHER).exit_code == 0
    assert invoke(proj, "rename", KEEP, "export_orders").exit_code == 0
    history = json.loads(invoke(proj, "history", "recycle/export_orders", "--json").stdout)
    assert [(r["id"], r["absorbed"]) for r in history] == [(theirs.id, True),
                                                           (temporary.id, True)]
    # The freed name is a new script's: a script later made under OTHER's name starts afresh.
    write(proj_root / f"{OTHER}.py")
    assert json.loads(invoke(proj, "history", OTHER, "--json").stdout) == []


def test_run_once_carries_over_from_an_absorbed_unrecycle_script(
        invoke: Callable[..., Result], proj: Path, book: Ledger, ledger_url: str) -> None:
    done = add_run(book, "unrecycle/fix_order_rows", "lihua", at(2))
    with fresh(ledger_url) as reader:
        assert reader.has_succeeded("unrecycle/fix_rows") is None
    result = invoke(proj, "absorb", "unrecycle/fix_rows", "unrecycle/fix_order_rows")
    assert result.exit_code == 0, result.output
    with fresh(ledger_url) as reader:
        found = reader.has_succeeded("unrecycle/fix_rows")
    assert found is not None and found.id == done.id  # what the run-once guard asks


def test_an_absorbed_run_of_unknown_outcome_blocks_run_once_too(
        invoke: Callable[..., Result], proj: Path, book: Ledger, ledger_url: str) -> None:
    """A run of the absorbed one-off fix whose process died may have succeeded: the kept one
    is refused without --force, as the absorbed one would have been."""
    dead = Process("lihua", "host-1", 2**22 + 1, node_id(), "never")
    lost = book.start(script="unrecycle/fix_order_rows", process=dead, args=[])
    book.reap()
    assert invoke(proj, "absorb", "unrecycle/fix_rows", "unrecycle/fix_order_rows").exit_code == 0
    with fresh(ledger_url) as reader:
        blocker = reader.once_blocker("unrecycle/fix_rows")
    assert blocker is not None and (blocker.id, blocker.status) == (lost.id, "lost")


def test_a_lock_under_the_absorbed_name_still_counts(invoke: Callable[..., Result], proj: Path,
                                                     book: Ledger, ledger_url: str) -> None:
    assert invoke(proj, "absorb", KEEP, OTHER).exit_code == 0
    held = start_run(book, OTHER)  # a run of OTHER that started as it was being absorbed
    with fresh(ledger_url) as reader:
        holder = reader.holder(KEEP)
        assert holder is not None and holder.run_id == held.id
        with pytest.raises(LockBusy):
            reader.start(script=KEEP, process=Process.current("yuzaoyah"), args=[])


def test_other_with_a_run_in_progress_is_not_absorbed(invoke: Callable[..., Result],
                                                      proj: Path, book: Ledger,
                                                      ledger_url: str) -> None:
    run = start_run(book, OTHER)
    before = snapshot(proj)
    result = invoke(proj, "absorb", KEEP, OTHER)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {OTHER} is running now (run {run.id} by lihua")
    assert line.endswith("; absorb it once the run has ended")
    assert snapshot(proj) == before
    with fresh(ledger_url) as reader:
        assert reader.aliases(KEEP) == [KEEP]


def test_an_absorb_the_ledger_cannot_record_is_undone(invoke: Callable[..., Result],
                                                      proj: Path, book: Ledger,
                                                      ledger_url: str) -> None:
    git(proj, "init", "-q")
    commit_all(proj)
    before = snapshot(proj)

    def refuse(*args: object) -> None:
        raise LedgerUnreachable("the connection was closed")

    with mock.patch.object(Ledger, "record_absorb", refuse):
        result = invoke(proj, "absorb", KEEP, OTHER)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: could not record the absorb in the ledger (the connection was closed); "
        f"{OTHER} was put back, nothing changed")
    assert snapshot(proj) == before
    with fresh(ledger_url) as reader:
        assert reader.aliases(KEEP) == [KEEP]


# -- refusals, --check, git --------------------------------------------------------------------


@pytest.fixture
def tree(project: Path) -> Path:
    """A project without a ledger: the refusals never need one."""
    root = project / "offline_script"
    write(root / f"{KEEP}.py", '"""Export orders."""\n')
    write(root / f"{OTHER}.py", '"""Export the ids of orders."""\n')
    write(root / "unrecycle/fix_rows.py")
    write(root / "yuzaoyah/ts_2024_06_10_export_ids.py")
    (root / "recycle/export_orders.py").symlink_to("export_order.py")
    return project


@pytest.mark.parametrize(("args", "code", "message"), [
    ([KEEP, KEEP], 1, f"{KEEP} and {KEEP} are the same script; absorb folds one script into "
     "another"),
    (["recycle/export_orders", KEEP], 1, f"{KEEP} and {KEEP} are the same script"),
    ([KEEP, "unrecycle/fix_rows"], 1,
     f"unrecycle/fix_rows is an unrecycle script and {KEEP} a recycle one: absorb folds a "
     "script into one of the same kind; promote or demote it first"),
    ([KEEP, "yuzaoyah/ts_2024_06_10_export_ids"], 1,
     f"yuzaoyah/ts_2024_06_10_export_ids is a temporary script and {KEEP} a recycle one"),
    (["recycle/export_everything", OTHER], 74, "no script 'recycle/export_everything'"),
    ([KEEP, "recycle/export_nothing"], 74, "no script 'recycle/export_nothing'"),
])
def test_absorb_refusals(invoke: Callable[..., Result], tree: Path, args: list[str], code: int,
                         message: str) -> None:
    before = snapshot(tree)
    for check in ([], ["--check"]):
        result = invoke(tree, "absorb", *check, *args)
        assert result.exit_code == code, result.output
        assert result.stdout == ""
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"Error: {message}"), line
    assert snapshot(tree) == before
    assert not (tree / "instance").exists()


def test_check_only_shows_what_absorb_would_do(invoke: Callable[..., Result], proj: Path,
                                               book: Ledger, ledger_url: str) -> None:
    add_run(book, "unrecycle/fix_order_rows", "lihua", at(2))
    add_run(book, "unrecycle/fix_order_rows", "lihua", at(1), status="failed")
    git(proj, "init", "-q")
    commit_all(proj)
    before = snapshot(proj)
    result = invoke(proj, "absorb", "--check", "unrecycle/fix_rows", "unrecycle/fix_order_rows")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "would remove unrecycle/fix_order_rows (git rm) and record it as absorbed into "
        "unrecycle/fix_rows:",
        "  its 2 runs would show in opsctl history unrecycle/fix_rows, marked absorbed",
        "  its succeeded run would count for unrecycle/fix_rows's run-once (opsctl run "
        "refuses it again without --force)",
    ]
    assert snapshot(proj) == before
    with fresh(ledger_url) as reader:
        assert reader.aliases("unrecycle/fix_rows") == ["unrecycle/fix_rows"]


def test_check_without_a_ledger_creates_none(invoke: Callable[..., Result], tree: Path) -> None:
    result = invoke(tree, "absorb", "--check", KEEP, OTHER)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"would remove {OTHER} (delete) and record it as absorbed into {KEEP}:",
        "  it has no recorded runs",
    ]
    assert not (tree / "instance").exists() and (tree / f"offline_script/{OTHER}.py").exists()


def test_absorb_in_git_is_a_git_rm_and_lists_mentions(invoke: Callable[..., Result],
                                                      tree: Path) -> None:
    write(tree / "deploy/crontab", f"0 3 * * * opsctl run {OTHER}\n")
    write(tree / ".gitignore", "instance/\n")  # where the ledger is made, as in Flask projects
    git(tree, "init", "-q")
    commit_all(tree)
    result = invoke(tree, "absorb", KEEP, OTHER)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"absorbed {OTHER} into {KEEP} (git rm); its 0 runs now show in opsctl history {KEEP}",
        f"still mentioning {OTHER} (update them):",
        f"  deploy/crontab:1: 0 3 * * * opsctl run {OTHER}",
    ]
    assert git(tree, "status", "--porcelain=v1").splitlines() == [
        f"D  offline_script/{OTHER}.py"]


def test_git_refusing_the_rm_changes_nothing(invoke: Callable[..., Result], tree: Path) -> None:
    git(tree, "init", "-q")
    commit_all(tree)
    write(tree / f"offline_script/{OTHER}.py", '"""Changed, not committed."""\n')
    before = snapshot(tree)
    result = invoke(tree, "absorb", KEEP, OTHER)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {OTHER} has changes git has not committed; commit or discard them first, "
        "so that git keeps what it held; nothing changed")
    assert snapshot(tree) == before


def test_absorb_end_to_end_refuses_a_second_run_once(tmp_path: Path) -> None:
    # In real processes: the run-once guard of 'opsctl run' sees the success of the absorbed
    # unrecycle/ script.
    from runkit import opsctl, write_project, write_script

    proj = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    for name in ("fix_rows", "fix_order_rows"):
        write_script(proj, f"unrecycle/{name}", f'''\
            """Fix {name}."""

            def main():
                print("fixing {name}")
            ''')
    assert opsctl(proj, "run", "unrecycle/fix_order_rows").returncode == 0
    absorbed = opsctl(proj, "absorb", "unrecycle/fix_rows", "unrecycle/fix_order_rows")
    assert absorbed.returncode == 0, absorbed.stderr
    again = opsctl(proj, "run", "unrecycle/fix_rows")
    assert again.returncode == 76, again.stderr
    assert "already succeeded" in again.stderr and "fixing" not in again.stdout
