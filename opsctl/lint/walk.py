"""The lint's walk: one pass over the offline-script tree, each name checked as it comes.

Speed matters (SPEC §8: within 2x of a bare ``os.scandir`` walk on 10,000 and 100,000 files),
so the walk is one ``os.scandir`` per folder, reads nothing but ``DirEntry`` data for names,
and a good temporary name costs one regex match (its date window included) inside a C-level
``filter``. The evidence that a name is a copy (a sibling named like it without its marks) is
looked up in the folder listings already in hand, and only for names that carry a mark.
:class:`~opsctl.lint.collector.Collector` holds what a lint has found and applies the rules
that need more than one name; :class:`Linter` walks. :mod:`opsctl.lint.paths` checks a list of
files instead.
"""

from __future__ import annotations

import operator
import os
from itertools import compress, filterfalse

from ..naming import IGNORED_NAMES, SHARED_FOLDERS, TS_FILE_RE, Kind, Original
from .collector import BAD, OK, STALE, Collector, is_script, stems
from .rules import RootMissing

_NAME = operator.attrgetter("name")
_IS_DIR = os.DirEntry.is_dir
_DAY = operator.itemgetter(slice(3, 13))  # the date of a good temporary file name
_WHAT = operator.itemgetter(slice(14, -3))  # ... and its <what>


class Linter(Collector):
    """One run of the lint over a tree: the walk, and the rules on single names."""

    def walk_tree(self) -> None:
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            raise RootMissing(f"there is no offline-script folder at {self.root}; run 'opsctl "
                              "init', or set root in [tool.opsctl]") from None
        shared: dict[str, list[os.DirEntry[str]]] = {}
        developers: list[os.DirEntry[str]] = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store) are not the lint's
            self.checked += 1
            if entry.is_dir():
                if name in SHARED_FOLDERS:
                    shared[name] = self.listing(name, entry.path)
                elif name != "__pycache__":
                    developers.append(entry)
            else:
                self.root_file(name)
        # Both shared listings first: each is the other's evidence.
        self._shared_stems = stems((f, e.name) for f in SHARED_FOLDERS
                                    for e in shared.get(f, ()) if is_script(e))
        for folder in SHARED_FOLDERS:
            if folder in shared:
                self.checked += len(shared[folder])
                for entry in shared[folder]:
                    self.shared_entry(folder, entry.name, entry.is_dir())
        for entry in developers:
            self.walk_developer(entry.name, entry.path)
        self.check_duplicates(self.shared_scripts, None)
        self.check_twins(self.shared_scripts, None)

    def root_file(self, name: str) -> None:
        if name not in IGNORED_NAMES:
            self.add(name, "OPS101",
                     "a file directly in the root; scripts live in recycle/, unrecycle/ or a "
                     "developer folder",
                     "move it into recycle/, unrecycle/ or your developer folder")

    def listing(self, rel: str, path: str) -> list[os.DirEntry[str]]:
        try:
            return list(os.scandir(path))
        except OSError as exc:
            self.add(rel, "OPS101", f"the folder cannot be listed ({exc.strerror})",
                     "fix its permissions, or remove it")
            return []

    def walk_shared(self, folder: str, path: str) -> None:
        entries = self.listing(folder, path)
        self.checked += len(entries)
        for entry in entries:
            self.shared_entry(folder, entry.name, entry.is_dir())

    def walk_developer(self, folder: str, path: str) -> None:
        """Check a developer folder and its temporary scripts.

        The bulk of a large tree, so this works on the whole folder at once: a C-level
        ``filter`` proves the good names good with one regex match each (a name dated outside
        the stale window gets one calendar check per distinct date), and only the rest reach
        the full rules in :meth:`temporary_entry`, with the folder's names as evidence.
        """
        self.developer_folder(folder)
        entries = self.listing(folder, path)
        self.checked += len(entries)
        names: list[str] = list(map(_NAME, entries))
        if any(map(_IS_DIR, entries)):  # rare: a folder inside a developer folder
            folders = {e.name for e in entries if e.is_dir()}
            for name in folders:
                self.temporary_entry(folder, name, True)
            names = [n for n in names if n not in folders]
        window = self.window
        good = list(filter(window or self.naming.good_temporary_file, names))
        dated = good if window is None else []  # good names whose date still needs a look
        original = _folder_original(folder, names)
        if len(good) != len(names):
            shape = self.naming.good_temporary_file
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

    # -- single names ------------------------------------------------------------------------

    def developer_folder(self, folder: str) -> None:
        if folder in self.dev_folders_checked:
            return
        self.dev_folders_checked.add(folder)
        problem = self.naming.check_developer_folder(folder)
        if problem is not None:
            self.problem(folder, problem)
        elif self.naming.developers is None:
            self.unvouched.append(folder)

    def exists(self, rel: str) -> bool:
        """Whether a root-relative path is taken: asked only while explaining a bad name."""
        return os.path.lexists(os.path.join(self.root, rel))

    def nested(self, rel: str) -> None:
        if rel in self.nested_reported:
            return
        self.nested_reported.add(rel)
        top = rel.split("/", 1)[0]
        self.add(rel, "OPS101",
                 f"a folder inside {top}/; scripts sit directly in recycle/, unrecycle/ or a "
                 "developer folder, never deeper",
                 f"move its scripts up into {top}/ (or a developer folder) and remove it")

    def hidden(self, folder: str, name: str, is_dir: bool, code: str) -> None:
        """A hidden script is one nobody sees: opsctl never lists or runs it. Other hidden
        files (``.gitkeep``, ``.DS_Store``) and folders are not the lint's."""
        if is_dir or not name.endswith(".py"):
            return
        self.add(f"{folder}/{name}", code,
                 "a hidden script (its name starts with '.'): opsctl never lists or runs it",
                 f"rename it to {folder}/{name.lstrip('.')}, or delete it")

    def not_a_script(self, rel: str) -> None:
        self.add(rel, "OPS501",
                 "not a Python script; only .py scripts (and README.md, __init__.py) belong "
                 "here",
                 "move data and notes out of the offline-script tree, or rename a script to .py")

    def shared_entry(self, folder: str, name: str, is_dir: bool) -> None:
        if name.startswith("."):
            self.hidden(folder, name, is_dir, "OPS301")
            return
        rel = f"{folder}/{name}"
        if is_dir:
            if name != "__pycache__":
                self.nested(rel)
            return
        if name in IGNORED_NAMES:
            return
        if not name.endswith(".py"):
            self.not_a_script(rel)
            return
        kind: Kind = "recycle" if folder == "recycle" else "unrecycle"
        problem = self.naming.check_script_name(name, kind, exists=self.exists,
                                                original=self.shared_original)
        if problem is not None:
            self.problem(rel, problem)
        self.shared_scripts.append((folder, name))
        if kind in self.content_kinds:
            self.content.append((rel, kind))

    def temporary_entry(self, folder: str, name: str, is_dir: bool,
                        original: Original | None = None) -> None:
        if name.startswith("."):
            self.hidden(folder, name, is_dir, "OPS201")
            return
        rel = f"{folder}/{name}"
        if is_dir:
            if name != "__pycache__":
                self.nested(rel)
            return
        if name in IGNORED_NAMES:
            return
        if not name.endswith(".py"):
            self.not_a_script(rel)
            return
        if "temporary" in self.content_kinds:
            self.content.append((rel, "temporary"))
        if original is None:
            original = _folder_original(folder, None, os.path.join(self.root, folder))
        problem = self.naming.check_temporary(name, original=original, folder=folder)
        if problem is not None:
            self.problem(rel, problem)
            if problem.code != "OPS203":
                return
        m = TS_FILE_RE.match(name)
        if m is not None and self.date_state(m[1]) == STALE:
            self.stale(rel, m[1])


def _folder_original(folder: str, names: list[str] | None,
                     path: str | None = None) -> Original:
    """The evidence of one developer folder: which of its scripts has a given ``<what>``,
    from the names in hand (or, in file-list mode, one listing of ``path``). Only a name the
    lint cannot judge alone asks, so the ``{<what>: name}`` table is built on the first
    question, at C speed (every name sliced as a good one would be: a name of another shape
    only adds a key no purpose name has)."""
    whats: dict[str, str] = {}

    def original(base: str) -> str | None:
        if not whats:
            listed = names
            if listed is None and path is not None:
                try:
                    listed = [e.name for e in os.scandir(path)]
                except OSError:
                    listed = []
            whats.update(zip(map(_WHAT, listed or ()), listed or (), strict=True))
            whats.setdefault("", "")  # built, even when the folder is empty
        name = whats.get(base)
        return f"{folder}/{name}" if name else None

    return original
