"""The scripts a lint collects, held as groups (:mod:`opsctl.lint.scriptlist`): read back as
the pairs and paths they stand for, and known by the digest the list of pairs had."""

from __future__ import annotations

from opsctl.filecache import digest_parts
from opsctl.lint.scriptlist import (
    ScriptGroup,
    chunks,
    count,
    pairs_of,
    paths_of,
    scripts_digest,
    scripts_of,
)

ITEMS = [("ann/ts_2026_01_02_fix_a.py", "temporary"),
         ScriptGroup("recycle", ["a.py", "b.py", "c.py"], "recycle"),
         ScriptGroup("unrecycle", [], "unrecycle"),
         ("recycle/odd name.py", "recycle"),
         ScriptGroup("unrecycle", ["z.py"], "unrecycle")]
FLAT = [("ann/ts_2026_01_02_fix_a.py", "temporary"), ("recycle/a.py", "recycle"),
        ("recycle/b.py", "recycle"), ("recycle/c.py", "recycle"),
        ("recycle/odd name.py", "recycle"), ("unrecycle/z.py", "unrecycle")]


def test_groups_read_back_as_what_they_stand_for() -> None:
    assert list(scripts_of(ITEMS)) == FLAT
    assert list(paths_of(ITEMS)) == [rel for rel, _ in FLAT]
    assert count(ITEMS) == len(FLAT) and count([]) == 0
    shared = [("recycle", "x_2.py"), ScriptGroup("recycle", ["a.py", "b.py"], "recycle")]
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
