"""File-list mode: ``opsctl lint FILE...``, what a pre-commit hook runs.

Only the given names are checked, plus what the cross-file rules need: the names in recycle/
and unrecycle/ (two folder listings), never a walk of the whole tree. A given path that is
the root, or holds it, lints the whole tree.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..naming import SHARED_FOLDERS
from .rules import PathNotFound, _safe
from .scriptlist import pairs_of
from .walk import Linter


class PathLinter(Linter):
    """One run of the lint over given paths."""

    partial = True

    def check_paths(self, paths: Sequence[str | os.PathLike[str]], cwd: str) -> None:
        root_real = os.path.realpath(self.root)
        shared_targets: set[str] = set()
        for given in paths:
            absolute = os.path.abspath(os.path.join(cwd, os.fspath(given)))
            if not os.path.lexists(absolute):
                raise PathNotFound(f"{_safe(os.fspath(given))} does not exist; give existing "
                                   "files or folders (or none, to lint the whole tree)")
            # Resolve symlinked folders on the way, not the file itself: a symlink inside the
            # root is checked by its own name.
            real = os.path.join(os.path.realpath(os.path.dirname(absolute)),
                                os.path.basename(absolute))
            if real == root_real or _inside(root_real, real):
                # The root itself, or a folder holding it (opsctl lint .): the whole tree.
                self.walk_tree()
                return
            if not _inside(real, root_real):
                self.outside.append(os.fspath(given))
                continue
            parts = os.path.relpath(real, root_real).split(os.sep)
            self.checked += 1
            self.check_parts(parts, real, shared_targets)
        if shared_targets:
            listed = self.list_shared()
            self.check_duplicates(listed, shared_targets)
            self.check_twins(listed, shared_targets)

    def check_parts(self, parts: list[str], real: str, shared_targets: set[str]) -> None:
        if any(p.startswith(".") for p in parts) or "__pycache__" in parts:
            return
        is_dir = os.path.isdir(real)
        top = parts[0]
        if len(parts) == 1:
            if not is_dir:
                self.root_file(top)
            elif top in SHARED_FOLDERS:
                before = len(self.shared_scripts)
                self.walk_shared(top, real)
                added = pairs_of(self.shared_scripts[before:])
                shared_targets.update(f"{f}/{n}" for f, n in added)
            else:
                self.walk_developer(top, real)
            return
        if top not in SHARED_FOLDERS:
            self.developer_folder(top)
        if len(parts) > 2:
            self.nested(f"{top}/{parts[1]}")
        elif top in SHARED_FOLDERS:
            self.shared_entry(top, parts[1], is_dir)
            shared_targets.add(f"{top}/{parts[1]}")
        else:
            self.temporary_entry(top, parts[1], is_dir)


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)
