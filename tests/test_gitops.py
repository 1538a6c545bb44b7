"""opsctl.gitops against real git in throwaway repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

from opsctl.gitops import GitError, work_tree

pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    top = tmp_path / "repo"
    (top / "a").mkdir(parents=True)
    (top / "b").mkdir()
    (top / "a" / "f.py").write_text("one\n", encoding="utf-8")
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "first")
    return top


def test_no_work_tree_outside_git(tmp_path: Path) -> None:
    assert work_tree(tmp_path) is None


def test_work_tree_found_from_a_subfolder(repo: Path) -> None:
    tree = work_tree(repo / "a")
    assert tree is not None and tree.top == repo.resolve()


def test_tracked_and_changed(repo: Path) -> None:
    tree = work_tree(repo)
    assert tree is not None
    f, new, clean = repo / "a" / "f.py", repo / "a" / "new.py", repo / "b" / "c.py"
    new.write_text("x\n", encoding="utf-8")
    clean.write_text("c\n", encoding="utf-8")
    git(repo, "add", "b/c.py")
    git(repo, "commit", "-q", "-m", "c")
    assert tree.tracked([f, new, clean]) == {f, clean}
    assert tree.changed([f, new, clean]) == {new}  # untracked: git has no copy of it
    f.write_text("two\n", encoding="utf-8")
    assert tree.changed([f, clean]) == {f}


def test_ignored_files_count_as_changed(repo: Path) -> None:
    (repo / ".gitignore").write_text("secret_*.py\n", encoding="utf-8")
    ignored = repo / "a" / "secret_x.py"
    ignored.write_text("x\n", encoding="utf-8")
    tree = work_tree(repo)
    assert tree is not None
    assert tree.tracked([ignored]) == set()
    assert tree.changed([ignored]) == {ignored}


def test_names_are_literal_not_pathspecs(repo: Path) -> None:
    star = repo / "a" / "*.py"
    star.write_text("x\n", encoding="utf-8")
    git(repo, "add", "--", "a/[*].py")
    git(repo, "commit", "-q", "-m", "star")
    other = repo / "a" / "zz.py"
    other.write_text("x\n", encoding="utf-8")
    tree = work_tree(repo)
    assert tree is not None
    # As a glob, '*.py' would match every tracked file; literally it is one file.
    assert tree.tracked([star, other]) == {star}


def test_move_keeps_history(repo: Path) -> None:
    tree = work_tree(repo)
    assert tree is not None
    tree.move(repo / "a" / "f.py", repo / "b" / "g.py")
    git(repo, "commit", "-q", "-m", "move")
    log = git(repo, "log", "--follow", "--format=%s", "--", "b/g.py").split()
    assert log == ["move", "first"]


def test_move_refused_on_a_locked_index(repo: Path) -> None:
    tree = work_tree(repo)
    assert tree is not None
    (repo / ".git" / "index.lock").write_bytes(b"")
    with pytest.raises(GitError, match="git mv failed: Unable to create .*index.lock"):
        tree.move(repo / "a" / "f.py", repo / "b" / "f.py")
    assert (repo / "a" / "f.py").is_file() and not (repo / "b" / "f.py").exists()


def test_remove_all_or_nothing(repo: Path) -> None:
    tree = work_tree(repo)
    assert tree is not None
    (repo / "b" / "c.py").write_text("c\n", encoding="utf-8")
    git(repo, "add", "b/c.py")
    git(repo, "commit", "-q", "-m", "c")
    (repo / "b" / "c.py").write_text("changed\n", encoding="utf-8")
    with pytest.raises(GitError, match="git rm failed"):
        tree.remove([repo / "a" / "f.py", repo / "b" / "c.py"])
    assert (repo / "a" / "f.py").is_file()  # git refused both, removed neither
    tree.remove([repo / "a" / "f.py"])
    assert not (repo / "a" / "f.py").exists()
    assert git(repo, "status", "--porcelain", "--", "a").strip() == "D  a/f.py"
