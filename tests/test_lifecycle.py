"""opsctl.lifecycle called directly: planning moves, performing them all-or-nothing (in a
plain folder and in a real git work tree), and finding and cleaning stale scripts."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import git, write

from opsctl.catalogue import Catalogue, Script
from opsctl.config import load_config
from opsctl.errors import Declined, InvalidName, LedgerUnreachable, TargetExists
from opsctl.ledger.values import Holder
from opsctl.lifecycle.candidates import Candidate, offer_moves, suggest
from opsctl.lifecycle.cleaning import (
    StaleScript,
    clean,
    clean_project,
    find_stale,
    plan_clean,
    plan_clean_project,
    stale_scripts,
)
from opsctl.lifecycle.moves import (
    Move,
    Moved,
    MoveFailed,
    MoveRefused,
    RunInProgress,
    ScriptGone,
    Verb,
    perform,
    plan_move,
)
from opsctl.naming import Naming

TS = "ts_2024_06_10_export_order_data"


pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def root(project: Path) -> Path:
    return project / "offline_script"


@pytest.fixture
def naming() -> Naming:
    return Naming(today=_dt.date(2024, 12, 31))


def script(root: Path, rel: str, text: str = '"""A script."""\n') -> Script:
    write(root / rel, text)
    folder, filename = rel.split("/")
    return Script(root, folder, filename)


def repo_of(project: Path) -> Path:
    """Make ``project`` a git repository with everything committed."""
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "scripts")
    return project


def snapshot(top: Path) -> dict[str, Any]:
    """Every file's bytes and folder under ``top`` (outside .git), and git's view if a repo."""
    files: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        rel = os.path.relpath(dirpath, top)
        files[rel + "/"] = None
        for name in filenames:
            files[os.path.join(rel, name)] = Path(dirpath, name).read_bytes()
    if (top / ".git").is_dir():
        files["git status"] = git(top, "status", "--porcelain=v1", "--untracked-files=all")
        files["git index"] = git(top, "ls-files", "-s")
    return files


class Recorder:
    """Stands in for the ledger: records moves, fails on demand, and says a script is
    running when told to."""

    def __init__(self, fail: BaseException | None = None,
                 running: Holder | None = None) -> None:
        self.moves: list[tuple[str, str]] = []
        self.fail = fail
        self.running = running

    def holder(self, key: str) -> Holder | None:
        return self.running

    def record_move(self, old_key: str, new_key: str, operator: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.moves.append((old_key, new_key))


# -- planning -------------------------------------------------------------------------------


def test_promote_takes_the_name_without_ts_and_date(root: Path, naming: Naming) -> None:
    move = plan_move("promote", script(root, f"yuzaoyah/{TS}.py"), naming=naming)
    assert move.target.key == "recycle/export_order_data"
    assert move.similar == ()


def test_promote_as(root: Path, naming: Naming) -> None:
    move = plan_move("promote", script(root, f"yuzaoyah/{TS}.py"), naming=naming,
                     name="export_order.py")
    assert move.target.rel == "recycle/export_order.py"


def test_promote_names_similar_recycle_scripts(root: Path, naming: Naming) -> None:
    script(root, "recycle/export_order.py")
    script(root, "recycle/clear_cache.py")
    move = plan_move("promote", script(root, f"yuzaoyah/{TS}.py"), naming=naming)
    assert move.similar == ("recycle/export_order",)


def test_demote_a_recycle_and_a_temporary_script(root: Path, naming: Naming) -> None:
    move = plan_move("demote", script(root, "recycle/flush_order_data.py"), naming=naming)
    assert move.target.key == "unrecycle/flush_order_data"
    move = plan_move("demote", script(root, f"yuzaoyah/{TS}.py"), naming=naming)
    assert move.target.key == "unrecycle/export_order_data"


def test_an_unrecycle_script_can_come_back(root: Path, naming: Naming) -> None:
    move = plan_move("promote", script(root, "unrecycle/flush_order_data.py"), naming=naming)
    assert move.target.key == "recycle/flush_order_data"


def test_promote_a_recycle_script_is_refused(root: Path, naming: Naming) -> None:
    with pytest.raises(MoveRefused, match="already a recycle script"):
        plan_move("promote", script(root, "recycle/clear_cache.py"), naming=naming)


def test_demote_an_unrecycle_script_is_refused(root: Path, naming: Naming) -> None:
    with pytest.raises(MoveRefused, match="already in unrecycle/"):
        plan_move("demote", script(root, "unrecycle/fix_rows.py"), naming=naming)


def test_a_temporary_script_without_a_ts_name_needs_as(root: Path, naming: Naming) -> None:
    s = script(root, "yuzaoyah/export_orders.py")
    with pytest.raises(MoveRefused, match="not named ts_YYYY_MM_DD_<what>.*--as NAME"):
        plan_move("promote", s, naming=naming)
    assert plan_move("promote", s, naming=naming, name="export_orders").target.stem == \
        "export_orders"


@pytest.mark.parametrize(("name", "message"), [
    ("ts_2024_06_10_export", "without 'ts_' or a date"),
    ("ts_export", "without 'ts_' or a date"),
    ("export_order_2024_06_10", "date"),
    ("export_order_20240610", "suffix"),
    ("export_order_old", "status suffix"),
    ("export_order_2", "numeric suffix"),
    ("Export-Order", "not snake_case"),
    ("export.v2", "not snake_case"),
    ("recycle/export_order", "without a folder"),
    ("../escape", "without a folder"),
    ("", "empty"),
])
def test_invalid_as_names(root: Path, naming: Naming, name: str, message: str) -> None:
    s = script(root, f"yuzaoyah/{TS}.py")
    with pytest.raises(InvalidName, match=message):
        plan_move("promote", s, naming=naming, name=name)


def test_an_existing_target_is_refused_with_a_hint(root: Path, naming: Naming) -> None:
    script(root, "recycle/export_order_data.py")
    with pytest.raises(TargetExists, match="already exists.*extend that script.*--as NAME"):
        plan_move("promote", script(root, f"yuzaoyah/{TS}.py"), naming=naming)


def test_the_same_name_in_the_other_shared_folder_is_refused(root: Path,
                                                             naming: Naming) -> None:
    script(root, "unrecycle/export_order_data.py")
    with pytest.raises(TargetExists, match="duplicate .OPS302"):
        plan_move("promote", script(root, f"yuzaoyah/{TS}.py"), naming=naming)


# -- performing, outside git ------------------------------------------------------------------


def test_move_renames_and_records(root: Path, naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py", "content\n")
    record = Recorder()
    moved = perform(plan_move("promote", source, naming=naming), book=record, operator="t")
    assert moved.method == "rename"
    assert (root / "recycle/export_order_data.py").read_text() == "content\n"
    assert not source.path.exists()
    assert record.moves == [(f"yuzaoyah/{TS}", "recycle/export_order_data")]


def test_move_creates_the_target_folder(tmp_path: Path, naming: Naming) -> None:
    root = tmp_path / "offline_script"
    source = script(root, f"yuzaoyah/{TS}.py")
    perform(plan_move("demote", source, naming=naming), book=Recorder(), operator="t")
    assert (root / "unrecycle/export_order_data.py").is_file()


def test_a_ledger_failure_moves_the_file_back(tmp_path: Path, naming: Naming) -> None:
    root = tmp_path / "offline_script"
    source = script(root, f"yuzaoyah/{TS}.py")
    before = snapshot(tmp_path)
    move = plan_move("promote", source, naming=naming)
    with pytest.raises(MoveFailed, match="could not record the move in the ledger "
                                         r"\(database is down\).*moved back, nothing changed"):
        perform(move, book=Recorder(fail=RuntimeError("database is down")), operator="t")
    assert snapshot(tmp_path) == before  # recycle/ was created for the move, and removed


def test_a_database_error_stays_one_line(tmp_path: Path, naming: Naming) -> None:
    source = script(tmp_path / "offline_script", f"yuzaoyah/{TS}.py")
    error = RuntimeError("(OperationalError) server closed the connection\n[SQL: INSERT ...]")
    with pytest.raises(MoveFailed) as caught:
        perform(plan_move("promote", source, naming=naming), book=Recorder(fail=error),
                operator="t")
    assert "\n" not in caught.value.message
    assert "(OperationalError) server closed the connection)" in caught.value.message


def test_ctrl_c_while_recording_moves_the_file_back(tmp_path: Path, naming: Naming) -> None:
    root = tmp_path / "offline_script"
    source = script(root, f"yuzaoyah/{TS}.py")
    before = snapshot(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        perform(plan_move("promote", source, naming=naming),
                book=Recorder(fail=KeyboardInterrupt()), operator="t")
    assert snapshot(tmp_path) == before


def test_a_running_script_is_never_moved(root: Path, naming: Naming) -> None:
    # The check is perform()'s own, so no caller of the library can skip it.
    source = script(root, f"yuzaoyah/{TS}.py")
    now = _dt.datetime(2024, 12, 31, 9, tzinfo=_dt.UTC)
    holder = Holder(source.key, 7, "lihua", "host-1", "node", 4242, None, now, now)
    before = snapshot(root)
    record = Recorder(running=holder)
    with pytest.raises(RunInProgress, match=f"yuzaoyah/{TS} is running now \\(run 7 by lihua "
                                            "on host-1 .*\\); promote it once the run has ended"):
        perform(plan_move("promote", source, naming=naming), book=record, operator="t")
    assert snapshot(root) == before and record.moves == []


def test_a_file_gone_since_listing(root: Path, naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py")
    move = plan_move("promote", source, naming=naming)
    source.path.unlink()
    before = snapshot(root)
    record = Recorder()
    with pytest.raises(ScriptGone, match="is gone.*nothing changed"):
        perform(move, book=record, operator="t")
    assert snapshot(root) == before and record.moves == []


def test_a_target_created_since_planning_is_never_overwritten(root: Path,
                                                              naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py", "mine\n")
    move = plan_move("promote", source, naming=naming)
    write(root / "recycle/export_order_data.py", "theirs\n")
    record = Recorder()
    with pytest.raises(TargetExists):
        perform(move, book=record, operator="t")
    assert (root / "recycle/export_order_data.py").read_text() == "theirs\n"
    assert source.path.read_text() == "mine\n" and record.moves == []


# -- performing, in a git work tree -----------------------------------------------------------


def test_promote_then_demote_keep_git_history(project: Path, root: Path,
                                              naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py", "v1\n")
    repo_of(project)
    moved = perform(plan_move("promote", source, naming=naming), book=Recorder(), operator="t")
    assert moved.method == "git mv"
    git(project, "commit", "-q", "-m", "promote")
    demoted = perform(plan_move("demote", Catalogue(root).resolve("recycle/export_order_data"),
                                naming=naming), book=Recorder(), operator="t")
    assert demoted.method == "git mv"
    git(project, "commit", "-q", "-m", "demote")
    log = git(project, "log", "--follow", "--format=%s", "--",
              "offline_script/unrecycle/export_order_data.py").split()
    assert log == ["demote", "promote", "scripts"]


def test_an_untracked_file_moves_by_rename(project: Path, root: Path, naming: Naming) -> None:
    repo_of(project)
    source = script(root, f"yuzaoyah/{TS}.py", "new\n")
    moved = perform(plan_move("promote", source, naming=naming), book=Recorder(), operator="t")
    assert moved.method == "rename"
    assert (root / "recycle/export_order_data.py").read_text() == "new\n"
    assert git(project, "status", "--porcelain", "--untracked-files=all").splitlines() == \
        ["?? offline_script/recycle/export_order_data.py"]


def test_a_dirty_tracked_file_keeps_its_changes(project: Path, root: Path,
                                                naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py", "committed\n")
    repo_of(project)
    source.path.write_text("edited, not committed\n", encoding="utf-8")
    perform(plan_move("promote", source, naming=naming), book=Recorder(), operator="t")
    target = root / "recycle/export_order_data.py"
    assert target.read_text() == "edited, not committed\n"
    status = git(project, "status", "--porcelain")
    assert f"RM offline_script/yuzaoyah/{TS}.py -> offline_script/recycle/" \
           "export_order_data.py" in status
    assert git(project, "show", ":offline_script/recycle/export_order_data.py") == "committed\n"


def test_a_locked_index_fails_cleanly(project: Path, root: Path, naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py")
    (root / "recycle").rmdir()  # so a created-then-abandoned folder would show
    repo_of(project)
    # Another git process at work: git holds index.lock for as long as it writes the index.
    (project / ".git" / "index.lock").write_bytes(b"")
    before = snapshot(project)
    record = Recorder()
    with pytest.raises(MoveFailed, match="git mv failed: Unable to create .*index.lock.*"
                                         "nothing changed"):
        perform(plan_move("promote", source, naming=naming), book=record, operator="t")
    assert snapshot(project) == before
    assert record.moves == []


def test_a_ledger_failure_after_git_mv_restores_the_index(project: Path, root: Path,
                                                          naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py", "v1\n")
    repo_of(project)
    source.path.write_text("dirty\n", encoding="utf-8")
    before = snapshot(project)
    with pytest.raises(MoveFailed, match="moved back, nothing changed"):
        perform(plan_move("promote", source, naming=naming),
                book=Recorder(fail=RuntimeError("ledger down")), operator="t")
    assert snapshot(project) == before


def test_a_ledger_failure_after_rewording_restores_the_text(project: Path, root: Path,
                                                           naming: Naming) -> None:
    source = script(root, f"yuzaoyah/{TS}.py", '"""Old words."""\n')
    repo_of(project)
    before = snapshot(project)
    with pytest.raises(MoveFailed, match="moved back, nothing changed"):
        perform(plan_move("promote", source, naming=naming),
                book=Recorder(fail=RuntimeError("ledger down")), operator="t",
                reword=lambda text: text.replace("Old", "New"))
    assert snapshot(project) == before
    moved = perform(plan_move("promote", source, naming=naming), book=Recorder(),
                    operator="t", reword=lambda text: text.replace("Old", "New"))
    assert moved.reworded and moved.method == "git mv"
    assert (root / "recycle/export_order_data.py").read_text() == '"""New words."""\n'


def promoted(project: Path, text: str, stem: str = TS) -> str | None:
    from opsctl.lifecycle.wording import promoted_text

    root = project / "offline_script"
    return promoted_text(text, Script(root, "yuzaoyah", f"{stem}.py"),
                         Script(root, "recycle", "export_order_data.py"),
                         project_dir=project, templates=None, operator="lihua")


TS_WORDS = ("Temporary script by yuzaoyah, written 2024-06-10. Scratch: not reused, not shared.\n"
            "If it keeps being needed, promote it:  opsctl promote yuzaoyah/{stem}\n\n"
            "    opsctl run --dry-run yuzaoyah/{stem}\n")


@pytest.mark.parametrize("description", ["Rows: réparer les données « client ».",
                                         "Ünïcode first, then \\\"quotes\\\"."])
def test_promoted_text_keeps_any_description(project: Path, description: str) -> None:
    # A description starting with a string-prefix letter, non-ASCII (ast counts bytes).
    text = f'"""{description}\n\n{TS_WORDS.format(stem=TS)}"""\n\nX = "é"\n'
    new = promoted(project, text)
    assert new is not None
    assert new.startswith(f'"""{description}\n\nRecurring script: run it again')
    assert new.endswith('"""\n\nX = "é"\n') and "Temporary" not in new


def test_promoted_text_follows_a_renamed_temporary_script(project: Path) -> None:
    # Renamed since it was written: its docstring names its first key, still the template's.
    text = f'"""Export.\n\n{TS_WORDS.format(stem="ts_2024_06_10_export_orders")}"""\n'
    new = promoted(project, text)
    assert new is not None and "opsctl run recycle/export_order_data --help" in new


@pytest.mark.parametrize("text", [
    '"""Export orders.\n\nTemporary, but I wrote this myself.\n"""\n',
    "# no docstring\nX = 1\n",
    "def broken(:\n",
    "",
])
def test_promoted_text_leaves_what_the_template_did_not_write(project: Path,
                                                              text: str) -> None:
    assert promoted(project, text) is None


# -- stale and clean ------------------------------------------------------------------------


TODAY = _dt.date(2024, 12, 31)


def test_stale_scripts_by_the_date_in_the_name(root: Path) -> None:
    for rel in ("yuzaoyah/ts_2024_01_01_old_one.py", "yuzaoyah/ts_2024_10_02_on_the_edge.py",
                "yuzaoyah/ts_2024_10_01_just_past.py", "lihua/ts_2023_05_05_older.py",
                "lihua/not_a_ts_name.py", "recycle/clear_cache.py", "unrecycle/fix_rows.py"):
        script(root, rel)
    found = stale_scripts(Catalogue(root), older_than=90, today=TODAY)
    assert [(s.script.key, s.age_days) for s in found] == [
        ("lihua/ts_2023_05_05_older", 606),
        ("yuzaoyah/ts_2024_01_01_old_one", 365),
        ("yuzaoyah/ts_2024_10_01_just_past", 91),
    ]
    mine = stale_scripts(Catalogue(root), older_than=0, owner="yuzaoyah", today=TODAY)
    assert [s.script.owner for s in mine] == ["yuzaoyah"] * 3
    assert all(s.script.kind == "temporary" for s in
               stale_scripts(Catalogue(root), older_than=0, today=TODAY))


def test_clean_outside_git_deletes_all_but_running(root: Path) -> None:
    a = script(root, "yuzaoyah/ts_2024_01_01_a.py")
    b = script(root, "yuzaoyah/ts_2024_01_02_b.py")
    plan = plan_clean([StaleScript(a, 365), StaleScript(b, 364, running=True)])
    assert [d.keep for d in plan] == [None, "a run is in progress"]
    result = clean(plan)
    assert result.method == "delete"
    assert not a.path.exists() and b.path.exists()


def test_clean_rechecks_for_a_run_started_meanwhile(root: Path) -> None:
    a = script(root, "yuzaoyah/ts_2024_01_01_a.py")
    result = clean(plan_clean([StaleScript(a, 365)]), running=lambda s: s == a)
    assert result.deleted == () and result.kept[0].keep == "a run started meanwhile"
    assert a.path.exists()


def test_clean_in_git_removes_committed_and_keeps_uncommitted(project: Path,
                                                              root: Path) -> None:
    committed = script(root, "yuzaoyah/ts_2024_01_01_committed.py")
    dirty = script(root, "yuzaoyah/ts_2024_01_02_dirty.py")
    script(root, "lihua/ts_2024_01_03_solo.py")
    repo_of(project)
    dirty.path.write_text("changed\n", encoding="utf-8")
    untracked = script(root, "yuzaoyah/ts_2024_01_04_untracked.py")
    stale = stale_scripts(Catalogue(root), older_than=90, today=TODAY)
    plan = {d.stale.script.key: d for d in plan_clean(stale)}
    assert plan[committed.key].keep is None
    assert "uncommitted changes" in (plan[dirty.key].keep or "")
    assert "not committed" in (plan[untracked.key].keep or "")
    result = clean(list(plan.values()))
    assert result.method == "git rm"
    assert not committed.path.exists() and dirty.path.exists() and untracked.path.exists()
    assert not (root / "lihua").exists()  # git rm leaves no empty developer folder
    status = git(project, "status", "--porcelain").splitlines()
    assert f"D  offline_script/{committed.rel}" in status
    assert "D  offline_script/lihua/ts_2024_01_03_solo.py" in status


def test_clean_include_uncommitted(project: Path, root: Path) -> None:
    script(root, "yuzaoyah/ts_2024_01_01_committed.py")
    repo_of(project)
    untracked = script(root, "yuzaoyah/ts_2024_01_04_untracked.py")
    stale = stale_scripts(Catalogue(root), older_than=90, today=TODAY)
    result = clean(plan_clean(stale, include_uncommitted=True))
    assert result.method == "git rm + delete"
    assert not untracked.path.exists()
    assert not (root / "yuzaoyah").exists()


def test_the_rename_itself_never_replaces(tmp_path: Path) -> None:
    # perform() checks the target first; the rename must still hold if a file lands between
    # that check and the rename (a plain os.rename would silently replace it).
    from opsctl.lifecycle.moves import _rename_no_replace

    source, target = write(tmp_path / "a.py", "mine\n"), write(tmp_path / "b.py", "theirs\n")
    with pytest.raises(TargetExists):
        _rename_no_replace(source, target)
    assert source.read_text() == "mine\n" and target.read_text() == "theirs\n"


# -- what the commands call: suggestions offered one by one, stale lists, clean ---------------


def candidate(verb: Verb, script: Script) -> Candidate:
    return Candidate(verb, script, None, "run on 2 days", 2, 2, ("yuzaoyah",), None)


def test_offer_moves_plans_each_just_before_offering_it(root: Path, naming: Naming) -> None:
    first = script(root, "yuzaoyah/ts_2024_06_10_export_x.py")
    same_name = script(root, "lihua/ts_2024_06_11_export_x.py")
    no_ts = script(root, "yuzaoyah/misnamed.py")
    declined = script(root, "yuzaoyah/ts_2024_06_12_clear_sessions.py")
    book = Recorder()
    offered: list[str] = []

    def accept(move: Move) -> bool:
        offered.append(move.source.key)
        return move.source != declined

    def carry_out(move: Move) -> Moved:
        return perform(move, book=book, operator="yuzaoyah")

    offers = list(offer_moves([candidate("promote", s) for s in (first, same_name, no_ts,
                                                                 declined)],
                              naming=naming, accept=accept, carry_out=carry_out))
    assert [o.candidate.script for o in offers] == [first, same_name, no_ts, declined]
    done, taken, refused, skipped = offers
    assert done.moved is not None and done.moved.method == "rename"
    assert done.refused is done.failed is None
    # The first move took recycle/export_x, so the second is refused when it comes up.
    assert isinstance(taken.refused, TargetExists) and taken.move is None
    assert isinstance(refused.refused, MoveRefused)
    assert skipped.move is not None and skipped.moved is skipped.failed is None
    assert offered == [first.key, declined.key]
    assert book.moves == [(first.key, "recycle/export_x")]
    assert same_name.path.exists() and declined.path.exists()


def test_offer_moves_goes_on_after_a_failed_move(root: Path, naming: Naming) -> None:
    a = script(root, "recycle/flush_a.py")
    b = script(root, "recycle/flush_b.py")
    book = Recorder()

    def carry_out(move: Move) -> Moved:
        if move.source == a:
            raise MoveFailed("the ledger went away")
        return perform(move, book=book, operator="yuzaoyah")

    offers = list(offer_moves([candidate("demote", a), candidate("demote", b)], naming=naming,
                              accept=lambda move: True, carry_out=carry_out))
    assert [str(o.failed) for o in offers] == ["the ledger went away", "None"]
    assert offers[1].moved is not None
    assert a.path.exists() and (root / "unrecycle/flush_b.py").exists()


def test_offer_moves_stops_when_accept_raises(root: Path, naming: Naming) -> None:
    a = script(root, "recycle/flush_a.py")
    b = script(root, "recycle/flush_b.py")
    offered: list[Script] = []

    def accept(move: Move) -> bool:
        offered.append(move.source)
        raise Declined("no answer")

    def carry_out(move: Move) -> Moved:
        raise AssertionError("nothing is accepted")

    offers = offer_moves([candidate("demote", a), candidate("demote", b)], naming=naming,
                         accept=accept, carry_out=carry_out)
    with pytest.raises(Declined):
        list(offers)
    assert offered == [a] and a.path.exists() and b.path.exists()


def test_suggest_without_a_ledger(project: Path, root: Path) -> None:
    script(root, f"yuzaoyah/{TS}.py")
    old = script(root, "recycle/never_run.py")
    script(root, "recycle/fresh.py")
    long_ago = _dt.datetime(2024, 1, 1, 12, tzinfo=_dt.UTC).timestamp()
    os.utime(old.path, (long_ago, long_ago))
    config = load_config(project)
    assert suggest("promote", config, Catalogue(root)) == []
    found = suggest("demote", config, Catalogue(root),
                    now=_dt.datetime(2024, 12, 31, 12, tzinfo=_dt.UTC))
    assert [(c.script.key, c.why) for c in found] == [
        ("recycle/never_run", "never run; unchanged for 365 days")]
    assert not (project / "instance").exists()  # reading never creates a ledger


def test_find_stale_without_a_ledger(project: Path, root: Path) -> None:
    script(root, "yuzaoyah/ts_2020_01_01_old.py")
    script(root, "lihua/ts_2020_01_02_older.py")
    script(root, f"yuzaoyah/{TS}.py")
    config = load_config(project)
    found = find_stale(config, Catalogue(root))
    assert found.limit == config.stale_days and found.runs_unknown is None
    assert [s.script.key for s in found.scripts][:2] == ["yuzaoyah/ts_2020_01_01_old",
                                                         "lihua/ts_2020_01_02_older"]
    assert all(s.last_run is None and not s.running for s in found.scripts)
    mine = find_stale(config, Catalogue(root), older_than=100000, owner="yuzaoyah")
    assert (mine.scripts, mine.limit) == ([], 100000)


def test_find_stale_with_an_unreachable_ledger(project: Path, root: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.opsctl]\nledger_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n',
        encoding="utf-8")
    old = script(root, "yuzaoyah/ts_2020_01_01_old.py")
    config = load_config(project)
    listed = find_stale(config, Catalogue(root))
    assert [s.script for s in listed.scripts] == [old]
    assert listed.runs_unknown is not None and "last runs are not shown" in listed.runs_unknown
    with pytest.raises(LedgerUnreachable, match="nothing was deleted"):
        find_stale(config, Catalogue(root), need_runs=True)
    with pytest.raises(LedgerUnreachable, match="nothing was deleted"):
        plan_clean_project(config, Catalogue(root))
    assert old.path.exists()


def test_plan_clean_project_then_clean_project(project: Path, root: Path) -> None:
    committed = script(root, "yuzaoyah/ts_2020_01_01_committed.py")
    repo_of(project)
    untracked = script(root, "yuzaoyah/ts_2020_01_02_untracked.py")
    config = load_config(project)
    plan = plan_clean_project(config, Catalogue(root), older_than=1000)
    assert [d.stale.script for d in plan.deletions] == [committed, untracked]
    assert plan.limit == 1000 and [d.stale.script for d in plan.doomed] == [committed]
    result = clean_project(config, plan.deletions)
    assert result.method == "git rm" and [d.stale.script for d in result.deleted] == [committed]
    assert not committed.path.exists() and untracked.path.exists()
    assert not (project / "instance").exists()  # no ledger: nothing to re-check, none made
    everything = plan_clean_project(config, Catalogue(root), older_than=1000,
                                    include_uncommitted=True)
    assert [d.stale.script for d in everything.doomed] == [untracked]
    assert plan_clean_project(config, Catalogue(root), older_than=100000).deletions == []
