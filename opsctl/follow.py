"""``opsctl history --run ID --follow``: a run's progress, live, until it ends.

In a terminal a rich progress bar; in a pipe one plain line per new checkpoint, then the
run's end in one line. It exits with the run's exit code (1 for a run that has none: ``lost``).
The ledger is read afresh at each look (:func:`.history.open_reader`), so a run whose process
died is marked ``lost`` on the way and following ends.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from . import output
from . import progress as headway
from .history import Whole, one_run

if TYPE_CHECKING:
    import datetime as _dt

    from .project import Project

#: How often the ledger is read (at most a second, as a live display wants).
POLL_SECONDS = 0.5
#: The time left is measured over this many of the checkpoints last seen.
RECENT = 20


class Pace:
    """The rate of a run from its recent checkpoints (from its start until there are two)."""

    def __init__(self) -> None:
        self.samples: deque[tuple[_dt.datetime, int]] = deque(maxlen=RECENT)

    def see(self, whole: Whole) -> bool:
        """Take a look's checkpoint in; whether it is a new one."""
        progress = whole.progress
        if progress is None or (self.samples and self.samples[-1][0] == progress.updated_at):
            return False
        self.samples.append((progress.updated_at, progress.done))
        return True

    def rate(self, whole: Whole) -> float | None:
        return headway.rate_of(self.samples) or whole.rate()


def follow_run(project: Project, run_id: int, *, poll: float = POLL_SECONDS) -> int:
    """Show run ``run_id``'s progress until it ends; its exit code."""
    whole = one_run(project, run_id)
    if output.is_terminal():
        whole = _live(project, whole, poll)
    else:
        whole = _lines(project, whole, poll)
    output.echo(headway.end_line(whole.run, whole.progress))
    return 1 if whole.run.exit_code is None else whole.run.exit_code


def _lines(project: Project, whole: Whole, poll: float) -> Whole:
    pace = Pace()
    asked = None
    while whole.run.status in ("queued", "running"):
        progress = whole.progress
        new = pace.see(whole)
        if progress is not None and (new or progress.request != asked):
            asked = progress.request
            output.echo(f"run {whole.run.id}: "
                        f"{headway.text(whole.run, progress, pace.rate(whole))}")
        time.sleep(poll)
        whole = one_run(project, whole.run.id)
    return whole


def _live(project: Project, whole: Whole, poll: float) -> Whole:
    from rich.progress import BarColumn, Progress, TextColumn

    pace = Pace()
    run = whole.run
    columns = (TextColumn(f"run {run.id} {run.script}"), BarColumn(),
               TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=output.console(), transient=True) as bar:
        task = bar.add_task("", total=None, note="no batch yet")
        while whole.run.status in ("queued", "running"):
            progress = whole.progress
            pace.see(whole)
            if progress is not None:
                bar.update(task, total=progress.total, completed=progress.done,
                           note=headway.text(whole.run, progress, pace.rate(whole)))
            time.sleep(poll)
            whole = one_run(project, run.id)
    return whole
