"""The lint's walk: one pass over the offline-script tree, folder by folder.

Speed matters (SPEC §8: within 2x of a bare ``os.scandir`` walk on 10,000 and 100,000 files;
issue 15: 1.5x on a legacy tree with the cache filled), so the walk is one ``os.scandir`` per
folder and reads nothing but names. A folder's names are proved good or stale in bulk
(:mod:`opsctl.lint.bulk`: a share of a C-level ``filter`` each, never a call of its own); only
the rest reach the rules on single names (:class:`~opsctl.lint.names.NameRules`), with the
names beside them as evidence. With a cache folder, what a folder's names gave is kept
(:mod:`opsctl.lint.namecache`) and replayed while the folder's names stay the same.
:mod:`opsctl.lint.paths` checks a list of files instead.
"""

from __future__ import annotations

import operator
import os
from itertools import compress, filterfalse

from ..naming import IGNORED_NAMES, SHARED_FOLDERS, normalise
from .bulk import ListedStems, duplicate_candidates, list_folder, split_stale
from .collector import BAD, OK, STALE
from .namecache import FolderReplay, NameResults, folder_signature, listing_key
from .names import NameRules, folder_original
from .rules import LintReport, RootMissing
from .scriptlist import group, pairs_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

_DAY = operator.itemgetter(slice(3, 13))  # the date of a good temporary file name
_IS_PY = operator.methodcaller("endswith", ".py")
#: The names-cache key of recycle/ and unrecycle/ together (no folder name holds a NUL).
SHARED_KEY = "\0shared"


class Linter(FolderReplay, NameRules):
    """One run of the lint over a tree: the walk, folder by folder."""

    def walk_tree(self) -> None:
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            raise RootMissing(f"there is no offline-script folder at {self.root}; run 'opsctl "
                              "init', or set root in [tool.opsctl]") from None
        if self.config.cache_dir is not None:
            self.name_results = NameResults(self.config.cache_dir, self.naming, self.config)
        shared: list[os.DirEntry[str]] = []
        developers: list[os.DirEntry[str]] = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store) are not the lint's
            self.checked += 1
            if entry.is_dir():
                if name in SHARED_FOLDERS:
                    shared.append(entry)
                elif name != "__pycache__":
                    developers.append(entry)
            else:
                self.root_file(name)
        del entries
        # Both shared listings first: each is the other's evidence.
        shared.sort(key=lambda e: SHARED_FOLDERS.index(e.name))
        self._walk_shared(shared)
        self.begin_contents()  # checked beside the developer folders' walk when none is kept
        for entry in developers:
            self.walk_developer(entry.name, entry.path)
        self._shared_stems = None  # no folder asks for evidence now: room for the content
        if self.name_results is not None:  # written and let go before the content caches
            self.name_results.save(whole_tree=True, release=True)  # load: less peak memory
        self.check_twins(pairs_of(self.shared_scripts), None)
        self.shared_scripts = []  # asked for by no rule after this one: room for the report

    def _walk_shared(self, shared: list[os.DirEntry[str]]) -> None:
        """Check recycle/ and unrecycle/ (``shared``) together, or replay what they gave."""
        ordered, folder = self._list_shared(shared)
        kept = self.name_results.cache.entries.get(SHARED_KEY) \
            if self.name_results is not None and folder is not None else None
        if kept is not None and kept[2] is folder:  # replayed, not listed
            key = kept[0]  # the digest of the listings it was kept with
        else:
            key = listing_key(*(part for names in ordered.values() for part in names),
                              list(ordered))
        extra = self.recorded(SHARED_KEY, key, lambda: self._check_shared(ordered), folder)
        for name, (names, _) in ordered.items():
            scripts = list(filter(_IS_PY, names))
            if extra[name]:  # a hidden script, __init__.py: not scripts
                scripts = list(filterfalse(set(extra[name]).__contains__, scripts))
            self._add_scripts(name, scripts)

    def report(self, *, partial: bool = False) -> LintReport:
        if self.name_results is not None:
            self.name_results.save(whole_tree=not partial)
        return super().report(partial=partial)

    def _check_shared(self, listed: dict[str, tuple[list[str], list[str]]],
                      ) -> dict[str, list[str]]:
        """The rules on recycle/ and unrecycle/ names, the duplicates among them; returns,
        by folder, the ``.py`` names that are not scripts."""
        self._shared_stems = ListedStems({folder: names for folder, (names, _) in listed.items()})
        plain: dict[str, list[str]] = {}
        for folder, (names, folders) in listed.items():
            for name in folders:
                self.shared_entry(folder, name, True)
            plain[folder] = self.plain_shared(folder, names)
        purpose_key = self.naming.copies.purpose_key
        self.check_duplicates(duplicate_candidates(
            plain, self.marked_scripts, lambda stem: purpose_key(normalise(stem))), None)
        extra: dict[str, list[str]] = {}
        for folder, (names, _) in listed.items():
            scripts = set(plain[folder]).union(n for f, n in self.marked_scripts if f == folder)
            extra[folder] = sorted(n for n in filter(_IS_PY, names) if n not in scripts)
        return extra

    def _list_shared(self, shared: list[os.DirEntry[str]],
                     ) -> tuple[dict[str, tuple[list[str], list[str]]], Any]:
        """The names and folders of recycle/ and unrecycle/ (those of ``shared``): kept in
        the names cache while both folders' signatures stay the same, else listed. Returns
        them and what to keep of them (None when a folder's signature cannot be trusted)."""
        results = self.name_results
        sigs = None
        if results is not None:
            sigs = tuple(map(folder_signature, (e.path for e in shared)))
            kept = results.unchanged(SHARED_KEY, sigs) if None not in sigs else None
            if kept is not None:
                self.checked += kept[1]
                return {f: (names.split("\0") if names else [], list(folders))
                        for f, names, folders in kept[2]}, kept
        ordered: dict[str, tuple[list[str], list[str]]] = {}
        count, trusted = 0, True
        for entry in shared:
            names, folders, listed, whole = self._listing(entry.name, entry.path)
            count += listed
            trusted = trusted and whole
            ordered[entry.name] = names, folders
        self.checked += count
        if sigs is None or None in sigs or not trusted:
            return ordered, None
        # Each folder's names kept as one string (no name holds a NUL), not a string each.
        return ordered, (sigs, count, tuple((f, "\0".join(names), tuple(folders))
                                            for f, (names, folders) in ordered.items()))

    def _listing(self, rel: str, path: str) -> tuple[list[str], list[str], int, bool]:
        """:func:`~opsctl.lint.bulk.list_folder`, or nothing and OPS101 if it cannot be."""
        try:
            return list_folder(path)
        except OSError as exc:
            self.add(rel, "OPS101", f"the folder cannot be listed ({exc.strerror})",
                     "fix its permissions, or remove it")
            return [], [], 0, False

    def walk_shared(self, folder: str, path: str) -> None:
        names, folders, count, _ = self._listing(folder, path)
        self.checked += count
        for name in folders:
            self.shared_entry(folder, name, True)
        before = len(self.marked_scripts)
        good = self.plain_shared(folder, names)
        self._add_scripts(folder, [n for _, n in self.marked_scripts[before:]] + good)

    def plain_shared(self, folder: str, names: list[str]) -> list[str]:
        """Check the file names of recycle/ or unrecycle/; returns those proved plain in bulk
        (:attr:`~opsctl.lint.bulk.FastMatches.script`), for the caller to add as scripts.
        Only the rest reach :meth:`shared_entry`, with both folders' names as evidence."""
        good = list(filter(self.matches.script, names))
        if len(good) != len(names):
            scripts, content = len(self.shared_scripts), len(self.content)
            for name in filterfalse(set(good).__contains__, names):
                self.shared_entry(folder, name, False)
            self.marked_scripts += pairs_of(self.shared_scripts[scripts:])
            del self.shared_scripts[scripts:], self.content[content:]  # the caller adds them
        return good

    def _add_scripts(self, folder: str, names: list[str]) -> None:
        """The scripts of a shared folder: for the cross-file rules, and for the content
        rules when they check its kind."""
        scripts = group(folder, names, "recycle" if folder == "recycle" else "unrecycle")
        self.shared_scripts.append(scripts)  # no pair, no path made yet
        if scripts.kind in self.content_kinds:
            self.content.append(scripts)

    def walk_developer(self, folder: str, path: str) -> None:
        """Check a developer folder and its temporary scripts: the bulk of a large tree."""
        self.developer_folder(folder)
        results = self.name_results
        # The folder's signature before its listing: a name added meanwhile changes it.
        sig = folder_signature(path) if results is not None else None
        if sig is not None and self.replayed_unchanged(folder, sig):
            return
        names, folders, count, whole = self._listing(folder, path)
        self.checked += count
        self.recorded(folder, listing_key(names, folders),
                      lambda: self._check_developer(folder, names, folders),
                      (sig, count) if sig is not None and whole else None)

    def _check_developer(self, folder: str, names: list[str], folders: list[str]) -> None:
        """A C-level ``filter`` proves the good names good with one regex match each; when
        stale scripts are only counted, stale names are counted in bulk too
        (:func:`~opsctl.lint.bulk.split_stale`), else a name dated outside the stale window
        gets one calendar check per distinct date. Only the rest reach the full rules in
        :meth:`temporary_entry`, with the folder's names as evidence."""
        for name in folders:
            self.temporary_entry(folder, name, True)
        window = self.window
        original = folder_original(folder, names)
        if self.counts_stale and window is not None:
            stale, rest = split_stale(names, window, self.matches.dated,
                                      self.stale_before_name, self.date_floor_name)
            if stale:
                self.count_stale(folder, len(stale), min(stale))
            for name in rest:
                self.temporary_entry(folder, name, False, original)
            return
        good = list(filter(window or self.matches.temporary, names))
        dated = good if window is None else []  # good names whose date still needs a look
        if len(good) != len(names):
            shape = self.matches.temporary
            for name in filterfalse(set(good).__contains__, names):
                if window is not None and shape(name):
                    dated.append(name)  # well formed, dated outside the window
                else:
                    self.temporary_entry(folder, name, False, original)
        if dated:
            days = list(map(_DAY, dated))
            odd = {day for day in set(days) if self.date_state(day) != OK}
            for name in compress(dated, map(odd.__contains__, days)) if odd else ():
                day = name[3:13]
                if self.dates[day] == STALE:
                    self.stale(f"{folder}/{name}", day)
                else:
                    self.temporary_entry(folder, name, False, original)
        if "temporary" in self.content_kinds:
            self.content.extend((f"{folder}/{name}", "temporary")
                                for name in (good if window is None else good + dated)
                                if self.dates.get(name[3:13]) != BAD)


__all__ = ["IGNORED_NAMES", "Linter"]
