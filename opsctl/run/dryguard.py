"""The guard of a dry run: every SQLAlchemy session joins a transaction opsctl holds, and every
way out of that transaction is refused where it is attempted, or found at the end.

- **Sessions.** Every ORM session in the process (Flask-SQLAlchemy's ``db.session``,
  Alchemical's, ``Session(db.engine)``, a sessionmaker's), on every engine but the ledger's,
  gets opsctl's held connection for that engine and joins its outer transaction with a
  savepoint: the script's ``commit()`` releases a savepoint, its ``rollback()`` returns to one.
  ``get_bind()`` still answers the engine, as in a real run.
- **The held connection.** Its ``commit()``/``rollback()``, statements that end or replace
  the transaction (:mod:`.drydb` knows them per database), the driver connection's own
  ``commit()``/``rollback()`` and autocommit switches are refused: :class:`DryRunRefused`
  raised where the script attempted it, and the run fails.
- **Connections the script opens itself** (``db.engine.connect()``/``begin()``, an engine of
  its own): their ``commit()`` is withheld and their changes rolled back when they go back to
  the pool (or at the end); the same statements are refused on them, and a connection in
  AUTOCOMMIT mode is refused at its first statement.
- **At each batch boundary** of :func:`opsctl.batches` (:func:`rewind`) everything is
  rolled back and begun again, so the batch's changes and locks are not held past it.
- **At the end** each held connection returns to a savepoint opsctl set right after it began:
  if that savepoint is gone, its transaction was ended behind opsctl's back (a driver cursor's
  ``connection.commit()``): the run is an escape, recorded as failed. Then everything is
  rolled back, and the database says what it could not undo (MySQL's non-transactional
  tables).

Private SQLAlchemy API relied on (checked against SQLAlchemy 2.0 and 2.1):
``SessionTransaction._connection_for_bind`` (where a session turns a bind into a connection:
also the flush's path, which :meth:`Session.get_bind` is not), ``_ConnectionFairy.
_connection_record`` (where ``driver_connection`` is read), and
``Connection._is_autocommit_isolation()``.
"""

from __future__ import annotations

import secrets
import threading
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.orm.session import SessionTransaction

from ..errors import OpsctlError
from .drydb import Database, database


class DryRunRefused(OpsctlError):
    """A way out of a dry run's transaction, refused where the script attempted it."""


class Held:
    """opsctl's connection to one engine in a dry run, its driver connection, and the name of
    the savepoint that proves the outer transaction is still opsctl's."""

    def __init__(self, conn: Connection, real: Any, proxy: DriverGuard, db: Database) -> None:
        self.conn = conn
        self.real = real
        self.proxy = proxy
        self.db = db


class Guard:
    """One dry run's held connections, guards and findings."""

    def __init__(self, keep: tuple[Engine, ...] = ()) -> None:
        #: Pools never touched: the ledger's (its rows must be written for real).
        self.keep = tuple(engine.pool for engine in keep)
        #: By URL: sessions on engines of one database share one transaction, as their
        #: commits would share the database in a real run (and SQLite has one writer).
        self.held: dict[URL, Held] = {}
        #: One line for each refusal, and for each escape found at the end.
        self.refusals: list[str] = []
        self.escapes: list[str] = []
        #: Commits withheld on connections the script opened itself.
        self.withheld = 0
        self.closing = False
        self.marker = f"opsctl_dry_run_{secrets.token_hex(4)}"
        self.sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        self.others: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._lock = threading.RLock()
        self._dialects: dict[int, tuple[Any, Any]] = {}
        self._pools: list[Any] = []
        self._databases: dict[str, Database] = {}
        self._original: Any = None

    # ------------------------------------------------------------------ start and end

    def start(self) -> None:
        self._original = SessionTransaction.__dict__["_connection_for_bind"]
        original, guard = self._original, self

        def _connection_for_bind(trans: Any, bind: Any, execution_options: Any) -> Any:
            if isinstance(bind, Engine) and not guard.closing:
                held = guard.held_for(bind)
                if held is not None:
                    trans.session.join_transaction_mode = "create_savepoint"
                    guard.sessions.add(trans.session)
                    bind = held
            return original(trans, bind, execution_options)

        setattr(SessionTransaction, "_connection_for_bind", _connection_for_bind)  # noqa: B010
        event.listen(Engine, "engine_connect", self._connected)
        event.listen(Engine, "before_cursor_execute", self._statement)

    def end(self) -> None:
        """Close the sessions, check and roll back every held connection, and take every
        patch and listener away again."""
        self.closing = True
        try:
            for session in list(self.sessions):
                try:
                    session.close()
                except Exception:  # noqa: S110 - the connection underneath is rolled back next
                    pass
            for conn in list(self.others):
                if not conn.closed and all(conn is not h.conn for h in self.held.values()):
                    _discard(conn)
            for held in self.held.values():
                try:
                    self._finish(held)
                except Exception as exc:  # the connection is unusable: say so, go on
                    self.escapes.append(f"the end of the dry run's transaction could not be "
                                        f"checked ({type(exc).__name__}: {exc})")
        finally:
            setattr(SessionTransaction, "_connection_for_bind", self._original)  # noqa: B010
            event.remove(Engine, "engine_connect", self._connected)
            event.remove(Engine, "before_cursor_execute", self._statement)
            for dialect, before in self._dialects.values():
                if before is None:
                    del dialect.do_commit
                else:
                    dialect.do_commit = before
            for pool in self._pools:
                event.remove(pool, "reset", self._reset)

    def _finish(self, held: Held) -> None:
        conn, real = held.conn, held.real
        fairy: Any = conn.connection
        record = getattr(fairy, "_connection_record", None)
        if fairy.dbapi_connection is held.proxy:
            fairy.dbapi_connection = real
        if record is not None and record.dbapi_connection is held.proxy:
            record.dbapi_connection = real
        where = conn.engine.url.render_as_string(hide_password=True)
        try:
            cursor = real.cursor()
            try:
                cursor.execute(f"ROLLBACK TO SAVEPOINT {self.marker}")
            finally:
                cursor.close()
        except Exception:  # the savepoint is gone: so is the transaction opsctl began
            self.escapes.append(f"the transaction opsctl held on {where} was ended outside "
                                "its control")
        try:
            real.rollback()
            not_undone = held.db.not_undone(real)
            if not_undone is not None:
                self.escapes.append(f"{not_undone} on {where}")
        except Exception as exc:
            self.escapes.append(f"the rollback on {where} failed ({type(exc).__name__}: {exc})")
        event.remove(conn, "commit", self._held_commit)
        event.remove(conn, "rollback", self._held_rollback)
        _discard(conn)

    # ------------------------------------------------------------------ held connections

    def held_for(self, engine: Engine) -> Connection | None:
        """opsctl's connection to ``engine``'s database (opened and begun on first use); None
        for the ledger's engine."""
        with self._lock:
            held = self.held.get(engine.url)
            if held is None:
                if self.closing or self._kept(engine):
                    return None
                held = self.held[engine.url] = self._hold(engine)
            return held.conn

    def _hold(self, engine: Engine) -> Held:
        conn = engine.connect()
        db = self._database(conn)
        fairy: Any = conn.connection
        real = fairy.dbapi_connection
        conn.begin()
        db.begin(real)
        conn.exec_driver_sql(f"SAVEPOINT {self.marker}")
        proxy = DriverGuard(real, self, db)
        fairy.dbapi_connection = proxy
        record = getattr(fairy, "_connection_record", None)
        if record is not None:  # driver_connection is read from the pool's record
            record.dbapi_connection = proxy
        event.listen(conn, "commit", self._held_commit)
        event.listen(conn, "rollback", self._held_rollback)
        return Held(conn, real, proxy, db)

    def _held_commit(self, conn: Connection) -> None:
        if not self.closing:
            self.refuse("Connection.commit() on the session's connection would commit the "
                        "dry run's changes")

    def _held_rollback(self, conn: Connection) -> None:
        if not self.closing:
            self.refuse("Connection.rollback() on the session's connection would end the "
                        "dry run's transaction (the session's own rollback() is fine)")

    def refuse(self, why: str) -> None:
        message = f"dry run: {why}; refused, nothing was committed"
        self.refusals.append(message)
        raise DryRunRefused(message)

    # ------------------------------------------------------------------ every connection

    def _kept(self, engine: Engine) -> bool:
        return any(engine.pool is pool for pool in self.keep)

    def _database(self, conn: Connection) -> Database:
        name = conn.dialect.name
        db = self._databases.get(name)
        if db is None:
            db = self._databases[name] = database(name)
        return db

    def _connected(self, conn: Connection) -> None:
        """A connection of any engine: withhold its commits and roll it back on return."""
        if self.closing or self._kept(conn.engine):
            return
        self.others.add(conn)
        dialect = conn.dialect
        with self._lock:
            if id(dialect) not in self._dialects:
                self._dialects[id(dialect)] = (dialect, dialect.__dict__.get("do_commit"))
                dialect.do_commit = self._withheld_commit  # type: ignore[method-assign]
            pool = conn.engine.pool
            if all(pool is not p for p in self._pools):
                self._pools.append(pool)
                event.listen(pool, "reset", self._reset)

    def _withheld_commit(self, dbapi_connection: Any) -> None:
        # Reached only by connections the script opened itself: the held connection's
        # commit() is refused before it gets here.
        self.withheld += 1

    def _reset(self, dbapi_connection: Any, record: Any, state: Any) -> None:
        """A connection going back to its pool: whatever it did (its commits were withheld)
        is rolled back, even when SQLAlchemy thinks there is nothing to roll back."""
        try:
            (dbapi_connection.real if isinstance(dbapi_connection, DriverGuard)
             else dbapi_connection).rollback()
        except Exception:  # noqa: S110 - a broken connection is closed by the pool anyway
            pass

    def _statement(self, conn: Connection, cursor: Any, statement: str, parameters: Any,
                   context: Any, executemany: bool) -> None:
        if self.closing or self._kept(conn.engine):
            return
        if conn._is_autocommit_isolation():
            self.refuse("a connection in AUTOCOMMIT mode would commit every statement at "
                        "once")
        why = self._database(conn).refusal(statement)
        if why is not None:
            self.refuse(why)


def rewind(guard: Guard) -> None:
    """Roll back everything done so far and begin again on every held connection: a
    dry run's batch boundary (:mod:`.batches`), so a long dry run keeps no batch's
    changes, nor the locks they took, past that batch. The sessions' own transactions
    (savepoints on the held connections) are rolled back first. A marker savepoint found
    gone is an escape, as at the end."""
    with guard._lock:
        if guard.closing:
            return
        for session in list(guard.sessions):
            try:
                session.rollback()
            except Exception:  # noqa: S110 - the rollback underneath undoes it anyway
                pass
        for held in guard.held.values():
            real = held.real
            where = held.conn.engine.url.render_as_string(hide_password=True)
            cursor = real.cursor()
            try:
                try:
                    cursor.execute(f"ROLLBACK TO SAVEPOINT {guard.marker}")
                except Exception:
                    guard.escapes.append(f"the transaction opsctl held on {where} was "
                                         "ended outside its control")
                real.rollback()
                held.db.begin(real)
                cursor.execute(f"SAVEPOINT {guard.marker}")
            finally:
                cursor.close()


def _discard(conn: Connection) -> None:
    """Roll back and close a connection at the end of a dry run, whatever state it is in."""
    try:
        driver: Any = conn.connection.dbapi_connection
        driver.rollback()
    except Exception:  # noqa: S110 - invalidated below: the server discards the transaction
        pass
    try:
        conn.rollback()
        conn.close()
    except Exception:
        try:
            conn.invalidate()
        except Exception:  # noqa: S110 - nothing more can be done with it
            pass


class DriverGuard:
    """Stands in for the driver connection under a held connection: what would commit or
    leave the transaction is refused, everything else is the driver's own."""

    __slots__ = ("real", "_guard", "_db")

    def __init__(self, real: Any, guard: Guard, db: Database) -> None:
        object.__setattr__(self, "real", real)
        object.__setattr__(self, "_guard", guard)
        object.__setattr__(self, "_db", db)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.real, name)
        db, guard = self._db, self._guard
        if not callable(value) or guard.closing or \
                (name not in db.ending_methods and name not in db.sql_methods
                 and name != "autocommit"):
            return value

        def checked(*args: Any, **kwargs: Any) -> Any:
            why = None if guard.closing else db.call_refusal(name, args)
            if why is not None:
                guard.refuse(why)
            return value(*args, **kwargs)

        return checked

    def __setattr__(self, name: str, value: Any) -> None:
        why = None if self._guard.closing else self._db.attribute_refusal(name, value)
        if why is not None:
            self._guard.refuse(why)
        setattr(self.real, name, value)
