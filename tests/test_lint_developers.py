"""Developer folders and dates: a folder is a person's, known from the ``developers`` list or,
without one, from the git repository's authors; a temporary script's date is a calendar date
no older than a sane floor. Real git repositories, real ``git``.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
from pathlib import Path

import pytest

from opsctl.errors import ConfigError
from opsctl.lint import authors
from opsctl.lint.engine import lint
from opsctl.lint.rules import Finding
from opsctl.lint.settings import LintConfig
from opsctl.naming import Naming

TODAY = _dt.date(2024, 7, 1)
GOOD = '"""Do one thing."""\n'


def make(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(GOOD, encoding="utf-8")


def git(repo: Path, *args: str, email: str = "ann@example.com", name: str = "Ann",
        date: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout


def commit(repo: Path, rel: str, **who: str) -> None:
    make(repo, rel)
    git(repo, "add", rel, **who)
    git(repo, "commit", "-q", "-m", f"add {rel}", **who)


def found(root: Path, naming: Naming | None = None,
          config: LintConfig | None = None) -> list[Finding]:
    return list(lint(root, naming or Naming(today=TODAY),
                     config or LintConfig(stale_days=3650)).findings)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "offline_script/ann/ts_2024_06_10_export_orders.py")
    commit(repo, "offline_script/zhang_san/ts_2024_06_10_recount.py",
           email="zhang.san@example.com", name="Zhang San")
    commit(repo, "offline_script/lihua/ts_2024_06_10_sync.py", email="hua@example.com",
           name="Li Hua")
    return repo


@pytest.mark.parametrize("folder", ["old_scripts", "backup", "common", "tmp_scripts", "misc",
                                    "scripts", "linshi"])
def test_a_folder_named_for_no_person_is_an_error(tmp_path: Path, folder: str) -> None:
    make(tmp_path, f"{folder}/ts_2024_06_10_x.py")
    (finding,) = found(tmp_path)
    assert (finding.path, finding.code, finding.severity) == (folder, "OPS102", "error")
    assert "is not a person" in finding.message


def test_a_listed_folder_is_a_person_whatever_its_name(tmp_path: Path) -> None:
    make(tmp_path, "ops/ts_2024_06_10_x.py")
    assert found(tmp_path, Naming(developers=["ops"], today=TODAY)) == []


def test_outside_a_repository_other_names_pass(tmp_path: Path) -> None:
    make(tmp_path, "stranger/ts_2024_06_10_x.py")
    assert found(tmp_path) == []


def test_in_a_repository_a_folder_no_author_goes_by_is_a_warning(repo: Path) -> None:
    root = repo / "offline_script"
    make(root, "stranger/ts_2024_06_10_x.py", "old/ts_2024_06_10_x.py")
    findings = found(root)
    assert [(f.path, f.code, f.severity) for f in findings] == [
        ("old", "OPS102", "error"), ("stranger", "OPS103", "warning")]
    assert "no commit author of this repository goes by 'stranger'" in findings[1].message
    # The authors' folders pass: the e-mail's local part (zhang.san -> zhang_san) or the
    # author's name (Li Hua -> li_hua, lihua), as new would make them.
    assert not any(f.path in ("ann", "zhang_san", "lihua") for f in findings)


def test_a_developers_list_is_asked_instead_of_git(repo: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = authors._git_log

    def counting(top: str, fmt: str, *extra: str) -> list[str] | None:
        calls.append(fmt)
        return real(top, fmt, *extra)

    monkeypatch.setattr(authors, "_git_log", counting)
    root = repo / "offline_script"
    make(root, "stranger/ts_2024_06_10_x.py")
    naming = Naming(developers=["ann", "zhang_san", "lihua", "stranger"], today=TODAY)
    assert found(root, naming) == [] and calls == []
    # Without the list, one git log for the whole tree, however many folders.
    make(root, "other/ts_2024_06_10_x.py")
    assert {f.path for f in found(root)} == {"stranger", "other"}
    assert len(calls) == 1


def test_no_git_is_asked_when_every_folder_is_decided(repo: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(authors, "_git_log", lambda *a: calls.append("log") or [])
    root = repo / "offline_script"
    for folder in ("ann", "zhang_san", "lihua"):
        for path in (root / folder).iterdir():
            path.unlink()
        (root / folder).rmdir()
    make(root, "recycle/clear_cache.py", "backup/ts_2024_06_10_x.py")
    assert [f.code for f in found(root)] == ["OPS102"]
    assert calls == []


def test_a_pre_commit_hook_does_not_judge_folders_by_authors(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """File-list mode: the commit being made may be its author's first, and the hook must
    not wait on git's history."""
    calls: list[str] = []
    monkeypatch.setattr(authors, "_git_log", lambda *a: calls.append("log") or [])
    root = repo / "offline_script"
    make(root, "newcomer/ts_2024_06_10_x.py")
    report = lint(root, Naming(today=TODAY), LintConfig(stale_days=3650),
                  paths=[root / "newcomer" / "ts_2024_06_10_x.py"])
    assert report.findings == () and calls == []


def test_a_shallow_clone_is_not_judged_by_its_few_authors(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)],
                   check=True, capture_output=True, timeout=60)
    assert (clone / ".git" / "shallow").exists()
    # Only the last commit (Li Hua's) is there: judged by it, ann would be unknown.
    assert found(clone / "offline_script") == []


def test_a_linked_work_tree_finds_its_repository(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    root = linked / "offline_script"
    make(root, "stranger/ts_2024_06_10_x.py")
    assert [(f.path, f.code) for f in found(root)] == [("stranger", "OPS103")]


# -- dates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ts_0001_01_01_x.py", "ts_1970_01_01_x.py",
                                  "ts_1999_12_31_x.py"])
def test_a_date_before_the_floor_is_an_error(tmp_path: Path, name: str) -> None:
    make(tmp_path, f"yuzaoyah/{name}")
    (finding,) = found(tmp_path)
    assert (finding.code, finding.severity) == ("OPS202", "error")
    assert "before 2000-01-01, the earliest a script here can carry" in finding.message


def test_the_floor_holds_without_the_stale_rule_too(tmp_path: Path) -> None:
    make(tmp_path, "yuzaoyah/ts_1999_12_31_x.py", "yuzaoyah/ts_2000_01_01_x.py")
    config = LintConfig(enabled=frozenset({"OPS202"}))
    assert [f.path for f in found(tmp_path, config=config)] == ["yuzaoyah/ts_1999_12_31_x.py"]


def test_a_configured_floor(tmp_path: Path) -> None:
    make(tmp_path, "yuzaoyah/ts_2014_12_31_x.py", "yuzaoyah/ts_2015_01_01_x.py")
    config = LintConfig.from_table({"date_floor": "2015-01-01"}, stale_days=36500)
    assert [f.path for f in found(tmp_path, config=config)] == ["yuzaoyah/ts_2014_12_31_x.py"]


def test_the_floor_can_be_the_first_commit(repo: Path) -> None:
    first = repo.parent / "first"
    first.mkdir()
    git(first, "init", "-q", "-b", "main")
    commit(first, "offline_script/ann/ts_2020_05_01_start.py", date="2020-05-01T12:00:00")
    commit(first, "offline_script/ann/ts_2020_04_30_before.py", date="2021-01-01T12:00:00")
    config = LintConfig.from_table({"date_floor": "first-commit"}, stale_days=36500)
    findings = found(first / "offline_script", config=config)
    assert [(f.path, f.code) for f in findings] == [("ann/ts_2020_04_30_before.py", "OPS202")]
    assert "before 2020-05-01" in findings[0].message


def test_a_shallow_clone_has_no_first_commit_to_go_by(repo: Path, tmp_path: Path) -> None:
    """Its oldest commit is only where the clone stops: the default floor holds instead."""
    make(repo, "offline_script/ann/ts_2001_01_01_old.py")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)],
                   check=True, capture_output=True, timeout=60)
    config = LintConfig.from_table({"date_floor": "first-commit"}, stale_days=36500)
    assert found(clone / "offline_script", config=config) == []


@pytest.mark.parametrize("value", ["yesterday", "2015-13-01", 2015, ""])
def test_a_bad_floor_is_a_configuration_error(value: object) -> None:
    with pytest.raises(ConfigError, match="date_floor must be a date"):
        LintConfig.from_table({"date_floor": value}, source="pyproject.toml")
