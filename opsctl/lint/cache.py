"""The content rules at any scale: what a script's content gave, kept in the file cache, and
the scripts not in it checked over the machine's cores.

Parsing a script with :mod:`ast` costs far more than walking its name, and a legacy tree has
thousands in recycle/ and unrecycle/. So what :func:`opsctl.lint.content.check_file` finds in
a script (its findings and description, never the tree) is kept in the ``content`` cache of
:mod:`opsctl.filecache`, known by the file's signature. A run with the cache filled stats each
script and parses none; a script whose times changed but whose size did not (a fresh checkout
restoring a CI cache) is read and its digest compared, still without parsing. The rest are
checked by :mod:`opsctl.lint.content`, in a few processes at once when there are enough of
them to pay for starting one (:data:`PER_PROCESS`): forked on Linux (a few milliseconds, the
modules already loaded), a pool of new interpreters elsewhere or while threads run. Without a
cache folder (``--no-cache``) the rules run on every script, as before the cache.

This module does not import :mod:`opsctl.lint.content` (nor :mod:`ast`) unless a script must
be checked, so a warm run never pays for loading the rules.
"""

from __future__ import annotations

import marshal
import operator
import os
import sys
from collections.abc import Callable, Iterator
from itertools import compress, repeat

from ..filecache import FileCache, code_stamp, digest, signature, signatures, size_of
from ..naming import Kind
from ..similarity import read_description
from .scriptlist import Scripts, chunks, count, paths_of, scripts_digest, scripts_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

    from .content import Checked
    from .twins import Pairs

#: The fewest scripts worth a process of their own: forking and handing the results back
#: costs about as much as checking this many (measured on a 2-core machine).
PER_PROCESS = 150
#: Where no fork is safe, a process pool starts a new interpreter per worker: far dearer.
PER_SPAWNED_PROCESS = 2000
#: The modules whose code decides what a script's content gives: a change to one (an upgrade,
#: an edit in a development install) makes the whole cache a miss.
_RULE_MODULES = ("lint/content.py", "lint/effects.py", "lint/calls.py", "lint/cache.py",
                 "lint/twins.py", "similarity.py", "naming.py", "filecache.py")
#: The cache key of the near-twin pairs (:mod:`opsctl.lint.twins`): no path holds a NUL.
PAIRS_KEY = "\0near-twins"
#: The key of the summary's one entry (:class:`ContentFacts`).
SUMMARY_KEY = "tree"

#: A cache entry is ``(signature, digest, description, findings)``; none is this.
_ABSENT: tuple[Any, ...] = (b"", None, None, ())
_REL = operator.itemgetter(0)
_SIGNATURE, _DESCRIPTION, _FINDINGS = (operator.itemgetter(i) for i in (0, 2, 3))

#: The bytes of one signature (:func:`opsctl.filecache.signature`), and how many scripts the
#: summary's signatures are compared at a time.
_SIGNATURE_SIZE, _CHUNK = 32, 2048

#: One content finding: ``(code, message, fix, line, found)``.
Found = tuple[str, str, str | None, int | None, str | None]


class ContentFacts:
    """What the content rules found in each script of one lint, through the cache.

    ``folder`` is the cache folder, or None for no cache. :meth:`findings` checks scripts;
    :meth:`description` gives the description of any script (known from the check when it was
    checked); :meth:`save` writes the cache back.
    """

    def __init__(self, root: str, folder: str | None) -> None:
        self.root = root
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.cache = FileCache(folder, "content", code_stamp(
            *(os.path.join(package, m) for m in _RULE_MODULES))) if folder else None
        self.summary = FileCache(folder, "summary", self.cache.stamp) \
            if self.cache is not None else None
        self.descriptions: dict[str, str] = {}
        self.seen: list[str] = []  # every script asked about: what the cache keeps
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

    def findings(self, asked: Scripts) -> Iterator[tuple[str, Found]]:
        """``(rel, finding)`` for each content finding of the scripts of ``asked``
        (``(rel, kind)`` pairs and groups: :mod:`opsctl.lint.scriptlist`)."""
        answered: list[tuple[str, tuple[Found, ...]]] = []
        todo: list[tuple[str, Kind]] = []
        descriptions = self.descriptions
        if self.cache is None:
            todo = list(scripts_of(asked))
        else:
            self._asked += 1
            summarised = self._summarised(asked)
            if summarised is not None:
                self._seen_items.append(asked)
                self.hits += count(asked)
                for rel, found in summarised:
                    for item in found:
                        yield rel, item
                return
            # The warm path, once per script of the tree: one stat, one comparison, at C
            # speed but for the scripts that changed.
            scripts = list(scripts_of(asked))
            rels = list(map(_REL, scripts))
            self.seen.extend(rels)
            sigs = signatures(rels, self.root)
            entries = self.cache.entries
            stored = list(map(entries.get, rels, repeat(_ABSENT)))
            same = list(map(operator.eq, map(_SIGNATURE, stored), sigs))
            self.hits += sum(same)
            descriptions.update(compress(zip(rels, map(_DESCRIPTION, stored), strict=True), same))
            answered += compress(zip(rels, map(_FINDINGS, stored), strict=True),
                                 map(operator.and_, same, map(bool, map(_FINDINGS, stored))))
            for i in compress(range(len(rels)), map(operator.not_, same)):
                rel = rels[i]
                entry = None
                if stored[i] is not _ABSENT and sigs[i] is not None:
                    try:
                        st = os.stat(os.path.join(self.root, rel))
                    except OSError:
                        pass
                    else:
                        entry = self._rehashed(rel, st, stored[i])
                if entry is None:
                    todo.append(scripts[i])
                    continue
                if entry[2] is not None:
                    descriptions[rel] = entry[2]
                answered.append((rel, entry[3]))
        for rel, _kind, checked in check_in_parallel(self.root, todo):
            sig, data_digest, description, items = checked
            if description is not None:
                descriptions[rel] = description
            if self.cache is not None and sig is not None:
                # Only the near-twin rule reads descriptions, and only recycle/'s.
                kept = description if rel.startswith("recycle/") else None
                self.cache.put(rel, (sig, data_digest, kept, items))
            answered.append((rel, items))
        self.checked += len(todo)
        for rel, items in answered:
            for item in items:
                yield rel, item

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
        if stored is None or stored[0] != self._table_signature() or stored[1] != self._run:
            return None
        if not _same_signatures(stored[2], items, self.root):
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

    def _rehashed(self, rel: str, st: os.stat_result,
                  stored: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The cache entry ``(signature, digest, description, findings)`` of a script whose
        signature changed but whose size did not, when its bytes are still the same (read and
        digested, not parsed: a fresh checkout, a touch), with the new signature; else None."""
        assert self.cache is not None
        if size_of(stored[0]) != st.st_size or not _is_regular(st.st_mode):
            return None
        try:
            data = _read_exactly(os.path.join(self.root, rel), st.st_size)
        except OSError:
            return None
        if data is None or digest(data) != stored[1]:
            return None
        self.rehashed += 1
        entry = (signature(st), *stored[1:])
        self.cache.put(rel, entry)
        return entry

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
        self.summary.put(SUMMARY_KEY, (table, self._run, b"".join(sigs), found,
                                       self._twins))
        self.summary.save()


def _same_signatures(expected: bytes, items: Scripts, root: str) -> bool:
    """Whether the scripts of ``items`` have the signatures ``expected`` holds end to end,
    their paths made and their signatures read a few thousand at a time."""
    if len(expected) != count(items) * _SIGNATURE_SIZE:
        return False
    at = 0
    for rels in chunks(paths_of(items), _CHUNK):
        sigs = signatures(rels, root)
        end = at + len(rels) * _SIGNATURE_SIZE
        if None in sigs or b"".join(sigs) != expected[at:end]:  # type: ignore[arg-type]
            return False
        at = end
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


# -- checking over several processes -----------------------------------------------------------

def processes_for(count: int, per_process: int = PER_PROCESS) -> int:
    """How many processes ``count`` scripts are worth: one per ``per_process`` of them, at
    most one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, count // per_process))


def check_in_parallel(root: str, scripts: list[tuple[str, Kind]],
                      processes: int | None = None) -> list[tuple[str, Kind, Checked]]:
    """:func:`opsctl.lint.content.check_files` on ``scripts``, shared among ``processes``
    (by default :func:`processes_for`): this one and forked children on Linux, a pool of new
    interpreters where forking is not safe. The results keep the order of ``scripts``; a share whose
    process failed is checked here."""
    if not scripts:
        return []
    from .content import check_files

    fork = sys.platform.startswith("linux") and hasattr(os, "fork") and _one_thread()
    if processes is None:
        processes = processes_for(len(scripts), PER_PROCESS if fork else PER_SPAWNED_PROCESS)
    if processes <= 1:
        return check_files(root, scripts)
    shares = [scripts[i::processes] for i in range(processes)]
    if fork:
        others = [_forked(check_files, root, share) for share in shares[1:]]
        results = [check_files(root, shares[0])]
        results += [collect() or check_files(root, share)
                    for collect, share in zip(others, shares[1:], strict=True)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # New interpreters: forking a process that runs threads is not safe.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(processes - 1, mp_context=spawn) as pool:
            futures = [pool.submit(check_files, root, share) for share in shares[1:]]
            results = [check_files(root, shares[0])]
            results += [future.result() for future in futures]
    # Interleave the shares back into the order given.
    ordered: list[tuple[str, Kind, Checked]] = [None] * len(scripts)  # type: ignore[list-item]
    for i, share in enumerate(results):
        ordered[i::processes] = share
    return ordered


def _one_thread() -> bool:
    """Whether this process runs one thread: forking with others running (opsctl embedded in
    a threaded program) could copy a lock another thread holds, so that is left to a pool."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def _forked(work: Callable[[str, list[tuple[str, Kind]]], list[Any]], root: str,
            share: list[tuple[str, Kind]]) -> Callable[[], list[Any] | None]:
    """Run ``work(root, share)`` in a forked child; returns how to collect its result (None
    when the child failed). The child writes the result through a pipe as :mod:`marshal` data
    and leaves with ``os._exit``: no buffers flushed twice, no exit handlers run."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return lambda: None
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read_end)
            data = memoryview(marshal.dumps(work(root, share)))
            while data:
                data = data[os.write(write_end, data):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)

    def collect() -> list[Any] | None:
        chunks = []
        with os.fdopen(read_end, "rb") as pipe:
            while chunk := pipe.read(1 << 16):
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            return None
        try:
            return marshal.loads(b"".join(chunks))  # type: ignore[no-any-return]
        except (ValueError, EOFError, TypeError):
            return None

    return collect
