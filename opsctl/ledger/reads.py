"""Reading the ledger: runs newest first (one script's under all the keys it had, and those of
the scripts absorbed into it), streamed or at once, one run, the newest run of each script,
where the runs recorded under a name belong now, and what stands in the way of running a
one-off fix again. Per-script counts for the lifecycle are :mod:`.tally`'s.

Every read walks an index newest first and stops at its limit (:mod:`.queries`), so its cost
follows what it returns, not the ledger's size. Every read of a ledger without tables reads
empty, and none writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from .core import guarded, guarded_iter
from .queries import BRIEF, newest_first, newest_of_keys, page_size, span_clause
from .rows import aware, run_of
from .schema import MOVES, RUNS
from .spans import Span, absorbed_of, current_key, lineage_of
from .tally import Tally
from .values import Run

#: Rows fetched at a time when runs are streamed (``history --limit 0``, ``--json``).
CHUNK = 500


class Reads(Tally):
    """The ledger's queries; rows come out as :class:`~.values.Run` values."""

    @guarded("read")
    def runs(self, key: str | None = None, *, status: str | None = None,
             limit: int | None = None, follow_moves: bool = True,
             all_under_key: bool = False) -> list[Run]:
        """Runs, newest first; of one script (its former keys, and the scripts absorbed into
        it) when ``key`` is given. With ``all_under_key``, also every run recorded under
        exactly ``key``, whichever script it belongs to now: the history of a name no
        script has any more."""
        if not self.has_schema:
            return []
        query = self._runs_query(key, status, limit, follow_moves, all_under_key)
        with self.engine.connect() as conn:
            return [run_of(row) for row in conn.execute(query)]

    @guarded_iter("read")
    def iter_runs(self, key: str | None = None, *, status: str | None = None,
                  limit: int | None = None, follow_moves: bool = True,
                  all_under_key: bool = False) -> Iterator[Run]:
        """:meth:`runs`, streamed: the rows come from the database :data:`CHUNK` at a time
        (a server-side cursor where the database has one), so memory stays flat however
        many runs there are. The connection is held until the iteration ends."""
        if not self.has_schema:
            return
        query = self._runs_query(key, status, limit, follow_moves, all_under_key)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=CHUNK).execute(query)
            for row in result:
                yield run_of(row)

    def _runs_query(self, key: str | None, status: str | None, limit: int | None,
                    follow_moves: bool, all_under_key: bool) -> sa.Select[tuple[object]]:
        spans: list[Span] | None = None
        if key is not None:
            spans = self.spans(key) if follow_moves else [(key, None, None)]
            if all_under_key:
                spans.append((key, None, None))
        return newest_first(spans, status=status, limit=limit)

    @guarded("read")
    def run(self, run_id: int) -> Run | None:
        """One run by id."""
        if not self.has_schema:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).first()
        return run_of(row) if row is not None else None

    @guarded("read")
    def knows(self, key: str) -> bool:
        """Whether a run or a move was recorded under exactly this key."""
        if not self.has_schema:
            return False
        with self.engine.connect() as conn:
            run = conn.execute(sa.select(RUNS.c.id).where(RUNS.c.script == key).limit(1))
            if run.first() is not None:
                return True
            move = conn.execute(sa.select(MOVES.c.id).where(
                sa.or_(MOVES.c.old_key == key, MOVES.c.new_key == key)).limit(1))
            return move.first() is not None

    @guarded("read")
    def owners(self, key: str) -> list[tuple[str, int]]:
        """Where the runs recorded under exactly ``key`` belong now when not to the script at
        ``key`` (moves and absorptions followed): each script's current key with how many,
        in the order they first ran.

        Only runs older than the last move away from ``key`` can belong elsewhere: they are
        counted between one move away and the next, where their owner is one script.
        """
        if not self.has_schema:
            return []
        moves = self._forward()
        away = sorted({when for old, _, when in moves if old == key})
        if not away:
            return []
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for since, until in zip([None, *away[:-1]], away, strict=True):
                count, first = conn.execute(
                    sa.select(sa.func.count(), sa.func.min(RUNS.c.started_at))
                    .where(span_clause((key, since, until)))).one()
                if count:
                    when = aware(first)
                    assert when is not None
                    owner = current_key(key, when, moves)
                    out[owner] = out.get(owner, 0) + int(count)
        return [(owner, n) for owner, n in out.items() if owner != key]

    @guarded("read")
    def keys_named(self, name: str) -> list[str]:
        """The keys with a run or a move recorded whose script is called ``name`` (in any
        folder), sorted."""
        if not self.has_schema:
            return []
        tail = "/" + name
        queries = [sa.select(RUNS.c.script).where(RUNS.c.script.endswith(tail, autoescape=True)),
                   *(sa.select(col).where(col.endswith(tail, autoescape=True))
                     for col in (MOVES.c.old_key, MOVES.c.new_key))]
        with self.engine.connect() as conn:
            found = {k for q in queries for k in conn.execute(q.distinct()).scalars()}
        return sorted(k for k in found if k.count("/") == 1)

    @guarded("read")
    def has_succeeded(self, key: str) -> Run | None:
        """The latest succeeded, non-dry run of this script under any of its keys, or of a
        script absorbed into it."""
        if not self.has_schema:
            return None
        with self.engine.connect() as conn:
            return self._succeeded(conn, key)

    @guarded("read")
    def once_blocker(self, key: str) -> Run | None:
        """What refuses a one-off fix without ``--force``: its latest succeeded, non-dry run
        under any of its keys, else its last non-dry run when that run's outcome is unknown
        (``lost``, or ``running`` with its process gone: it may have succeeded)."""
        if not self.has_schema:
            return None
        with self.engine.connect() as conn:
            return self._once_blocker(conn, key)

    def _once_blocker(self, conn: sa.engine.Connection, key: str,
                      started: int | None = None) -> Run | None:
        done = self._succeeded(conn, key)
        if done is not None:
            return done
        where: list[sa.ColumnElement[bool]] = [RUNS.c.dry_run.is_(False)]
        if started is not None:  # the run being started, with the lock held
            where.append(RUNS.c.id != started)
        row = conn.execute(newest_first(self.spans(key), limit=1, where=where)).first()
        last = run_of(row) if row is not None else None
        if last is None or last.status not in ("lost", "running"):
            return None
        if last.status == "running":
            holders = [h for h in self._holders(conn) if h.run_id == last.id]
            if holders and not self._stale(holders[0], conn):
                return None  # alive: its lock, not run-once, stands in the way
        return last

    def _succeeded(self, conn: sa.engine.Connection, key: str) -> Run | None:
        query = newest_first(self.spans(key), status="succeeded", limit=1,
                             where=[RUNS.c.dry_run.is_(False)])
        row = conn.execute(query).first()
        return run_of(row) if row is not None else None

    @guarded("read")
    def last_runs(self, keys: Iterable[str]) -> dict[str, Run]:
        """The newest run of each key (moves and absorptions followed), without its output
        tail (``output_tail`` is None: a summary of runs has no use for it).

        One statement per page of keys (:func:`~.queries.page_size`), each key one ``LIMIT 1``
        walk of its index; a key touched by a move or an absorption (few) is asked for over
        its spans.
        """
        wanted = sorted(set(keys))
        if not self.has_schema or not wanted:
            return {}
        moves, absorbed = self._read_events()
        moved = {k for old, new, _ in moves + absorbed for k in (old, new)}
        plain = [k for k in wanted if k not in moved]
        out: dict[str, Run] = {}
        lateral = self.backend.lateral
        size = page_size(lateral)
        with self.engine.connect() as conn:
            for start in range(0, len(plain), size):
                page = plain[start:start + size]
                for row in conn.execute(newest_of_keys(page, lateral=lateral)):
                    out[row.script] = run_of(row)
            for key in (k for k in wanted if k in moved):
                spans = lineage_of(key, moves, absorbed) + absorbed_of(key, moves, absorbed)
                newest = conn.execute(newest_first(spans, limit=1, columns=BRIEF)).first()
                if newest is not None:
                    out[key] = run_of(newest)
        return out
