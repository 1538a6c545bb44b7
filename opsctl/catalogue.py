"""The script catalogue: every script under the root, and turning user input into one of them.

The tree is ``<root>/recycle/*.py``, ``<root>/unrecycle/*.py`` and ``<root>/<developer>/*.py``.
Anything else (files in the root, nested folders, non-``.py`` files) is not a script; the lint
reports it. Only names are read here, never file contents, so listing stays cheap.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import OutsideRoot, ScriptNotFound
from .naming import SHARED_FOLDERS, Kind, parse_temporary

# A script's description, read without importing it: it lives in opsctl.similarity, where the
# lint reads it without this module's imports (pathlib, dataclasses).
from .similarity import read_description as read_description

#: Characters of a script name quoted whole in a message; a longer one is cut.
NAME_SHOWN = 120


@dataclass(frozen=True)
class Script:
    """One offline script. ``key`` (``recycle/clear_cache``) is its identity everywhere."""

    root: Path
    folder: str
    filename: str

    @property
    def path(self) -> Path:
        return self.root / self.folder / self.filename

    @property
    def fspath(self) -> str:
        """The path as a string: cheaper than :attr:`path` when listing thousands."""
        return os.path.join(self.root, self.folder, self.filename)

    @property
    def stem(self) -> str:
        return self.filename[:-3] if self.filename.endswith(".py") else self.filename

    @property
    def key(self) -> str:
        """``<folder>/<stem>``: how the ledger, ``history`` and messages name the script."""
        return f"{self.folder}/{self.stem}"

    @property
    def rel(self) -> str:
        """The path relative to the root, with ``.py``."""
        return f"{self.folder}/{self.filename}"

    @property
    def kind(self) -> Kind:
        if self.folder == "recycle":
            return "recycle"
        if self.folder == "unrecycle":
            return "unrecycle"
        return "temporary"

    @property
    def owner(self) -> str | None:
        """The developer of a temporary script (its folder); None for shared scripts."""
        return None if self.folder in SHARED_FOLDERS else self.folder

    @cached_property
    def date(self) -> _dt.date | None:
        """The date in a temporary script's name, when it is a real date."""
        if self.kind != "temporary":
            return None
        parsed = parse_temporary(self.stem)
        return parsed.date if parsed else None

    @property
    def display(self) -> str:
        """The key, printable even when the file name is not valid UTF-8."""
        return printable(self.key)


def printable(text: str) -> str:
    """Replace undecodable bytes (surrogate escapes from ``os`` names) with U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _named(text: str) -> str:
    """A script name as messages quote it: a name too long to read is cut, its length said."""
    if len(text) <= NAME_SHOWN:
        return repr(text)
    return f"{text[:NAME_SHOWN // 2]!r}… ({len(text):,} characters)"


def _is_file(path: Path) -> bool:
    """Whether a file is there; a name the file system cannot even hold (too long, a loop of
    symlinks) names no file either."""
    try:
        return path.is_file()
    except OSError:
        return False


def _is_script_file(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    return name.endswith(".py") and name != "__init__.py" and not name.startswith(".") and \
        entry.is_file()


class Catalogue:
    """The scripts under one root, discovered once with ``os.scandir``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._scripts: list[Script] | None = None

    def __iter__(self) -> Iterator[Script]:
        return iter(self.scripts)

    @property
    def scripts(self) -> list[Script]:
        if self._scripts is None:
            self._scripts = sorted(self._discover(), key=_order)
        return self._scripts

    def _discover(self) -> Iterator[Script]:
        try:
            folders = [e for e in os.scandir(self.root) if e.is_dir() and
                       not e.name.startswith((".", "__"))]
        except FileNotFoundError:
            return
        for folder in folders:
            try:
                entries = list(os.scandir(folder.path))
            except OSError:
                continue
            for entry in entries:
                if _is_script_file(entry):
                    yield Script(self.root, folder.name, entry.name)

    def purposes(self, folders: Iterable[str]) -> set[str]:
        """The purpose names of the scripts in ``folders`` (each listed, not the whole tree):
        a shared script's stem, a temporary script's ``<what>``. What the naming rules weigh
        a new name against: ``clear_temp`` beside ``clear`` is a copy."""
        found: set[str] = set()
        for folder in folders:
            try:
                entries = list(os.scandir(os.path.join(self.root, folder)))
            except OSError:
                continue
            for entry in entries:
                if _is_script_file(entry):
                    stem = entry.name[:-3]
                    parsed = parse_temporary(stem) if folder not in SHARED_FOLDERS else None
                    found.add(parsed.what if parsed else stem)
        return found

    def resolve(self, text: str, cwd: Path | None = None) -> Script:
        """Turn ``recycle/clear_cache``, ``recycle/clear_cache.py``, a path, or a unique bare
        name into a script; refuse anything outside the root."""
        if not text or not text.strip():
            raise ScriptNotFound("no script given; name one such as recycle/clear_cache")
        cwd = cwd or Path.cwd()
        root_real = Path(os.path.realpath(self.root))
        has_sep = "/" in text or os.sep in text
        if not has_sep:
            # A bare name is a script's name first; a file of that name in the current folder
            # (an app.py beside the project's pyproject.toml) must not shadow it.
            stem = text.removesuffix(".py")
            matches = [s for s in self.scripts if s.stem == stem]
            if not matches:
                # A temporary script by its purpose: exit_three for ts_2026_11_25_exit_three.
                matches = [s for s in self.scripts if s.kind == "temporary" and
                           _purpose(s.stem) == stem]
            if len(matches) == 1:
                return self._checked(matches[0], root_real, text)
            # The one in the current folder, however either is spelled (a symlink, ..).
            here_real = os.path.realpath(cwd)
            here = [s for s in matches
                    if os.path.realpath(os.path.join(s.root, s.folder)) == here_real]
            if len(here) == 1:
                return self._checked(here[0], root_real, text)
            if matches:
                keys = ", ".join(s.display for s in matches)
                raise ScriptNotFound(f"{text!r} is ambiguous: it names {keys}; give the folder")

        names = [text] if text.endswith(".py") else [text + ".py", text]
        candidates: list[Path] = []
        for name in names:
            p = Path(os.path.expanduser(name))
            if p.is_absolute():
                candidates.append(p)
            else:
                if has_sep:
                    candidates.append(self.root / p)
                candidates.append(cwd / p)

        escaped: Path | None = None
        for cand in candidates:
            real = Path(os.path.realpath(cand))
            if not _is_file(real):
                continue
            if not _inside(real, root_real):
                escaped = cand
                continue
            return self._script_at(real, root_real, text)
        if escaped is not None:
            raise OutsideRoot(f"{_named(text)} resolves to {os.path.realpath(escaped)}, outside "
                              f"the offline-script root {self.root}; opsctl only works on scripts "
                              "under it")
        if has_sep or Path(text).is_absolute():
            # Nothing exists there; still refuse a name that could only point outside.
            root_norm = Path(os.path.normpath(self.root))
            if not any(_inside(Path(os.path.normpath(c)), root_norm) for c in candidates):
                raise OutsideRoot(f"{_named(text)} is outside the offline-script root {self.root}; "
                                  "opsctl only works on scripts under it")
        raise ScriptNotFound(self._not_found_message(text))

    def _checked(self, script: Script, root_real: Path, text: str) -> Script:
        """Refuse a script found by name whose file is a symlink pointing out of the root; a
        symlink to another script under the root is that script (one file, one key, one
        lock)."""
        real = Path(os.path.realpath(script.path))
        if not _inside(real, root_real):
            raise OutsideRoot(f"{_named(text)} resolves to {real}, outside the offline-script root "
                              f"{self.root}; opsctl only works on scripts under it")
        if real != root_real / script.folder / script.filename:
            return self._script_at(real, root_real, text)
        return script

    def _script_at(self, real: Path, root_real: Path, text: str) -> Script:
        parts = real.relative_to(root_real).parts
        if len(parts) != 2 or not parts[1].endswith(".py") or parts[0].startswith((".", "__")):
            raise ScriptNotFound(
                f"{_named(text)} is not a script: scripts live directly in recycle/, unrecycle/ "
                "or a developer folder under the root (see 'opsctl lint')")
        if parts[1].startswith("."):
            # Never listed, never linted as a script: running it would be a run nobody sees.
            raise ScriptNotFound(
                f"{_named(text)} is a hidden file, not a script: opsctl neither lists nor runs "
                f"hidden files; rename it to {parts[0]}/{parts[1].lstrip('.')}")
        return Script(self.root, parts[0], parts[1])

    def _not_found_message(self, text: str) -> str:
        import difflib

        # Compare purpose names only: every key shares a folder prefix, which would make any
        # two names in recycle/ look alike.
        stem = text.removesuffix(".py").rsplit("/", 1)[-1]
        names: dict[str, list[str]] = {}
        for s in self.scripts:
            names.setdefault(s.stem, []).append(s.key)
            if s.kind == "temporary" and _purpose(s.stem):
                names.setdefault(_purpose(s.stem) or "", []).append(s.key)
        close: list[str] = []
        for name in difflib.get_close_matches(stem, list(names), n=3, cutoff=0.6):
            close.extend(k for k in names[name] if k not in close)
        close = close[:3]
        hint = f"; did you mean {', '.join(printable(c) for c in close[:3])}?" if close else \
            "; 'opsctl list' shows the scripts"
        return f"no script {_named(text)} under {self.root}{hint}"


def _purpose(stem: str) -> str | None:
    parsed = parse_temporary(stem)
    return parsed.what if parsed else None


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _order(script: Script) -> tuple[int, str, str]:
    rank = {"recycle": 0, "unrecycle": 1}.get(script.folder, 2)
    return rank, script.folder, script.filename
