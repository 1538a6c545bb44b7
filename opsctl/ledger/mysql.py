"""MySQL and MariaDB, a team's shared ledger: the driver (PyMySQL), connection settings,
table options, the column types their defaults get wrong, and a schema lock that is a named
``GET_LOCK``.

Their DDL commits implicitly, so a schema change is never one transaction: each upgrade step
checks what is there before changing it, and a step cut short is completed by the next
process that opens the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ..errors import LedgerUnreachable
from .backend import Backend

#: Seconds a process waits for another one's schema change before giving up.
SCHEMA_LOCK_WAIT = 120
#: Host names of this machine: a connection to one never leaves it (a missing host is the
#: local socket).
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: Table options, set just before creating the tables: naming them in ``sa.Table`` would
#: import the MySQL dialect on every run.
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class MySQL(Backend):
    """MySQL or MariaDB (one class: SQLAlchemy names MariaDB either way)."""

    utcnow_sql = "UTC_TIMESTAMP(6)"
    extra = ("mysql", "pymysql")
    default_port = 3306

    def __init__(self, name: str) -> None:
        self.name = name
        # mysqlclient (SQLAlchemy's default) when installed, else PyMySQL, opsctl's.
        self.drivers = (("MySQLdb", f"{name}+mysqldb"), ("pymysql", f"{name}+pymysql"))

    def engine_options(self, url: sa.engine.URL) -> dict[str, Any]:
        # pool_pre_ping: see PostgreSQL's; MySQL also drops idle connections (wait_timeout).
        connect: dict[str, Any] = {"connect_timeout": 5, "charset": "utf8mb4"}
        if (url.host or "localhost") in _LOOPBACK and not any(k.startswith("ssl")
                                                             for k in url.query):
            # PyMySQL tries TLS unless told not to, loading the system's certificates for
            # every connection (tens of ms); to this same machine it protects nothing.
            connect["ssl_disabled"] = True
        return {"connect_args": connect, "pool_size": 2, "isolation_level": "READ COMMITTED",
                "pool_pre_ping": True}

    def text_type(self) -> sa.types.TypeEngine[Any]:
        """MEDIUMTEXT: TEXT stops at 64 KiB of bytes."""
        from sqlalchemy.dialects.mysql import MEDIUMTEXT

        return MEDIUMTEXT()

    def datetime_type(self) -> sa.types.TypeEngine[Any]:
        """DATETIME(6): without it, microseconds are dropped."""
        from sqlalchemy.dialects.mysql import DATETIME

        return DATETIME(fsp=6)

    def create_tables(self, conn: sa.engine.Connection, metadata: sa.MetaData) -> None:
        """Create the missing tables, each with its indexes declared in its ``CREATE TABLE``:
        on InnoDB a ``CREATE INDEX`` of its own is a table rebuild, and the ledger's six made
        a new ledger's tables take three times as long."""
        from sqlalchemy.schema import CreateIndex

        existing = set(sa.inspect(conn).get_table_names())
        for table in metadata.sorted_tables:
            table.dialect_kwargs.update(TABLE_OPTIONS)
            if table.name in existing:
                continue
            create = _CreateWithIndexes(table)
            conn.execute(create)
            for index in table.indexes - set(create.inline):  # any other kind: on its own
                conn.execute(CreateIndex(index))

    @contextmanager
    def schema_change(self, engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
        """A named lock (``GET_LOCK``, one per database) held by this connection's session
        while the change runs; another process waits for it. The DDL inside commits as it
        goes (see the module's docstring)."""
        lock = sa.func.left(sa.func.concat("opsctl_schema ", sa.func.database()), 64)
        with engine.connect() as conn:
            got = conn.execute(sa.select(sa.func.get_lock(lock, SCHEMA_LOCK_WAIT))).scalar()
            conn.commit()
            if got != 1:
                raise LedgerUnreachable(
                    f"another process has been changing the ledger's tables for over "
                    f"{SCHEMA_LOCK_WAIT} s", "try again when it is done")
            try:
                with conn.begin():
                    yield conn
            finally:
                try:
                    conn.execute(sa.select(sa.func.release_lock(lock)))
                    conn.commit()
                except sa.exc.DBAPIError:
                    # The lock belongs to the session: closing the connection releases it,
                    # where keeping it in the pool would keep the lock too.
                    conn.invalidate()

    def retryable(self, exc: BaseException) -> bool:
        args: tuple[Any, ...] = getattr(getattr(exc, "orig", None), "args", ())
        return bool(args) and args[0] in (1205, 1213)  # lock wait timeout, deadlock

    def missing_table(self, exc: BaseException) -> bool:
        args: tuple[Any, ...] = getattr(getattr(exc, "orig", None), "args", ())
        # 1146: table doesn't exist (PyMySQL, mysqlclient); other drivers say it in words.
        return (bool(args) and args[0] == 1146) or super().missing_table(exc)


class _CreateWithIndexes(sa.schema.CreateTable):
    """``CREATE TABLE`` with the table's plain indexes (named, on its columns, no options)
    declared inside it (``INDEX name (columns)``), in :attr:`inline`."""

    inherit_cache = False

    def __init__(self, table: sa.Table) -> None:
        super().__init__(table)
        self.inline = [i for i in table.indexes if _plain(i)]
        _compiles()


def _plain(index: sa.Index) -> bool:
    return (index.name is not None and not index.dialect_kwargs and bool(index.expressions)
            and all(isinstance(e, sa.Column) for e in index.expressions))


def _compiles() -> None:
    """Teach SQLAlchemy to compile :class:`_CreateWithIndexes` (once, on first use: the
    extension is imported only where a MySQL ledger is made)."""
    from sqlalchemy.ext.compiler import compiles

    if getattr(_CreateWithIndexes, "_compiled", False):
        return

    @compiles(_CreateWithIndexes)
    def _with_indexes(create: _CreateWithIndexes, compiler: Any, **kw: Any) -> str:
        text: str = compiler.visit_create_table(create, **kw)
        head, end, options = text.rpartition("\n)")
        if not end or not create.inline:
            create.inline = []  # created on their own instead
            return text
        quote = compiler.preparer.quote
        clauses = "".join(
            f", \n\t{'UNIQUE ' if index.unique else ''}INDEX {quote(index.name)} "
            f"({', '.join(quote(c.name) for c in index.columns)})"
            for index in sorted(create.inline, key=lambda i: str(i.name)))
        return head + clauses + end + options

    _CreateWithIndexes._compiled = True  # type: ignore[attr-defined]
