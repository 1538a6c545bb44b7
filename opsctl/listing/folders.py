"""The folders a list shows, with their scripts' descriptions read through the ``listing``
cache (:class:`Listing`)."""

from __future__ import annotations

import marshal
import os
from operator import attrgetter

from ..naming import SHARED_FOLDERS, TS_RE
from .entries import json_text, kind_of, scripts_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import datetime as _dt
    import re
    from collections.abc import Sequence
    from typing import Any

    from ..project import Project


#: A file's :func:`opsctl.filecache.signature` as four numbers, read from its stat in C.
_SIGNATURE = attrgetter("st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")


class Listing:
    """The scripts of the folders a list shows, with their descriptions, through the
    ``listing`` cache (:mod:`opsctl.filecache`).

    The cache keeps, for each folder, ``(names, signatures, details, day, json)``: its script
    names (joined by NUL, which no file name holds), the hash of their signatures (a tuple of
    ints hashes alike in every process), the signatures and descriptions themselves as one
    :mod:`marshal` blob read only when needed, and the folder's JSON as last printed, with the
    day (and ``stale_days``) it was printed on. A folder whose names and signatures are
    unchanged is not read again, and on the same day not rendered again either: a warm
    ``list --json`` loads a few strings a folder, whatever their number of scripts. A folder
    that changed reads only its changed scripts.
    """

    def __init__(self, project: Project, kind: str | None, owner: str | None,
                 today: _dt.date | None = None) -> None:
        from ..filecache import FileCache, code_stamp
        from ..light import datetime as _dt

        config = project.config
        self.root = config.root_path
        self.stale_days = config.stale_days
        self.day = (today or _dt.date.today()).toordinal()
        here = os.path.dirname(__file__)
        stamp = code_stamp(__file__, os.path.join(here, "entries.py"),
                           os.path.join(os.path.dirname(here), "similarity.py"))
        self.cache = FileCache(config.cache_path, "listing", stamp) \
            if config.cache_path is not None else None
        #: ``(folder, names)`` of each folder shown ...
        self.folders: list[tuple[str, list[str]]] = []
        #: ... its cache entry when that is its truth, and its descriptions once known.
        self._entries: dict[str, tuple[Any, ...]] = {}
        self._descriptions: dict[str, list[str]] = {}
        everything = []
        for folder, names in scripts_of(self.root):
            everything.append(folder)
            if (kind is None or kind_of(folder) == kind) and (owner is None or (
                    folder == owner and folder not in SHARED_FOLDERS)):  # shared: no owner
                self.folders.append((folder, names))
                self._look(folder, names)
        if self.cache is not None:
            self.cache.save(keep=everything if kind is None and owner is None else None)

    def _look(self, folder: str, names: list[str]) -> None:
        """Know the folder's descriptions: from its cache entry when its names and signatures
        are those kept, else by reading the scripts that changed."""
        prefix = os.path.join(self.root, folder, "")
        joined = "\0".join(names)
        stored = self.cache.entries.get(folder) if self.cache is not None else None
        if stored is not None and stored[0] == joined:
            try:
                if hash(_signatures(prefix, names)) == stored[1]:
                    self._entries[folder] = stored
                    return
            except (OSError, ValueError):
                pass
        paths = list(map(prefix.__add__, names))
        import stat

        from ..similarity import read_description

        known: dict[str, tuple[Any, str]] = {}
        if stored is not None and stored[2]:
            old_signatures, old_descriptions = marshal.loads(stored[2])
            known = dict(zip(stored[0].split("\0"), zip(old_signatures, old_descriptions,
                                                         strict=True), strict=True))
        signatures, descriptions, whole = [], [], True
        for name, path in zip(names, paths, strict=True):
            try:
                st = os.stat(path)
            except (OSError, ValueError):
                descriptions.append(read_description(path))  # it says what is wrong
                whole = False
                continue
            # The signature is taken before the read: a change while reading misses next time.
            signature = _SIGNATURE(st)
            signatures.append(signature)
            old = known.get(name)
            descriptions.append(old[1] if old is not None and old[0] == signature else
                                read_description(path))
            whole = whole and stat.S_ISREG(st.st_mode)  # a FIFO is asked again, and refused
        self._descriptions[folder] = descriptions
        if self.cache is None:
            return
        if whole:
            entry = (joined, hash(tuple(signatures)), marshal.dumps((signatures, descriptions)),
                     None, None)
            self.cache.put(folder, entry)
            self._entries[folder] = entry
        elif stored is not None:  # forgotten: read again next time
            self.cache.put(folder, (None, 0, b"", None, None))

    def descriptions(self, folder: str) -> list[str]:
        """The descriptions of a shown folder's scripts, in the order of their names."""
        found = self._descriptions.get(folder)
        if found is None:
            found = self._descriptions[folder] = marshal.loads(self._entries[folder][2])[1]
        return found

    def rows(self, stale: bool = False, folders: Sequence[tuple[str, list[str]]] | None = None,
             ) -> list[tuple[Any, ...]]:
        """``(folder, filename, date, age_days, stale, description)`` of each script shown
        (``stale``: only the temporary scripts older than ``stale_days``)."""
        day, stale_days = self.day, self.stale_days
        dates: dict[str, tuple[Any, ...]] = {}
        no_date: tuple[Any, ...] = (None, None, False)
        rows: list[tuple[Any, ...]] = []
        for folder, names in self.folders if folders is None else folders:
            descriptions = self.descriptions(folder)
            if folder in SHARED_FOLDERS:
                if not stale:
                    rows += [(folder, name, None, None, False, description)
                             for name, description in zip(names, descriptions, strict=True)]
                continue
            for name, description in zip(names, descriptions, strict=True):
                stem = name[:-3]
                match = TS_RE.match(stem)
                if match is None:
                    found = no_date
                else:
                    known = dates.get(stem[:14])  # ts_YYYY_MM_DD_: what the date depends on
                    if known is None:
                        known = dates[stem[:14]] = _dated(match, day, stale_days)
                    found = known
                if found[2] or not stale:
                    rows.append((folder, name, *found, description))
        return rows

    def json_bytes(self) -> bytes:
        """:func:`json_text` of every script shown, without last runs, as printed (UTF-8, a
        lone surrogate as ``?``, a newline after it): :meth:`json_pieces` joined."""
        return b"".join(self.json_pieces())

    def json_pieces(self) -> list[bytes]:
        """:meth:`json_bytes` in the pieces it is made of, to be written one after another
        (megabytes on a large tree, never copied into one): each folder's part as printed
        before on the same day when the folder is unchanged."""
        tag = (self.day, self.stale_days)
        pieces = [b"["]
        for found in self.folders:
            folder = found[0]
            entry = self._entries.get(folder)
            if entry is not None and entry[3] == tag:
                part = entry[4]
            else:
                rows = [(*row, None) for row in self.rows(folders=[found])]
                part = json_text(rows)[1:-1].encode("utf-8", "replace")
                if entry is not None and self.cache is not None:
                    self.cache.put(folder, (*entry[:3], tag, part))
            if part:
                pieces += (part, b", ")
        if self.cache is not None:
            self.cache.save()
        pieces[-1] = b"]\n" if len(pieces) > 1 else b"[]\n"
        return pieces


def _signatures(folder: str, names: list[str]) -> tuple[tuple[int, ...], ...]:
    """The signatures of the files ``names`` of ``folder``, each a ``stat`` of its name
    relative to the folder opened once (the kernel resolves the folder's path once rather
    than for each file: a tenth of a warm list's time on a large tree)."""
    if not _RELATIVE:
        return tuple(map(_SIGNATURE, map(os.stat, map(folder.__add__, names))))
    fd = os.open(folder, _DIRECTORY)
    try:
        stat = os.stat
        return tuple([_SIGNATURE(stat(name, dir_fd=fd)) for name in names])
    finally:
        os.close(fd)


#: Whether ``stat`` takes a folder's descriptor (not on Windows), and how to open one.
_RELATIVE = os.stat in os.supports_dir_fd
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


def _dated(match: re.Match[str], day: int, stale_days: int) -> tuple[Any, ...]:
    """``(date, age_days, stale)`` of a temporary stem matched by :data:`TS_RE` (all None
    and false when its date is no real date), ``day`` being today's ordinal."""
    from ..light import datetime as _dt

    try:
        date = _dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return (None, None, False)
    age = day - date.toordinal()
    return (date, age, age > stale_days)
