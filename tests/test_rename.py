"""``opsctl rename``: a script gets a better name in its own folder, and its history, lock and
run-once follow it on every ledger database, exactly as for promote. The places that still
mention the old name are listed, never edited."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from click.testing import Result
from conftest import git, write
from test_lifecycle_ledger import add_run, at, fresh, moves_of, snapshot, start_run

from opsctl.errors import LedgerUnreachable
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import LockBusy, Process

OLD = "recycle/export_order_id_and_custom_name"
NEW = "recycle/export_order"
SCRIPT = '"""Export orders: the order id and the customer\'s name."""\n'


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, isolated_git: None) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "yuzaoyah")


@pytest.fixture
def proj(project: Path, ledger_url: str) -> Path:
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{ledger_url}"\n',
                                            encoding="utf-8")
    write(project / f"offline_script/{OLD}.py", SCRIPT)
    return project


@pytest.fixture
def book(ledger_url: str) -> Ledger:
    opened = Ledger.open(ledger_url)
    yield opened  # type: ignore[misc]
    opened.close()


def commit_all(top: Path, message: str = "scripts") -> None:
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", message)


# -- history, lock and run-once follow the rename, on every database ---------------------------


def test_history_follows_a_rename(invoke: Callable[..., Result], proj: Path, book: Ledger,
                                  ledger_url: str) -> None:
    first = add_run(book, OLD, "yuzaoyah", at(9))
    second = add_run(book, OLD, "lihua", at(4))
    result = invoke(proj, "rename", OLD, "export_order")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"renamed {OLD} -> {NEW}.py (rename)"
    assert not (proj / f"offline_script/{OLD}.py").exists()
    assert (proj / f"offline_script/{NEW}.py").read_text(encoding="utf-8") == SCRIPT
    third = add_run(book, NEW, "yuzaoyah", _dt.datetime.now(_dt.UTC))

    assert moves_of(ledger_url, NEW) == [NEW, OLD]
    history = invoke(proj, "history", NEW, "--json")
    assert history.exit_code == 0, history.output
    assert [(r["id"], r["script"]) for r in json.loads(history.stdout)] == [
        (third.id, NEW), (second.id, OLD), (first.id, OLD)]
    with fresh(ledger_url) as reader:
        stats = reader.stats()
    assert OLD not in stats and stats[NEW].runs == 3


def test_run_once_follows_a_rename_in_unrecycle(invoke: Callable[..., Result], proj: Path,
                                                book: Ledger, ledger_url: str) -> None:
    write(proj / "offline_script/unrecycle/fix_rows.py")
    done = add_run(book, "unrecycle/fix_rows", "yuzaoyah", at(2))
    result = invoke(proj, "rename", "unrecycle/fix_rows", "fix_order_rows")
    assert result.exit_code == 0, result.output
    assert (proj / "offline_script/unrecycle/fix_order_rows.py").exists()
    with fresh(ledger_url) as reader:
        found = reader.has_succeeded("unrecycle/fix_order_rows")
    assert found is not None and found.id == done.id  # what the run-once guard asks


def test_the_lock_follows_a_rename(invoke: Callable[..., Result], proj: Path, book: Ledger,
                                   ledger_url: str) -> None:
    assert invoke(proj, "rename", OLD, "export_order").exit_code == 0
    # A run that holds the script's lock under its old name (it started as the rename was
    # being made) still keeps the script to itself under the new one.
    held = start_run(book, OLD)
    with fresh(ledger_url) as reader:
        holder = reader.holder(NEW)
        assert holder is not None and holder.run_id == held.id
        with pytest.raises(LockBusy):
            reader.start(script=NEW, process=Process.current("yuzaoyah"), args=[])
    again = invoke(proj, "rename", NEW, "export_orders")
    assert again.exit_code == 1
    assert f"is running now (run {held.id} by lihua" in again.stderr
    assert (proj / f"offline_script/{NEW}.py").exists()


def test_a_running_script_is_not_renamed(invoke: Callable[..., Result], proj: Path,
                                         book: Ledger, ledger_url: str) -> None:
    start_run(book, OLD)
    before = snapshot(proj)
    result = invoke(proj, "rename", OLD, "export_order")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {OLD} is running now ({run_holder(ledger_url, OLD)}); rename it once the run "
        "has ended")
    assert snapshot(proj) == before and moves_of(ledger_url, NEW) == [NEW]


def run_holder(url: str, key: str) -> str:
    with fresh(url) as reader:
        holder = reader.holder(key)
    assert holder is not None
    return holder.describe()


def test_a_rename_the_ledger_cannot_record_is_undone(invoke: Callable[..., Result], proj: Path,
                                                     book: Ledger, ledger_url: str) -> None:
    git(proj, "init", "-q")
    commit_all(proj)
    before = snapshot(proj)

    def refuse(*args: object) -> None:
        raise LedgerUnreachable("the connection was closed")

    with mock.patch.object(Ledger, "record_move", refuse):
        result = invoke(proj, "rename", OLD, "export_order")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: could not record the move in the ledger (the connection was closed); "
        f"{OLD} was moved back, nothing changed")
    assert snapshot(proj) == before and moves_of(ledger_url, NEW) == [NEW]


# -- what the new name may be ----------------------------------------------------------------


@pytest.fixture
def tree(project: Path) -> Path:
    """A project without a ledger: the refusals never need one."""
    root = project / "offline_script"
    write(root / f"{OLD}.py", SCRIPT)
    write(root / "recycle/clear_cache.py")
    write(root / "unrecycle/flush_order_data.py")
    write(root / "yuzaoyah/ts_2024_06_10_export_custom_s.py")
    write(root / "yuzaoyah/export_names.py")  # a temporary script without a ts_ name
    return project


@pytest.mark.parametrize(("args", "code", "message"), [
    ([OLD, "clear_cache"], 1,
     "recycle/clear_cache.py already exists; opsctl never overwrites: extend that script "
     "instead, or choose another name"),
    ([OLD, "flush_order_data"], 1,
     "unrecycle/flush_order_data.py already exists, and one name in both recycle/ and "
     "unrecycle/ is a duplicate (OPS302); choose another name"),
    ([OLD, "export_order_2"], 1,
     "invalid name 'export_order_2' for recycle/: 'export_order_2' ends in a numeric suffix "
     "'_2'; a name says what the script does, not which copy it is (use 'export_order')"),
    ([OLD, "Export-Order"], 1, "invalid name 'Export-Order' for recycle/: 'Export-Order' is "
     "not snake_case (lowercase words joined by '_') (use 'export_order')"),
    ([OLD, "export_order_2024_06_10"], 1, "invalid name 'export_order_2024_06_10' for "
     "recycle/"),
    ([OLD, "ts_2024_06_10_export_order"], 1, "invalid name 'ts_2024_06_10_export_order' for "
     "recycle/: give the purpose only, without 'ts_' or a date"),
    ([OLD, "unrecycle/export_order"], 1, "invalid name 'unrecycle/export_order': give the name "
     "only; rename keeps a script in its folder (demote or promote moves it to another)"),
    ([OLD, "export_order_id_and_custom_name"], 1,
     f"{OLD} is already named export_order_id_and_custom_name"),
    (["yuzaoyah/ts_2024_06_10_export_custom_s", "ts_2024_06_10_export_customers"], 1,
     "invalid name 'ts_2024_06_10_export_customers' for yuzaoyah/: give the purpose only, "
     "without 'ts_' or a date: opsctl adds those"),
    (["yuzaoyah/export_names", "export_customer_names"], 1,
     "yuzaoyah/export_names is not named ts_YYYY_MM_DD_<what>, so there is no date to keep; "
     "give it its ts_ name by hand"),
    (["recycle/no_such_script", "export_order"], 74, "no script 'recycle/no_such_script'"),
])
def test_rename_refusals(invoke: Callable[..., Result], tree: Path, args: list[str], code: int,
                         message: str) -> None:
    before = snapshot(tree)
    result = invoke(tree, "rename", *args)
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {message}"), line
    assert snapshot(tree) == before
    assert not (tree / "instance").exists()  # a refusal opens no ledger


def test_a_temporary_script_keeps_its_date(invoke: Callable[..., Result], tree: Path) -> None:
    result = invoke(tree, "rename", "ts_2024_06_10_export_custom_s", "export_customers")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "renamed yuzaoyah/ts_2024_06_10_export_custom_s -> "
        "yuzaoyah/ts_2024_06_10_export_customers.py (rename)")
    assert (tree / "offline_script/yuzaoyah/ts_2024_06_10_export_customers.py").exists()
    assert not (tree / "offline_script/yuzaoyah/ts_2024_06_10_export_custom_s.py").exists()


def test_the_new_name_passes_the_lint(invoke: Callable[..., Result], tree: Path) -> None:
    assert invoke(tree, "rename", OLD, "export_order.py").exit_code == 0  # .py is dropped
    assert invoke(tree, "rename", "unrecycle/flush_order_data", "flush_orders").exit_code == 0
    lint = invoke(tree, "lint", "--format", "json")
    paths = {f["path"] for f in json.loads(lint.stdout)["findings"]}
    assert not any(p.endswith(("recycle/export_order.py", "recycle/flush_orders.py"))
                   for p in paths), paths


# -- the places that still mention the old name ------------------------------------------------


def test_rename_in_git_lists_what_still_mentions_the_old_name(invoke: Callable[..., Result],
                                                              tree: Path) -> None:
    write(tree / "deploy/crontab",
          f"# nightly export\n0 3 * * * cd /srv/app && opsctl run {OLD} --out /tmp/o.csv\n")
    write(tree / "docs/ops.md", f"Run `offline_script/{OLD}.py` after a release.\n"
          "Its sibling recycle/export_order_id_and_custom_name_v2 is another script.\n")
    write(tree / "offline_script/recycle/clear_cache.py",
          f'"""Clear the cache."""\n# then: opsctl run {OLD}\n')
    git(tree, "init", "-q")
    commit_all(tree)
    write(tree / "notes.txt", f"untracked: {OLD}\n")  # not tracked: not searched
    before = {p: (tree / p).read_bytes() for p in ("deploy/crontab", "docs/ops.md",
                                                   "offline_script/recycle/clear_cache.py")}

    result = invoke(tree, "rename", OLD, "export_order")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"renamed {OLD} -> {NEW}.py (git mv)",
        f"still mentioning {OLD} (update them):",
        f"  deploy/crontab:2: 0 3 * * * cd /srv/app && opsctl run {OLD} --out /tmp/o.csv",
        f"  docs/ops.md:1: Run `offline_script/{OLD}.py` after a release.",
        f"  offline_script/recycle/clear_cache.py:2: # then: opsctl run {OLD}",
    ]
    assert {p: (tree / p).read_bytes() for p in before} == before  # listed, never edited
    status = git(tree, "status", "--porcelain=v1")
    assert f"R  offline_script/{OLD}.py -> offline_script/{NEW}.py" in status


def test_nothing_mentions_the_old_name(invoke: Callable[..., Result], tree: Path) -> None:
    git(tree, "init", "-q")
    commit_all(tree)
    result = invoke(tree, "rename", OLD, "export_order")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"renamed {OLD} -> {NEW}.py (git mv)"]
    assert f"no tracked file mentions {OLD}" in result.stderr


def test_outside_git_nothing_is_searched(invoke: Callable[..., Result], tree: Path) -> None:
    result = invoke(tree, "rename", OLD, "export_order")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"renamed {OLD} -> {NEW}.py (rename)"]
    assert (f"not a git work tree: search your cron files, CI configs and docs for {OLD} "
            "yourself") in result.stderr


def test_rename_help_is_its_summary(invoke: Callable[..., Result], tree: Path) -> None:
    result = invoke(tree, "--help")
    assert "rename" in result.stdout and "absorb" in result.stdout

