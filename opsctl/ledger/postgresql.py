"""PostgreSQL, a team's shared ledger: its driver (psycopg 3), connection settings, the
server's UTC clock, and a schema lock that is a transaction-scoped advisory lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from .backend import Backend

#: The advisory lock key of a ledger's schema changes: ``b"opsctl_s"`` as a bigint. Advisory
#: locks belong to one database, so ledgers in different databases never wait on each other.
SCHEMA_LOCK = int.from_bytes(b"opsctl_s", "big")


class PostgreSQL(Backend):
    """PostgreSQL through psycopg 3 (``opsctl[postgres]``)."""

    name = "postgresql"
    # psycopg 3 is opsctl's; psycopg2 is what many apps already have.
    drivers = (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2"))
    extra = ("postgres", "psycopg")
    # postgres:// is how hosting providers hand URLs out; SQLAlchemy 1.4 dropped the alias.
    aliases = ("postgres",)
    default_port = 5432
    utcnow_sql = "TIMEZONE('utc', CURRENT_TIMESTAMP)"
    lateral = True

    def engine_options(self, url: sa.engine.URL) -> dict[str, Any]:
        # pool_pre_ping: a pooled connection the server dropped (a restart, a failover) is
        # replaced before use instead of failing the run's end.
        return {"connect_args": {"connect_timeout": 5}, "pool_size": 2, "pool_pre_ping": True}

    def unsynced_connect(self, engine: sa.engine.Engine) -> Callable[[], Any] | None:
        """How to open one DBAPI connection in autocommit whose commits do not wait for their
        WAL flush (``synchronous_commit = off``, set for that connection alone as it starts,
        through libpq's ``options``): a checkpoint's ``UPDATE`` is then one round trip, where
        a transaction of the ledger's own engine takes five (its pre-ping, ``BEGIN``, ``SET
        LOCAL``, the ``UPDATE``, ``COMMIT``). Straight from the driver, as the engine's
        dialect would open it: no pool, no pre-ping (a connection the server dropped fails
        its statement, and the caller goes the ledger's usual way), no second dialect to
        initialise. libpq's drivers only (psycopg 3, psycopg2); None for the others."""
        dialect = engine.dialect
        if dialect.driver not in ("psycopg", "psycopg2"):
            return None
        cargs, cparams = dialect.create_connect_args(engine.url)
        given = cparams.get("options") or ""
        cparams.update(connect_timeout=5,
                       options=f"{given} -c synchronous_commit=off".strip())

        def connect() -> Any:
            raw = dialect.loaded_dbapi.connect(*cargs, **cparams)
            raw.autocommit = True
            return raw

        return connect

    @contextmanager
    def schema_change(self, engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
        """One transaction holding ``pg_advisory_xact_lock``: a second process waits for the
        first to commit. PostgreSQL's DDL is transactional, so a change cut short leaves
        nothing behind, and the lock goes with the transaction."""
        with engine.begin() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            yield conn

    def retryable(self, exc: BaseException) -> bool:
        return _sqlstate(exc) in ("40001", "40P01")  # serialization failure, deadlock

    def missing_table(self, exc: BaseException) -> bool:
        """SQLSTATE 42P01 (undefined table): a database or role that does not exist also
        "does not exist", and must fail at once rather than read as a ledger without tables.
        A driver that gives no SQLSTATE is read in words."""
        state = _sqlstate(exc)
        return state == "42P01" if state is not None else super().missing_table(exc)


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error: ``sqlstate`` in psycopg 3, ``pgcode`` in psycopg2."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
