"""Runs asked of a queue's workers (``opsctl run --queue``): the row written ``queued`` when
the run is asked for, taken to ``running`` with the script's lock by the worker that starts
it (the same row: a queued run never gets a second one), and a queued run cancelled or
dropped before it started.

A queued row holds no lock: the lock, run-once and everything else are checked when a
worker starts it, as for a local run. Its ``started_at`` is when it was asked for until
then, and when it started from then on; who asked stays its ``operator``, and the worker's
host and pid replace the asking machine's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from . import rows
from .core import guarded
from .progress import Checkpoints
from .schema import RUNS
from .values import Process, Run
from .writes import _run_values


class NotQueued(Exception):
    """:meth:`Queued.start_queued`: the run is no longer queued (cancelled, or another
    worker started it); ``run`` is how it is now, None when there is no such run."""

    def __init__(self, run: Run | None) -> None:
        super().__init__(f"run {run.id} is {run.status}" if run else "no such run")
        self.run = run


class Queued(Checkpoints):
    """Queued runs: asked for, started by a worker, cancelled or dropped before that."""

    @guarded("written")
    def enqueue(self, *, script: str, process: Process, args: Sequence[str],
                sha256: str | None, dry_run: bool = False, git_revision: str | None = None,
                git_dirty: bool | None = None, reason: str | None = None,
                notes: Sequence[str] = ()) -> Run:
        """Write a ``queued`` row for a run asked by ``process`` (no lock is taken)."""
        values = _run_values(script, process, args, sha256, dry_run, git_revision, git_dirty,
                             None, reason)
        values.update(started_at=rows.naive(rows.utcnow()), status="queued",
                      notes=rows.json_text(list(notes)) if notes else None)

        def work(conn: sa.engine.Connection) -> int:
            inserted = conn.execute(RUNS.insert().values(**values))
            return int(inserted.inserted_primary_key[0])  # type: ignore[index]

        run = self.run(self.persist(work))
        assert run is not None
        return run

    def _starting(self, run_id: int, process: Process, environment: str | None,
                  notes: Sequence[str]) -> tuple[Run, dict[str, Any]]:
        """Queued run ``run_id`` and the values that start it on this worker; raises
        :class:`NotQueued` when it is not queued any more."""
        before = self.run(run_id)
        if before is None or before.status != "queued":
            raise NotQueued(before)
        return before, {"status": "running", "host": rows.text(process.host),
                        "pid": process.pid, "started_at": rows.naive(rows.utcnow()),
                        "environment": rows.opt_text(environment),
                        "notes": rows.json_text([*before.notes, *notes]) or None}

    @guarded("written")
    def start_queued(self, run_id: int, *, process: Process, environment: str | None,
                     once: bool = False, notes: Sequence[str] = ()) -> Run:
        """Take queued run ``run_id`` to ``running`` on this worker (``process``'s host and
        pid) and take the script's lock, in one transaction, as :meth:`~.writes.Writes.start`
        does for a new run (:class:`~.values.LockBusy`, :class:`~.values.AlreadySucceeded`).
        ``notes`` are added to the run's. Raises :class:`NotQueued` when the run is not
        queued any more."""
        before, values = self._starting(run_id, process, environment, notes)
        host = values["host"]

        def take(conn: sa.engine.Connection) -> int:
            changed = conn.execute(RUNS.update().where(RUNS.c.id == run_id,
                                                       RUNS.c.status == "queued")
                                   .values(**values)).rowcount
            if not changed:
                raise NotQueued(self._run_on(conn, run_id))
            return run_id

        self._take(before.script, before.operator, host, process, once, take)
        run = self.run(run_id)
        assert run is not None
        return run

    @guarded("written")
    def cancel_queued(self, run_id: int, *, operator: str) -> Run | None:
        """Mark queued run ``run_id`` ``cancelled`` (it never started). The run as it is
        now, None when there is no such run; a run that is not queued is left as it is."""
        return self._end_queued(run_id, "cancelled", None,
                                f"cancelled by {operator} before it started")

    @guarded("written")
    def drop_queued(self, run_id: int, *, exit_code: int, error: str) -> Run | None:
        """End queued run ``run_id`` ``failed`` without starting it: its queue could not
        take it, or its worker refused it (``error`` says why)."""
        return self._end_queued(run_id, "failed", exit_code, error)

    def _end_queued(self, run_id: int, status: str, exit_code: int | None,
                    error: str) -> Run | None:
        def work(conn: sa.engine.Connection) -> Run | None:
            conn.execute(RUNS.update().where(RUNS.c.id == run_id, RUNS.c.status == "queued")
                         .values(status=status, exit_code=exit_code,
                                 ended_at=rows.naive(rows.utcnow()),
                                 error=rows.clip(rows.text(error))))
            return self._run_on(conn, run_id)

        return self.persist(work)

    @staticmethod
    def _run_on(conn: sa.engine.Connection, run_id: int) -> Run | None:
        row = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).first()
        return rows.run_of(row) if row is not None else None
