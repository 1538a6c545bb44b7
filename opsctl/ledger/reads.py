"""Reading the ledger: runs newest first (one script's under all the keys it had, and those of
the scripts absorbed into it), one run, the newest run of each script, where the runs recorded
under a name belong now, what stands in the way of running a one-off fix again, and per-script
counts (all runs, and the uses apart) for the lifecycle's suggestions.

Every read of a ledger without tables reads empty, and none writes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import sqlalchemy as sa

from .core import guarded
from .lineage import Span, absorbed_of, current_key, lineage_of, spans_clause
from .locks import Locks
from .rows import aware, run_of
from .schema import MOVES, RUNS
from .values import Run, ScriptStats


class Reads(Locks):
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
        query = sa.select(RUNS)
        if key is not None:
            spans: list[Span] = self.spans(key) if follow_moves else [(key, None, None)]
            if all_under_key:
                spans.append((key, None, None))
            query = query.where(spans_clause(spans))
        if status is not None:
            query = query.where(RUNS.c.status == status)
        query = query.order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [run_of(row) for row in conn.execute(query)]

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
        """Where the runs recorded under exactly ``key`` belong now (moves and absorptions
        followed): each script's current key with how many, in the order they first ran."""
        if not self.has_schema:
            return []
        moves = self._forward()
        query = (sa.select(RUNS.c.started_at).where(RUNS.c.script == key)
                 .order_by(RUNS.c.started_at, RUNS.c.id))
        with self.engine.connect() as conn:
            found = conn.execute(query).scalars().all()
        out: dict[str, int] = {}
        for started in found:
            when = aware(started)
            assert when is not None
            owner = current_key(key, when, moves)
            out[owner] = out.get(owner, 0) + 1
        return list(out.items())

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
        query = (sa.select(RUNS).where(spans_clause(self.spans(key)))
                 .where(RUNS.c.dry_run.is_(False))
                 .order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(1))
        if started is not None:  # the run being started, with the lock held
            query = query.where(RUNS.c.id != started)
        row = conn.execute(query).first()
        last = run_of(row) if row is not None else None
        if last is None or last.status not in ("lost", "running"):
            return None
        if last.status == "running":
            holders = [h for h in self._holders(conn) if h.run_id == last.id]
            if holders and not self._stale(holders[0], conn):
                return None  # alive: its lock, not run-once, stands in the way
        return last

    def _succeeded(self, conn: sa.engine.Connection, key: str) -> Run | None:
        query = (sa.select(RUNS).where(spans_clause(self.spans(key)))
                 .where(RUNS.c.status == "succeeded", RUNS.c.dry_run.is_(False))
                 .order_by(RUNS.c.started_at.desc()).limit(1))
        row = conn.execute(query).first()
        return run_of(row) if row is not None else None

    @guarded("read")
    def last_runs(self, keys: Iterable[str]) -> dict[str, Run]:
        """The newest run of each key (moves and absorptions followed)."""
        wanted = set(keys)
        if not self.has_schema or not wanted:
            return {}
        moves, absorbed = self._read_events()
        moved = {k for old, new, _ in moves + absorbed for k in (old, new)}
        newest = (sa.select(sa.func.max(RUNS.c.id)).group_by(RUNS.c.script)
                  .scalar_subquery())
        out: dict[str, Run] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(sa.select(RUNS).where(RUNS.c.id.in_(newest))):
                run = run_of(row)
                if run.script in wanted and run.script not in moved:
                    out[run.script] = run
            # Keys touched by moves are few: ask for each precisely.
            for key in wanted & moved:
                spans = lineage_of(key, moves, absorbed) + absorbed_of(key, moves, absorbed)
                query = (sa.select(RUNS).where(spans_clause(spans))
                         .order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(1))
                newest_row = conn.execute(query).first()
                if newest_row is not None:
                    out[key] = run_of(newest_row)
        return out

    @guarded("read")
    def stats(self) -> dict[str, ScriptStats]:
        """Per current key: counts, days, operators and whether a run is live, of all runs
        and of the uses (succeeded, not dry) apart.

        Runs under former keys, and those of scripts absorbed since, are folded into the key
        the script has now.
        """
        if not self.has_schema:
            return {}
        moves = self._forward()
        cols = (RUNS.c.id, RUNS.c.script, RUNS.c.started_at, RUNS.c.status,
                RUNS.c.dry_run, RUNS.c.operator)
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(*cols)).all()
            live = {h.run_id for h in self._holders(conn) if not self._stale(h, conn)}
        acc: dict[str, _Tally] = {}
        for row in found:
            started = aware(row.started_at)
            assert started is not None
            key = current_key(row.script, started, moves)
            acc.setdefault(key, _Tally()).add(started, row.status, bool(row.dry_run),
                                              row.operator, row.id in live)
        return {k: t.stats(k) for k, t in acc.items()}


#: The order ``ScriptStats.other_runs`` lists what the runs that were no use were.
_OTHER_ORDER = ("dry", "failed", "interrupted", "lost", "running")


class _Tally:
    """One script's runs, counted as :meth:`Reads.stats` reads them."""

    def __init__(self) -> None:
        self.runs = self.used = 0
        self.days: set[_dt.date] = set()
        self.operators: set[str] = set()
        self.used_days: set[_dt.date] = set()
        self.used_by: set[str] = set()
        self.first: _dt.datetime | None = None
        self.last: _dt.datetime | None = None
        self.last_used: _dt.datetime | None = None
        self.last_real: _dt.datetime | None = None
        self.others: dict[str, int] = {}
        self.running = False

    def add(self, started: _dt.datetime, status: str, dry: bool, operator: str,
            live: bool) -> None:
        day = started.astimezone().date()
        self.runs += 1
        self.days.add(day)
        self.operators.add(operator)
        self.first = _earliest(self.first, started)
        self.last = _latest(self.last, started)
        if not dry:
            self.last_real = _latest(self.last_real, started)
        if status == "succeeded" and not dry:
            self.used += 1
            self.used_days.add(day)
            self.used_by.add(operator)
            self.last_used = _latest(self.last_used, started)
        else:
            what = "dry" if dry else status
            self.others[what] = self.others.get(what, 0) + 1
        if status == "running" and live:
            self.running = True

    def stats(self, key: str) -> ScriptStats:
        others = tuple(sorted(self.others.items(), key=lambda kv: (
            _OTHER_ORDER.index(kv[0]) if kv[0] in _OTHER_ORDER else len(_OTHER_ORDER), kv[0])))
        return ScriptStats(key, self.runs, self.used, frozenset(self.days),
                           frozenset(self.operators), self.first, self.last, self.running,
                           frozenset(self.used_days), frozenset(self.used_by),
                           self.last_used, self.last_real, others)


def _earliest(a: _dt.datetime | None, b: _dt.datetime) -> _dt.datetime:
    return b if a is None else min(a, b)


def _latest(a: _dt.datetime | None, b: _dt.datetime) -> _dt.datetime:
    return b if a is None else max(a, b)
