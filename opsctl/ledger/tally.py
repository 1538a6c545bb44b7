"""Per-script counts for the lifecycle's suggestions (``promote``, ``demote``): all runs, and
the uses (succeeded, not dry) apart, counted by the database.

One ``GROUP BY`` returns a row per script, status, dry or not, operator and UTC date, with its
count and its first and last start: what comes back grows with the days scripts ran on, not
with the runs. The local calendar dates a script ran on are read from those rows: a UTC date
falls on at most two local dates, the earlier before local midnight and the later after it,
so its first and last runs name every one of them. A script's runs under a key it later
left are told apart by the moves' times (a ``CASE`` over them), and counted for the script
that has them now.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import sqlalchemy as sa

from .core import guarded
from .locks import Locks
from .rows import aware
from .schema import RUNS
from .spans import Move, current_key
from .values import ScriptStats

#: The order ``ScriptStats.other_runs`` lists what the runs that were no use were.
_OTHER_ORDER = ("dry", "failed", "interrupted", "lost", "paused", "cancelled", "running")


class Tally(Locks):
    """The ledger's per-script statistics."""

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
        started = RUNS.c.started_at
        # A subquery names the groups, so no database sees the CASE's parameters twice.
        runs = sa.select(RUNS.c.script, _segment(moves).label("segment"), RUNS.c.status,
                         RUNS.c.dry_run, RUNS.c.operator, sa.func.date(started).label("day"),
                         started).subquery()
        groups = (runs.c.script, runs.c.segment, runs.c.status, runs.c.dry_run,
                  runs.c.operator)
        query = (sa.select(*groups, sa.func.count().label("n"),
                           sa.func.min(runs.c.started_at).label("first"),
                           sa.func.max(runs.c.started_at).label("last"))
                 .group_by(*groups, runs.c.day))
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
            live = [h.run_id for h in self._holders(conn) if not self._stale(h, conn)]
            running = conn.execute(
                sa.select(RUNS.c.script, started).where(RUNS.c.id.in_(live),
                                                        RUNS.c.status == "running")).all() \
                if live else []
        acc: dict[str, _Tally] = {}
        for row in found:
            first, last = aware(row.first), aware(row.last)
            assert first is not None and last is not None
            key = current_key(row.script, first, moves)
            acc.setdefault(key, _Tally()).add(row, first, last)
        for script, when in running:
            key = current_key(script, aware(when), moves)  # type: ignore[arg-type]
            if key in acc:
                acc[key].running = True
        return {k: t.stats(k) for k, t in acc.items()}


def _segment(moves: list[Move]) -> sa.ColumnElement[Any]:
    """Which stretch of its key's history a run falls in: 0 after the last move away from
    its key (or with none), else the number of the move away that follows it. Runs of one
    segment belong to one script now."""
    away: dict[str, list[_dt.datetime]] = {}
    for old, _, when in moves:
        away.setdefault(old, []).append(when)
    whens = [(sa.and_(RUNS.c.script == key, RUNS.c.started_at < when.replace(tzinfo=None)),
              n) for key, times in away.items()
             for n, when in enumerate(sorted(t.astimezone(_dt.UTC) for t in times), 1)]
    return sa.case(*whens, else_=0) if whens else sa.literal(0)


class _Tally:
    """One script's runs, added up from :meth:`Tally.stats`' groups."""

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

    def add(self, group: Any, first: _dt.datetime, last: _dt.datetime) -> None:
        """A group of runs of one status, dry or not, operator and UTC date."""
        days = {first.astimezone().date(), last.astimezone().date()}
        dry, count = bool(group.dry_run), int(group.n)
        self.runs += count
        self.days |= days
        self.operators.add(group.operator)
        self.first = _earliest(self.first, first)
        self.last = _latest(self.last, last)
        if not dry:
            self.last_real = _latest(self.last_real, last)
        if group.status == "succeeded" and not dry:
            self.used += count
            self.used_days |= days
            self.used_by.add(group.operator)
            self.last_used = _latest(self.last_used, last)
        else:
            what = "dry" if dry else group.status
            self.others[what] = self.others.get(what, 0) + count

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
