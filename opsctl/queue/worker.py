"""What a worker does with a job, whichever engine handed it over: find the project and the
script, and run the queued run through the runner of a local run (:mod:`opsctl.run`), its
row taken from ``queued`` to ``running`` there with the lock.

A run refused on the worker (its script changed since it was asked for, its lock held, run
once, no app, a usage error of the script's own) never started: its queued row ends
``failed`` with the refusal's message and exit code, so nothing stays ``queued`` for ever. A
run cancelled while queued is skipped.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .. import output
from ..errors import LEDGER_UNREACHABLE, stopped_code

if TYPE_CHECKING:
    from ..project import Project

#: The payload's version: a worker refuses a job of a format it does not know.
FORMAT = 1


def run_job(payload: dict[str, Any]) -> int:
    """Run the queued run ``payload`` describes (:func:`.dispatch.payload_of`); its exit
    code: the script's own, or the refusal's."""
    from ..project import Project
    from ..run.args import QueuedStart, RunOptions

    if payload.get("format") != FORMAT:
        output.warn(f"a job of an unknown format ({payload.get('format')!r}); upgrade opsctl "
                    "on this worker")
        return 2
    run_id = int(payload["run_id"])
    project = Project(_project_dir(payload))
    if not _same_ledger(project, payload):
        return LEDGER_UNREACHABLE
    given = payload.get("options") or {}
    unknown = sorted(k for k, v in given.items() if k not in RunOptions._fields and v)
    if unknown:  # asked by a newer opsctl: running without them would not be what was asked
        why = (f"not started on {_host()}: this worker's opsctl does not know the options "
               f"{', '.join(unknown)}; upgrade it")
        output.warn(why)
        _drop(project, run_id, 2, why)
        return 2
    shard = bool(payload.get("shard"))
    options = RunOptions(**{k: v for k, v in given.items() if k in RunOptions._fields},
                         queued=QueuedStart(run_id, payload["sha256"],
                                            bool(payload.get("allow_changed")), shard))
    try:
        return _run(project, run_id, payload, options)
    finally:
        if shard:  # whatever became of it, its parent may end with it
            _close_parent(project, run_id)


def _run(project: Project, run_id: int, payload: dict[str, Any], options: Any) -> int:
    """The run, started here (or refused); its exit code."""
    import click

    from ..errors import OpsctlError
    from ..ledger.queued import NotQueued
    from ..run.runner import run_script

    try:
        script = project.catalogue.resolve(payload["script"], cwd=project.dir)
        code = run_script(project, script, list(payload["args"]), options)
    except NotQueued as gone:
        how = gone.run.status if gone.run is not None else "not in this worker's ledger"
        output.note(f"opsctl: run {run_id} is {how}: skipped")
        return 0
    except (OpsctlError, click.ClickException) as exc:
        exc.show()
        _drop(project, run_id, exc.exit_code, f"not started on {_host()}: {exc.format_message()}")
        return exc.exit_code
    except BaseException as exc:  # not started (a started run ends itself): not queued for ever
        _drop(project, run_id, stopped_code(exc), f"not started on {_host()}: "
              f"{type(exc).__name__} "
              "(its message, which may hold an argument, is in the worker's log)")
        raise
    # A run that did not start (the script's usage error) is dropped; one that did is not
    # queued any more, and this changes nothing.
    _drop(project, run_id, code, f"not started on {_host()}: exited {code} before the "
          "script ran (see the worker's log)")
    return code


def _close_parent(project: Project, run_id: int) -> None:
    """A shard ended (or never started): end its parent if it was the last. Whatever goes
    wrong here is said in one line and the job keeps the shard's own outcome: the shard's
    lock, gone with it, leaves the parent's to reaping."""
    from ..ledger.store import open_ledger

    try:
        with open_ledger(project.config) as ledger:
            ledger.close_parent_of(run_id)
    except Exception as exc:  # a ledger error, or one reading a row it cannot parse
        output.warn(f"the sharded run of run {run_id} could not be ended ({_why(exc)})")


def _why(exc: Exception) -> str:
    """What a ledger error says; another error with its type's name."""
    from ..errors import LedgerUnreachable

    return str(exc) if isinstance(exc, LedgerUnreachable) else f"{type(exc).__name__}: {exc}"


def _same_ledger(project: Project, payload: dict[str, Any]) -> bool:
    """Whether this worker records in the ledger the run was asked in: run ids are a
    ledger's own, so another ledger's row of the same id is another run."""
    from ..ledger.engine import display_url

    here = display_url(project.config.effective_ledger_url)
    if payload.get("ledger") in (None, here):
        return True
    output.warn(f"run {payload['run_id']} was asked for in the ledger at {payload['ledger']}, "
                f"but this worker records in {here}: not run; give the worker the same "
                "ledger_url (OPSCTL_LEDGER_URL)")
    return False


def _project_dir(payload: dict[str, Any]) -> str | None:
    """Where the asking machine had the project, when it is a project here too; else the
    worker's own folder's project."""
    from ..config import is_project_dir

    asked = payload.get("project")
    return asked if isinstance(asked, str) and is_project_dir(asked) else None


def _host() -> str:
    import socket

    return socket.gethostname()


def _drop(project: Project, run_id: int, code: int, error: str) -> None:
    """A run that did not start ends ``failed`` (a shard's parent with it if it was the
    last); whatever goes wrong is said in one line, the job's outcome kept."""
    from ..ledger.store import open_ledger

    try:
        with open_ledger(project.config) as ledger:
            ledger.drop_queued(run_id, exit_code=code, error=error)
    except Exception as exc:  # a ledger error, or one reading a row it cannot parse
        output.warn(f"run {run_id} could not be marked as not started: {_why(exc)}")


def job_id() -> str:
    """A new job's id on its queue: random, since one Redis or broker may serve several
    ledgers, whose run ids meet."""
    return f"opsctl-{os.urandom(8).hex()}"
