"""The content rules at any scale: what a script's content gave, kept in the file cache, and
the scripts not in it checked over the machine's cores.

Parsing a script with :mod:`ast` costs far more than walking its name, and a legacy tree has
thousands in recycle/ and unrecycle/. So what :func:`opsctl.lint.content.check_file` finds in
a script (its findings and description, never the tree) is kept in the ``content`` cache of
:mod:`opsctl.filecache`, known by the file's signature. A run with the cache filled stats each
script and parses none; a script whose times changed but whose size did not (a fresh checkout
restoring a CI cache) is read and its digest compared, still without parsing. The rest are
checked by :mod:`opsctl.lint.content`, over the machine's cores (:mod:`opsctl.lint.workers`).
Without a cache folder (``--no-cache``) the rules run on every script, as before the cache.

A lint of the whole tree writes the table as it goes, a few hundred scripts at a time
(:class:`opsctl.filecache.TableWriter`), and keeps of each script only its signature (32
bytes, for the summary) and its findings: a cold lint of 100,000 scripts holds no tuple a
script. A lint of a few files (file-list mode) updates the table in place.

This module does not import :mod:`opsctl.lint.content` (nor :mod:`ast`) unless a script must
be checked, so a warm run never pays for loading the rules.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterator
from itertools import compress, repeat

from ..filecache import (
    SIGNATURE_SIZE,
    FileCache,
    code_stamp,
    digest,
    signature,
    signatures,
    size_of,
)
from ..similarity import read_description
from .scriptlist import Scripts, chunks, count, paths_of, scripts_digest, scripts_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

    from .tablerun import TableRun
    from .twins import Pairs
    from .workers import Checking

#: The modules whose code decides what a script's content gives: a change to one (an upgrade,
#: an edit in a development install) makes the whole cache a miss.
_RULE_MODULES = ("lint/content.py", "lint/effects.py", "lint/calls.py", "lint/cache.py",
                 "lint/workers.py", "lint/tablerun.py", "lint/twins.py", "similarity.py",
                 "naming.py", "filecache.py")
#: The cache key of the near-twin pairs (:mod:`opsctl.lint.twins`): no path holds a NUL.
PAIRS_KEY = "\0near-twins"
#: The key of the summary's one entry (:class:`ContentFacts`).
SUMMARY_KEY = "tree"

#: A cache entry is ``(signature, digest, description, findings)``; none is this.
_ABSENT: tuple[Any, ...] = (b"", None, None, ())
_REL = operator.itemgetter(0)
_SIGNATURE, _DESCRIPTION, _FINDINGS = (operator.itemgetter(i) for i in (0, 2, 3))

#: How many scripts the summary's signatures are compared at a time, and kept a part.
_CHUNK = 2048

#: One content finding: ``(code, message, fix, line, found)``.
Found = tuple[str, str, str | None, int | None, str | None]


class ContentFacts:
    """What the content rules found in each script of one lint, through the cache.

    ``folder`` is the cache folder, or None for no cache; ``whole_tree``: the lint walks the
    whole tree, so the table is written as it goes with this lint's scripts alone.
    :meth:`findings` checks scripts; :meth:`description` gives the description of a recycle/
    script (known from the check when it was checked); :meth:`save` writes the cache back.
    """

    def __init__(self, root: str, folder: str | None, *, whole_tree: bool = False) -> None:
        self.root = root
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.cache = FileCache(folder, "content", code_stamp(
            *(os.path.join(package, m) for m in _RULE_MODULES))) if folder else None
        self.summary = FileCache(folder, "summary", self.cache.stamp) \
            if self.cache is not None else None
        self.whole_tree = whole_tree
        #: The descriptions of the recycle/ scripts answered for: the near-twin rule's.
        self.descriptions: dict[str, str] = {}
        self.seen: list[str] = []  # file-list mode: every script asked about, to keep
        #: ... and those the summary answered for, their paths made only when saving.
        self._seen_items: list[Scripts] = []
        #: This run's scripts as the summary knows them (``(digest, signatures)``), once
        #: :meth:`findings` was asked about all of them at once; whether the summary answered.
        self._run: bytes | None = None
        self._asked = 0
        self.summarised = False
        #: Whether a description was read from a file rather than known from the scripts
        #: checked; near-twin pairs found then are not kept in the summary.
        self._read_directly = False
        self._twins: tuple[bytes, Pairs] | None = None
        #: How the scripts of this run were answered: from the cache, by digest, checked.
        self.hits = self.rehashed = self.checked = 0
        #: The entries of this lint's scripts on their way into the table (:mod:`.tablerun`).
        self._table: TableRun | None = None
        #: A check started by :meth:`begin`: the scripts asked, and the check under way.
        self._early: tuple[Scripts, Checking] | None = None

    def begin(self, asked: Scripts) -> None:
        """Start checking the scripts of ``asked`` now, beside the rest of the walk, when
        each of them will be checked whatever the cache says: with no cache, or no content
        table yet (a first lint, a cache folder dropped). :meth:`findings` asked about the
        same ``asked`` then reads what was checked."""
        if self._early is not None or not count(asked) or \
                (self.cache is not None and os.path.exists(self.cache.path or "")):
            return
        from .workers import Checking

        self._early = (asked, Checking(self.root, lambda: scripts_of(asked), count(asked)))

    def findings(self, asked: Scripts) -> Iterator[tuple[str, Found]]:
        """``(rel, finding)`` for each content finding of the scripts of ``asked``
        (``(rel, kind)`` pairs and groups: :mod:`opsctl.lint.scriptlist`)."""
        if self.cache is None:
            from .workers import check_stream

            total = count(asked)
            started = _started(self, asked, total)
            for _, rel, _kind, checked in started.results() if started is not None else \
                    check_stream(self.root, lambda: scripts_of(asked), total):
                self._know(rel, checked[2])
                for item in checked[3]:
                    yield rel, item
            self.checked += total
            return
        self._asked += 1
        summarised = self._summarised(asked)
        if summarised is not None:
            self._seen_items.append(asked)
            self.hits += count(asked)
            for rel, found in summarised:
                for item in found:
                    yield rel, item
            return
        if self._table is None:
            # Loaded here, as the workers are: a warm lint the summary answers needs neither.
            from .tablerun import TableRun

            self._table = TableRun(self.cache, self.whole_tree)
        yield from _through_table(self, asked, self._table)

    def _know(self, rel: str, description: str | None) -> None:
        if description is not None and rel.startswith("recycle/"):
            self.descriptions[rel] = description

    def _summarised(self, items: Scripts) -> tuple[tuple[str, tuple[Found, ...]], ...] | None:
        """The findings the summary holds for the scripts of ``items`` when they are the
        ones it was made from and still have the signatures it holds; else None (and the
        table answers). The paths are made, and the signatures read and compared, a few
        thousand at a time, never all held at once."""
        assert self.summary is not None
        if self._asked != 1:
            self._run = None  # asked twice: no summary of this run
            return None
        self._run = scripts_digest(items)
        stored = self.summary.entries.get(SUMMARY_KEY)
        if stored is None or stored[0] != self._table_signature() or stored[1] != self._run \
                or not _same_signatures(self.summary.entries, stored[2], items, self.root):
            return None
        self.summarised = True
        self._twins = stored[4]
        return stored[3]  # type: ignore[no-any-return]

    def _table_signature(self) -> bytes | None:
        assert self.cache is not None and self.cache.path is not None
        try:
            return signature(os.stat(self.cache.path))
        except OSError:
            return None

    def description(self, rel: str) -> str:
        """A script's description: from its check in this run, else read from its first
        bytes (:func:`opsctl.similarity.read_description`, no parse)."""
        known = self.descriptions.get(rel)
        if known is None:
            self._read_directly = True
            known = self.descriptions[rel] = read_description(os.path.join(self.root, rel))
        return known

    def known_pairs(self, names: list[str]) -> Pairs | None:
        """The near-twin pairs of recycle/ scripts ``names`` when the summary answered this
        run and holds them for these names (their descriptions then unchanged): no
        description read, no comparison made."""
        twins = self._twins if self.summarised else None
        if twins is None or twins[0] != _names_digest(names):
            return None
        return twins[1]

    def pairs(self, key: bytes) -> Pairs | None:
        """The near-twin pairs kept for ``key`` (:func:`opsctl.lint.twins.pairs_key`)."""
        if self.cache is None or not self._asked:
            return None
        stored = self.cache.entries.get(PAIRS_KEY)
        return stored[1] if stored is not None and stored[0] == key else None

    def keep_pairs(self, key: bytes, pairs: Pairs, names: list[str]) -> None:
        """Keep the near-twin pairs found for ``key``: in a run that checked content only,
        so that a lint with the content rules off leaves the cache as it was."""
        if self.cache is not None and self._asked:
            self.cache.put(PAIRS_KEY, (key, pairs))
            if not self._read_directly:
                self._twins = (_names_digest(names), pairs)

    def save(self, *, whole_tree: bool) -> None:
        """Write the cache back; after a whole-tree lint, without the scripts it no longer
        has (file-list mode keeps every entry: it saw only a few files)."""
        if self.whole_tree and self._table is not None:
            self._finish(whole_tree)
            return
        if self.cache is not None and self.cache.loaded:
            # The paths the summary answered for, now that their table may be written.
            self.seen.extend(paths_of(item for items in self._seen_items for item in items))
            self._seen_items = []
            # A lint that checked no content (the rules off) leaves what it did not ask about.
            self.cache.save(keep=[*self.seen, PAIRS_KEY] if whole_tree and self.seen
                            else None)
        if whole_tree and self._run is not None and self.cache is not None and \
                (not self.summarised or self.cache.loaded):
            self._summarise()

    def _finish(self, whole_tree: bool) -> None:
        """Close the table written as the lint went, then write the summary from what was
        kept of each script."""
        assert self.cache is not None and self.summary is not None and self._table is not None
        table, self._table = self._table, None
        if not whole_tree:  # not what a walk of the tree asks; keep the old table as it was
            table.abort()
            return
        from .tablerun import FRAME, write_summary

        entries = self.cache.entries
        # Scripts the summary answered for in an earlier question: their entries as they are.
        earlier = ({rel: entries[rel] for rel in rels if rel in entries} for rels in
                   chunks(paths_of(i for items in self._seen_items for i in items), FRAME))
        if not table.finish(earlier, PAIRS_KEY) or self._run is None:
            return
        stands_on = self._table_signature()
        if stands_on is not None:
            sigs, found = table.summary()
            write_summary(self.summary, SUMMARY_KEY, (stands_on, self._run, found, self._twins),
                          sigs, _CHUNK)

    def _summarise(self) -> None:
        """Write the summary of this run's scripts (:class:`ContentFacts`), from the table as
        just saved: the signatures each script was checked with, not those read before."""
        assert self.cache is not None and self.summary is not None and self._run is not None
        entries = self.cache.entries
        rels = self.seen
        stored = list(map(entries.get, rels, repeat(_ABSENT)))
        sigs = list(map(_SIGNATURE, stored))
        table = self._table_signature()
        if b"" in sigs or table is None:
            return  # a script not checked (unreadable), or no table: nothing to stand for
        found = tuple(compress(zip(rels, map(_FINDINGS, stored), strict=True),
                               map(bool, map(_FINDINGS, stored))))
        from .tablerun import write_summary

        write_summary(self.summary, SUMMARY_KEY, (table, self._run, found, self._twins),
                      b"".join(sigs), _CHUNK)


def _through_table(facts: ContentFacts, asked: Scripts,
                   table: TableRun) -> Iterator[tuple[str, Found]]:
    """:meth:`ContentFacts.findings` through the table, a few thousand scripts at a time: one
    stat and one comparison each (at C speed but for the scripts that changed), then the
    scripts not answered checked, their results handed on as they come."""
    from array import array

    from .workers import check_stream

    assert facts.cache is not None
    entries = facts.cache.entries
    total = count(asked)
    table.places(total if facts._run is not None else None)
    todo = array("q")  # the places of the scripts to check: 8 bytes each, no object
    wanted = bytearray(total)  # ... as a mask over the scripts
    base = 0
    for part in chunks(scripts_of(asked), _CHUNK):  # type: ignore[arg-type]
        rels = list(map(_REL, part))
        if not facts.whole_tree:
            facts.seen.extend(rels)
        sigs = signatures(rels, facts.root)
        stored = list(map(entries.get, rels, repeat(_ABSENT)))
        same = list(map(operator.eq, map(_SIGNATURE, stored), sigs))
        facts.hits += sum(same)
        for i, rel in enumerate(rels):
            entry: tuple[Any, ...] | None = stored[i]
            if not same[i]:
                entry = _rehashed(facts.root, rel, stored[i]) if sigs[i] is not None else None
                if entry is None:
                    todo.append(base + i)
                    wanted[base + i] = 1
                    continue
                facts.rehashed += 1
            assert entry is not None
            facts._know(rel, entry[2])
            table.record(base + i, rel, entry, not same[i])
            for item in entry[3]:
                yield rel, item
        base += len(rels)
    started = _started(facts, asked, len(todo))
    for j, rel, _kind, checked in started.results() if started is not None else check_stream(
            facts.root, lambda: compress(scripts_of(asked), wanted), len(todo)):
        sig, data_digest, description, items = checked
        facts._know(rel, description)
        if sig is None:
            table.complete = False  # unreadable: no entry, so no summary either
        else:
            # Only the near-twin rule reads descriptions, and only recycle/'s.
            kept = description if rel.startswith("recycle/") else None
            table.record(todo[j], rel, (sig, data_digest, kept, items), True)
        for item in items:
            yield rel, item
    facts.checked += len(todo)
    table.flush()


def _started(facts: ContentFacts, asked: Scripts, todo: int) -> Checking | None:
    """The check :meth:`ContentFacts.begin` started, when it is of ``asked`` and ``todo`` of
    its scripts are to be checked: all of them. Else it is stopped, and None."""
    early, facts._early = facts._early, None
    if early is None:
        return None
    if early[0] is asked and todo == count(asked):
        return early[1]
    early[1].stop()
    return None


def _rehashed(root: str, rel: str, stored: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The cache entry ``(signature, digest, description, findings)`` of a script whose
    signature changed but whose size did not, when its bytes are still the same (read and
    digested, not parsed: a fresh checkout, a touch), with the new signature; else None."""
    if stored is _ABSENT:
        return None
    path = os.path.join(root, rel)
    try:
        st = os.stat(path)
        if size_of(stored[0]) != st.st_size or not _is_regular(st.st_mode):
            return None
        data = _read_exactly(path, st.st_size)
    except OSError:
        return None
    if data is None or digest(data) != stored[1]:
        return None
    return (signature(st), *stored[1:])


def _same_signatures(summary: dict[str, tuple[Any, ...]], parts: object, items: Scripts,
                     root: str) -> bool:
    """Whether the scripts of ``items`` have the signatures the ``parts`` parts of the
    ``summary`` hold (:func:`.tablerun.write_summary`), :data:`_CHUNK` scripts a part, their
    paths made and their signatures read a part at a time."""
    if not isinstance(parts, int):
        return False
    kept = [summary.get(f"{SUMMARY_KEY}\0{i}", (b"",))[0] for i in range(parts)]
    if sum(map(len, kept)) != count(items) * SIGNATURE_SIZE:
        return False
    for part, rels in zip(kept, chunks(paths_of(items), _CHUNK), strict=False):
        sigs = signatures(rels, root)
        if None in sigs or b"".join(sigs) != part:  # type: ignore[arg-type]
            return False
    return True


def _names_digest(names: list[str]) -> bytes:
    return digest("\0".join(names).encode("utf-8", "surrogatepass"))


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _read_exactly(path: str, size: int) -> bytes | None:
    """A file's bytes when it still has ``size`` of them, else None."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, size + 1)
    finally:
        os.close(fd)
    return data if len(data) == size else None
