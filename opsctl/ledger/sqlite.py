"""SQLite, the default ledger (``instance/opsctl.sqlite3``): its connection settings, WAL
mode, and a schema lock that is SQLite's own write lock (``BEGIN IMMEDIATE``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from .backend import Backend


class SQLite(Backend):
    """SQLite through the standard library's ``sqlite3``."""

    name = "sqlite"
    # %f is SS.SSS; three more zeros make the six-digit fraction SQLAlchemy parses.
    utcnow_sql = "STRFTIME('%Y-%m-%d %H:%M:%f000', 'now')"

    def engine_options(self, url: sa.engine.URL) -> dict[str, Any]:
        # Twenty processes starting at once queue on SQLite's write lock; wait for it.
        return {"connect_args": {"timeout": 30}}

    def configure(self, engine: sa.engine.Engine) -> None:
        sa.event.listen(engine, "connect", _on_connect)

    @contextmanager
    def schema_change(self, engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
        """``BEGIN IMMEDIATE`` takes the database's write lock at once, so a second process
        waits (up to the 30 s busy timeout) and then sees the finished change; SQLite's DDL
        is transactional, so a change cut short leaves nothing behind.

        The driver's own transaction handling is switched off for this connection: left to
        itself it would begin a transaction only before the first INSERT, after the DDL.
        """
        with engine.connect() as plain:
            conn = plain.execution_options(isolation_level="AUTOCOMMIT")
            # WAL: readers never block the one writer, and commits need no fsync of the main
            # file. Persistent in the file, so set where the tables are made; it cannot be
            # switched inside a transaction.
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    def retryable(self, exc: BaseException) -> bool:
        return "database is locked" in str(getattr(exc, "orig", None))

    def missing_table(self, exc: BaseException) -> bool:
        return "no such table" in str(getattr(exc, "orig", exc)).lower()

    def database_key(self, url: sa.engine.URL) -> tuple[object, ...] | None:
        """The file, with symlinks and ``..`` resolved; None in memory."""
        database = url.database or ""
        if url.query.get("uri") in ("true", "1") and database.startswith("file:"):
            database = database[len("file:"):]
        if database in ("", ":memory:") or url.query.get("mode") == "memory" or \
                database.startswith(":memory:"):
            return None
        return (os.path.realpath(os.path.expanduser(database)),)


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    # NORMAL is safe in WAL mode (a power cut may lose the last commit, never corrupt) and
    # takes the fsync off every commit: a run's two writes stay well under a millisecond.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
