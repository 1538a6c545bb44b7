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

import sqlalchemy as sa

from . import rows
from .core import LedgerCore, guarded
from .schema import MOVES
from .spans import Move, Span, absorbed_of, lineage_of

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

