"""A run's checkpoints on a connection of their own (PostgreSQL): one ``UPDATE ... RETURNING``
per batch, in autocommit, without waiting for the disk, and without SQLAlchemy's execution
machinery in the way, since a run pays for it at every batch.

:class:`Apart` holds the DBAPI connection :meth:`~.backend.Backend.unsynced_connect` opens,
from the first checkpoint to the ledger's close. :meth:`Apart.write` executes the statement,
compiled once, straight on the driver. :meth:`Apart.send`, with psycopg 3, prepares it once
per connection and then only sends it (libpq's asynchronous calls), returning how to read its
answer: the caller reads its next page on another connection meanwhile, and the two round
trips overlap. Whatever fails here (the server dropped the connection, a pooler refused its
options or its prepared statement) is the driver's error: the ledger then writes checkpoints
through its own engine (:mod:`.progress`).
"""

from __future__ import annotations

import datetime as _dt
import functools
import select
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from .schema import PROGRESS

#: The parameters of a checkpoint, in the order of the ``$N`` of :func:`numbered`.
NAMES = ("p_run_id", "p_done", "p_cursor", "p_updated_at", "p_total")


class NotPlain(Exception):
    """The checkpoint's statement needs SQLAlchemy's conversions on this driver."""


class Apart:
    """Checkpoints on a DBAPI connection of their own, in autocommit."""

    def __init__(self, dialect: sa.engine.Dialect, connect: Callable[[], Any]) -> None:
        self.dialect = dialect
        self.connect = connect
        #: What a failed checkpoint raises: the driver's errors, or a statement it cannot
        #: take as it is.
        self.errors: tuple[type[BaseException], ...] = (dialect.loaded_dbapi.Error, NotPlain)
        self._raw: Any = None
        self._sql: dict[bool, str] = {}
        self._lock = threading.Lock()
        #: The libpq connection whose answer to a checkpoint sent is not read yet.
        self._pending: Any = None
        #: The checkpoint statements prepared on :attr:`_raw` (with a total, without).
        self._prepared: dict[bool, bytes] = {}

    def write(self, params: dict[str, Any]) -> str | None:
        """One checkpoint (``params`` as :meth:`~.progress.Checkpoints.checkpoint` makes
        them), waited for; the stop asked of the run."""
        total = "p_total" in params
        with self._lock:
            self._read_pending()
            sql = self._sql.get(total) or self._compile(total)
            cursor = self._open().cursor()
            try:
                cursor.execute(sql, params)
                row = cursor.fetchone()
            finally:
                cursor.close()
        return None if row is None else row[0]

    def send(self, params: dict[str, Any]) -> Callable[[], str | None] | None:
        """One checkpoint sent, not waited for: how to read its answer (the stop asked of the
        run), which the caller must call before its next checkpoint. None where the driver
        has no asynchronous calls (psycopg2): :meth:`write` it then."""
        with self._lock:
            self._read_pending()
            pgconn = getattr(self._open(), "pgconn", None)
            if pgconn is None:
                return None
            total = "p_total" in params
            statement = self._prepared.get(total) or self._prepare(pgconn, total)
            encoding = self._raw.info.encoding
            pgconn.send_query_prepared(statement, [_text(params.get(name), encoding)
                                                   for name in NAMES if name in params])
            while pgconn.flush():  # a few dozen bytes: at most one wait, seldom any
                select.select([], [pgconn.socket], [])
            self._pending = pgconn
        return self._answer

    def _prepare(self, pgconn: Any, total: bool) -> bytes:
        """Prepare the checkpoint's ``UPDATE`` on this connection, once: the server then
        neither parses nor plans it at every batch (half its work on a checkpoint)."""
        from psycopg import DatabaseError, pq

        name = b"opsctl_checkpoint_total" if total else b"opsctl_checkpoint"
        result = pgconn.prepare(name, numbered(total).encode())
        if result.status != pq.ExecStatus.COMMAND_OK:
            message = (result.error_message or b"").decode(errors="replace").strip()
            raise DatabaseError(f"checkpoint not prepared: {message}")
        self._prepared[total] = name
        return name

    def _answer(self) -> str | None:
        with self._lock:
            return self._read_pending()

    def _read_pending(self) -> str | None:
        """Read the answer to the checkpoint sent, if any: the stop it returned."""
        pgconn, self._pending = self._pending, None
        if pgconn is None:
            return None
        from psycopg import DatabaseError, pq

        found: str | None = None
        error = ""
        while True:
            pgconn.consume_input()
            while pgconn.is_busy():
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                break
            if result.status != pq.ExecStatus.TUPLES_OK:
                error = (result.error_message or b"").decode(errors="replace").strip()
            elif result.ntuples:
                value = result.get_value(0, 0)
                found = None if value is None else value.decode()
        if error:
            raise DatabaseError(f"checkpoint not written: {error}")
        return found

    def _open(self) -> Any:
        if self._raw is None:
            self._raw = self.connect()
        return self._raw

    def _compile(self, total: bool) -> str:
        """The ``UPDATE``'s SQL for this driver; refused (:class:`NotPlain`) where a type
        would convert a value on its way (the driver's own conversions are all it needs)."""
        dialect = self.dialect
        compiled = update_statement(total, True).compile(dialect=dialect)
        if compiled.positional or \
                any(b.type.bind_processor(dialect) for b in compiled.binds.values()) or \
                PROGRESS.c.request.type.result_processor(dialect, None) is not None:
            raise NotPlain(dialect.name)
        self._sql[total] = sql = str(compiled)
        return sql

    def close(self) -> None:
        with self._lock:
            raw, self._raw, self._pending = self._raw, None, None
            self._prepared.clear()
        if raw is not None:
            try:
                raw.close()
            except Exception:  # noqa: BLE001 - a connection already gone is closed enough
                pass


@functools.cache
def update_statement(total: bool, returning: bool) -> Any:
    """A checkpoint's ``UPDATE``, built once: its parameters named as :data:`NAMES`, so each
    checkpoint reuses its compiled form."""
    columns = ["done", "cursor", "updated_at", *(["total"] if total else [])]
    statement = PROGRESS.update().where(PROGRESS.c.run_id == param("run_id")).values(
        {name: param(name) for name in columns})
    return statement.returning(PROGRESS.c.request) if returning else statement


@functools.cache
def numbered(total: bool) -> str:
    """The ``UPDATE ... RETURNING`` with libpq's ``$N`` parameters, in :data:`NAMES` order."""
    columns = ["done = $2", "cursor = $3", "updated_at = $4", *(["total = $5"] if total
                                                                 else [])]
    return (f"UPDATE {PROGRESS.name} SET {', '.join(columns)} WHERE run_id = $1 "
            "RETURNING request")


def param(name: str) -> Any:
    return sa.bindparam(f"p_{name}", type_=PROGRESS.c[name].type)


def _text(value: Any, encoding: str) -> bytes | None:
    """A parameter in PostgreSQL's text form (the server casts it to the column's type)."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ").encode()
    return str(value).encode(encoding)
