"""A cache of facts read from files, kept beside the project, so unchanged files are not read
again: what the lint's content rules found in a script, a script's description for ``list``.

Each file is known by what identifies its bytes without reading them, as ruff and mypy do: its
size, modification time, inode and inode-change time (:func:`signature`). A rewrite changes
the change time even when the modification time is set back (``os.utime`` cannot set it), so
an edit, a rename and a same-size rewrite in the same second all miss. Facts that cost more to
compute than to read the file again also keep a digest of the bytes (:func:`digest`), so a
fresh checkout (new times, new inodes: a CI job restoring the cache) re-reads each file once
instead of parsing it again.

One cache file per kind of fact (``content``, ``descriptions``) in the cache folder:
``<project>/.opsctl_cache`` unless ``cache_dir`` in ``[tool.opsctl]`` or ``OPSCTL_CACHE_DIR``
says otherwise, with a ``.gitignore`` of ``*`` so git never sees it. A file is
:mod:`marshal` data (plain tuples, fast to load) behind a header (a magic word, the format
number, opsctl's version, the Python version, a stamp of the code that computed the facts),
in frames of a table each (:class:`TableWriter`: a large tree's table is written as it is
made, never held whole), then a checksum and the length of the body. A file that is corrupt,
truncated or written by another opsctl or Python is ignored, and replaced at the end of the
run. Writes go to a temporary file renamed
over the old one (``os.replace``), so two processes writing at once never leave a torn file:
the last one wins, and a reader sees one whole file or the other. A cache that cannot be
read or written (a read-only checkout) only costs the time it would have saved.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Collection, Iterable
from functools import partial
from itertools import islice, starmap
from operator import attrgetter

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

#: opsctl's version, which a cache file must match (tests hold it to pyproject.toml's).
OPSCTL_VERSION = "0.1.0"
#: The layout of a cache file; a change to it makes every older file a miss.
FORMAT = 3
MAGIC = "opsctl-cache"
#: The four numbers that identify a file's bytes without reading them, packed in 32 bytes.
Signature = bytes
SIGNATURE_SIZE = 32
_WORD = (1 << 64) - 1
try:
    from _struct import Struct  # struct's C half, without the module around it
    from _struct import error as StructError  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - another Python
    from struct import Struct
    from struct import error as StructError
_PACK = Struct("<qqQq").pack
_NUMBERS = attrgetter("st_size", "st_mtime_ns", "st_ino", "st_ctime_ns")

_GITIGNORE = "# Written by opsctl: a cache of facts read from the scripts, safe to delete.\n*\n"


def signature(st: os.stat_result, pack: Callable[..., bytes] = _PACK) -> Signature:
    """Size, modification time, inode and inode-change time (nanoseconds), packed: one small
    object a file instead of five, for the tens of thousands a cache holds, and about as quick
    to make as a tuple of them."""
    return pack(st.st_size, st.st_mtime_ns, st.st_ino & _WORD, st.st_ctime_ns)


def signatures(paths: list[str], root: str | None = None) -> list[Signature | None]:
    """The :func:`signature` of each file (None where it cannot be read): the stat of every
    script a warm run makes, at C speed. ``paths`` are relative to ``root`` when given:
    looked up from an open descriptor of it, the kernel then walks two names a path instead
    of every folder above the tree."""
    fd = None
    if root is not None:
        try:
            fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            paths = [os.path.join(root, p) for p in paths]
        if fd is not None and os.stat not in os.supports_dir_fd:
            os.close(fd)
            fd, paths = None, [os.path.join(root, p) for p in paths]
    try:
        stat = os.stat if fd is None else partial(os.stat, dir_fd=fd)
        try:
            # No file gone, no number out of range: every script but none in a Python loop.
            return list(starmap(_PACK, map(_NUMBERS, map(stat, paths))))
        except (OSError, ValueError, StructError):
            return _signatures_one_by_one(paths, stat)
    finally:
        if fd is not None:
            os.close(fd)


def _signatures_one_by_one(paths: list[str],
                           stat: Callable[[str], os.stat_result]) -> list[Signature | None]:
    pack, word = _PACK, _WORD
    found: list[Signature | None] = []
    add = found.append
    for path in paths:
        try:
            st = stat(path)
        except (OSError, ValueError):
            add(None)
            continue
        add(pack(st.st_size, st.st_mtime_ns, st.st_ino & word, st.st_ctime_ns))
    return found


def size_of(sig: Signature) -> int:
    """The file size a :func:`signature` holds."""
    return int.from_bytes(sig[:8], "little", signed=True)


def digest(data: bytes, size: int = 16) -> bytes:
    """A BLAKE2b digest of a file's bytes: what makes a file with new times but the same bytes
    a hit."""
    try:  # the C module itself: hashlib would load OpenSSL first, a millisecond or two
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import blake2b
    return blake2b(data, digest_size=size).digest()


def digest_parts(parts: Iterable[bytes], size: int = 16) -> bytes:
    """A BLAKE2b digest of ``parts`` end to end, fed one at a time: what :func:`digest` of a
    long text gives without the text (tens of thousands of paths) ever held whole."""
    try:
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import blake2b
    hasher = blake2b(digest_size=size)
    for part in parts:
        hasher.update(part)
    return hasher.digest()


def code_stamp(*files: str) -> tuple[tuple[int, int], ...]:
    """Size and modification time of the source files that compute a cache's facts, so a
    changed rule (an upgrade, or an edit in a development install) makes the facts a miss."""
    stamp = []
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            stamp.append((-1, -1))
        else:
            stamp.append((st.st_size, st.st_mtime_ns))
    return tuple(stamp)


class FileCache:
    """One cache file: ``{key: (signature, *facts)}``, keys being paths from the tree's root.

    Facts are plain data (strings, numbers, bytes, tuples, None) that :mod:`marshal` writes.
    Loaded on first use; :meth:`save` writes it back when something changed, keeping only the
    keys it is given when it is given them (a run that saw every file), so deleted and renamed
    files drop out.
    """

    def __init__(self, folder: str | None, name: str, stamp: object = ()) -> None:
        self.path = os.path.join(folder, name) if folder is not None else None
        self.folder = folder
        self.stamp = stamp
        self._entries: dict[str, tuple[Any, ...]] | None = None
        self._dirty = False
        #: Whether a cache file was there but ignored (corrupt, or another opsctl's).
        self.rejected = False

    @property
    def loaded(self) -> bool:
        """Whether anything asked for the entries (so :meth:`save` may have work)."""
        return self._entries is not None

    @property
    def entries(self) -> dict[str, tuple[Any, ...]]:
        """``{key: (signature, *facts)}``: what a hot loop reads directly."""
        if self._entries is None:
            self._entries = self._load()
        return self._entries

    changed = property(lambda self: self._dirty, doc="Whether there is anything to save.")

    def get(self, key: str, sig: Signature) -> tuple[Any, ...] | None:
        """The entry ``(signature, *facts)`` of ``key`` when its file still has signature
        ``sig``, else None."""
        entry = self.entries.get(key)
        return entry if entry is not None and entry[0] == sig else None

    def put(self, key: str, entry: tuple[Any, ...]) -> None:
        """Store ``(signature, *facts)`` for ``key``."""
        entries = self.entries
        if entries.get(key) != entry:
            entries[key] = entry
            self._dirty = True

    def save(self, keep: Collection[str] | None = None, per_frame: int = 1 << 30,
             shape: Callable[[Any], Any] | None = None) -> None:
        """Write the cache back if changed (atomically), ``per_frame`` entries a frame, each
        made plain by ``shape``; errors are ignored. With ``keep``, other keys are dropped."""
        if self.path is None or self._entries is None:
            return
        entries = self._entries
        if keep is not None and sum(map(entries.__contains__, keep)) < len(entries):
            kept = set(keep)
            entries = {k: v for k, v in entries.items() if k in kept}
            self._dirty = True
        if not self._dirty:
            return
        try:
            writer = self.writer()
            items = iter(entries.items())
            while frame := dict(islice(items, per_frame)):
                writer.add(frame if shape is None else {k: shape(v) for k, v in frame.items()})
            writer.finish()
        except (OSError, ValueError):
            return
        self._dirty = False

    def writer(self) -> TableWriter:
        """A new cache file written a part at a time (:class:`TableWriter`), in place of this
        one once finished: what a lint of a large tree writes as it goes, instead of holding
        every entry until the end."""
        assert self.path is not None and self.folder is not None
        if not os.path.isdir(self.folder):
            os.makedirs(self.folder, exist_ok=True)
        ignore = os.path.join(self.folder, ".gitignore")
        if not os.path.exists(ignore):
            write_atomically(ignore, _GITIGNORE.encode("utf-8"))
        return TableWriter(self.path, marshal.dumps(self._header()))

    def release(self) -> None:
        """Let go of the entries once saved (asked again, they are read again)."""
        if not self._dirty:
            self._entries = None

    # -- reading and writing -------------------------------------------------------------------

    def _header(self) -> tuple[Any, ...]:
        return (MAGIC, FORMAT, OPSCTL_VERSION, sys.version_info[:2], self.stamp)

    def _load(self) -> dict[str, tuple[Any, ...]]:
        if self.path is None:
            return {}
        try:
            fh = open(self.path, "rb")
        except OSError:
            return {}
        try:
            with fh:
                # The header first (marshal reads no further), then the body as it lies.
                if marshal.load(fh) != self._header():
                    raise ValueError("another opsctl, Python or format")
                body = fh.read()
            entries = read_frames(body)
            del body
        except (ValueError, EOFError, TypeError, OSError):
            self._dirty = self.rejected = True  # replace it at the end of the run
            return {}
        return entries


class KeptTable:
    """The ``[tool.opsctl]`` table as last read (:func:`opsctl.config.read_table`), kept in
    the ``pyproject`` file of the cache ``folder`` and known by ``pyproject.toml``'s
    signature: a command run again on an unchanged file neither loads :mod:`tomllib` (a
    quarter of a warm lint's start) nor parses. Only where the folder is already there:
    reading a setting never makes it."""

    def __init__(self, folder: str, pyproject: str) -> None:
        self.cache = FileCache(folder, "pyproject") if os.path.isdir(folder) else None
        try:
            self.sig = signature(os.stat(pyproject)) if self.cache is not None else None
        except OSError:
            self.sig = None

    def get(self) -> dict[str, Any] | None:
        if self.cache is None or self.sig is None:
            return None
        entry = self.cache.get("pyproject.toml", self.sig)
        return entry[1] if entry is not None and isinstance(entry[1], dict) else None

    def put(self, table: dict[str, Any]) -> None:
        if self.cache is None or self.sig is None:
            return
        try:
            marshal.dumps(table)
        except ValueError:  # a TOML date: not plain data, read again next time
            return
        self.cache.put("pyproject.toml", (self.sig, table))
        self.cache.save()


#: A frame's length before it, and the body's checksum and length after the last frame.
_FRAME, _TRAILER = 4, 12


class TableWriter:
    """A cache file written a part at a time: the header, then each :meth:`add` as a frame
    (its length, then a :mod:`marshal` table), then the body's CRC-32 and length. Written to
    a temporary file beside ``path`` and renamed over it by :meth:`finish`, so a reader sees
    the old file or the new one whole; :meth:`abort` leaves the old one as it was. A key in
    a later frame stands for what an earlier one said of it."""

    def __init__(self, path: str, head: bytes) -> None:
        self.path = path
        self.tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        self._fd: int | None = os.open(
            self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        self._crc = 0
        self._size = 0
        self.write(head)

    def add(self, entries: dict[str, Any]) -> None:
        """Write ``entries`` as one frame."""
        if not entries:
            return
        from zlib import crc32

        body = marshal.dumps(entries)
        for part in (len(body).to_bytes(_FRAME, "little"), body):
            self._crc = crc32(part, self._crc)
            self._size += len(part)
            self.write(part)

    def finish(self, framed: bool = True) -> None:
        """Close the body (``framed``: with its trailer) and put the file in place of the
        old one."""
        try:
            if framed:
                self.write(self._crc.to_bytes(4, "little") + self._size.to_bytes(8, "little"))
            self._close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop what was written: the old file stays."""
        self._close()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass

    def write(self, data: bytes | memoryview) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def read_frames(body: bytes) -> dict[str, Any]:
    """The table a cache file's body holds (:class:`TableWriter`): its frames checked against
    the trailer, then loaded one after the other into one table, without the garbage
    collector walking the thousands of tuples they make (none of them can be garbage yet)."""
    from zlib import crc32

    end = len(body) - _TRAILER
    if end < 0 or body[end:] != crc32(memoryview(body)[:end]).to_bytes(4, "little") + \
            end.to_bytes(8, "little"):
        raise ValueError("truncated, or changed")
    import gc

    view = memoryview(body)
    entries: dict[str, Any] = {}
    enabled = gc.isenabled()
    gc.disable()
    try:
        at = 0
        while at < end:
            size = int.from_bytes(view[at:at + _FRAME], "little")
            at += _FRAME
            frame = marshal.loads(view[at:at + size])
            if not isinstance(frame, dict) or at + size > end:
                raise ValueError("not a table")
            entries.update(frame)
            at += size
    finally:
        if enabled:
            gc.enable()
    return entries


def write_atomically(path: str, *chunks: bytes | memoryview) -> None:
    """Write ``chunks`` to a temporary file beside ``path`` and rename it over ``path``: a
    reader, or another writer, sees the old file or the new one, never a mix."""
    writer = TableWriter(path, b"")
    try:
        for chunk in chunks:
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    writer.finish(framed=False)
