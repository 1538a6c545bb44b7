"""The locks that keep two runs of one script apart, and how a dead holder's lock is taken
over.

A run holds a row in ``opsctl_locks`` whose primary key is the script's key, inserted in the
same transaction as the run's own row (:mod:`.writes`), so the database's unique constraint
decides who runs, on one machine or many. A holder is *stale* when it can no longer finish:

* on the same node (:func:`~.processes.node_id`), when its pid is gone or now belongs to a
  newer process;
* on another node, when its heartbeat (written every :data:`HEARTBEAT_SECONDS` with the
  *database server's* clock, so the machines' clocks need not agree) is older than
  :data:`LEASE_SECONDS`.

A stale holder is taken over with a compare-and-delete on ``(script, run_id)``; its run is
marked ``lost``. Two processes taking over at once both delete at most that row and then race
on the insert again, which only one wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from . import rows
from .core import guarded
from .facts import LEASE_SECONDS
from .lineage import Lineage
from .processes import node_id, pid_alive
from .schema import LOCKS, RUNS, server_utcnow
from .values import Holder, Run

#: How often a running process refreshes its lock.
HEARTBEAT_SECONDS = 15.0


class Locks(Lineage):
    """The ledger's locks: who holds one, refreshing one, and reaping dead holders."""

    @guarded("read")
    def holder(self, key: str) -> Holder | None:
        """The live holder of this script's lock (under any of its keys), if any.

        A stale holder found on the way is taken over: its run is marked ``lost``.
        """
        if not self.has_schema:
            return None
        keys = self.aliases(key)
        with self.engine.connect() as conn:
            holders = [h for h in self._holders(conn) if h.script in keys]
            stale = [h for h in holders if self._stale(h, conn)]
        for h in stale:
            self._take_over(h)
        live = [h for h in holders if h not in stale]
        if not live:
            return None
        with self.engine.connect() as conn:
            return self._seen(live[0], conn)

    def _seen(self, holder: Holder, conn: sa.engine.Connection) -> Holder:
        """A live holder as a refusal names it (:class:`~.sharded.Sharded` marks a sharded
        run's parent)."""
        return holder

    @guarded("written")
    def heartbeat(self, run: Run) -> bool:
        """Refresh the run's lock; False when the lock is no longer this run's."""
        with self.engine.begin() as conn:
            # By the run alone: a shard of a sharded run holds a lock of its own key.
            result = conn.execute(LOCKS.update().where(LOCKS.c.run_id == run.id)
                                  .values(heartbeat_at=server_utcnow()))
        return bool(result.rowcount)

    @guarded("written")
    def reap(self) -> list[int]:
        """Mark ``lost`` every run whose holder died; returns their ids."""
        if not self.has_schema:
            return []
        with self.engine.connect() as conn:
            stale = [h for h in self._holders(conn) if self._stale(h, conn)]
            # A running row without a lock cannot finish: its lock went without its end.
            orphans = conn.execute(
                sa.select(RUNS.c.id).where(RUNS.c.status == "running",
                                           RUNS.c.id.not_in(sa.select(LOCKS.c.run_id)))
            ).scalars().all()
        lost = [h.run_id for h in stale if self._take_over(h)]
        for run_id in orphans:
            if self._mark_lost(run_id, "its lock was released without the run finishing"):
                lost.append(run_id)
        return lost

    def _holders(self, conn: sa.engine.Connection,
                 keys: Sequence[str] | None = None) -> list[Holder]:
        query = sa.select(LOCKS)
        if keys is not None:
            query = query.where(LOCKS.c.script.in_(list(keys)))
        return [Holder(script=r.script, run_id=r.run_id, operator=r.operator, host=r.host,
                       node=r.node, pid=r.pid, pid_started=r.pid_started,
                       since=rows.aware(r.since),  # type: ignore[arg-type]
                       heartbeat_at=rows.aware(r.heartbeat_at))  # type: ignore[arg-type]
                for r in conn.execute(query)]

    def _stale(self, holder: Holder, conn: sa.engine.Connection | None = None) -> bool:
        if holder.node == node_id():
            return not pid_alive(holder.pid, holder.pid_started)
        if conn is None:
            with self.engine.connect() as own:
                return self._stale(holder, own)
        now = rows.aware(conn.execute(sa.select(server_utcnow())).scalar())
        assert now is not None
        return (now - holder.heartbeat_at).total_seconds() > LEASE_SECONDS

    def _take_over(self, holder: Holder) -> bool:
        with self.engine.begin() as conn:
            deleted = conn.execute(LOCKS.delete().where(LOCKS.c.script == holder.script,
                                                        LOCKS.c.run_id == holder.run_id))
            if not deleted.rowcount:
                return False  # someone else took it over first
        how = ("its process is gone" if holder.node == node_id()
               else f"no heartbeat for over {LEASE_SECONDS:.0f} s")
        self._mark_lost(holder.run_id, f"lost: {how} (pid {holder.pid} on {holder.host}); "
                        "its lock was released")
        return True

    def _mark_lost(self, run_id: int, error: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(RUNS.update()
                                  .where(RUNS.c.id == run_id, RUNS.c.status == "running")
                                  .values(status="lost", ended_at=rows.naive(rows.utcnow()),
                                          error=error))
        return bool(result.rowcount)
