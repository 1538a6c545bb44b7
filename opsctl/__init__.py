"""opsctl: keep a Flask project's offline scripts named, small and safe to run.

The script API (:func:`current_run`, :func:`track`, :func:`report`, :func:`batches`,
:func:`rows`, :func:`run_directly`) is exported lazily, so ``import opsctl`` (and so ``opsctl
--help``) stays free of Flask, SQLAlchemy and rich; so are a run's Blinker signals
(:data:`run_started`, :data:`run_finished`, :data:`run_checkpoint`, :mod:`opsctl.run.events`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

    from .cli.direct import run_directly
    from .run.api import CurrentRun, batches, current_run, report, rows, track
    from .run.events import run_checkpoint, run_finished, run_started

__all__ = ["CurrentRun", "batches", "current_run", "report", "rows", "run_checkpoint",
           "run_directly", "run_finished", "run_started", "track"]
_EVENTS = ("run_checkpoint", "run_finished", "run_started")


def __getattr__(name: str) -> Any:
    if name == "run_directly":
        from .cli.direct import run_directly

        return run_directly
    if name in _EVENTS:
        from .run import events

        return getattr(events, name)
    if name in __all__:
        from .run import api

        return getattr(api, name)
    raise AttributeError(f"module 'opsctl' has no attribute {name!r}")
