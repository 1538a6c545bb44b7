"""The near-twin rule (OPS303): a recycle script left untouched since a near-twin appeared
beside it.

Two recycle scripts are near-twins when their names or their descriptions (a docstring's first
line) are nearly identical (:func:`opsctl.similarity.one_word_apart`: the same first word, at
most one word different, and three words in common for names, four for descriptions). The one
not changed since its twin appeared is reported, with the twin named: the twin was written
instead of extending it, and the convention's way out is to fold one into the other and
``opsctl absorb`` it. Names that differ only by a copy mark or by case are the duplicate
rule's (OPS302), not this one's.

When a script appeared and was last changed: in a git work tree, from the commits (the first
one holding the file at its path, the last one changing it; a change not committed yet counts
as now), so a fresh clone's file times do not matter; otherwise, and for a file git does not
track, from the file's modification time. Git is asked only about the scripts of a pair, so a
tree without near-twins never starts it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain

from ..filecache import digest, digest_parts
from ..naming import Naming, normalise, words
from ..similarity import description_words, one_word_apart, read_description

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Protocol

    from ..gitops import WorkTree

#: Words in common for two names, and for two descriptions, to be near-twins.
NAME_WORDS, DESCRIPTION_WORDS = 3, 4


def near_twins(root: str, scripts: Iterable[tuple[str, str]], naming: Naming,
               only: set[str] | None = None,
               describe: Callable[[str], str] | None = None,
               memo: PairMemo | None = None) -> Iterator[tuple[str, str, str]]:
    """``(path, message, fix)`` for each recycle script (of ``(folder, file name)`` pairs)
    untouched since a near-twin appeared beside it; with ``only``, for pairs with a member
    among those paths. ``describe`` gives a script's description from its path under
    ``root`` (by default, read from the file). ``memo`` keeps the pairs found, known by the
    names and descriptions they were found among (:func:`pairs_key`): the same again finds
    the same pairs without comparing."""
    names = sorted(n for folder, n in scripts if folder == "recycle" and n.endswith(".py"))
    if len(names) < 2:
        return
    if describe is None:
        def describe(rel: str) -> str:
            return read_description(os.path.join(root, rel))
    pairs = memo.known_pairs(names) if memo is not None else None
    if pairs is None:
        descriptions = list(map(describe, map("recycle/".__add__, names)))
        key = pairs_key(names, descriptions) if memo is not None else b""
        pairs = memo.pairs(key) if memo is not None else None
        if pairs is None:
            pairs = twin_pairs(names, descriptions)
            if memo is not None:
                memo.keep_pairs(key, pairs, names)

    def purpose(name: str) -> str:  # as the duplicate rule groups names
        return naming.copies.purpose_key(normalise(name[:-3]))

    times = _Times(root)
    for a, b, what in pairs:
        if purpose(a) == purpose(b):
            continue
        if only is not None and f"recycle/{a}" not in only and f"recycle/{b}" not in only:
            continue
        for this, twin in ((a, b), (b, a)):
            if times.changed(this) <= times.appeared(twin):
                yield (f"recycle/{this}",
                       f"recycle/{twin} appeared beside it since it was last changed, with a "
                       f"nearly identical {what}: one purpose, one script",
                       f"extend this script with what recycle/{twin} does, then run: opsctl "
                       f"absorb recycle/{this[:-3]} recycle/{twin[:-3]}")


#: The near-twin pairs of some recycle scripts: ``(name, name, "name" or "description")``,
#: sorted.
Pairs = tuple[tuple[str, str, str], ...]


if TYPE_CHECKING:  # a type for mypy only: typing stays unimported on the lint's path
    class PairMemo(Protocol):
        """Where :func:`near_twins` keeps the pairs it found (the content cache)."""

        def known_pairs(self, names: list[str]) -> Pairs | None: ...

        def pairs(self, key: bytes) -> Pairs | None: ...

        def keep_pairs(self, key: bytes, pairs: Pairs, names: list[str]) -> None: ...


def twin_pairs(names: list[str], descriptions: list[str]) -> Pairs:
    """The pairs of recycle script file names (sorted) that are near-twins by name or, with
    ``descriptions`` (one a name), by description."""
    # Each word once, however many names and descriptions it is in (a tree's vocabulary is
    # small): ten thousand descriptions hold tens of thousands of words.
    # Only lists long enough to be near-twins (one_word_apart passes over the others), as
    # tuples, each word once.
    known: dict[str, str] = {}

    def shared(texts: Iterable[tuple[str, list[str]]], minimum: int) -> dict[str, Sequence[str]]:
        return {key: tuple(map(known.setdefault, found, found)) for key, found in texts
                if len(found) >= minimum}

    # Names first counted by their first two words, and only those sharing them with another
    # held as word lists: more than half of ten thousand share them with none (a tuple each, held
    # at once, was the cold lint's peak).
    first_two: dict[tuple[str, ...], int] = {}
    for n in names:
        if len(got := words(n[:-3])) >= NAME_WORDS:
            head = tuple(map(known.setdefault, got[:2], got[:2]))
            first_two[head] = first_two.get(head, 0) + 1
    paired = ((n, got) for n in names if len(got := words(n[:-3])) >= NAME_WORDS
              and first_two.get((got[0], got[1]), 0) > 1)
    found = dict.fromkeys(one_word_apart(shared(paired, NAME_WORDS), NAME_WORDS), "name")
    del first_two
    described = shared(zip(names, map(description_words, descriptions), strict=True),
                       DESCRIPTION_WORDS)
    for pair in one_word_apart(described, DESCRIPTION_WORDS):
        found.setdefault(pair, "description")
    return tuple((a, b, what) for (a, b), what in sorted(found.items()))


def pairs_key(names: list[str], descriptions: list[str]) -> bytes:
    """What the pairs of :func:`twin_pairs` are computed from, as a digest (neither a file
    name nor a description holds a NUL)."""
    def parts(texts: list[str], end: bytes) -> Iterator[bytes]:
        for i, text in enumerate(texts):  # a text at a time: the same digest, never all held
            yield text.encode("utf-8", "surrogatepass") + (b"\0" if i + 1 < len(texts) else end)

    if not names:
        return digest(b"\0\0" + "\0".join(descriptions).encode("utf-8", "surrogatepass"))
    return digest_parts(chain(parts(names, b"\0\0"), parts(descriptions, b"")))


class _Times:
    """When each script of ``root/recycle`` appeared and was last changed, as Unix times."""

    def __init__(self, root: str) -> None:
        self.folder = os.path.join(root, "recycle")
        self._tree: WorkTree | None = None
        self._looked = False  # for the work tree: git starts only when a pair is found
        self._found: dict[str, tuple[float, float]] = {}

    def appeared(self, name: str) -> float:
        return self._times(name)[0]

    def changed(self, name: str) -> float:
        return self._times(name)[1]

    def _times(self, name: str) -> tuple[float, float]:
        if name not in self._found:
            path = os.path.join(self.folder, name)
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                mtime = 0.0
            self._found[name] = self._committed(path) or (mtime, mtime)
        return self._found[name]

    def _committed(self, path: str) -> tuple[float, float] | None:
        """From git, for a file it tracks: (first commit with it, last change or now)."""
        if not self._looked:
            self._looked = True
            if not _may_be_in_git(self.folder):
                return None  # git, and the modules that ask it, not even loaded
            from pathlib import Path

            from ..gitops import work_tree

            self._tree = work_tree(Path(self.folder))
        tree = self._tree
        if tree is None:
            return None
        from pathlib import Path

        from ..gitops import GitError

        file = Path(path)
        try:
            if not tree.tracked([file]):
                return None
            times = tree.commit_times(file)
            if times is None:
                return None
            if tree.changed([file]):
                return float(times[0]), float("inf")  # being changed now
        except GitError:
            return None
        return float(times[0]), float(times[1])


def _may_be_in_git(folder: str) -> bool:
    """Whether git may find a work tree holding ``folder``: a ``.git`` in it or in a folder
    above it, or git's environment saying where one is. Without either there is none."""
    if any(name.startswith("GIT_") for name in os.environ):
        return True
    path = os.path.abspath(folder)
    while True:
        if os.path.lexists(os.path.join(path, ".git")):
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
