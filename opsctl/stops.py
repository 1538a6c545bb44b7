"""``opsctl pause`` and ``opsctl cancel``: asking a running run to stop at its next batch
boundary, from any machine that shares the ledger, and waiting until it has.

The ask is a column of the run's progress row (:meth:`~.ledger.progress.Checkpoints.request`);
the running process reads it when its script asks for the next batch, and ends the run
``paused`` (exit 80, resumable) or ``cancelled`` (exit 81) itself. So only a run that has
recorded a batch (``batches()`` or ``track()``) is asked: any other has no boundary to stop
at, and is told so rather than left waiting for a stop that never comes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

from . import progress as headway
from .errors import NoBatches, NotRunning, RunNotFound

if TYPE_CHECKING:
    from .ledger.store import Ledger
    from .ledger.values import Progress, Run
    from .project import Project

#: The status a run ends with when it honours each ask.
ENDS = {"pause": "paused", "cancel": "cancelled"}
#: How often ``--wait`` looks at the run.
POLL_SECONDS = 0.5


class Asked(NamedTuple):
    """A stop asked of a running run; ``replaced``: another stop asked before it (by
    ``replaced_by``), which this one replaces."""

    run: Run
    action: str
    replaced: str | None = None
    replaced_by: str | None = None

    def describe(self) -> str:
        """What will happen, in one line."""
        run = self.run
        if self.action == "pause":
            line = (f"run {run.id} ({run.script}) will pause at its next batch boundary; "
                    f"resume it with: opsctl run --resume {run.id}")
        else:
            line = (f"run {run.id} ({run.script}) will be cancelled at its next batch "
                    "boundary (a cancelled run cannot be resumed)")
        if self.replaced:
            by = f" by {self.replaced_by}" if self.replaced_by else ""
            line += f"; this replaces the {self.replaced} asked{by}"
        return line


def open_ledger_of(project: Project) -> Ledger | None:
    """The project's ledger, with dead runs marked ``lost``; None when there is none."""
    from .ledger.facts import ledger_exists

    if not ledger_exists(project.config):
        return None
    from .ledger.store import open_ledger

    ledger = open_ledger(project.config, create=False)
    if ledger.has_schema:
        ledger.reap()
    return ledger


def ask(ledger: Ledger | None, run_id: int, action: str, *, operator: str) -> Asked:
    """Ask run ``run_id`` to stop (``action``: ``"pause"`` or ``"cancel"``) at its next batch
    boundary. Refuses, asking nothing, a run the ledger does not have
    (:class:`RunNotFound`), one that is not running (:class:`NotRunning`) and one that has
    recorded no batch (:class:`NoBatches`)."""
    run = ledger.run(run_id) if ledger is not None else None
    if ledger is None or run is None:
        raise RunNotFound(f"no run {run_id} in the ledger; 'opsctl history' lists the runs")
    if run.status != "running":
        raise _not_running(run, action)
    before = ledger.progress(run_id)
    if before is None:
        raise NoBatches(f"run {run_id} ({run.script}) has recorded no batch: only a script "
                        "looping over batches() or track() stops at a batch boundary, and "
                        f"this one has reached none; nothing asked (Ctrl-C or SIGTERM to pid "
                        f"{run.pid} on {run.host} interrupts it)")
    now = ledger.request(run_id, action, operator=operator)
    if now is None:  # deleted meanwhile: only a test does that
        raise RunNotFound(f"no run {run_id} in the ledger; 'opsctl history' lists the runs")
    if now.status != "running":  # it ended between the two reads
        raise _not_running(now, action)
    if before.request and before.request != action:
        return Asked(now, action, before.request, before.requested_by)
    return Asked(now, action)


def _not_running(run: Run, action: str) -> NotRunning:
    code = "" if run.exit_code is None else f", exit {run.exit_code}"
    return NotRunning(f"run {run.id} ({run.script}) is not running: it ended {run.status}"
                      f"{code}; nothing to {action}")


def wait(ledger: Ledger, run_id: int, *,
         poll: float = POLL_SECONDS) -> tuple[Run, Progress | None]:
    """Wait until run ``run_id`` is no longer running (a dead one is marked ``lost`` on the
    way); the run as it ended, and its progress."""
    while True:
        ledger.reap()
        run = ledger.run(run_id)
        if run is None:
            raise RunNotFound(f"no run {run_id} in the ledger; 'opsctl history' lists the runs")
        if run.status != "running":
            return run, ledger.progress_of([run_id]).get(run_id)  # a sharded run's: summed
        time.sleep(poll)


def stopped(run: Run, progress: Progress | None, action: str) -> str:
    """The line a run's end gets after ``--wait``; :class:`NotRunning` when it ended
    otherwise than stopped at a boundary (paused or cancelled: either answers the ask)."""
    line = headway.end_line(run, progress)
    if run.status not in ENDS.values():
        raise NotRunning(f"{line}: it ended before its next batch boundary, not "
                         f"{ENDS[action]}")
    return line
