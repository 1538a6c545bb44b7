"""What the ledger needs to know about its database, as one :class:`Backend` per kind of
database: the generic answers here, every difference in that database's own module
(:mod:`.sqlite`, :mod:`.postgresql`, :mod:`.mysql`), never as ``if dialect == ...`` in a caller.

:func:`opsctl.ledger.engine.backend_for` picks the backend of an engine or URL. A backend is
stateless; importing one never imports a SQLAlchemy dialect (the MySQL dialect alone costs
~10 ms, and most runs never see it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


class Backend:
    """A database SQLAlchemy knows and opsctl has nothing particular to say about."""

    #: The SQLAlchemy backend name (``engine.url.get_backend_name()``).
    name = ""
    #: ``(module, drivername)`` pairs for a URL that names no driver, in order of preference:
    #: the first whose module is installed is used, else the one opsctl's extra installs (so
    #: the error names what to install). SQLAlchemy's own default is not asked: it changes
    #: between versions (psycopg2, then psycopg 3 in SQLAlchemy 2.1).
    drivers: tuple[tuple[str, str], ...] = ()
    #: ``(extra, module)``: the ``opsctl[extra]`` that installs this database's driver.
    extra: tuple[str, str] | None = None
    #: Whether a list of keys can be one array parameter, unnested and joined laterally
    #: (:func:`.queries.newest_of_keys`).
    lateral = False
    #: SQL for the database server's current UTC time, with microseconds where it has them.
    utcnow_sql = "CURRENT_TIMESTAMP"
    #: Other names a URL may give this database (``postgres://``), made ``name`` on reading.
    aliases: tuple[str, ...] = ()
    #: The server's port when a URL names none.
    default_port: int | None = None

    def database_key(self, url: sa.engine.URL) -> tuple[object, ...] | None:
        """What tells the database ``url`` names from any other, to see whether two URLs
        (the ledger's, the app's) name one database: the server and the database name, the
        user and the driver left out. None when the URL names no database."""
        if not url.database:
            return None
        host = (url.host or "localhost").lower()
        # No host is the local socket: the same server as the loopback names.
        local = host in ("localhost", "127.0.0.1", "::1")
        return ("localhost" if local else host, url.port or self.default_port, url.database)

    def engine_options(self, url: sa.engine.URL) -> dict[str, Any]:
        """Keyword arguments for :func:`sqlalchemy.create_engine` of ``url``."""
        return {}

    def configure(self, engine: sa.engine.Engine) -> None:
        """Hook what every new connection needs (nothing, by default)."""

    def unsynced_connect(self, engine: sa.engine.Engine) -> Callable[[], Any] | None:
        """How to open a DBAPI connection for the ledger's checkpoints beside ``engine``: each
        statement commits on its own, in one round trip, without waiting for the disk. None
        (by default) where the database has no such thing, or needs none: checkpoints then
        go through ``engine``."""
        return None

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
