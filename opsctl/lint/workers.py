"""Checking scripts' content over the machine's cores, a few hundred at a time.

:func:`check_stream` runs :func:`opsctl.lint.content.check_files` on a stream of scripts and
hands each result on as it comes, so that neither this process nor a worker ever holds the
results of a whole tree (at 100,000 scripts, a fifth of them in recycle/ and unrecycle/, those
were tens of megabytes). The work is shared among a few processes when there are enough
scripts to pay for starting one (:data:`PER_PROCESS`): forked on Linux (a few milliseconds, the
modules already loaded), each taking the next few scripts from a queue of claims when it is
ready for more, and each child writing its results a frame at a time to a file of its own that
no name reaches, which this process reads back a frame at a time once the child is done; a
pool of new interpreters elsewhere or while threads run. A :class:`Checking` made early runs
beside whatever this process does next (the lint's walk of the developer folders).
"""

from __future__ import annotations

import marshal
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import compress, count, islice

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

    from ..naming import Kind
    from .content import Checked

#: The fewest scripts worth a process of their own: forking and handing the results back
#: costs about as much as checking this many (measured on a 2-core machine).
PER_PROCESS = 150
#: Where no fork is safe, a process pool starts a new interpreter per worker: far dearer.
PER_SPAWNED_PROCESS = 2000
#: How many scripts are checked, and their results handed on, at a time.
CHUNK = 256
#: How many scripts a process takes from the queue at a time when it shares it with forked
#: children (:class:`Checking`): small enough that none waits long on the last, large enough
#: that a claim's read and its results' frame cost little beside the check.
CLAIM = 32
#: The most claims a queue holds: a pipe holds 4 KiB at least (1,024 claims of four bytes).
MAX_CLAIMS = 1024

#: What :func:`check_stream` gives for each script: its place in the stream, and its check.
Result = tuple[int, str, "Kind", "Checked"]


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
    """:func:`check_stream` on a list, the results in its order."""
    ordered: list[tuple[str, Kind, Checked]] = [None] * len(scripts)  # type: ignore[list-item]
    for i, rel, kind, checked in check_stream(root, lambda: scripts, len(scripts), processes):
        ordered[i] = (rel, kind, checked)
    return ordered


def check_stream(root: str, scripts: Callable[[], Iterable[tuple[str, Kind]]], total: int,
                 processes: int | None = None) -> Iterator[Result]:
    """:func:`opsctl.lint.content.check_files` on the ``total`` scripts ``scripts()`` gives
    (asked once a process, so it must give the same each time), shared among ``processes``
    (by default :func:`processes_for`): this one and forked children on Linux, a pool of new
    interpreters where forking is not safe. Each result comes with the script's place in the
    stream, in no set order; scripts whose process failed are checked here."""
    return Checking(root, scripts, total, processes).results()


class Checking:
    """A check of scripts' content under way (:func:`check_stream`).

    Where forking is safe, the children start on making: each takes the next :data:`CLAIM`
    scripts from a queue they share with this process (a pipe holding the claims' numbers,
    written whole before the first fork; reads of four bytes from a pipe do not interleave),
    so that a check made early runs beside whatever this process does until it asks for the
    :meth:`results`, and no process waits on another's share at the end.
    """

    def __init__(self, root: str, scripts: Callable[[], Iterable[tuple[str, Kind]]],
                 total: int, processes: int | None = None) -> None:
        self.root, self.scripts, self.total = root, scripts, total
        self.fork = sys.platform.startswith("linux") and hasattr(os, "fork") and \
            _one_thread()
        if processes is None:
            processes = processes_for(total, PER_PROCESS if self.fork else PER_SPAWNED_PROCESS)
        self.processes = max(1, processes) if total else 1
        #: The claims' size and the queue's read end, and how to collect each child's results.
        self.claim, self.queue = CLAIM, -1
        self.children: list[_Child] = []
        if self.fork and self.processes > 1:
            from . import content  # noqa: F401  # loaded once, before the fork: not in each child

            self.claim = max(CLAIM, -(-total // MAX_CLAIMS))
            self.queue = _claims(-(-total // self.claim))
            if self.queue < 0:
                self.processes = 1  # no queue (never on Linux): this process checks them all
            else:
                self.children = [_forked(partial(self._claimed, self.queue, os.getpid()))
                                 for _ in range(1, self.processes)]

    def results(self) -> Iterator[Result]:
        """Every script's result, this process checking what no child claimed first."""
        from .content import check_files

        if self.queue >= 0:
            yield from self._joined()
            return
        processes, scripts, root = self.processes, self.scripts, self.root

        def share(k: int) -> Iterator[list[Result]]:
            """Share ``k`` of ``processes``: every ``processes``-th script from the ``k``-th,
            checked a chunk at a time."""
            places = count(k, processes)
            mine = islice(scripts(), k, None, processes)
            while chunk := list(islice(mine, CHUNK)):
                # The results first: zip would take a place too many from a longer first.
                yield [(i, *done) for done, i in zip(check_files(root, chunk), places,
                                                     strict=False)]

        if not self.total:
            return
        if processes == 1:
            for part in share(0):
                yield from part
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # New interpreters: no fork here, or forking a process that runs threads is not
        # safe. Each share is handed over whole.
        spawn = multiprocessing.get_context("spawn")
        shares = [list(islice(scripts(), k, None, processes)) for k in range(processes)]
        with ProcessPoolExecutor(processes - 1, mp_context=spawn) as pool:
            futures = [pool.submit(check_files, root, shares[k]) for k in range(1, processes)]
            for part in share(0):
                yield from part
            for k, future in enumerate(futures, 1):
                for i, done in zip(count(k, processes), future.result()):
                    yield (i, *done)

    def _joined(self) -> Iterator[Result]:
        """This process's claims, then the children's results; a child that failed leaves
        its scripts to this process, found by what no one gave. Stopped early (the reader
        went away), the children are stopped too."""
        given = bytearray(self.total)
        try:
            for part in self._claimed(self.queue):
                for result in part:
                    given[result[0]] = 1
                    yield result
            for child in self.children:
                for part in child() or ():
                    for result in part:
                        given[result[0]] = 1
                        yield result
        finally:
            self.stop()
        if given.count(0):
            from .content import check_files

            missing = compress(enumerate(self.scripts()), map((0).__eq__, given))
            while chunk := list(islice(missing, CHUNK)):
                places = [i for i, _ in chunk]
                yield from ((i, *done) for i, done in
                            zip(places, check_files(self.root, [s for _, s in chunk]),
                                strict=True))

    def stop(self) -> None:
        """Close the queue and stop the children: what they did not give is not read."""
        if self.queue >= 0:
            os.close(self.queue)
            self.queue = -2
        for child in self.children:
            child.stop()

    def _claimed(self, queue: int, parent: int | None = None) -> Iterator[list[Result]]:
        """The results of the claims this process takes from ``queue``, a claim at a time:
        its scripts walked once, skipping what others claimed. A child (of ``parent``) stops
        claiming once its parent is gone: killed, or ended before it asked for the results
        (an interrupted lint), nobody would read them."""
        from .content import check_files

        size, scripts, at = self.claim, iter(self.scripts()), 0
        while (parent is None or os.getppid() == parent) and \
                len(raw := os.read(queue, 4)) == 4:
            start = int.from_bytes(raw, "little") * size
            if start > at:
                next(islice(scripts, start - at - 1, None), None)  # skip the others' claims
            chunk = list(islice(scripts, size))
            at = start + len(chunk)
            yield [(i, *done) for i, done in zip(count(start), check_files(self.root, chunk))]


def _claims(count: int) -> int:
    """A pipe holding the numbers 0 to ``count - 1`` (four bytes each) and then its end: the
    read end, or -1 when the pipe cannot hold them all (nothing may wait to write)."""
    try:
        read, write = os.pipe()
    except OSError:
        return -1
    data = memoryview(b"".join(i.to_bytes(4, "little") for i in range(count)))
    try:
        os.set_blocking(write, False)
        while data:
            data = data[os.write(write, data):]
    except OSError:  # full: a pipe smaller than MAX_CLAIMS claims
        os.close(read)
        return -1
    finally:
        os.close(write)
    return read


def _one_thread() -> bool:
    """Whether this process runs one thread: forking with others running (opsctl embedded in
    a threaded program) could copy a lock another thread holds, so that is left to a pool."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def _forked(work: Callable[[], Iterable[Any]]) -> _Child:
    """Run ``work()`` in a forked child. The child writes each item as a :mod:`marshal`
    frame to a file no name reaches (made and unlinked here: nothing is left behind, whatever
    happens), and leaves with ``os._exit``: no buffers flushed twice, no exit handlers run.
    Calling what is returned waits for the child and gives its items (None when it failed)."""
    folder = os.environ.get("TMPDIR") or "/tmp"
    path = os.path.join(folder, f".opsctl-check-{os.getpid()}-{os.urandom(6).hex()}")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return _Child(-1, -1)
    try:
        os.unlink(path)
        pid = os.fork()
    except OSError:
        os.close(fd)
        return _Child(-1, -1)
    if pid == 0:  # the child
        code = 1
        try:
            for item in work():
                data = marshal.dumps(item)
                view = memoryview(len(data).to_bytes(8, "little") + data)
                while view:
                    view = view[os.write(fd, view):]
            code = 0
        finally:
            os._exit(code)
    return _Child(pid, fd)


class _Child:
    """A forked child of :func:`_forked` (``pid`` -1: none could be made) and the file it
    writes its items to."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd

    def __call__(self) -> Iterator[Any] | None:
        """Wait for the child, then read its items back one at a time; None if it failed."""
        if self.pid < 0:
            return None
        _, status = os.waitpid(self.pid, 0)
        self.pid, fd, self.fd = -1, self.fd, -1
        if status != 0:
            os.close(fd)
            return None
        os.lseek(fd, 0, os.SEEK_SET)
        return _frames(os.fdopen(fd, "rb"))

    def stop(self) -> None:
        """End the child if it still runs, and let its file go."""
        if self.pid >= 0:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = -1
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _frames(file: Any) -> Iterator[Any]:
    """The frames a child wrote (:func:`_forked`), read one at a time, then the file closed."""
    with file:
        while size := file.read(8):
            yield marshal.loads(file.read(int.from_bytes(size, "little")))
