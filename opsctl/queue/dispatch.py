"""Asking a queue's workers for a run (``opsctl run --queue NAME``), following it to its end
(``--wait-result``), and cancelling it while it is still queued.

The queue is reached before anything is recorded: a Redis or broker that is down is one line
and exit 84, with nothing ``queued`` in the ledger. The row then records who asked, why, the
arguments (secrets redacted by name: the script is not imported here), the git revision and
the script's sha256; the job carries the arguments as given, which the worker needs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .. import output
from ..errors import CANCELLED, PAUSED, stopped_code
from .targets import Target, target
from .worker import FORMAT, job_id

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..catalogue import Script
    from ..ledger.store import Ledger
    from ..ledger.values import Run
    from ..project import Project
    from ..run.args import RunOptions
    from .targets import Engine

#: How often ``--wait-result`` looks at the run.
FOLLOW_POLL_SECONDS = 0.2
#: The note of a queued row that says where its job is (:func:`queued_note`).
NOTE_PREFIX = "queued on "


def engine_of(found: Target) -> Engine:
    """The module that speaks to ``found``'s engine."""
    if found.engine == "rq":
        from . import rq

        return rq
    from . import celery

    return celery


def importable(project: Project) -> None:
    """The project's modules importable (a ``celery://`` app is one), as for a run."""
    import sys

    if project.dir_path not in sys.path:
        sys.path.insert(0, project.dir_path)


def dispatch(project: Project, script: Script | None, args: Sequence[str],
             options: RunOptions, queue: str, *, allow_changed: bool = False) -> Run:
    """Record a run of ``script`` as ``queued`` and put its job on ``queue``; the run. With
    ``--resume``, the run resumed names the script when none is given, and its arguments
    (:mod:`opsctl.run.resume`); the worker resumes that very run."""
    from ..catalogue import printable
    from ..errors import QueueUnreachable
    from ..gitops import GitProbe
    from ..ledger.store import open_ledger
    from ..ledger.values import Process
    from ..run.locks import run_once_refused
    from ..run.script import compile_script
    from ..run.secrets import redact

    found = target(project.config.queues, queue)
    engine = engine_of(found)
    importable(project)
    git = GitProbe(project.dir)
    try:
        engine.reachable(found)
        with open_ledger(project.config) as ledger:
            resumed = None
            if options.resume is not None:
                script, args, options, resumed = _resuming(ledger, project, script, args,
                                                           options)
            assert script is not None
            entry = compile_script(script)
            key = printable(script.key)
            if script.kind == "unrecycle" and not options.force:
                done = ledger.once_blocker(key)
                if done is not None and (resumed is None or done.id != resumed):
                    raise run_once_refused(script, done)
            revision, dirty = git.result()
            process = Process.current(project.identity.name)
            job = job_id()
            run = ledger.enqueue(script=key, process=process, sha256=entry.sha256,
                                 args=redact(args, project.config.secret_options),
                                 dry_run=options.dry_run, git_revision=revision,
                                 git_dirty=dirty, reason=options.reason,
                                 notes=[queued_note(found.name, job, process)])
            payload = payload_of(project, key, args, options, run, allow_changed)
            if resumed is not None and _resumes_shard(ledger, resumed, run, process):
                payload["shard"] = True
            try:
                engine.enqueue(found, payload, job)
            except QueueUnreachable as exc:
                ledger.drop_queued(run.id, exit_code=exc.exit_code,
                                   error=f"not queued: {exc.message}")
                raise
            except BaseException as exc:  # Ctrl-C, or the engine's own error: not queued
                ledger.drop_queued(run.id, exit_code=stopped_code(exc),
                                   error=f"not queued: interrupted ({type(exc).__name__}) "
                                         "before its job was queued")
                raise
    finally:
        git.close()
    return run


def _resumes_shard(ledger: Ledger, resumed: int, run: Run, process: Any) -> bool:
    """Whether ``run`` resumes a shard of a sharded run, and goes on as that shard
    (:meth:`~opsctl.ledger.sharded.Sharded.relink`); a run that cannot is not queued."""
    from ..errors import LockHeld
    from ..ledger.values import LockBusy

    try:
        return ledger.relink(resumed, run.id, process=process)
    except LockBusy as busy:
        why = (f"run {resumed} is a shard of a sharded run that has ended, and the script is "
               f"locked by {busy.holder.describe()}; resume it once that run has ended")
        ledger.drop_queued(run.id, exit_code=LockHeld.exit_code, error=f"not queued: {why}")
        raise LockHeld(why) from None


def _resuming(ledger: Ledger, project: Project, script: Script | None, args: Sequence[str],
              options: RunOptions) -> tuple[Script, list[str], RunOptions, int]:
    """``--resume``: the script, arguments and options of the new run, and the run it
    resumes (named by its id in what the worker gets)."""
    from ..run.resume import resumed

    found, options = resumed(ledger, project.catalogue, script, list(args), options,
                             shards=True)
    return found.script, found.args, options._replace(resume=str(found.run.id)), found.run.id


def queued_note(queue: str, job: str, process: Any) -> str:
    return f"{NOTE_PREFIX}{queue} as job {job} by {process.operator} on {process.host}"


#: RunOptions that stay with the asking process: how it was called, and (on the worker) the
#: queued run it starts.
LOCAL_OPTIONS = ("script_info", "prog", "app_source", "queued", "no_ledger", "own_process")


def payload_of(project: Project, key: str, args: Sequence[str], options: RunOptions,
               run: Run, allow_changed: bool) -> dict[str, Any]:
    """What the worker gets: the run's row and its ledger, where the project is, the script,
    its arguments as given, and opsctl run's options (every one but :data:`LOCAL_OPTIONS`)."""
    from ..ledger.engine import display_url

    given = {k: v for k, v in options._asdict().items() if k not in LOCAL_OPTIONS}
    return {"format": FORMAT, "run_id": run.id, "project": project.dir_path, "script": key,
            "ledger": display_url(project.config.effective_ledger_url),
            "args": list(args), "sha256": run.sha256, "allow_changed": allow_changed,
            "options": given}


def job_of(run: Run) -> tuple[str, str] | None:
    """``(queue, job id)`` of a queued run, from the note written when it was asked for."""
    for note in run.notes:
        if note.startswith(NOTE_PREFIX):
            queue, _, rest = note[len(NOTE_PREFIX):].partition(" as job ")
            return queue, rest.split(" ", 1)[0]
    return None


def cancel_queued(project: Project, ledger: Ledger, run_id: int, operator: str, *,
                  pause: bool = False) -> Run | None:
    """Cancel run ``run_id`` if it is queued: marked ``cancelled`` (``paused`` with
    ``pause``: a shard of a sharded run paused; a worker that gets its job skips it) and its
    job taken off the queue. The run as it is now (unchanged when it was not queued); None
    when there is no such run."""
    from ..errors import OpsctlError

    run = ledger.run(run_id)
    if run is None or run.status != "queued":
        return run
    run = ledger.pause_queued(run_id, operator=operator) if pause else \
        ledger.cancel_queued(run_id, operator=operator)
    where = job_of(run) if run is not None else None
    if run is None or run.status != ("paused" if pause else "cancelled") or where is None:
        return run
    try:
        found = target(project.config.queues, where[0])
        importable(project)
        engine_of(found).remove(found, where[1])
    except OpsctlError as exc:  # the ledger says cancelled: a worker skips it all the same
        output.warn(f"run {run_id} is {run.status}, but its job stays on queue {where[0]} until "
                    f"a worker skips it ({exc.format_message()})")
    return run


def cancel_if_queued(project: Project, ledger: Ledger, run_id: int,
                     operator: str) -> str | None:
    """``opsctl cancel`` of a run still queued: cancelled (:func:`cancel_queued`), and the
    line that says so; None when the run is not queued (a running run is asked to stop at
    its next batch boundary instead)."""
    before = ledger.run(run_id)
    if before is None or before.status != "queued":
        return None
    run = cancel_queued(project, ledger, run_id, operator)
    if run is None or run.status != "cancelled":
        return None  # a worker started it meanwhile
    return (f"run {run.id} ({run.script}) is cancelled: it was still queued, so it never "
            "ran and never will")


def follow(project: Project, ledger: Ledger, run: Run) -> int:
    """``--wait-result``: wait while ``run`` is queued, then to its end: in a terminal with
    the live progress of ``history --run ID --follow`` (:mod:`opsctl.follow`), in a pipe
    quietly; then its end in one line. Its exit code (80 paused, 81 cancelled, 1 lost)."""
    from .. import progress as headway

    while True:
        now = ledger.run(run.id)
        if now is None:
            return 1
        if now.status != "queued" and (now.status != "running" or output.is_terminal()):
            break
        if now.status == "running":  # a worker that died leaves it so: marked lost here
            ledger.reap()
        time.sleep(FOLLOW_POLL_SECONDS)
    if now.status == "running":
        from ..follow import follow_run

        follow_run(project, run.id)  # says how it ended
        now = ledger.run(run.id) or now
    else:
        # A sharded run's progress: its shards' summed.
        output.echo(headway.end_line(now, ledger.progress_of([now.id]).get(now.id)))
    if now.exit_code is not None:
        return now.exit_code
    return {"paused": PAUSED, "cancelled": CANCELLED}.get(now.status, 1)


def asked(project: Project, script: Script | None, args: Sequence[str], options: RunOptions,
          queue: str, *, wait_result: bool = False, allow_changed: bool = False) -> int:
    """``opsctl run --queue``: dispatch, print the run's id on stdout, and with
    ``wait_result`` follow it; the exit code."""
    import click

    from ..ledger.store import open_ledger

    run = dispatch(project, script, args, options, queue, allow_changed=allow_changed)
    click.echo(str(run.id))
    output.note(f"opsctl: run {run.id} of {run.script} queued on {queue}; "
                f"opsctl history --run {run.id} shows it")
    if not wait_result:
        return 0
    with open_ledger(project.config) as ledger:
        return follow(project, ledger, run)
