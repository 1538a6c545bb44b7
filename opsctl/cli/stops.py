"""``opsctl pause`` and ``opsctl cancel``: ask a running run to stop at its next batch
boundary (:mod:`opsctl.stops`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .. import output
from .params import pass_project

if TYPE_CHECKING:
    from ..project import Project

_WAIT = click.option("--wait", is_flag=True,
                     help="Wait until the run has stopped; exit 0 once it is paused or "
                     "cancelled, 82 if it ended otherwise.")


def _stop(project: Project, run_id: int, action: str, wait: bool) -> None:
    from .. import stops

    ledger = stops.open_ledger_of(project)
    try:
        if ledger is not None:
            from ..queue.shards import stop_sharded

            lines = stop_sharded(project, ledger, run_id, action, project.identity.name)
            if lines is not None:
                output.echo("\n".join(lines))
                if wait:
                    output.echo(stops.stopped(*stops.wait(ledger, run_id), action))
                return
        if action == "cancel" and ledger is not None:
            from ..queue.dispatch import cancel_if_queued

            line = cancel_if_queued(project, ledger, run_id, project.identity.name)
            if line is not None:  # it never started: nothing to wait for
                output.echo(line)
                return
        asked = stops.ask(ledger, run_id, action, operator=project.identity.name)
        output.echo(asked.describe())
        if wait and ledger is not None:
            output.echo(stops.stopped(*stops.wait(ledger, run_id), action))
    finally:
        if ledger is not None:
            ledger.close()


@click.command("pause")
@click.argument("run_id", type=int, metavar="RUN_ID")
@_WAIT
@pass_project
def pause_command(project: Project, run_id: int, wait: bool) -> None:
    """Pause a running run at its next batch boundary; resume it later.

    Works from any machine that shares the ledger. The run ends paused (exit 80) when its
    script asks for its next batch (batches() or track()); opsctl run --resume RUN_ID
    goes on from there.

    \b
      opsctl pause 12
      opsctl pause 12 --wait
    """
    _stop(project, run_id, "pause", wait)


@click.command("cancel")
@click.argument("run_id", type=int, metavar="RUN_ID")
@_WAIT
@pass_project
def cancel_command(project: Project, run_id: int, wait: bool) -> None:
    """Cancel a running run at its next batch boundary, for good; a queued one at once.

    Works from any machine that shares the ledger. The run ends cancelled (exit 81) when
    its script asks for its next batch (batches() or track()); it cannot be resumed. A run
    still queued (run --queue) is cancelled at once and taken off its queue: it never runs.

    \b
      opsctl cancel 12
      opsctl cancel 12 --wait
    """
    _stop(project, run_id, "cancel", wait)
