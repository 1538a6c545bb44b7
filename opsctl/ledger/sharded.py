"""A sharded run's lock, and how its parent lives and ends with its children (see
:mod:`.shards` for the links, the split and the parent's end).

The parent is written ``queued`` with the script's lock taken, in one transaction
(:meth:`Sharded.open_parent`), by the process that asks for the run, which exits at once: its
pid alone would make the lock look stale. So a parent's lock is alive while any of its
children is: one still queued (waiting for a worker), or one running whose own lock
(:func:`~.shards.shard_lock`, taken by :meth:`~.shards.Shards.start_shard` and refreshed by
the child's heartbeat) is alive. A child whose worker died (kill -9, a machine gone) is
``lost`` like any run, by its own lock; the parent ends when its last child does, whoever
marks it so. A shard resumed after its parent ended opens the parent again, its lock taken
again (:meth:`Sharded.reopen_parent`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from ..errors import PAUSED, LedgerUnreachable
from . import rows
from .core import guarded
from .engine import display_url
from .schema import PROGRESS, RUNS
from .shards import UNENDED, Shards
from .values import Holder, Process, Progress, Run, newest_shards, shards_summed
from .writes import _run_values


class _Unended(Exception):
    """The parent's status changed between the read and the write: nothing was changed."""


def _reopened(parent_id: int, conn: sa.engine.Connection) -> int:
    """In :meth:`Sharded.reopen_parent`'s transaction: the parent ``running`` again when it
    still has ended, else :class:`_Unended` (which rolls the lock back)."""
    status = conn.execute(sa.select(RUNS.c.status).where(RUNS.c.id == parent_id)
                          .with_for_update()).scalar()
    if status is None or status in UNENDED:
        raise _Unended
    changed = conn.execute(RUNS.update().where(RUNS.c.id == parent_id, RUNS.c.status == status)
                           .values(status="running", ended_at=None, exit_code=None,
                                   error=rows.clip(f"opened again to resume a shard; it had "
                                                   f"ended {status}"))).rowcount
    if not changed:  # SQLite reads outside the write's transaction: changed since
        raise _Unended
    return parent_id


class Sharded(Shards):
    """A sharded run's parent: its lock, kept alive by its children, and its progress."""

    @guarded("written")
    def open_parent(self, *, script: str, process: Process, args: Sequence[str],
                    sha256: str | None, dry_run: bool = False,
                    git_revision: str | None = None, git_dirty: bool | None = None,
                    reason: str | None = None, once: bool = False,
                    notes: Sequence[str] = ()) -> Run:
        """Write a sharded run's parent ``queued`` and take the script's lock, in one
        transaction; :class:`~.values.LockBusy` and :class:`~.values.AlreadySucceeded` as
        :meth:`~.writes.Writes.start` raises them."""
        values = _run_values(script, process, args, sha256, dry_run, git_revision, git_dirty,
                             None, reason)
        values.update(started_at=rows.naive(rows.utcnow()), status="queued",
                      notes=rows.json_text(list(notes)) if notes else None)

        def insert(conn: sa.engine.Connection) -> int:
            inserted = conn.execute(RUNS.insert().values(**values))
            return int(inserted.inserted_primary_key[0])  # type: ignore[index]

        run = self.run(self._take(values["script"], values["operator"], values["host"],
                                  process, once, insert))
        assert run is not None
        return run

    @guarded("written")
    def reopen_parent(self, parent_id: int, *, process: Process) -> Run:
        """Run ``parent_id`` ``running`` again with the script's lock taken again (by
        ``process``, until its children keep it), for a shard of it resumed after it ended;
        unchanged while it has not ended. :class:`~.values.LockBusy` when another run holds
        the lock. Its status is read (its row locked) and changed in the transaction that
        takes the lock, so of two shards resumed at once one opens it and the other finds it
        open (:func:`_reopened`)."""
        for _attempt in range(20):
            parent = self.run(parent_id)
            if parent is None:
                raise ValueError(f"no run {parent_id}")
            if parent.status in UNENDED:
                return parent
            try:
                self._take(parent.script, parent.operator, rows.text(process.host), process,
                           False, functools.partial(_reopened, parent_id))
            except _Unended:
                continue  # opened again meanwhile (or ended otherwise): look again
            found = self.run(parent_id)
            assert found is not None
            return found
        raise LedgerUnreachable(f"could not open run {parent_id} again in the ledger at "
                                f"{display_url(self.url)}: its status kept changing",
                                "try again")

    @guarded("written")
    def relink(self, resumed: int, run_id: int, *, process: Process) -> bool:
        """When run ``resumed`` is a shard: make run ``run_id``, which resumes it, the same
        shard of the same parent, in the same key range, the parent running again if it had
        ended (:meth:`reopen_parent`: :class:`~.values.LockBusy` when another run holds the
        lock). Whether it was a shard."""
        shard = self.shard_of(resumed)
        if shard is None:
            return False
        parent_id, index, count, key_range = shard
        self.reopen_parent(parent_id, process=process)
        self.link_shard(run_id, parent_id=parent_id, index=index, count=count,
                        key_range=key_range)
        return True

    @guarded("written")
    def pause_queued(self, run_id: int, *, operator: str) -> Run | None:
        """End queued run ``run_id`` ``paused`` before it started (a shard of a sharded run
        paused), to be resumed; as :meth:`~.queued.Queued.cancel_queued` otherwise."""
        return self._end_queued(run_id, "paused", PAUSED,
                                f"paused by {operator} before it started")

    @guarded("read")
    def split_of(self, parent_id: int) -> list[Any] | None:
        """The boundaries of run ``parent_id``'s shards (:meth:`~.shards.Shards.
        claim_split`), None while no child has proposed them."""
        with self.engine.connect() as conn:
            kept = conn.execute(sa.select(PROGRESS.c.key_range)
                                .where(PROGRESS.c.run_id == parent_id)).scalar()
        return None if kept is None else list(json.loads(kept))

    @guarded("read")
    def shards(self, run_id: int) -> list[tuple[int, int | None, str, str | None]]:
        """``(run_id, parent_id, shard, key_range)`` of run ``run_id`` when it is a shard and
        of each child when it is a sharded run, by run id (``key_range`` as JSON text)."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(PROGRESS.c.run_id, PROGRESS.c.parent_id,
                                           PROGRESS.c.shard, PROGRESS.c.key_range)
                                 .where(sa.or_(sa.and_(PROGRESS.c.run_id == run_id,
                                                       PROGRESS.c.parent_id.is_not(None)),
                                               PROGRESS.c.parent_id == run_id))
                                 .order_by(PROGRESS.c.run_id)).all()
        return [(r[0], r[1], r[2], r[3]) for r in found]

    @guarded("read")
    def progress_of(self, run_ids: Iterable[int]) -> dict[int, Progress]:
        """:meth:`~.progress.Checkpoints.progress_of`, a sharded run's being its children's
        summed (:meth:`~.shards.Shards.shards_progress`)."""
        ids = sorted(set(run_ids))
        found = super().progress_of(ids)
        children: dict[int, list[Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                for r in conn.execute(sa.select(PROGRESS.c.parent_id, PROGRESS.c.run_id,
                                                PROGRESS.c.shard, PROGRESS.c.done,
                                                PROGRESS.c.total, PROGRESS.c.updated_at)
                                      .where(PROGRESS.c.parent_id.in_(ids[start:start + 500]))):
                    children.setdefault(r[0], []).append((*r[1:5], rows.aware(r[5])))
        for parent, found_children in children.items():
            found[parent] = shards_summed(parent, found_children, found.get(parent))
        return found

    # ------------------------------------------------------------------ liveness

    def _stale(self, holder: Holder, conn: sa.engine.Connection | None = None) -> bool:
        """A holder is stale as :class:`~.locks.Locks` says, and a sharded run's parent
        only when none of its children is alive either (see the module)."""
        if not super()._stale(holder, conn):
            return False
        if conn is None:
            with self.engine.connect() as own:
                return not self._children_alive(holder.run_id, own)
        return not self._children_alive(holder.run_id, conn)

    def _seen(self, holder: Holder, conn: sa.engine.Connection) -> Holder:
        has_shards = conn.execute(sa.select(PROGRESS.c.run_id)
                                  .where(PROGRESS.c.parent_id == holder.run_id)
                                  .limit(1)).first()
        return holder._replace(sharded=True) if has_shards else holder

    def _children_alive(self, parent_id: int, conn: sa.engine.Connection) -> bool:
        found = conn.execute(sa.select(RUNS.c.id, PROGRESS.c.shard, RUNS.c.status)
                             .join(PROGRESS, PROGRESS.c.run_id == RUNS.c.id)
                             .where(PROGRESS.c.parent_id == parent_id)).all()
        newest = newest_shards(found)
        if any(c[2] == "queued" for c in newest):
            return True
        running = [c[0] for c in newest if c[2] == "running"]
        if not running:
            return False
        holders = [h for h in self._holders(conn) if h.run_id in running]
        return any(not super(Sharded, self)._stale(h, conn) for h in holders)

    def _take_over(self, holder: Holder) -> bool:
        """Take a stale lock over. A sharded run's is stale once none of its children is
        alive: its dead children's locks are taken over first (each ``lost``), then it ends
        as its children say (:meth:`~.shards.Shards.close_parent`: ``failed`` with a lost
        child, ``succeeded`` when the last child ended a moment ago without closing it yet),
        never ``lost`` itself; False then (no run was lost)."""
        with self.engine.connect() as conn:
            children = conn.execute(sa.select(RUNS.c.id, RUNS.c.status)
                                    .join(PROGRESS, PROGRESS.c.run_id == RUNS.c.id)
                                    .where(PROGRESS.c.parent_id == holder.run_id)).all()
            running = [c.id for c in children if c.status == "running"]
            stale = super()._stale
            dead = [h for h in self._holders(conn) if h.run_id in running and
                    stale(h, conn)] if running else []
        for child in dead:
            super()._take_over(child)
        if children:
            closed = self.close_parent(holder.run_id)
            if closed is None or closed.status not in UNENDED:
                return False
        return super()._take_over(holder)

    def reap(self) -> list[int]:
        """:meth:`~.locks.Locks.reap`, the children marked ``lost`` on the way to their
        parent's lock (:meth:`_take_over`) included."""
        self._marked: list[int] = []
        found = super().reap()
        return found + [n for n in self._marked if n not in found]

    def _mark_lost(self, run_id: int, error: str) -> bool:
        """A child marked ``lost`` (its lock found stale) may be its parent's last."""
        marked = super()._mark_lost(run_id, error)
        if marked:
            getattr(self, "_marked", []).append(run_id)
            self.close_parent_of(run_id)
        return marked

    def _end_queued(self, run_id: int, status: str, exit_code: int | None,
                    error: str) -> Run | None:
        """A child cancelled or dropped before it started may be its parent's last (one
        that had started is closed by its own end)."""
        before = self.run(run_id)
        run = super()._end_queued(run_id, status, exit_code, error)
        if before is not None and before.status == "queued" and run is not None and \
                run.status not in UNENDED:
            self.close_parent_of(run_id)
        return run

    def close_parent_of(self, run_id: int) -> Run | None:
        """After run ``run_id`` ended: its parent, ended if it was the last child
        (:meth:`~.shards.Shards.close_parent`); None when it is not a shard."""
        shard = self.shard_of(run_id)
        return None if shard is None else self.close_parent(shard[0])
