"""A run's own rows: its start (the run's row and the script's lock in one transaction), its
finish, and a run recorded whole when it could not start properly.

Busy databases, deadlocks and serialization failures are retried (the database's backend
says which errors are worth it); a lock held by a live run is :class:`~.values.LockBusy`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ..errors import LedgerUnreachable
from . import rows
from .engine import display_url
from .facts import STATUSES
from .reads import Reads
from .schema import LOCKS, RUNS, server_utcnow
from .values import AlreadySucceeded, LockBusy, Process, Run


class Writes(Reads):
    """Starting, recording and finishing runs."""

    def start(self, *, script: str, process: Process, args: Sequence[str],
              sha256: str | None = None, dry_run: bool = False,
              git_revision: str | None = None, git_dirty: bool | None = None,
              environment: str | None = None, reason: str | None = None,
              once: bool = False, notes: Sequence[str] = ()) -> Run:
        """Write the run's row and take the script's lock, in one transaction.

        Raises :class:`~.values.LockBusy` when a live run holds the lock; a stale holder is
        taken over (its run marked ``lost``) and the start goes ahead. With ``once``
        (run-once for ``unrecycle/``), raises :class:`~.values.AlreadySucceeded` when a real
        run of the script succeeded: checked with the lock held, so a run that ended a
        moment ago, or that ``--wait`` waited for, counts.
        """
        started = rows.utcnow()
        values = {
            "script": script, "sha256": sha256, "args": json.dumps(list(args)),
            "operator": process.operator, "host": process.host, "pid": process.pid,
            "started_at": rows.naive(started), "status": "running", "dry_run": dry_run,
            "git_revision": git_revision, "git_dirty": git_dirty,
            "environment": environment, "reason": reason,
            "notes": json.dumps(list(notes), ensure_ascii=False) if notes else None,
        }
        former = [k for k in self.aliases(script) if k != script]
        for _attempt in range(50):
            try:
                with self.engine.begin() as conn:
                    inserted = conn.execute(RUNS.insert().values(**values))
                    run_id = inserted.inserted_primary_key[0]  # type: ignore[index]
                    conn.execute(LOCKS.insert().values(
                        script=script, run_id=run_id, operator=process.operator,
                        host=process.host, node=process.node, pid=process.pid,
                        pid_started=process.pid_started, since=server_utcnow(),
                        heartbeat_at=server_utcnow()))
                    if former:
                        # A run started before a move still holds the old key's lock.
                        for h in self._holders(conn, former):
                            if not self._stale(h, conn):
                                raise LockBusy(h)
                    if once:
                        done = self._succeeded(conn, script)
                        if done is not None:
                            raise AlreadySucceeded(done)  # rolls the row and lock back
            except sa.exc.IntegrityError:
                with self.engine.connect() as conn:
                    found = self._holders(conn, [script])
                    current = found[0] if found else None
                    if current is not None and not self._stale(current, conn):
                        raise LockBusy(current) from None
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
            return Run(id=int(run_id), script=script, sha256=sha256, args=list(args),
                       operator=process.operator, host=process.host, pid=process.pid,
                       started_at=started, ended_at=None, status="running", exit_code=None,
                       dry_run=dry_run, error=None, output_tail=None,
                       git_revision=git_revision, git_dirty=git_dirty,
                       environment=environment, reason=reason, summary={},
                       notes=tuple(notes))
        raise LedgerUnreachable(f"could not take the lock of {script} in the ledger at "
                                f"{display_url(self.url)}: it kept changing hands",
                                "try again")

    def record(self, *, script: str, process: Process, args: Sequence[str], status: str,
               exit_code: int | None, error: str | None = None, sha256: str | None = None,
               dry_run: bool = False, git_revision: str | None = None,
               git_dirty: bool | None = None, environment: str | None = None,
               reason: str | None = None) -> Run:
        """Write a run that ended before it could start properly (its import raised): one
        row, already complete, and no lock."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        now = rows.utcnow()
        values = {
            "script": script, "sha256": sha256, "args": json.dumps(list(args)),
            "operator": process.operator, "host": process.host, "pid": process.pid,
            "started_at": rows.naive(now), "ended_at": rows.naive(now), "status": status,
            "exit_code": exit_code, "dry_run": dry_run, "error": rows.clip(error),
            "git_revision": git_revision, "git_dirty": git_dirty,
            "environment": environment, "reason": reason, "summary": "{}",
        }
        for attempt in range(10):
            try:
                with self.engine.begin() as conn:
                    inserted = conn.execute(RUNS.insert().values(**values))
                    run_id = inserted.inserted_primary_key[0]  # type: ignore[index]
                break
            except sa.exc.OperationalError as exc:
                if not self.retryable(exc) or attempt == 9:
                    raise
        return Run(id=int(run_id), script=script, sha256=sha256, args=list(args),
                   operator=process.operator, host=process.host, pid=process.pid,
                   started_at=now, ended_at=now, status=status, exit_code=exit_code,
                   dry_run=dry_run, error=rows.clip(error), output_tail=None,
                   git_revision=git_revision, git_dirty=git_dirty, environment=environment,
                   reason=reason, summary={})

    def finish(self, run: Run, *, status: str, exit_code: int | None,
               error: str | None = None, output_tail: str | None = None,
               summary: dict[str, Any] | None = None,
               notes: Sequence[str] | None = None) -> bool:
        """Complete the run's row and release its lock, in one transaction.

        Returns False when the run's lock had been taken over as stale meanwhile (its row
        marked ``lost`` by another process, e.g. after a long pause of this machine): the
        run's real outcome is recorded all the same, since it did end, and ``error`` starts
        with a note that the lock was taken over, so history shows that another run may
        have overlapped it.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        values = {"status": status, "exit_code": exit_code,
                  "ended_at": rows.naive(rows.utcnow()), "error": rows.clip(error),
                  "output_tail": rows.clip(output_tail),
                  "summary": json.dumps(summary or {}, default=str, ensure_ascii=False)}
        if notes is not None:  # the run's whole list: what it started with, and more
            values["notes"] = json.dumps(list(notes), ensure_ascii=False) if notes else None
        for attempt in range(10):
            try:
                with self.engine.begin() as conn:
                    updated = conn.execute(RUNS.update()
                                           .where(RUNS.c.id == run.id,
                                                  RUNS.c.status == "running")
                                           .values(**values))
                    mine = bool(updated.rowcount)
                    if not mine:
                        lost = conn.execute(sa.select(RUNS.c.error)
                                            .where(RUNS.c.id == run.id)).scalar()
                        note = (f"taken over: {lost or 'its lock was taken over as stale'}; "
                                f"the run went on and ended {status}")
                        conn.execute(RUNS.update().where(RUNS.c.id == run.id).values(
                            **{**values, "error": rows.clip("\n".join(filter(None, [note,
                                                                                    error])))}))
                    conn.execute(LOCKS.delete().where(LOCKS.c.script == run.script,
                                                      LOCKS.c.run_id == run.id))
                return mine
            except sa.exc.OperationalError as exc:
                if not self.retryable(exc) or attempt == 9:
                    raise
        return True  # pragma: no cover - the loop returns or raises
