"""The names cache: what the name rules found in each folder of a tree, so that a lint of a
folder whose names have not changed replays it instead of checking them again.

A folder's result depends on its names alone (a developer folder's names are each other's
evidence) or, for recycle/ and unrecycle/, on both folders' names; and on the rules: their
code, the configuration and today's date (what is stale, what is in the future). So each
result is known by a digest of the folder's listing (:func:`listing_key`), and the cache file
(:class:`opsctl.filecache.FileCache`, ``names`` in the cache folder) by a stamp of the rules'
code and of everything else they read (:func:`context`): a new day, another setting or
another opsctl makes every result a miss, and the folders are checked as without a cache.

A result is plain data: the findings as tuples, the stale scripts counted (how many, the
oldest), the scripts whose content to check, and what :mod:`opsctl.lint.walk` needs to carry
on (for recycle/ and unrecycle/, their ``.py`` names that are not scripts).

A folder is also known by its own signature (:func:`opsctl.filecache.signature` of the
folder: adding, removing or renaming a name in it changes its modification and change
times), so a warm lint replays an unchanged folder without listing it: one ``stat`` instead
of reading every name. The signature is kept only when it can be trusted: the folder's
modification time at least :data:`SETTLED_NS` in the past when it was read (a name added in
the same tick of a coarse clock would not change it: git's "racily clean" files), the
listing read whole, and no symbolic link in it (a link's target may turn from a file into a
folder without the folder changing).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import starmap
from time import time_ns

from ..filecache import FileCache, code_stamp, digest, signature
from .rules import Finding
from .scriptlist import Scripts, scripts_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

    from ..naming import Kind, Naming
    from .settings import LintConfig

#: The modules whose code decides what a folder's names give.
_NAME_MODULES = ("naming.py", "copies.py", "dates.py", "lint/bulk.py", "lint/names.py",
                 "lint/walk.py", "lint/collector.py", "lint/stale.py", "lint/rules.py",
                 "lint/duplicates.py", "lint/namecache.py", "filecache.py")

#: One folder's result: findings as ``Finding`` tuples, stale scripts counted (how many, and
#: the oldest as ``(date, path)``), the ``(path, kind)`` of scripts whose content to check,
#: and the walk's own data.
Result = tuple[tuple[tuple["Any", ...], ...], int, "tuple[str, str] | None",
               "tuple[tuple[str, Kind], ...]", "Any"]
#: How long ago a folder must have changed for its signature to stand for its listing: more
#: than the coarsest file-system clock (FAT's two seconds).
SETTLED_NS = 3_000_000_000


def context(naming: Naming, config: LintConfig) -> tuple[Any, ...]:
    """Everything but a folder's names that its result depends on, as plain data."""
    developers = tuple(sorted(naming.developers)) if naming.developers is not None else None
    return (naming.today.toordinal(), naming.date_floor.toordinal(), naming.developer_pattern,
            developers, naming.status_suffixes, tuple(sorted(config.enabled)),
            tuple(sorted(config.severities.items())), config.ignore, config.stale_days,
            config.show_stale, tuple(sorted(config.content_kinds)))


def listing_key(*listings: list[str]) -> bytes:
    """A digest of one or more folder listings (names, then folders inside), in order. A name
    holds no NUL, so NULs keep them apart."""
    text = "\0\0".join("\0".join(names) for names in listings)
    return digest(text.encode("utf-8", "surrogatepass"))


def folder_signature(path: str) -> bytes | None:
    """A folder's :func:`~opsctl.filecache.signature` when it has settled (changed more than
    :data:`SETTLED_NS` ago), read before listing it; else None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if time_ns() - st.st_mtime_ns <= SETTLED_NS:
        return None
    return signature(st)


class NameResults:
    """The names cache of one lint: :meth:`get` a folder's result, :meth:`put` one, and
    :meth:`save` what this lint saw. An entry is ``(listing key, result, folder)``,
    ``folder`` being what :meth:`unchanged` answers for the folder's signature, or None."""

    def __init__(self, folder: str, naming: Naming, config: LintConfig) -> None:
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        stamp = code_stamp(*(os.path.join(package, m) for m in _NAME_MODULES))
        self.cache = FileCache(folder, "names", (stamp, context(naming, config)))
        self.seen: list[str] = []
        #: Folders answered from the cache, and checked, in this lint; and folders (recycle/
        #: and unrecycle/ as one) known unchanged by their signature, so not even listed.
        self.hits = self.misses = self.unlisted = 0

    def get(self, name: str, key: bytes) -> Result | None:
        """The result kept for folder ``name`` when it had listing ``key``."""
        self.seen.append(name)
        stored = self.cache.entries.get(name)
        if stored is not None and stored[0] == key:
            self.hits += 1
            return stored[1]  # type: ignore[no-any-return]
        self.misses += 1
        return None

    def put(self, name: str, key: bytes, result: Result, folder: Any = None) -> None:
        self.cache.put(name, (key, result, folder))

    def unchanged(self, name: str, sig: object) -> Any:
        """What was kept of folder ``name`` (its listing: ``(signature, ...)``) when its
        signature is still ``sig``, else None."""
        if sig is None:
            return None
        stored = self.cache.entries.get(name)
        if stored is None or stored[2] is None or stored[2][0] != sig:
            return None
        self.unlisted += 1
        return stored[2]

    def keep_folder(self, name: str, folder: Any) -> None:
        """Keep ``folder`` beside the result of ``name`` just replayed or put."""
        stored = self.cache.entries.get(name)
        if stored is not None and stored[2] != folder:
            self.cache.put(name, (stored[0], stored[1], folder))

    def save(self, *, whole_tree: bool, release: bool = False) -> None:
        """Write the cache back; after a walk of the whole tree, without the folders it no
        longer has. ``release``: then let go of its entries (the lint asks nothing more)."""
        if self.cache.loaded:
            # A folder's results a frame: never the bytes of every folder's at once.
            self.cache.save(keep=self.seen if whole_tree else None, per_frame=1, shape=_plain)
            if release:
                self.cache.release()


def _plain(entry: tuple[Any, ...]) -> tuple[Any, ...]:
    """A names-cache entry as :mod:`marshal` writes it: its findings plain tuples."""
    key, (findings, *rest), folder = entry
    return key, (tuple(map(tuple, findings)), *rest), folder


class FolderReplay:
    """The part of :class:`opsctl.lint.walk.Linter` that runs the rules on a folder's names
    or replays what they gave, through a :class:`NameResults`."""

    name_results: NameResults | None = None
    findings: list[Finding]
    content: Scripts
    stale_count: int
    stale_oldest: tuple[str, str] | None
    checked: int

    def replayed_unchanged(self, folder: str, sig: bytes) -> bool:
        """Replay developer folder ``folder`` when its signature is still ``sig``, without
        listing it; returns whether it did."""
        results = self.name_results
        kept = results.unchanged(folder, sig) if results is not None else None
        if kept is None:
            return False
        assert results is not None
        found = results.get(folder, results.cache.entries[folder][0])
        if found is None:
            return False
        self.checked += kept[1]
        self._replay(found)
        return True

    def recorded(self, name: str, key: bytes, work: Callable[[], Any],
                 folder: Any = None) -> Any:
        """Run ``work`` (the rules on one folder's names), or replay what it gave when the
        names cache has it for listing ``key``; returns what ``work`` returned. ``folder``
        is what to keep of the folder itself (:meth:`NameResults.unchanged`), if anything."""
        results = self.name_results
        found = results.get(name, key) if results is not None else None
        if found is not None:
            assert results is not None
            results.keep_folder(name, folder)
            return self._replay(found)
        if results is None:
            return work()
        start, begun = len(self.findings), len(self.content)
        before = self.stale_count, self.stale_oldest
        self.stale_count, self.stale_oldest = 0, None
        extra = work()
        # The findings themselves, made plain tuples only as the cache is written (a second
        # tuple each, held from the walk to the save, was half a megabyte at 100,000 names).
        result: Result = (tuple(self.findings[start:]), self.stale_count,
                          self.stale_oldest, tuple(scripts_of(self.content[begun:])), extra)
        results.put(name, key, result, folder)
        self.stale_count, self.stale_oldest = before
        self._merge_stale(result[1], result[2])
        return extra

    def _replay(self, found: Result) -> Any:
        findings, count, oldest, content, extra = found
        self.findings.extend(starmap(Finding, findings))
        self.content.extend(content)
        self._merge_stale(count, oldest)
        return extra

    def _merge_stale(self, count: int, oldest: tuple[str, str] | None) -> None:
        self.stale_count += count
        if oldest is not None and (self.stale_oldest is None or oldest < self.stale_oldest):
            self.stale_oldest = oldest
