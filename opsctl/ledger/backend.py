"""What the ledger needs to know about its database, as one :class:`Backend` per kind of
database: the generic answers here, every difference in that database's own module
(:mod:`.sqlite`, :mod:`.postgresql`, :mod:`.mysql`), never as ``if dialect == ...`` in a caller.

:func:`opsctl.ledger.engine.backend_for` picks the backend of an engine or URL. A backend is
stateless; importing one never imports a SQLAlchemy dialect (the MySQL dialect alone costs
~10 ms, and most runs never see it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


class Backend:
    """A database SQLAlchemy knows and opsctl has nothing particular to say about."""

    #: The SQLAlchemy backend name (``engine.url.get_backend_name()``).
    name = ""
    #: ``(module, drivername)``: when a URL names no driver and SQLAlchemy's default driver
    #: ``module`` is not installed, use ``drivername`` (the one opsctl's extra installs).
    default_driver: tuple[str, str] | None = None
    #: ``(extra, module)``: the ``opsctl[extra]`` that installs this database's driver.
    extra: tuple[str, str] | None = None
    #: SQL for the database server's current UTC time, with microseconds where it has them.
    utcnow_sql = "CURRENT_TIMESTAMP"

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`sqlalchemy.create_engine`."""
        return {}

    def configure(self, engine: sa.engine.Engine) -> None:
        """Hook what every new connection needs (nothing, by default)."""

    def text_type(self) -> sa.types.TypeEngine[Any]:
        """The type of the long text columns (output tail, error, summary)."""
        return sa.Text()

    def datetime_type(self) -> sa.types.TypeEngine[Any]:
        """The type of the time columns (naive UTC, to the microsecond where possible)."""
        return sa.DateTime()

    def create_tables(self, conn: sa.engine.Connection, metadata: sa.MetaData) -> None:
        """Create the tables missing from the database (some may exist already: a creation
        cut short, or made by a process that lost a race)."""
        metadata.create_all(conn, checkfirst=True)

    @contextmanager
    def schema_change(self, engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
        """A connection in a transaction that holds the ledger's schema lock: while one
        process creates or upgrades the tables, another one opening the ledger waits here,
        then reads the version again and finds the work done.

        Generically there is no such lock: the steps are idempotent, so two processes doing
        the same step both end with it done.
        """
        with engine.begin() as conn:
            yield conn

    def retryable(self, exc: BaseException) -> bool:
        """Whether the transaction that raised ``exc`` (a deadlock, a serialization failure,
        a busy database) is worth trying again."""
        return False

    def missing_table(self, exc: BaseException) -> bool:
        """Whether ``exc`` says one of the ledger's tables does not exist (a ledger with no
        tables yet). The table must be named: a database or a user that does not exist is
        no empty ledger, and waiting will not make it."""
        text = _text_of(exc)
        return _TABLE.search(text) is not None and any(
            s in text for s in ("no such table", "does not exist", "doesn't exist"))


#: A ledger table's name, whole (``opsctl_meta``, not ``opsctl_metadata``).
_TABLE = re.compile(r"\bopsctl_(?:meta|runs|locks|moves)\b")


def _text_of(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).lower()
