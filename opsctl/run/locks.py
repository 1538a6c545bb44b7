"""Who may start a run, and starting it: run-once for ``unrecycle/`` scripts, the script's
lock in the ledger (held: refused at once, or waited for with ``--wait``), the run's row written
with the lock taken, and the local lock that keeps ``--no-ledger`` runs on one machine apart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .. import output
from ..errors import LockHeld, RunOnceRefused, ScriptChanged

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..ledger.store import Ledger
    from ..ledger.values import Process, Run
    from ..project import Project
    from .args import RunOptions
    from .script import EntryPoint
    from .signals import Interrupts

#: How often a waiting run looks at the lock again.
WAIT_POLL_SECONDS = 0.5


def start_run(ledger: Ledger, key: str, process: Process, stored_args: list[str],
              entry: EntryPoint, options: RunOptions, revision: str | None, dirty: bool | None,
              environment: str, script: Script, interrupts: Interrupts, once: bool,
              notes: Sequence[str] = ()) -> Run:
    from ..ledger.values import AlreadySucceeded, LockBusy

    deadline = _deadline(options.wait)
    while True:
        # Held from the row's start until the script is called (_execute resumes): a signal
        # in between is raised there, where it ends the run as interrupted.
        interrupts.hold()
        try:
            if options.queued is not None and options.queued.shard:  # its parent's lock
                run = ledger.start_shard(options.queued.run_id, process=process,
                                         environment=environment, notes=notes)
            elif options.queued is not None:  # on a worker: the row asked for starts
                run = ledger.start_queued(options.queued.run_id, process=process,
                                          environment=environment, once=once, notes=notes)
            else:
                run = ledger.start(script=key, process=process, args=stored_args,
                                   sha256=entry.sha256, dry_run=options.dry_run,
                                   git_revision=revision, git_dirty=dirty,
                                   environment=environment, reason=options.reason, once=once,
                                   notes=notes)
        except AlreadySucceeded as done:
            interrupts.resume()
            raise run_once_refused(script, done.run) from None
        except LockBusy as busy:
            interrupts.resume()
            if deadline is None or time.monotonic() >= deadline:
                raise _lock_held(script, busy.holder.describe(), options) from None
            time.sleep(WAIT_POLL_SECONDS)
            continue
        except BaseException:
            interrupts.resume()
            raise
        return run


def check_once(ledger: Ledger, key: str, script: Script, resumed_run: int | None) -> bool:
    """Run-once for a one-off fix (``unrecycle/``, no ``--force``): refused when it already
    succeeded or its last run's outcome is unknown. Whether the run still starts as a
    one-off: not when it resumes that unknown run (its checkpoint says how far it got)."""
    done = ledger.once_blocker(key)
    if done is None:
        return True
    if done.id == resumed_run:
        return False
    raise run_once_refused(script, done)


def check_unchanged(entry: EntryPoint, options: RunOptions) -> None:
    """On a worker: refuse a queued run whose script changed since it was asked for (its
    sha256 differs), unless it was asked with ``--allow-changed``."""
    queued = options.queued
    if queued is None or queued.allow_changed or entry.sha256 == queued.sha256:
        return
    raise ScriptChanged(
        f"{entry.script.display} changed since run {queued.run_id} was queued (sha256 "
        f"{queued.sha256[:12]} when asked, {entry.sha256[:12]} now); ask again, or ask with "
        "--allow-changed to run whatever the worker has")


def run_once_refused(script: Script, done: Run) -> RunOnceRefused:
    """The refusal of a one-off fix that succeeded, or whose last run may have: its outcome
    is unknown (``lost``, or ``running`` with its process gone)."""
    from ..output import local

    if done.status == "succeeded":
        return RunOnceRefused(
            f"{script.display} already succeeded (run {done.id} by {done.operator}, "
            f"{local(done.started_at)}); unrecycle/ scripts are one-off fixes: pass --force to "
            "run it again")
    how = ("its process ended without recording how" if done.status == "lost"
           else "it is still marked running, but its process is gone")
    return RunOnceRefused(
        f"the outcome of run {done.id} of {script.display} is unknown (by {done.operator}, "
        f"{local(done.started_at)}: {how}); it may have applied its fix: see opsctl history "
        f"--run {done.id} and check the data, then pass --force to run it again")


def wait_for_lock(ledger: Ledger, key: str, script: Script, options: RunOptions,
                  interrupts: Interrupts) -> None:
    """Refuse at once when a live run holds the lock, or wait for it with ``--wait``."""
    deadline = _deadline(options.wait)
    told = False
    while True:
        holder = ledger.holder(key)
        if holder is None:
            return
        if deadline is None or time.monotonic() >= deadline:
            raise _lock_held(script, holder.describe(), options)
        if not told:
            output.note(f"opsctl: {script.display} is locked by {holder.describe()}; waiting")
            told = True
        time.sleep(WAIT_POLL_SECONDS)


def _deadline(wait: float | None) -> float | None:
    if wait is None:
        return None
    return float("inf") if wait == float("inf") else time.monotonic() + wait


def _lock_held(script: Script, holder: str, options: RunOptions) -> LockHeld:
    hint = ("it is still running; try again later" if options.wait is not None
            else "wait for it with --wait [SECONDS], or try again later")
    waited = f" after waiting {options.wait:g} s" if options.wait not in (None, 0) else ""
    return LockHeld(f"{script.display} is locked by {holder}{waited}; {hint}")


@contextmanager
def local_lock(project: Project, key: str, options: RunOptions) -> Iterator[object]:
    """Without a ledger, still keep two runs on this machine apart (an OS file lock, released
    by the kernel when the process dies)."""
    import hashlib
    import tempfile

    try:
        import fcntl
    except ImportError:  # Windows: no flock; say so rather than pretend
        output.warn("--no-ledger: no lock on this platform; make sure the script is not "
                    "already running")
        yield None
        return
    # The real folder: one project reached two ways (a symlink, a relative --project) is one
    # lock.
    real = os.path.realpath(project.dir_path)
    digest = hashlib.sha256(f"{real}\0{key}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"opsctl-{digest}.lock"
    output.warn("--no-ledger: this run is not recorded, run-once is not checked, and the "
                "lock holds on this machine only")
    with open(path, "a+", encoding="utf-8") as fh:
        deadline = _deadline(options.wait)
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is None or time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    raise LockHeld(f"{key} is locked by {holder} on this machine (--no-ledger "
                                   "lock); wait for it with --wait, or try again later") \
                        from None
                time.sleep(WAIT_POLL_SECONDS)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
