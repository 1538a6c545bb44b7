"""The scripts a lint collects, held as groups (:mod:`opsctl.lint.scriptlist`): read back as
the pairs and paths they stand for, and known by the digest the list of pairs had."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from opsctl.filecache import digest_parts
from opsctl.lint import scriptlist
from opsctl.lint.scriptlist import (
    ScriptGroup,
    chunks,
    count,
    group,
    pairs_of,
    paths_of,
    scripts_digest,
    scripts_of,
)
from opsctl.lint.settings import LintConfig
from opsctl.lint.walk import Linter
from opsctl.naming import Naming

ITEMS = [("ann/ts_2026_01_02_fix_a.py", "temporary"),
         group("recycle", ["a.py", "b.py", "c.py"], "recycle"),
         group("unrecycle", [], "unrecycle"),
         ("recycle/odd name.py", "recycle"),
         group("unrecycle", ["z.py"], "unrecycle")]
FLAT = [("ann/ts_2026_01_02_fix_a.py", "temporary"), ("recycle/a.py", "recycle"),
        ("recycle/b.py", "recycle"), ("recycle/c.py", "recycle"),
        ("recycle/odd name.py", "recycle"), ("unrecycle/z.py", "unrecycle")]


def test_groups_read_back_as_what_they_stand_for() -> None:
    assert list(scripts_of(ITEMS)) == FLAT
    assert list(paths_of(ITEMS)) == [rel for rel, _ in FLAT]
    assert count(ITEMS) == len(FLAT) and count([]) == 0
    shared = [("recycle", "x_2.py"), group("recycle", ["a.py", "b.py"], "recycle")]
    assert list(pairs_of(shared)) == [("recycle", "x_2.py"), ("recycle", "a.py"),
                                      ("recycle", "b.py")]
    assert list(chunks(iter("abcde"), 2)) == [["a", "b"], ["c", "d"], ["e"]]


def test_the_digest_is_the_flat_lists_whatever_the_chunks() -> None:
    """The summary kept by a lint before the groups stays valid: same pairs, same digest."""
    whole = digest_parts(["\0".join(map("\1".join, FLAT)).encode("utf-8") + b"\0"])
    assert scripts_digest(ITEMS) == whole
    assert scripts_digest(ITEMS, chunk=1) == scripts_digest(ITEMS, chunk=4) == whole
    assert scripts_digest(FLAT) == whole  # pairs alone, as file-list mode may hand them
    assert scripts_digest(ITEMS[1:]) != whole


def test_a_group_holds_its_names_as_one_string_and_gives_them_back_in_order() -> None:
    names = [f"script_{i:05d}_{'x' * (i % 40)}.py" for i in range(3000)]  # many slices
    held = group("recycle", names, "recycle")
    assert type(held.joined) is str and len(held) == 3
    assert len(held.joined) > 2 * scriptlist._SLICE
    assert list(held.names()) == names and held.size() == len(names)
    assert list(group("recycle", [], "recycle").names()) == []
    assert group("recycle", ["a.py"], "recycle").size() == 1


def test_the_walk_keeps_each_shared_folders_scripts_as_one_compact_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a string and a tuple a script: one string of names a folder, from the walk to the
    cross-file rules."""
    root = tmp_path / "offline_script"
    for folder, count_ in (("recycle", 30), ("unrecycle", 20)):
        (root / folder).mkdir(parents=True)
        for i in range(count_):
            (root / folder / f"export_order_data_{chr(97 + i % 26)}{i}.py").write_text("x = 1\n")
    seen: list[object] = []
    monkeypatch.setattr(Linter, "check_twins",
                        lambda self, scripts, only: seen.extend(self.shared_scripts))
    linter = Linter(str(root), Naming(today=_dt.date(2026, 3, 15)), LintConfig())
    linter.walk_tree()
    assert [type(g) for g in seen] == [ScriptGroup, ScriptGroup]
    assert all(type(g.joined) is str for g in seen)  # type: ignore[attr-defined]
    assert sorted(n for _, n in pairs_of(seen)) == sorted(  # type: ignore[arg-type]
        p.name for p in root.glob("*/*.py"))
    assert linter.shared_scripts == []  # let go once the cross-file rules are done
