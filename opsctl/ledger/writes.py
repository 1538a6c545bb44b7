"""A run's own rows: its start (the run's row and the script's lock in one transaction), its
finish, and a run written whole when it could not start properly.

Busy databases, deadlocks and serialization failures are retried (the database's backend
says which errors are worth it); a lock held by a live run is :class:`~.values.LockBusy`.
Every text value is made storable on the way in (:func:`.rows.text`). What happens when the
ledger cannot take a run's end is :mod:`.ends`'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from ..errors import LedgerUnreachable
from . import rows
from .core import guarded
from .engine import display_url
from .facts import STATUSES
from .reads import Reads
from .schema import LOCKS, RUNS, server_utcnow
from .values import AlreadySucceeded, LockBusy, Process, Run

#: Told when a write starts waiting out an outage: ``(error, seconds it will wait)``.
OnRetry = Callable[[BaseException, float], None]


class Writes(Reads):
    """Starting, recording and finishing runs."""

    @guarded("written")
    def start(self, *, script: str, process: Process, args: Sequence[str],
              sha256: str | None = None, dry_run: bool = False,
              git_revision: str | None = None, git_dirty: bool | None = None,
              environment: str | None = None, reason: str | None = None,
              once: bool = False, notes: Sequence[str] = ()) -> Run:
        """Write the run's row and take the script's lock, in one transaction.

        Raises :class:`~.values.LockBusy` when a live run holds the lock; a stale holder is
        taken over (its run marked ``lost``) and the start goes ahead. With ``once``
        (run-once for ``unrecycle/``), raises :class:`~.values.AlreadySucceeded` when a real
        run of the script succeeded, or its last one may have (:meth:`once_blocker`):
        checked with the lock held, so a run that ended a moment ago, or that ``--wait``
        waited for, counts.
        """
        started = rows.utcnow()
        values = _run_values(script, process, args, sha256, dry_run, git_revision, git_dirty,
                             environment, reason)
        values.update(started_at=rows.naive(started), status="running",
                      notes=rows.json_text(list(notes)) if notes else None)

        def insert(conn: sa.engine.Connection) -> int:
            inserted = conn.execute(RUNS.insert().values(**values))
            return int(inserted.inserted_primary_key[0])  # type: ignore[index]

        run_id = self._take(values["script"], values["operator"], values["host"], process,
                            once, insert)
        return Run(id=run_id, script=values["script"], sha256=sha256,
                   args=rows.json_load(values["args"], []), operator=values["operator"],
                   host=values["host"], pid=process.pid, started_at=started,
                   ended_at=None, status="running", exit_code=None, dry_run=dry_run,
                   error=None, output_tail=None, git_revision=git_revision,
                   git_dirty=git_dirty, environment=values["environment"],
                   reason=values["reason"], summary={},
                   notes=tuple(rows.json_load(values["notes"], [])))

    def _take(self, script: str, operator: str, host: str, process: Process, once: bool,
              row: Callable[[sa.engine.Connection], int]) -> int:
        """Write a running row with ``row`` (which returns its id) and take the script's lock
        in the same transaction, as :meth:`start` describes; the run's id."""
        former = [k for k in self.aliases(script) if k != script]
        for _attempt in range(50):
            try:
                with self.engine.begin() as conn:
                    run_id = row(conn)
                    conn.execute(LOCKS.insert().values(
                        script=script, run_id=run_id, operator=operator,
                        host=host, node=process.node, pid=process.pid,
                        pid_started=process.pid_started, since=server_utcnow(),
                        heartbeat_at=server_utcnow()))
                    if former:
                        # A run started before a move still holds the old key's lock.
                        for h in self._holders(conn, former):
                            if not self._stale(h, conn):
                                raise LockBusy(self._seen(h, conn))
                    if once:
                        done = self._once_blocker(conn, script, started=run_id)
                        if done is not None:
                            raise AlreadySucceeded(done)  # rolls the row and lock back
            except sa.exc.IntegrityError:
                with self.engine.connect() as conn:
                    found = self._holders(conn, [script])
                    current = found[0] if found else None
                    if current is not None and not self._stale(current, conn):
                        raise LockBusy(self._seen(current, conn)) from None
                if current is not None:
                    self._take_over(current)
                continue  # released or taken over meanwhile: try again
            except LockBusy as busy:
                if self._stale(busy.holder):
                    self._take_over(busy.holder)
                    continue
                raise
            except sa.exc.OperationalError as exc:
                if self.retryable(exc):
                    continue
                raise
            return run_id
        raise LedgerUnreachable(f"could not take the lock of {script} in the ledger at "
                                f"{display_url(self.url)}: it kept changing hands",
                                "try again")

    @guarded("written")
    def finish(self, run: Run, *, status: str, exit_code: int | None,
               error: str | None = None, output_tail: str | None = None,
               summary: dict[str, Any] | None = None,
               notes: Sequence[str] | None = None) -> bool:
        """Complete the run's row and release its lock, in one transaction.

        Returns False when the run's lock had been taken over as stale meanwhile (its row
        marked ``lost`` by another process, e.g. after a long pause of this machine): the
        run's real outcome is recorded all the same, since it did end, and ``error`` starts
        with a note that the lock was taken over, so history shows that another run may
        have overlapped it. A ledger that cannot be reached is waited for (see
        :meth:`~.core.LedgerCore.persist`); :meth:`~.ends.Ends.end` also keeps the end in the
        local journal when that is not enough.
        """
        return self._finish(run, end_values(status, exit_code, error, output_tail, summary,
                                            notes))

    def _finish(self, run: Run, values: dict[str, Any], on_retry: OnRetry | None = None,
                give_up: Callable[[], bool] | None = None) -> bool:
        def work(conn: sa.engine.Connection) -> bool:
            updated = conn.execute(RUNS.update()
                                   .where(RUNS.c.id == run.id, RUNS.c.status == "running")
                                   .values(**values))
            mine = bool(updated.rowcount)
            if not mine:
                row = conn.execute(sa.select(RUNS.c.status, RUNS.c.ended_at, RUNS.c.error)
                                   .where(RUNS.c.id == run.id)).first()
                if row is not None and row.status == values["status"] and \
                        row.ended_at == values["ended_at"]:
                    # This very end: an attempt committed it, and its answer was lost.
                    mine = True
                else:
                    lost = row.error if row is not None else None
                    note = (f"taken over: {lost or 'its lock was taken over as stale'}; "
                            f"the run went on and ended {values['status']}")
                    error = "\n".join(filter(None, [note, values["error"]]))
                    conn.execute(RUNS.update().where(RUNS.c.id == run.id).values(
                        **{**values, "error": rows.clip(error)}))
            conn.execute(LOCKS.delete().where(LOCKS.c.run_id == run.id))  # a shard's too
            return mine

        return self.persist(work, on_retry=on_retry, give_up=give_up)

    def _insert_whole(self, conn: sa.engine.Connection,
                      values: dict[str, Any]) -> tuple[int, bool]:
        """Insert a complete run once: ``(id, inserted)``. A row of the same process, script
        and start already there (an attempt whose answer was lost, a journal replayed twice)
        is that run."""
        found = conn.execute(sa.select(RUNS.c.id).where(
            RUNS.c.script == values["script"], RUNS.c.host == values["host"],
            RUNS.c.pid == values["pid"], RUNS.c.started_at == values["started_at"])).first()
        if found is not None:
            return int(found.id), False
        inserted = conn.execute(RUNS.insert().values(**values))
        return int(inserted.inserted_primary_key[0]), True  # type: ignore[index]


def _run_values(script: str, process: Process, args: Sequence[str], sha256: str | None,
                dry_run: bool, git_revision: str | None, git_dirty: bool | None,
                environment: str | None, reason: str | None) -> dict[str, Any]:
    """The columns a run has from its start, every text storable."""
    return {"script": rows.text(script), "sha256": sha256,
            "args": rows.json_text([str(a) for a in args]),
            "operator": rows.text(process.operator), "host": rows.text(process.host),
            "pid": process.pid, "dry_run": dry_run, "git_revision": git_revision,
            "git_dirty": git_dirty, "environment": rows.opt_text(environment),
            "reason": rows.opt_text(reason)}


def whole_values(*, script: str, process: Process, args: Sequence[str], status: str,
                 exit_code: int | None, error: str | None = None, sha256: str | None = None,
                 dry_run: bool = False, git_revision: str | None = None,
                 git_dirty: bool | None = None, environment: str | None = None,
                 reason: str | None = None, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The row of a run that ended before it could start properly, complete."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    now = rows.naive(rows.utcnow())
    values = _run_values(script, process, args, sha256, dry_run, git_revision, git_dirty,
                         environment, reason)
    values.update(started_at=now, ended_at=now, status=status, exit_code=exit_code,
                  error=rows.clip(rows.opt_text(error)), summary="{}",
                  notes=rows.json_text(list(notes)) if notes else None)
    return values


def end_values(status: str, exit_code: int | None, error: str | None,
               output_tail: str | None, summary: dict[str, Any] | None,
               notes: Sequence[str] | None) -> dict[str, Any]:
    """The columns a run's end sets, every text storable. ``notes``, when given, is the run's
    whole list: what it started with, and more."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    values: dict[str, Any] = {
        "status": status, "exit_code": exit_code, "ended_at": rows.naive(rows.utcnow()),
        "error": rows.clip(rows.opt_text(error)),
        "output_tail": rows.clip(rows.opt_text(output_tail)),
        "summary": rows.json_text(summary or {})}
    if notes is not None:
        values["notes"] = rows.json_text(list(notes)) if notes else None
    return values
