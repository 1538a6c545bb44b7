"""What the dashboard's buttons do, through the domain functions the CLI uses: start a run
by handing it to a queue's workers (:func:`opsctl.queue.dispatch.dispatch`, as ``opsctl run
--queue`` does: a web request never runs a script in the web process), resume a paused or
interrupted run the same way (``--resume``), pause and cancel a running run
(:func:`opsctl.stops.ask`, as ``opsctl pause``/``cancel`` do) and cancel a queued one
(:func:`opsctl.queue.dispatch.cancel_queued`).

The operator recorded is the web user and the request's address, never the web server's OS
user: the project's identity is set to it for the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..ledger.store import Ledger
    from ..ledger.values import Run
    from ..project import Project


def queues_of(project: Project) -> list[str]:
    """The queues the project names (``[tool.opsctl.queues]``); none: no actions."""
    return sorted(project.config.queues)


def acting_as(project: Project, operator: str) -> None:
    """Record what ``project`` does under ``operator``."""
    from ..identity import Identity

    project.identity = Identity(operator, "the web dashboard", False)


def start(project: Project, script: Script, args: list[str], *, queue: str, dry_run: bool,
          reason: str | None, confirmed: bool, operator: str) -> Run:
    """Queue a run of ``script``; ``confirmed``: the operator typed the script's name, so a
    protected environment runs it (``--yes``); otherwise the worker refuses it there."""
    from ..queue.dispatch import dispatch
    from ..run.args import RunOptions

    acting_as(project, operator)
    options = RunOptions(dry_run=dry_run, reason=reason or None, yes=confirmed,
                         prog="the web dashboard")
    return dispatch(project, script, args, options, queue)


def resume(project: Project, run: Run, *, queue: str, confirmed: bool, operator: str) -> Run:
    """Queue the resumption of ``run`` (its arguments, reason and dryness carry over)."""
    from ..queue.dispatch import dispatch
    from ..run.args import RunOptions

    acting_as(project, operator)
    options = RunOptions(resume=str(run.id), yes=confirmed, prog="the web dashboard")
    return dispatch(project, None, [], options, queue)


def stop(project: Project, ledger: Ledger, run: Run, action: str, operator: str) -> str:
    """Pause or cancel ``run``: a queued one is cancelled off its queue; a running one is
    asked to stop at its next batch boundary. What happened, in one line."""
    from ..queue.dispatch import cancel_if_queued
    from ..queue.shards import stop_sharded
    from ..stops import ask

    sharded = stop_sharded(project, ledger, run.id, action, operator)
    if sharded is not None:
        return "; ".join(line.strip() for line in sharded)
    if action == "cancel" and run.status == "queued":
        line = cancel_if_queued(project, ledger, run.id, operator)
        if line is not None:
            return line
    return ask(ledger, run.id, action, operator=operator).describe()
