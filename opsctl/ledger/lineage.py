"""The moves of scripts, the scripts absorbed into others, and the lineage they make.

``promote``, ``demote`` and ``rename`` record ``old_key → new_key`` with the time (a *move*);
``absorb`` records ``other → keep`` (an *absorption*: the script at ``other`` was folded into
the one at ``keep`` and removed). A script's *lineage* is the chain of keys it had, each with
the time span it had it, so the runs of ``recycle/export_order`` include those it had as
``yuzaoyah/ts_2024_06_10_export_order`` but not those of a different script that later took
a freed name. Its *spans* add the lineages of the scripts absorbed into it, each up to its
absorption: what its history, its run-once and its lock cover.
"""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa

from . import rows
from .core import LedgerCore, guarded
from .schema import MOVES, RUNS

#: A move or an absorption: ``(old_key, new_key, at)``.
Move = tuple[str, str, _dt.datetime]
#: A key the script had, from when until when (None where unbounded).
Span = tuple[str, "_dt.datetime | None", "_dt.datetime | None"]
#: ``opsctl_moves.kind`` of an absorption; a move's is NULL.
ABSORB = "absorb"


class Lineage(LedgerCore):
    """The ledger's moves and absorptions: recording them and following a script through
    them."""

    def __init__(self, engine: sa.engine.Engine, url: str) -> None:
        super().__init__(engine, url)
        # Moves are few and rare; one read serves a whole command (recording refreshes it).
        self._events: tuple[list[Move], list[Move]] | None = None

    @guarded("written")
    def record_move(self, old_key: str, new_key: str, operator: str) -> None:
        """Record that the script at ``old_key`` now lives at ``new_key``."""
        self._record(old_key, new_key, operator, None)

    @guarded("written")
    def record_absorb(self, other_key: str, keep_key: str, operator: str) -> None:
        """Record that the script at ``other_key`` was folded into the one at ``keep_key`` and
        removed: its runs are ``keep_key``'s from now on, and its name is free."""
        self._record(other_key, keep_key, operator, ABSORB)

    def _record(self, old_key: str, new_key: str, operator: str, kind: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(MOVES.insert().values(old_key=old_key, new_key=new_key,
                                               operator=operator, kind=kind,
                                               moved_at=rows.naive(rows.utcnow())))
        self._events = None

    def _read_events(self) -> tuple[list[Move], list[Move]]:
        """``(moves, absorptions)``, each oldest first."""
        if not self.has_schema:
            return [], []
        if self._events is None:
            with self.engine.connect() as conn:
                found = conn.execute(sa.select(MOVES.c.old_key, MOVES.c.new_key,
                                               MOVES.c.moved_at, MOVES.c.kind)
                                     .order_by(MOVES.c.moved_at, MOVES.c.id)).all()
            moves: list[Move] = []
            absorbed: list[Move] = []
            for r in found:
                event = (r.old_key, r.new_key, rows.aware(r.moved_at))
                (absorbed if r.kind == ABSORB else moves).append(event)  # type: ignore[arg-type]
            self._events = moves, absorbed
        return self._events

    def _all_moves(self) -> list[Move]:
        return self._read_events()[0]

    def _all_absorbed(self) -> list[Move]:
        return self._read_events()[1]

    def _forward(self) -> list[Move]:
        """Moves and absorptions together, oldest first: where a run's script went since."""
        moves, absorbed = self._read_events()
        return sorted(moves + absorbed, key=lambda m: m[2])

    @guarded("read")
    def lineage(self, key: str) -> list[Span]:
        """The keys the script now at ``key`` had, newest first, each with ``[from, until)``.

        ``from``/``until`` are None where unbounded.
        """
        return lineage_of(key, *self._read_events())

    @guarded("read")
    def spans(self, key: str) -> list[Span]:
        """Its lineage, then the lineages of the scripts absorbed into it (each up to its
        absorption): every run that belongs to the script now at ``key``."""
        moves, absorbed = self._read_events()
        return lineage_of(key, moves, absorbed) + absorbed_of(key, moves, absorbed)

    @guarded("read")
    def absorbed_spans(self, key: str) -> list[Span]:
        """The spans of the scripts absorbed into the one now at ``key``, and into those."""
        return absorbed_of(key, *self._read_events())

    @guarded("read")
    def aliases(self, key: str) -> list[str]:
        """``key`` and every key whose runs are its own now: its former keys and those of the
        scripts absorbed into it, following moves transitively."""
        seen: list[str] = []
        for k, _, _ in self.spans(key):
            if k not in seen:
                seen.append(k)
        return seen


def lineage_of(key: str, moves: list[Move], absorbed: list[Move] | None = None,
               until: _dt.datetime | None = None) -> list[Span]:
    """Follow moves backwards from the script at ``key`` (as it was just before ``until``).

    The script had ``key`` since the last move into it, unless the name was freed after that
    (moved on, or absorbed into another script): then it had it since then, and whatever had
    the name before is another script. Before the move into it, it had the move's old key,
    and so on; each step only looks at what happened before the time it reached.
    """
    spans: list[Span] = []
    current: str | None = key
    seen: set[tuple[str, _dt.datetime | None]] = set()
    while current is not None and (current, until) not in seen:
        seen.add((current, until))
        into, freed = _last_into(current, moves, until), _last_out(current, moves, absorbed,
                                                                    until)
        if into is not None and (freed is None or into[2] >= freed):
            spans.append((current, into[2], until))
            current, until = into[0], into[2]
            continue
        spans.append((current, freed, until))
        current = None
    return spans


def _last_into(key: str, moves: list[Move], until: _dt.datetime | None) -> Move | None:
    found = None
    for move in moves:
        if until is not None and move[2] >= until:
            break  # oldest first: the rest are later still
        if move[1] == key and move[0] != key:
            found = move
    return found


def _last_out(key: str, moves: list[Move], absorbed: list[Move] | None,
              until: _dt.datetime | None) -> _dt.datetime | None:
    times = [when for old, new, when in [*moves, *(absorbed or ())]
             if old == key and new != key and (until is None or when < until)]
    return max(times) if times else None


def absorbed_of(key: str, moves: list[Move], absorbed: list[Move],
                until: _dt.datetime | None = None) -> list[Span]:
    """The spans of the scripts absorbed into the one at ``key`` while it had each of its
    keys, each up to its absorption, and of those absorbed into them before that."""
    out: list[Span] = []
    for k, since, end in lineage_of(key, moves, absorbed, until):
        for other, keep, when in absorbed:
            if keep == k and (since is None or when >= since) and (end is None or when < end):
                # Earlier times only, each step: the recursion ends.
                out.extend(lineage_of(other, moves, absorbed, when))
                out.extend(absorbed_of(other, moves, absorbed, when))
    return out


def within(spans: list[Span], script: str, started: _dt.datetime) -> bool:
    """Whether a run of ``script`` started at ``started`` falls in one of ``spans``."""
    return any(key == script and (since is None or started >= since) and
               (until is None or started < until) for key, since, until in spans)


def current_key(script: str, started: _dt.datetime, moves: list[Move]) -> str:
    """Where the script that ran as ``script`` at ``started`` lives now: ``moves`` holds the
    moves and absorptions, oldest first."""
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
