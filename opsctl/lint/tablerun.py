"""What one lint keeps of the scripts the content table answers for (:mod:`opsctl.lint.cache`).

A lint of the whole tree writes a new table as it goes, a frame of a few hundred entries at a
time (:class:`opsctl.filecache.TableWriter`), and keeps of each script only what the summary
needs: its signature at its place among the scripts (32 bytes) and its findings when it has
any. So a cold lint of 100,000 scripts, a fifth of them in recycle/ and unrecycle/, holds no
tuple a script. A lint of a few files (file-list mode) puts what changed in the table, which
is saved whole as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..filecache import SIGNATURE_SIZE, FileCache, TableWriter

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

#: How many entries a frame of the new table holds.
FRAME = 512


class TableRun:
    """The entries of one lint's scripts, on their way into the table, and what the summary
    takes from them."""

    def __init__(self, cache: FileCache, whole_tree: bool) -> None:
        self.cache = cache
        self.whole_tree = whole_tree
        self.writer: TableWriter | None = None
        #: Whether every script answered for has an entry kept: else no summary stands.
        self.complete = True
        if whole_tree:
            try:
                self.writer = cache.writer()
            except (OSError, ValueError):  # a read-only folder: nothing kept, no summary
                self.complete = False
        self.frame: dict[str, tuple[Any, ...]] = {}
        #: Whether an entry differs from the table read, and how many were written.
        self.changed = False
        self.written = 0
        #: For the summary (None: none wanted): each script's signature at its place, and
        #: the findings of those with any, with their places.
        self.sigs: bytearray | None = None
        self.found: list[tuple[int, str, tuple[Any, ...]]] = []

    def places(self, total: int | None) -> None:
        """Keep the signatures of ``total`` scripts for the summary (None: no summary)."""
        self.sigs = bytearray(total * SIGNATURE_SIZE) if total is not None else None

    def record(self, place: int, rel: str, entry: tuple[Any, ...], changed: bool) -> None:
        """Keep ``entry`` (``(signature, digest, description, findings)``) of script ``rel``,
        at ``place`` among those asked; ``changed``: it is not the table's entry."""
        if not self.whole_tree:
            if changed:
                self.cache.put(rel, entry)
        elif self.writer is not None:
            self.frame[rel] = entry
            self.written += 1
            self.changed = self.changed or changed
            if len(self.frame) >= FRAME:
                self.flush()
        if self.sigs is not None:
            self.sigs[place * SIGNATURE_SIZE:(place + 1) * SIGNATURE_SIZE] = entry[0]
            if entry[3]:
                self.found.append((place, rel, entry[3]))

    def flush(self) -> None:
        """Write the entries kept so far as a frame of the new table."""
        if self.frame and self.writer is not None:
            frame, self.frame = self.frame, {}
            try:
                self.writer.add(frame)
            except (OSError, ValueError):  # a full disk: nothing kept, no summary
                self.abort()

    def abort(self) -> None:
        """Leave the old table as it was."""
        if self.writer is not None:
            self.writer.abort()
        self.writer, self.complete = None, False

    def finish(self, earlier: Iterable[dict[str, tuple[Any, ...]]], pairs_key: str) -> bool:
        """Write the frames ``earlier`` (entries kept as they were) and the table's entry
        ``pairs_key`` if any, then put the new table in place of the old one unless it says
        the same. Returns whether the table on disk stands for every script answered for."""
        self.flush()
        writer, self.writer = self.writer, None
        if writer is None:
            return False
        entries = self.cache.entries
        pairs = entries.get(pairs_key)
        try:
            for frame in earlier:
                self.written += len(frame)
                writer.add(frame)
            if pairs is not None:
                writer.add({pairs_key: pairs})
            if self.changed or self.cache.changed or \
                    self.written != len(entries) - (pairs is not None):
                writer.finish()
                return self.complete
        except (OSError, ValueError):
            writer.abort()
            return False
        else:
            writer.abort()  # the same table: a summary may stand on the file as it is
            return self.complete

    def summary(self) -> tuple[bytearray, tuple[tuple[str, tuple[Any, ...]], ...]]:
        """The signatures end to end, and ``(rel, findings)`` of each script with any, in the
        order of the scripts. Asked once: the signatures are handed over, not copied (at
        100,000 scripts a copy was the lint's peak), and marshal writes them as bytes."""
        sigs, self.sigs = self.sigs, None
        assert sigs is not None
        found, self.found = self.found, []
        found.sort()
        return sigs, tuple((rel, items) for _, rel, items in found)


def write_summary(summary: FileCache, key: str, head: tuple[Any, ...],
                  sigs: bytes | bytearray, per_part: int) -> None:
    """Write the summary: under ``key``, ``head`` (the table's signature, the run's digest,
    the findings, the near-twin pairs) with the number of parts of ``sigs`` (the scripts'
    signatures end to end) in the third place; then each part, ``per_part`` scripts, as a
    frame of its own under ``key``, a NUL and its number. At 100,000 scripts the signatures
    marshalled whole were the lint's peak."""
    step = per_part * SIGNATURE_SIZE
    stands_on, run, found, twins = head
    try:
        writer = summary.writer()
    except (OSError, ValueError):  # a read-only folder: no summary
        return
    with memoryview(sigs) as view:
        try:
            writer.add({key: (stands_on, run, -(-len(view) // step), found, twins)})
            for i, at in enumerate(range(0, len(view), step)):
                writer.add({f"{key}\0{i}": (bytes(view[at:at + step]),)})
            writer.finish()
        except (OSError, ValueError):  # a full disk: the old summary stays
            writer.abort()
