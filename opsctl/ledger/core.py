"""What every part of the :class:`~opsctl.ledger.store.Ledger` shares: its engine, its URL,
its database's backend, and whether the tables exist.

The ledger is one class built from focused parts, each on the one below it:
:class:`~.lineage.Lineage` (moves), :class:`~.locks.Locks`, :class:`~.reads.Reads`,
:class:`~.writes.Writes`, and :class:`~opsctl.ledger.store.Ledger` (opening and closing).
"""

from __future__ import annotations

import sqlalchemy as sa

from .backend import Backend
from .engine import backend_for


class LedgerCore:
    """The state of an open ledger; see :meth:`opsctl.ledger.store.Ledger.open`."""

    def __init__(self, engine: sa.engine.Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.backend: Backend = backend_for(engine.dialect.name)
        #: False while the database has no ledger tables (a reader then reads empty).
        self.has_schema = False

    def retryable(self, exc: BaseException) -> bool:
        """Whether a transaction that raised ``exc`` is worth trying again."""
        return self.backend.retryable(exc)
