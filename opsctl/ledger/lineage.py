"""The moves of scripts and the lineage they make.

``promote``/``demote`` record ``old_key → new_key`` with the time. A script's *lineage* is
the chain of keys it had, each with the time span it had it, so the runs of
``recycle/export_order`` include those it had as ``yuzaoyah/ts_2024_06_10_export_order``
but not those of a different script that later took a freed name.
"""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa

from . import rows
from .core import LedgerCore, guarded
from .schema import MOVES, RUNS

#: A move: ``(old_key, new_key, moved_at)``.
Move = tuple[str, str, _dt.datetime]
#: A key the script had, from when until when (None where unbounded).
Span = tuple[str, "_dt.datetime | None", "_dt.datetime | None"]


class Lineage(LedgerCore):
    """The ledger's moves: recording them and following a script through them."""

    def __init__(self, engine: sa.engine.Engine, url: str) -> None:
        super().__init__(engine, url)
        # Moves are few and rare; one read serves a whole command (record_move refreshes it).
        self._moves: list[Move] | None = None

    @guarded("written")
    def record_move(self, old_key: str, new_key: str, operator: str) -> None:
        """Record that the script at ``old_key`` now lives at ``new_key``."""
        with self.engine.begin() as conn:
            conn.execute(MOVES.insert().values(old_key=old_key, new_key=new_key,
                                               operator=operator,
                                               moved_at=rows.naive(rows.utcnow())))
        self._moves = None

    def _all_moves(self) -> list[Move]:
        if not self.has_schema:
            return []
        if self._moves is None:
            with self.engine.connect() as conn:
                found = conn.execute(sa.select(MOVES.c.old_key, MOVES.c.new_key,
                                               MOVES.c.moved_at)
                                     .order_by(MOVES.c.moved_at, MOVES.c.id)).all()
            self._moves = [(r.old_key, r.new_key, rows.aware(r.moved_at))  # type: ignore[misc]
                           for r in found]
        return self._moves

    @guarded("read")
    def lineage(self, key: str) -> list[Span]:
        """The keys the script now at ``key`` had, newest first, each with ``[from, until)``.

        ``from``/``until`` are None where unbounded.
        """
        return lineage_of(key, self._all_moves())

    @guarded("read")
    def aliases(self, key: str) -> list[str]:
        """``key`` and every former key it had, following moves transitively."""
        seen: list[str] = []
        for k, _, _ in self.lineage(key):
            if k not in seen:
                seen.append(k)
        return seen


def lineage_of(key: str, moves: list[Move]) -> list[Span]:
    """Follow moves backwards from the script now at ``key``.

    The script had ``key`` since the last move into it (or, if none, since the last move out
    of it: a script that left freed the name); before that it had the move's old key, and so
    on. Each step only looks at moves before the time it reached.
    """
    spans: list[Span] = []
    current: str | None = key
    until: _dt.datetime | None = None
    seen: set[tuple[str, _dt.datetime | None]] = set()
    while current is not None and (current, until) not in seen:
        seen.add((current, until))
        before = [m for m in moves if until is None or m[2] < until]
        into = [m for m in before if m[1] == current]
        if into:
            old, _, when = into[-1]
            spans.append((current, when, until))
            current, until = old, when
            continue
        out = [m for m in before if m[0] == current]
        spans.append((current, out[-1][2] if out else None, until))
        current = None
    return spans


def current_key(script: str, started: _dt.datetime, moves: list[Move]) -> str:
    """Where the script that ran as ``script`` at ``started`` lives now."""
    key, when = script, started
    for _ in range(len(moves) + 1):
        nxt = next((m for m in moves if m[0] == key and m[2] > when), None)
        if nxt is None:
            break
        key, when = nxt[1], nxt[2]
    return key


def spans_clause(spans: list[Span]) -> sa.ColumnElement[bool]:
    """The runs started under one of ``spans``' keys within its time span."""
    parts = []
    for key, since, until in spans:
        cond = [RUNS.c.script == key]
        if since is not None:
            cond.append(RUNS.c.started_at >= rows.naive(since))
        if until is not None:
            cond.append(RUNS.c.started_at < rows.naive(until))
        parts.append(sa.and_(*cond))
    return sa.or_(*parts)
