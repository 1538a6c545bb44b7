"""What a script can ask of opsctl while it runs: the current run, a progress bar, a summary.

Scripts import these from ``opsctl`` itself::

    from opsctl import batches, current_run, report, rows, track

    run = current_run()            # .id, .operator, .dry_run, .reason, .script, .environment
    for order in track(orders, description="orders"):
        ...
    for batch in batches(select(Order), size=500):   # checkpointed: resumable
        ...
    report(rows_updated=1234, file="orders.csv", done=run.progress.done)

:func:`batches` and :func:`rows` live in :mod:`.batches`; a run's progress (``run.progress``,
what ``track()`` records) in :mod:`.course`.

Outside a run (a unit test importing the script), :func:`current_run` raises a clear
:class:`RuntimeError`; :func:`track` just iterates and :func:`report` keeps the values in
memory, so code using them stays testable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from . import course as courses
from .batches import batches, rows
from .course import RunProgress

T = TypeVar("T")

__all__ = ["CurrentRun", "batches", "current_run", "report", "rows", "track"]


@dataclass(frozen=True)
class CurrentRun:
    """The run a script is part of. ``id`` is None when run with ``--no-ledger``."""

    id: int | None
    script: str
    operator: str
    dry_run: bool
    reason: str | None
    environment: str

    @property
    def progress(self) -> RunProgress:
        """Items ``done`` (a resumed run's predecessors' included), their ``total`` when
        counted, and the ``cursor`` the next batch starts from."""
        course = courses.current()
        return course.progress if course is not None else RunProgress()


_current: CurrentRun | None = None
_summary: dict[str, Any] = {}
#: Where progress bars draw: the real terminal, not the stream whose tail the ledger keeps.
_progress_stream: IO[str] | None = None


def current_run() -> CurrentRun:
    """The run this script is part of; raises RuntimeError outside ``opsctl run``."""
    if _current is None:
        raise RuntimeError(
            "opsctl.current_run() is only available while a script runs under 'opsctl run' "
            "(or 'python <script>.py' through opsctl.run_directly); in a test, don't call it, "
            "or patch opsctl.run.api._current with a CurrentRun")
    return _current


def track(iterable: Iterable[T], description: str = "Working...",
          total: float | None = None) -> Iterator[T]:
    """Iterate ``iterable`` with a progress bar when a terminal shows it, silently otherwise.

    In a run, the items done (and ``total``, or the iterable's length) are recorded in the
    ledger at most once a second and at the end (unless a :func:`batches` loop records the
    run's progress).
    """
    stream = _progress_stream or sys.stderr
    course = courses.current()
    if course is not None:
        if total is None:  # read before the iterable is wrapped (the bar needs it too)
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        iterable = _recorded(iterable, course, total)
    if not _is_terminal(stream):
        yield from iterable
        return
    from .progress import tracked

    yield from tracked(iterable, stream, description, total, bool(os.environ.get("NO_COLOR")))


def _recorded(iterable: Iterable[T], course: courses.Course,
              total: float | None) -> Iterator[T]:
    whole = None if total is None else int(total)
    done = 0
    course.tracked(0, whole, first=True)
    for item in iterable:
        yield item
        done += 1
        course.tracked(done, whole)
    course.tracked(done, whole, last=True)


def report(**summary: Any) -> None:
    """Record values for the run's summary (stored as JSON, shown by ``opsctl history``).

    Later calls add to or replace earlier keys.
    """
    _summary.update(summary)


def in_run() -> bool:
    """Whether a run is in progress in this process."""
    return _current is not None


def _is_terminal(stream: IO[str]) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------------- for the runner only


def _begin(run: CurrentRun, progress_stream: IO[str] | None) -> None:
    global _current, _progress_stream
    _current = run
    _progress_stream = progress_stream
    _summary.clear()


def _end() -> dict[str, Any]:
    """Forget the current run; returns the summary it reported."""
    global _current, _progress_stream
    _current = None
    _progress_stream = None
    summary = dict(_summary)
    _summary.clear()
    return summary
