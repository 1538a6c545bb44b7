"""One page of runs, newest first, for a list that is paged by keyset (the web dashboard's
runs page): the runs started before a position ``(started_at, id)``, never an ``OFFSET``, so
the thousandth page costs what the first does.

Each read is one walk of an index of :mod:`.schema` from the position down: ``started_at,
id`` for every script, ``status, started_at, id`` for a status, ``script, started_at, id``
for a script (its lineage: one limited walk per key it had, in :func:`~.queries.newest_first`).
Filters without an index of their own (operator, environment) are applied during the walk.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa

from . import rows
from .queries import BRIEF, newest_first
from .schema import RUNS

if TYPE_CHECKING:
    from .store import Ledger
    from .values import Run


class Position(NamedTuple):
    """Where a page ends: the last run's start and id. The next page starts below it."""

    started_at: _dt.datetime
    run_id: int

    def token(self) -> str:
        """The position as text for a URL: ``<microseconds since epoch>.<id>``."""
        epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        aware = rows.aware(self.started_at)
        assert aware is not None
        micros = (aware - epoch) // _dt.timedelta(microseconds=1)
        return f"{micros}.{self.run_id}"

    @classmethod
    def parse(cls, text: str) -> Position | None:
        """The position a :meth:`token` wrote; None for anything else."""
        micros, _, run_id = text.partition(".")
        if not (micros.lstrip("-").isdigit() and run_id.isdigit()):
            return None
        epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        return cls(epoch + _dt.timedelta(microseconds=int(micros)), int(run_id))


class Filters(NamedTuple):
    """What a page of runs is limited to; None: any."""

    script: str | None = None
    status: str | None = None
    operator: str | None = None
    environment: str | None = None


def page(ledger: Ledger, filters: Filters, *, before: Position | None = None,
         size: int = 50) -> tuple[list[Run], Position | None]:
    """Up to ``size`` runs matching ``filters``, newest first, started before ``before``
    (from the newest when None), without their output tails; and the position of the next
    page, None when this is the last."""
    if not ledger.has_schema:
        return [], None
    where: list[sa.ColumnElement[bool]] = []
    if before is not None:
        started = rows.naive(before.started_at)
        # The first condition bounds the index walk (an OR alone would not, on SQLite).
        where += [RUNS.c.started_at <= started,
                  sa.or_(RUNS.c.started_at < started, RUNS.c.id < before.run_id)]
    if filters.operator:
        where.append(RUNS.c.operator == filters.operator)
    if filters.environment:
        where.append(RUNS.c.environment == filters.environment)
    spans = ledger.spans(filters.script) if filters.script else None
    query = newest_first(spans, status=filters.status or None, limit=size + 1,
                         columns=BRIEF, where=where)
    with ledger.engine.connect() as conn:
        found = [rows.run_of(row) for row in conn.execute(query)]
    if len(found) <= size:
        return found, None
    last = found[size - 1]
    return found[:size], Position(last.started_at, last.id)
