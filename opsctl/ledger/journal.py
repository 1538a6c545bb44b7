"""The local journal: the end of a run the ledger could not take, kept in a file beside the
project (``instance/opsctl-journal/``) until the next opsctl command that opens the ledger
records it there (:meth:`~.ends.Ends.replay_journal`) and deletes the file.

One JSON file per entry, named after the ledger it belongs to (a digest of its URL, password
hidden) so a project that changes ``ledger_url`` never writes one ledger's run into another.
A file is written whole or not at all: into a temporary file, synced to disk, renamed into
place, and the folder synced, so a crash or a power cut leaves either the entry or nothing
(a leftover ``*.tmp`` file is no entry). Files only, no database.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from .engine import display_url

#: The entries' format; an entry of another format is left alone.
FORMAT = 1
#: Columns that hold times: ISO 8601 text in the file, naive UTC datetimes in a row.
TIMES = ("started_at", "ended_at")


class Journal:
    """The journal of one ledger, in ``folder``."""

    def __init__(self, folder: str, url: str) -> None:
        self.folder = folder
        #: The ledger this journal's entries belong to, as messages show its URL.
        self.ledger = display_url(url)
        self._prefix = hashlib.sha256(self.ledger.encode("utf-8", "replace")).hexdigest()[:16]

    def keep(self, entry: dict[str, Any], *, name: str) -> str:
        """Write ``entry`` as the file ``<ledger>-<name>.json``, durably; its path.

        Raises :class:`OSError` when it cannot (a full disk, a folder that cannot be made).
        """
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, f"{self._prefix}-{name}.json")
        data = json.dumps({"format": FORMAT, "ledger": self.ledger, **entry},
                          default=_time_text, ensure_ascii=True, sort_keys=True).encode("ascii")
        partial = f"{path}.{os.getpid()}.tmp"
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(partial, path)
        except OSError:
            with suppress(OSError):
                os.remove(partial)
            raise
        _sync_folder(self.folder)
        return path

    def entries(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """This ledger's entries, oldest first: ``(path, entry)``, with None for a file that
        cannot be read as one."""
        try:
            names = os.listdir(self.folder)
        except OSError:  # no journal: nothing ever needed one
            return
        mine = [n for n in names if n.startswith(self._prefix + "-") and n.endswith(".json")]
        for path in sorted((os.path.join(self.folder, n) for n in mine), key=_mtime):
            yield path, self._read(path)

    def remove(self, path: str) -> None:
        with suppress(FileNotFoundError):
            os.remove(path)

    def _read(self, path: str) -> dict[str, Any] | None:
        try:
            with open(path, encoding="ascii") as fh:
                entry = json.load(fh)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or \
                entry.get("ledger") != self.ledger or not isinstance(entry.get("values"), dict):
            return None
        try:
            for column in TIMES:
                if isinstance(entry["values"].get(column), str):
                    entry["values"][column] = _dt.datetime.fromisoformat(
                        entry["values"][column])
        except ValueError:
            return None
        return entry


def _time_text(value: object) -> str:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (where the platform can sync a folder)."""
    with suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
