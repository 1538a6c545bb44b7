"""Sharded runs in the ledger (schema 7): a parent run and its child runs, each child a shard
``i/N`` of the parent's key space, linked on ``opsctl_progress`` (``parent_id``, ``shard``,
``key_range``).

The split of the key space is decided once: the first child to start proposes it and the
parent's row keeps it (:meth:`Shards.claim_split`, a conditional write), so every child reads
the same boundaries even if rows were added between their starts. A child's range is
half-open, ``[lo, hi)``, ``None`` for an open end: the first shard has no lower bound and the
last no upper one, so a key outside the min/max seen at the split still falls in one shard.

The parent ends when its last child ends (:meth:`Shards.close_parent`, called by every child
after its own end is committed): the last child to commit its end then sees every other
child's end, and the parent's row is updated only while it is still ``running``, so two
children closing at once end it once. ``succeeded`` only when every child succeeded;
``failed`` when one failed, was interrupted or lost; else ``cancelled`` when one was
cancelled, else ``paused``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from . import rows
from .core import guarded
from .queued import NotQueued, Queued
from .schema import LOCKS, PROGRESS, RUNS, server_utcnow
from .values import Process, Progress, Run, newest_shards, shards_summed
from .writes import end_values

#: A child in one of these has not ended yet.
UNENDED = ("queued", "running")
#: A child status that makes its parent ``failed``.
FAILING = ("failed", "interrupted", "lost")


def shard_lock(script: str, run_id: int) -> str:
    """The key of the lock a running shard holds: its own, not the script's (its parent
    holds that), so its heartbeat tells whether it is alive as any run's does."""
    return f"{script}#shard-run-{run_id}"


class Shards(Queued):
    """Parent and child runs of a sharded run."""

    @guarded("written")
    def link_shard(self, run_id: int, *, parent_id: int, index: int, count: int,
                   key_range: Any = None) -> None:
        """Record run ``run_id`` as shard ``index/count`` (``index`` from 1) of run
        ``parent_id``, with its ``key_range`` when known; the parent's own row then holds
        ``count`` in its ``shard``, which tells a sharded run on a quick read."""
        if not 1 <= index <= count:
            raise ValueError(f"shard {index}/{count} is not one of 1..{count}")
        values = {"parent_id": parent_id, "shard": f"{index}/{count}",
                  "key_range": None if key_range is None else rows.json_text(key_range)}
        now = rows.naive(rows.utcnow())

        def work(conn: sa.engine.Connection) -> None:
            changed = conn.execute(PROGRESS.update().where(PROGRESS.c.run_id == run_id)
                                   .values(**values)).rowcount
            if not changed:
                conn.execute(PROGRESS.insert().values(run_id=run_id, done=0, updated_at=now,
                                                      **values))
            # The parent's own row says it is sharded (its count), from its first link on.
            marked = conn.execute(PROGRESS.update().where(PROGRESS.c.run_id == parent_id)
                                  .values(shard=str(count))).rowcount
            if not marked:
                conn.execute(PROGRESS.insert().values(run_id=parent_id, done=0,
                                                      updated_at=now, shard=str(count)))

        self.persist_row(work)

    @guarded("written")
    def start_shard(self, run_id: int, *, process: Process, environment: str | None = None,
                    notes: Sequence[str] = ()) -> Run:
        """Take queued child run ``run_id`` to ``running`` on this worker with a lock of its
        own (:func:`shard_lock`: its parent holds the script's), its parent to ``running``
        with its first child, in one transaction; ``notes`` are added to the run's. Raises
        :class:`~.queued.NotQueued` when it is not queued any more (cancelled, or another
        worker started it)."""
        before, values = self._starting(run_id, process, environment, notes)
        host = values["host"]

        def work(conn: sa.engine.Connection) -> int:
            row = conn.execute(sa.select(RUNS.c.script, RUNS.c.operator, PROGRESS.c.parent_id)
                               .outerjoin(PROGRESS, PROGRESS.c.run_id == RUNS.c.id)
                               .where(RUNS.c.id == run_id)).first()
            changed = conn.execute(RUNS.update().where(RUNS.c.id == run_id,
                                                       RUNS.c.status == "queued")
                                   .values(**values)).rowcount
            if row is None or not changed:
                return 0
            conn.execute(LOCKS.insert().values(
                script=shard_lock(row.script, run_id), run_id=run_id, operator=row.operator,
                host=host, node=process.node, pid=process.pid,
                pid_started=process.pid_started, since=server_utcnow(),
                heartbeat_at=server_utcnow()))
            if row.parent_id is not None:
                conn.execute(RUNS.update().where(RUNS.c.id == row.parent_id,
                                                 RUNS.c.status == "queued")
                             .values(status="running", started_at=values["started_at"]))
            return 1

        if not self.persist(work):
            raise NotQueued(self.run(run_id))
        run = self.run(run_id)
        assert run is not None
        return run

    @guarded("read")
    def shard_of(self, run_id: int) -> tuple[int, int, int, Any] | None:
        """``(parent_id, index, count, key_range)`` of run ``run_id``; None when it is not a
        shard."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(PROGRESS.c.parent_id, PROGRESS.c.shard,
                                         PROGRESS.c.key_range)
                               .where(PROGRESS.c.run_id == run_id)).first()
        if row is None or row.parent_id is None or row.shard is None:
            return None
        index, _, count = str(row.shard).partition("/")
        found = None if row.key_range is None else json.loads(row.key_range)
        return int(row.parent_id), int(index), int(count), found

    @guarded("read")
    def children(self, parent_id: int) -> list[Run]:
        """The child runs of run ``parent_id``, by shard."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(RUNS, PROGRESS.c.shard)
                                 .join(PROGRESS, PROGRESS.c.run_id == RUNS.c.id)
                                 .where(PROGRESS.c.parent_id == parent_id)).all()
        ordered = sorted(found, key=lambda r: int(str(r.shard).partition("/")[0]))
        return [rows.run_of(r) for r in ordered]

    @guarded("written")
    def claim_split(self, parent_id: int, bounds: list[Any]) -> list[Any]:
        """The boundaries of run ``parent_id``'s shards: ``bounds`` when no child proposed
        any before, else the ones kept first (a conditional write: one proposal wins)."""
        text = rows.json_text(bounds)
        now = rows.naive(rows.utcnow())

        def work(conn: sa.engine.Connection) -> str:
            won = conn.execute(PROGRESS.update()
                               .where(PROGRESS.c.run_id == parent_id,
                                      PROGRESS.c.key_range.is_(None))
                               .values(key_range=text)).rowcount
            if won:
                return text
            kept = conn.execute(sa.select(PROGRESS.c.key_range)
                                .where(PROGRESS.c.run_id == parent_id)).first()
            if kept is None:
                conn.execute(PROGRESS.insert().values(run_id=parent_id, done=0,
                                                      updated_at=now, key_range=text))
                return text
            return str(kept.key_range)

        return list(json.loads(self.persist_row(work)))

    @guarded("written")
    def close_parent(self, parent_id: int) -> Run | None:
        """End run ``parent_id`` when none of its children is still queued or running (see
        the module's docstring), releasing its lock; the parent as it is now (None when
        there is no such run). Call it after a child's end is committed. A shard resumed by
        another run counts as that run."""
        def work(conn: sa.engine.Connection) -> None:
            found = conn.execute(sa.select(RUNS.c.id, PROGRESS.c.shard, RUNS.c.status,
                                           RUNS.c.exit_code)
                                 .join(PROGRESS, PROGRESS.c.run_id == RUNS.c.id)
                                 .where(PROGRESS.c.parent_id == parent_id)).all()
            statuses = newest_shards(found)
            if not statuses or any(s[2] in UNENDED for s in statuses):
                return
            status, code = _parent_end([(s[2], s[3]) for s in statuses])
            ended = conn.execute(RUNS.update().where(RUNS.c.id == parent_id,
                                                     RUNS.c.status.in_(UNENDED))
                                 .values(**end_values(status, code, None, None, None, None)))
            if ended.rowcount:
                conn.execute(LOCKS.delete().where(LOCKS.c.run_id == parent_id))

        self.persist(work)
        return self.run(parent_id)

    @guarded("read")
    def shards_progress(self, parent_id: int) -> Progress | None:
        """The progress of run ``parent_id`` as its children's summed (``total`` None unless
        every child counted its own; a shard resumed by another run counts as that run);
        None when it has no children with progress."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(PROGRESS.c.run_id, PROGRESS.c.shard,
                                           PROGRESS.c.done, PROGRESS.c.total,
                                           PROGRESS.c.updated_at)
                                 .where(PROGRESS.c.parent_id == parent_id)).all()
        if not found:
            return None
        return shards_summed(parent_id, [(*r[:4], rows.aware(r[4])) for r in found])


def _parent_end(ends: list[tuple[str, int | None]]) -> tuple[str, int]:
    """The parent's status and exit code from its children's."""
    statuses = {s for s, _ in ends}
    if statuses == {"succeeded"}:
        return "succeeded", 0
    if statuses & set(FAILING):
        return "failed", next((c for s, c in ends if s in FAILING and c), 1)
    code = next((c for s, c in ends if s != "succeeded" and c), 1)
    return ("cancelled" if "cancelled" in statuses else "paused"), code
