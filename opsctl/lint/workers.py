"""Checking scripts' content over the machine's cores, a few hundred at a time.

:func:`check_stream` runs :func:`opsctl.lint.content.check_files` on a stream of scripts and
hands each result on as it comes, so that neither this process nor a worker ever holds the
results of a whole tree (at 100,000 scripts, a fifth of them in recycle/ and unrecycle/, those
were tens of megabytes). The work is shared among a few processes when there are enough
scripts to pay for starting one (:data:`PER_PROCESS`): forked on Linux (a few milliseconds, the
modules already loaded), each child writing its results a frame at a time to a file of its own
that no name reaches, which this process reads back a frame at a time once the child is done;
a pool of new interpreters elsewhere or while threads run.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import count, islice

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
    stream, in no set order; a share whose process failed is checked here."""
    if not total:
        return
    from .content import check_files

    fork = sys.platform.startswith("linux") and hasattr(os, "fork") and _one_thread()
    if processes is None:
        processes = processes_for(total, PER_PROCESS if fork else PER_SPAWNED_PROCESS)
    processes = max(1, processes)

    def share(k: int) -> Iterator[list[Result]]:
        """Share ``k`` of ``processes``: every ``processes``-th script from the ``k``-th,
        checked a chunk at a time."""
        places = count(k, processes)
        mine = islice(scripts(), k, None, processes)
        while chunk := list(islice(mine, CHUNK)):
            # The results first: zip would take a place too many from a longer first.
            yield [(i, *done) for done, i in zip(check_files(root, chunk), places, strict=False)]

    if processes == 1:
        for part in share(0):
            yield from part
        return
    if fork:
        others = [_forked(partial(share, k)) for k in range(1, processes)]
        for part in share(0):
            yield from part
        for k, collect in enumerate(others, 1):
            parts = collect()
            for part in share(k) if parts is None else parts:
                yield from part
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # New interpreters: forking a process that runs threads is not safe. Off Linux only, so
    # each share is handed over whole.
    spawn = multiprocessing.get_context("spawn")
    shares = [list(islice(scripts(), k, None, processes)) for k in range(processes)]
    with ProcessPoolExecutor(processes - 1, mp_context=spawn) as pool:
        futures = [pool.submit(check_files, root, shares[k]) for k in range(1, processes)]
        for part in share(0):
            yield from part
        for k, future in enumerate(futures, 1):
            for i, done in zip(count(k, processes), future.result()):
                yield (i, *done)


def _one_thread() -> bool:
    """Whether this process runs one thread: forking with others running (opsctl embedded in
    a threaded program) could copy a lock another thread holds, so that is left to a pool."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def _forked(work: Callable[[], Iterable[Any]]) -> Callable[[], Iterator[Any] | None]:
    """Run ``work()`` in a forked child; returns how to collect what it gave (None when the
    child failed). The child writes each item as a :mod:`marshal` frame to a file no name
    reaches (made and unlinked here: nothing is left behind, whatever happens), and leaves
    with ``os._exit``: no buffers flushed twice, no exit handlers run. Collecting waits for
    the child, then reads the frames back one at a time."""
    folder = os.environ.get("TMPDIR") or "/tmp"
    path = os.path.join(folder, f".opsctl-check-{os.getpid()}-{os.urandom(6).hex()}")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return lambda: None
    try:
        os.unlink(path)
        pid = os.fork()
    except OSError:
        os.close(fd)
        return lambda: None
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

    def collect() -> Iterator[Any] | None:
        _, status = os.waitpid(pid, 0)
        if status != 0:
            os.close(fd)
            return None
        os.lseek(fd, 0, os.SEEK_SET)
        return _frames(os.fdopen(fd, "rb"))

    return collect


def _frames(file: Any) -> Iterator[Any]:
    """The frames a child wrote (:func:`_forked`), read one at a time, then the file closed."""
    with file:
        while size := file.read(8):
            yield marshal.loads(file.read(int.from_bytes(size, "little")))
