"""The folders a list shows, with their scripts' descriptions read through the ``listing``
cache (:class:`Listing`)."""

from __future__ import annotations

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
    ``listing`` cache (:mod:`opsctl.filecache`): for each folder its script names, their
    signatures and descriptions, and the folder's JSON as last printed with the day it was
    printed on. A folder whose names and signatures are unchanged is not read again, and on
    the same day (and ``stale_days``) not rendered again either; one that changed reads only
    its changed scripts."""

    def __init__(self, project: Project, kind: str | None, owner: str | None,
                 today: _dt.date | None = None) -> None:
        import datetime as _dt

        from ..filecache import FileCache, code_stamp

        config = project.config
        self.root = config.root_path
        self.stale_days = config.stale_days
        self.day = (today or _dt.date.today()).toordinal()
        here = os.path.dirname(__file__)
        stamp = code_stamp(__file__, os.path.join(here, "entries.py"),
                           os.path.join(os.path.dirname(here), "similarity.py"))
        self.cache = FileCache(config.cache_path, "listing", stamp) \
            if config.cache_path is not None else None
        #: ``(folder, names, descriptions)`` of each folder shown.
        self.folders: list[tuple[str, list[str], list[str]]] = []
        everything = []
        for folder, names in scripts_of(self.root):
            everything.append(folder)
            if (kind is None or kind_of(folder) == kind) and (owner is None or (
                    folder == owner and folder not in SHARED_FOLDERS)):  # shared: no owner
                self.folders.append((folder, names, self._described(folder, names)))
        if self.cache is not None:
            self.cache.save(keep=everything if kind is None and owner is None else None)

    def _described(self, folder: str, names: list[str]) -> list[str]:
        prefix = os.path.join(self.root, folder, "")
        paths = list(map(prefix.__add__, names))
        stored = self.cache.entries.get(folder) if self.cache is not None else None
        if stored is not None and stored[0] == names:
            try:
                if list(map(_SIGNATURE, map(os.stat, paths))) == stored[1]:
                    return stored[2]  # type: ignore[no-any-return]
            except (OSError, ValueError):
                pass
        import stat

        from ..similarity import read_description

        known = dict(zip(stored[0], zip(stored[1], stored[2], strict=True), strict=True)) \
            if stored is not None and stored[0] is not None else {}
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
        if self.cache is not None:
            if whole:
                self.cache.put(folder, (names, signatures, descriptions, None, None))
            elif stored is not None:  # forgotten: read again next time
                self.cache.put(folder, (None, None, None, None, None))
        return descriptions

    def rows(self, stale: bool = False, folders: Sequence[tuple[str, list[str], list[str]]]
             | None = None) -> list[tuple[Any, ...]]:
        """``(folder, filename, date, age_days, stale, description)`` of each script shown
        (``stale``: only the temporary scripts older than ``stale_days``)."""

        day, stale_days = self.day, self.stale_days
        dates: dict[str, tuple[Any, ...]] = {}
        no_date: tuple[Any, ...] = (None, None, False)
        rows: list[tuple[Any, ...]] = []
        for folder, names, descriptions in self.folders if folders is None else folders:
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
        lone surrogate as ``?``, a newline after it): each folder's part as printed before
        on the same day when the folder is unchanged."""
        tag = (self.day, self.stale_days)
        parts = []
        entries = self.cache.entries if self.cache is not None else {}
        for found in self.folders:
            folder = found[0]
            stored = entries.get(folder)
            if stored is not None and stored[2] is found[2] and stored[3] == tag:
                part = stored[4]
            else:
                rows = [(*row, None) for row in self.rows(folders=[found])]
                part = json_text(rows)[1:-1].encode("utf-8", "replace")
                if stored is not None and stored[2] is found[2] and self.cache is not None:
                    self.cache.put(folder, (*stored[:3], tag, part))
            if part:
                parts.append(part)
        if self.cache is not None:
            self.cache.save()
        return b"[%s]\n" % b", ".join(parts)


def _dated(match: re.Match[str], day: int, stale_days: int) -> tuple[Any, ...]:
    """``(date, age_days, stale)`` of a temporary stem matched by :data:`TS_RE` (all None
    and false when its date is no real date), ``day`` being today's ordinal."""
    import datetime as _dt

    try:
        date = _dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return (None, None, False)
    age = day - date.toordinal()
    return (date, age, age > stale_days)


