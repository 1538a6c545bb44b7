"""Dry runs: every change a script makes through the app's Flask-SQLAlchemy session, on every
bind, is rolled back at the end, even after the script's own ``commit()``.

How: for each engine the session touches, opsctl opens one connection and begins an outer
transaction; the session joins it with ``join_transaction_mode="create_savepoint"``, so the
script's ``commit()`` only releases a savepoint and its ``rollback()`` returns to one. At the
end the outer transactions are rolled back. Every session ``db.session`` hands out in the
meantime (also after ``db.session.remove()``) is such a session.

What cannot be rolled back (the README says so too): DDL on MySQL/MariaDB (it commits
implicitly, and with it everything before it), non-transactional tables (MyISAM), sequence
and auto-increment counters, anything done through ``db.engine`` or another connection
directly, and everything outside the database (files, HTTP calls, mail, queues): a script
checks ``current_run().dry_run`` for those.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


@contextmanager
def rolled_back(app: Flask) -> Iterator[bool]:
    """Roll back everything done through ``db.session`` inside the block.

    Yields False when the app has no Flask-SQLAlchemy extension (nothing to roll back).
    Needs an app context.
    """
    db = app.extensions.get("sqlalchemy")
    if db is None:
        yield False
        return
    import sqlalchemy as sa

    scoped = db.session
    factory = scoped.session_factory
    connections: dict[Any, sa.engine.Connection] = {}

    def connection_for(engine: sa.engine.Engine) -> sa.engine.Connection:
        conn = connections.get(engine)
        if conn is None:
            conn = engine.connect()
            conn.begin()
            if engine.dialect.name == "sqlite":
                _begin_sqlite(conn)
            connections[engine] = conn
        return conn

    class DrySession(factory.class_):  # type: ignore[name-defined,misc]
        """The app's own session class (its bind rules stay), bound to the held connections."""

        def get_bind(self, *args: Any, **kwargs: Any) -> Any:
            bind = super().get_bind(*args, **kwargs)
            return connection_for(bind) if isinstance(bind, sa.engine.Engine) else bind

    def make_session() -> Any:
        return DrySession(**{**factory.kw, "join_transaction_mode": "create_savepoint"})

    registry = scoped.registry
    scoped.remove()  # a session made before the run would not be a dry one
    original = registry.createfunc
    registry.createfunc = make_session
    try:
        yield True
    finally:
        try:
            scoped.remove()
        finally:
            registry.createfunc = original
            for conn in connections.values():
                try:
                    conn.rollback()
                finally:
                    conn.close()


def _begin_sqlite(conn: Any) -> None:
    """Open a real transaction on a pysqlite connection.

    pysqlite only begins before INSERT/UPDATE/DELETE, so the session's first SAVEPOINT would
    start one itself and its RELEASE (the script's ``commit()``) would commit for real.
    """
    dbapi = conn.connection.dbapi_connection
    if not getattr(dbapi, "in_transaction", True):
        conn.exec_driver_sql("BEGIN")
