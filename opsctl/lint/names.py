"""The rules on single names of a tree: a file in the root, a developer folder, a nested
folder, a hidden script, a file that is not a script, a recycle/unrecycle name and a temporary
name, each with its evidence (the names beside it). :class:`~opsctl.lint.walk.Linter` hands
them what :mod:`opsctl.lint.bulk` could not prove good in bulk; file-list mode
(:mod:`opsctl.lint.paths`) hands them each name given.
"""

from __future__ import annotations

import operator
import os

from ..naming import IGNORED_NAMES, TS_FILE_RE, Kind, Original
from .collector import STALE, Collector

_WHAT = operator.itemgetter(slice(14, -3))  # the <what> of a good temporary file name


class NameRules(Collector):
    """The rules on single names, recording what they find."""

    def root_file(self, name: str) -> None:
        if name not in IGNORED_NAMES:
            self.add(name, "OPS101",
                     "a file directly in the root; scripts live in recycle/, unrecycle/ or a "
                     "developer folder",
                     "move it into recycle/, unrecycle/ or your developer folder")

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

    def script_path(self, folder: str, name: str, is_dir: bool, hidden_rule: str) -> str | None:
        """``folder/name`` when it is a script whose name the rules check; otherwise None,
        with what is wrong with it (hidden, a folder, not a .py file) reported."""
        if name.startswith("."):
            self.hidden(folder, name, is_dir, hidden_rule)
            return None
        rel = f"{folder}/{name}"
        if is_dir:
            if name != "__pycache__":
                self.nested(rel)
            return None
        if name in IGNORED_NAMES:
            return None
        if not name.endswith(".py"):
            self.not_a_script(rel)
            return None
        return rel

    def shared_entry(self, folder: str, name: str, is_dir: bool) -> None:
        rel = self.script_path(folder, name, is_dir, "OPS301")
        if rel is None:
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
        rel = self.script_path(folder, name, is_dir, "OPS201")
        if rel is None:
            return
        if "temporary" in self.content_kinds:
            self.content.append((rel, "temporary"))
        if original is None:
            original = folder_original(folder, None, os.path.join(self.root, folder))
        problem = self.naming.check_temporary(name, original=original, folder=folder)
        if problem is not None:
            self.problem(rel, problem)
            if problem.code != "OPS203":
                return
        m = TS_FILE_RE.match(name)
        if m is not None and self.date_state(m[1]) == STALE:
            self.stale(rel, m[1])



def folder_original(folder: str, names: list[str] | None,
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
