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

    from ..filecache import FileCache
    from ..project import Project


#: A file's :func:`opsctl.filecache.signature` as four numbers, read from its stat in C.
_SIGNATURE = attrgetter("st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")


class Listing:
    """The scripts of the folders a list shows, with their descriptions, through the
    ``listing`` cache (:mod:`opsctl.filecache`).

    The cache keeps, for each folder, ``(names, signatures, details, day, span)``: its script
    names in the order the folder gives them (joined by NUL, which no file name holds), the
    hash of their signatures in that order (a tuple of ints hashes alike in every process),
    the sorted names with their signatures and descriptions as one :mod:`marshal` blob read
    only when needed, and where the folder's JSON as last printed lies in the JSON file
    (:class:`JsonFile`), with the day (and ``stale_days``) it was printed on. A folder whose
    names and signatures are unchanged is neither read nor sorted again, and on the same day
    not rendered again either: a warm ``list --json`` loads a few strings a folder and the
    JSON file, whatever their number of scripts. A folder that changed reads only its
    changed scripts. The names are printed sorted whatever order the folder gives them.
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
        #: ``(folder, names)`` of each folder shown, the names in the folder's own order ...
        self.folders: list[tuple[str, list[str]]] = []
        #: ... its cache entry when that is its truth, and its sorted names and their
        #: descriptions once known.
        self._entries: dict[str, tuple[Any, ...]] = {}
        self._details: dict[str, tuple[list[str], list[str]]] = {}
        everything = [JSON_KEY]
        for folder, names in scripts_of(self.root, ordered=False):
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
        import stat

        from ..similarity import read_description

        known: dict[str, tuple[Any, str]] = {}
        if stored is not None and stored[2]:
            old_names, old_signatures, old_descriptions = marshal.loads(stored[2])
            known = dict(zip(old_names, zip(old_signatures, old_descriptions, strict=True),
                             strict=True))
        found: dict[str, tuple[Any, str]] = {}
        signatures, whole = [], True
        for name in names:
            path = prefix + name
            try:
                st = os.stat(path)
            except (OSError, ValueError):
                found[name] = (None, read_description(path))  # it says what is wrong
                whole = False
                continue
            # The signature is taken before the read: a change while reading misses next time.
            signature = _SIGNATURE(st)
            signatures.append(signature)
            old = known.get(name)
            found[name] = (signature, old[1] if old is not None and old[0] == signature else
                           read_description(path))
            whole = whole and stat.S_ISREG(st.st_mode)  # a FIFO is asked again, and refused
        ordered = sorted(names)
        descriptions = [found[name][1] for name in ordered]
        self._details[folder] = (ordered, descriptions)
        if self.cache is None:
            return
        if whole:
            details = (ordered, [found[name][0] for name in ordered], descriptions)
            entry = (joined, hash(tuple(signatures)), marshal.dumps(details), None, None)
            self.cache.put(folder, entry)
            self._entries[folder] = entry
        elif stored is not None:  # forgotten: read again next time
            self.cache.put(folder, (None, 0, b"", None, None))

    def details(self, folder: str) -> tuple[list[str], list[str]]:
        """The sorted names of a shown folder's scripts, and their descriptions."""
        found = self._details.get(folder)
        if found is None:
            names, _, descriptions = marshal.loads(self._entries[folder][2])
            found = self._details[folder] = (names, descriptions)
        return found

    def descriptions(self, folder: str) -> list[str]:
        """The descriptions of a shown folder's scripts, in the order of their sorted names."""
        return self.details(folder)[1]

    def rows(self, stale: bool = False, folders: Sequence[tuple[str, list[str]]] | None = None,
             ) -> list[tuple[Any, ...]]:
        """``(folder, filename, date, age_days, stale, description)`` of each script shown
        (``stale``: only the temporary scripts older than ``stale_days``), in the catalogue's
        order: the folders as :func:`scripts_of` gives them, the names of each sorted."""
        day, stale_days = self.day, self.stale_days
        dates: dict[str, tuple[Any, ...]] = {}
        no_date: tuple[Any, ...] = (None, None, False)
        rows: list[tuple[Any, ...]] = []
        for folder, _ in self.folders if folders is None else folders:
            names, descriptions = self.details(folder)
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

    def json_pieces(self) -> list[bytes | memoryview]:
        """:meth:`json_bytes` in the pieces it is made of, to be written one after another
        (megabytes on a large tree, never copied into one): each folder's part as printed
        before on the same day when the folder is unchanged, from the JSON file."""
        tag = (self.day, self.stale_days)
        kept = JsonFile(self.cache)
        shown = tuple(folder for folder, _ in self.folders)
        parts: dict[str, bytes | memoryview] = {}
        for folder in shown:
            entry = self._entries.get(folder)
            part = kept.part(entry) if entry is not None and entry[3] == tag else None
            if part is None:
                rows = [(*row, None) for row in self.rows(folders=[(folder, [])])]
                parts[folder] = json_text(rows)[1:-1].encode("utf-8", "replace")
            else:
                parts[folder] = part
        whole = kept.whole(shown)
        if whole is not None and all(folder in self._entries for folder in shown) and all(
                self._entries[folder][3] == tag for folder in shown):
            return [whole]  # the very output printed before, one piece
        pieces = _joined([parts[folder] for folder in shown])
        if self.cache is not None and kept.write(self.cache, shown, parts, self._entries, tag):
            self.cache.save()
        return pieces


def _joined(parts: Sequence[bytes | memoryview]) -> list[bytes | memoryview]:
    """The JSON array whose items' text are ``parts`` (an empty one skipped), as pieces."""
    pieces: list[bytes | memoryview] = [b"["]
    for part in parts:
        if part:
            pieces += (part, b", ")
    pieces[-1] = b"]\n" if len(pieces) > 1 else b"[]\n"
    return pieces


#: The key of the listing cache under which the JSON file is known: ``(token, size, shown,
#: end)``. No folder is named so (a name holds no NUL).
JSON_KEY = "\0json"


class JsonFile:
    """The ``listing.json`` file beside the listing cache: each folder's JSON as last printed,
    kept out of the cache file so that a warm list neither checksums nor unmarshals its
    megabytes. The file is a random token, then the last output (the folders shown then, in
    order), then the parts of the folders it did not show; each folder's entry in the cache
    says where its part lies. The cache holds the token and the file's size: a file written
    by another process (two lists at once), truncated or gone is ignored, and every folder
    rendered again. Writes replace the file whole, as the cache's own."""

    def __init__(self, cache: FileCache | None) -> None:
        self.data: bytes | None = None
        self.known: tuple[Any, ...] | None = None
        if cache is None:
            return
        known = cache.entries.get(JSON_KEY)
        path = cache.path + ".json" if cache.path is not None else None
        if not isinstance(known, tuple) or len(known) != 4 or path is None:
            return
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return
        if len(data) == known[1] and data[:_TOKEN] == known[0]:
            self.data, self.known = data, known

    def part(self, entry: tuple[Any, ...]) -> memoryview | None:
        """The folder's part of the file, by its cache ``entry``, when the file is the one
        the cache knows."""
        span = entry[4]
        if self.data is None or not isinstance(span, tuple):
            return None
        return memoryview(self.data)[span[0]:span[1]]

    def whole(self, shown: tuple[str, ...]) -> memoryview | None:
        """The last output whole, when it showed the folders ``shown``."""
        if self.data is None or self.known is None or self.known[2] != shown:
            return None
        return memoryview(self.data)[_TOKEN:self.known[3]]

    def write(self, cache: FileCache, shown: tuple[str, ...],
              parts: dict[str, bytes | memoryview], entries: dict[str, tuple[Any, ...]],
              tag: tuple[int, int]) -> bool:
        """Write the file anew with the output of the folders ``shown`` (``parts``) and the
        parts of the others it held, and each one's span in its cache entry (``entries``:
        those believed); whether the cache changed."""
        assert cache.path is not None
        token = os.urandom(_TOKEN)
        chunks: list[bytes | memoryview] = [token, *_joined([parts[f] for f in shown])]
        # Where each shown folder's part lies in the output just laid out ...
        spans: dict[str, tuple[int, int]] = {}
        position = _TOKEN + 1
        for folder in shown:
            size = len(parts[folder])
            spans[folder] = (position, position + size)
            position += size + 2 if size else 0
        end = offset = sum(map(len, chunks))
        # ... and the parts of the folders not shown, after it.
        for folder, entry in cache.entries.items():
            if folder in spans or folder == JSON_KEY or len(entry) != 5 or entry[3] is None:
                continue
            old = self.part(entry)
            if old is not None:
                chunks.append(old)
                spans[folder] = (offset, offset + len(old))
                offset += len(old)
        try:
            _write(cache.folder, cache.path + ".json", chunks)
        except (OSError, ValueError):
            return False
        for folder, entry in list(cache.entries.items()):
            if folder == JSON_KEY or len(entry) != 5:
                continue
            if folder in parts:
                believed = entries.get(folder)
                if believed is not None:  # its part holds until it changes
                    cache.put(folder, (*believed[:3], tag, spans[folder]))
            elif folder in spans:
                cache.put(folder, (*entry[:4], spans[folder]))
            elif entry[3] is not None:  # its part is gone with the old file
                cache.put(folder, (*entry[:3], None, None))
        cache.put(JSON_KEY, (token, offset, shown, end))
        return True


_TOKEN = 16


def _write(folder: str | None, path: str, chunks: list[bytes | memoryview]) -> None:
    from ..filecache import write_atomically

    if folder is not None and not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
    write_atomically(path, *chunks)


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
