"""A run's batches in the ledger (schema 6's ``opsctl_progress``): its checkpoints, the run
it resumed, and a pause or cancel asked of it from any machine that shares the ledger.

A checkpoint is one ``UPDATE`` of a narrow row keyed by the run's id, written when the
script asks for its next batch (the previous one is then done), so it costs about a
primary-key write. It can be written on a connection of the caller's (``conn=``): a script
whose ledger lives in its own database then commits the checkpoint with its batch, in one
transaction (exactly once).

A stop asked of a run (``opsctl pause`` / ``opsctl cancel``) is a column the running process
reads at each batch boundary; the process ends the run ``paused`` or ``cancelled`` itself,
and releases its lock as any run's end does.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from . import rows
from .apart import Apart, param, update_statement
from .core import guarded
from .ends import Ends
from .schema import PROGRESS, RUNS
from .values import Progress, Run

#: What may be asked of a running run.
REQUESTS = ("pause", "cancel")
#: Held while a ledger makes the engine its checkpoints are written on.
_MAKING = threading.Lock()


class Checkpoints(Ends):
    """Checkpoints, resume links and stop requests of runs."""

    #: The connection checkpoints are written on, made at the first (:meth:`_apart`); None
    #: where there is none.
    _unsynced: Apart | None = None
    #: Whether it was made (or found not to be), or failed: never made again then.
    _unsynced_made = False

    @guarded("written")
    def begin_progress(self, run_id: int, *, total: int | None = None, done: int = 0,
                       cursor: Any = None, resumed_from: int | None = None) -> None:
        """Give run ``run_id`` its progress row (before its first batch): what it starts
        from (``done`` and ``cursor`` carried over from the run it resumes) and that run."""
        values = {"done": done, "total": total, "cursor": _cursor_text(cursor),
                  "updated_at": rows.naive(rows.utcnow()), "resumed_from": resumed_from}

        def work(conn: sa.engine.Connection) -> None:
            changed = conn.execute(PROGRESS.update().where(PROGRESS.c.run_id == run_id)
                                   .values(**values)).rowcount
            if not changed:
                conn.execute(PROGRESS.insert().values(run_id=run_id, **values))

        self.persist_row(work)

    def checkpoint(self, run_id: int, *, done: int, cursor: Any = None,
                   total: int | None = None,
                   conn: sa.engine.Connection | None = None) -> str | None:
        """Record that run ``run_id`` has done ``done`` items and goes on from ``cursor``: one
        ``UPDATE`` (the row is made by :meth:`begin_progress`). On ``conn`` when given (the
        caller's transaction commits it), else committed by the ledger.

        Returns the stop asked of the run (as :meth:`requested`), read in the same round trip
        (``UPDATE ... RETURNING``) where the database has it, so a run's batch boundary costs
        one statement; MariaDB and SQLite before 3.35 read it with a second one.

        Durability: a checkpoint is always behind the batch it records, never ahead, so
        losing one skips nothing; it only makes a resume redo the batch after the checkpoint
        before it. So the ledger commits it without waiting for the disk: on PostgreSQL, on a
        connection of its own in autocommit with ``synchronous_commit = off`` (one round trip;
        a script killed loses none, only a crash of the PostgreSQL server itself can, those of
        its last ~3 x ``wal_writer_delay``); SQLite's ledger (WAL mode, ``synchronous=NORMAL``)
        makes the same trade."""
        params = _params(run_id, done, cursor, total)
        if conn is not None:
            # The caller's transaction, committed as durably as the app commits it.
            return _checkpointed(conn, params)
        apart = self._apart()
        if apart is not None:
            try:
                return apart.write(params)
            except apart.errors:
                # Dropped by the server, refused (a pooler that takes no startup options),
                # unreachable: the ledger's own engine from now on, which waits out an outage
                # and says what is wrong as every ledger write does.
                self.close_checkpoints()
        return self._write(params)

    def send_checkpoint(self, run_id: int, *, done: int, cursor: Any = None,
                        total: int | None = None) -> Callable[[], str | None]:
        """:meth:`checkpoint` in two halves where the driver can send a statement without
        waiting for its answer (psycopg 3, on the checkpoints' own connection): the
        ``UPDATE`` goes now, and the call returned reads its answer (the stop asked of the
        run), so the caller can read its next page in between, the two round trips
        overlapping. Call it before the next checkpoint. Elsewhere the checkpoint is written
        at once, and the call gives what it read."""
        params = _params(run_id, done, cursor, total)
        apart = self._apart()
        if apart is not None:
            try:
                answer = apart.send(params)
            except apart.errors:
                self.close_checkpoints()
            else:
                if answer is not None:
                    return functools.partial(self._answered, answer, params, apart.errors)
        asked = self.checkpoint(run_id, done=done, cursor=cursor, total=total)
        return lambda: asked

    def _answered(self, answer: Callable[[], str | None], params: dict[str, Any],
                  errors: tuple[type[BaseException], ...]) -> str | None:
        """The answer to a checkpoint sent; when the connection failed meanwhile, the
        checkpoint written again through the ledger's own engine (the same ``UPDATE``)."""
        try:
            return answer()
        except errors:
            self.close_checkpoints()
            return self._write(params)

    @guarded("written")
    def _write(self, params: dict[str, Any]) -> str | None:
        def work(conn: sa.engine.Connection) -> str | None:
            if conn.dialect.name == "postgresql":  # a driver without an unsynced engine
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            return _checkpointed(conn, params)

        return self.persist(work)

    def _apart(self) -> Apart | None:
        """The connection checkpoints are written on (:meth:`~.backend.Backend.
        unsynced_connect`), opened at the first; None where there is none, or once it
        failed."""
        if not self._unsynced_made:
            with _MAKING:
                if not self._unsynced_made:
                    connect = self.backend.unsynced_connect(self.engine)
                    self._unsynced = None if connect is None else \
                        Apart(self.engine.dialect, connect)
                    self._unsynced_made = True
        return self._unsynced

    def close_checkpoints(self) -> None:
        """Close the connection checkpoints are written on (the ledger closes, or that
        connection failed): the ledger's own engine writes them from then on."""
        found, self._unsynced = self._unsynced, None
        self._unsynced_made = True
        if found is not None:
            found.close()

    @guarded("read")
    def progress(self, run_id: int) -> Progress | None:
        """Run ``run_id``'s progress; None when it never started batches."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(PROGRESS).where(PROGRESS.c.run_id == run_id)).first()
        return None if row is None else _progress_of(row)

    @guarded("read")
    def progress_of(self, run_ids: Iterable[int]) -> dict[int, Progress]:
        """The progress of each of ``run_ids`` that has some (one query per 500 ids)."""
        ids = sorted(set(run_ids))
        found: dict[int, Progress] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                page = ids[start:start + 500]
                for row in conn.execute(sa.select(PROGRESS)
                                        .where(PROGRESS.c.run_id.in_(page))):
                    found[row.run_id] = _progress_of(row)
        return found

    @guarded("read")
    def requested(self, run_id: int) -> str | None:
        """The stop asked of run ``run_id`` (``"pause"``/``"cancel"``), None when none."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(PROGRESS.c.request)
                                .where(PROGRESS.c.run_id == run_id)).scalar()

    @guarded("written")
    def request(self, run_id: int, action: str, *, operator: str) -> Run | None:
        """Ask running run ``run_id`` to stop at its next batch boundary (``action``:
        ``"pause"`` or ``"cancel"``). The run as it is now; None when there is no such run.
        Asking a run that is not running changes nothing (the caller says why)."""
        if action not in REQUESTS:
            raise ValueError(f"unknown request {action!r}")
        now = rows.naive(rows.utcnow())

        def work(conn: sa.engine.Connection) -> Run | None:
            row = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).first()
            if row is None:
                return None
            run = rows.run_of(row)
            if run.status != "running":
                return run
            values = {"request": action, "requested_by": rows.text(operator),
                      "requested_at": now}
            changed = conn.execute(PROGRESS.update().where(PROGRESS.c.run_id == run_id)
                                   .values(**values)).rowcount
            if not changed:  # a run that has not reached its first batch yet
                conn.execute(PROGRESS.insert().values(run_id=run_id, done=0, updated_at=now,
                                                      **values))
            return run

        return self.persist_row(work)

    @guarded("read")
    def resumed_by(self, run_id: int) -> list[int]:
        """The runs that resumed run ``run_id``, oldest first."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(PROGRESS.c.run_id)
                                     .where(PROGRESS.c.resumed_from == run_id)
                                     .order_by(PROGRESS.c.run_id)).scalars())


def _checkpointed(conn: sa.engine.Connection, params: dict[str, Any]) -> str | None:
    """Run a checkpoint's ``UPDATE`` on ``conn``; the stop asked of the run."""
    returning = conn.dialect.update_returning
    found = conn.execute(update_statement("p_total" in params, returning), params)
    if returning:
        return found.scalar()
    return conn.execute(_request(), params).scalar()


@functools.cache
def _request() -> Any:
    """The stop asked of a run, read after its checkpoint where ``RETURNING`` cannot."""
    return sa.select(PROGRESS.c.request).where(PROGRESS.c.run_id == param("run_id"))


def _params(run_id: int, done: int, cursor: Any, total: int | None) -> dict[str, Any]:
    """A checkpoint's parameters, named as :data:`.apart.NAMES`."""
    params: dict[str, Any] = {"p_run_id": run_id, "p_done": done,
                              "p_cursor": _cursor_text(cursor),
                              "p_updated_at": rows.naive(rows.utcnow())}
    if total is not None:
        params["p_total"] = total
    return params


def _cursor_text(cursor: Any) -> str | None:
    return None if cursor is None else rows.json_text(cursor)


def _progress_of(row: Any) -> Progress:
    cursor = None
    if row.cursor is not None:
        try:
            cursor = json.loads(row.cursor)
        except ValueError:
            cursor = None
    return Progress(run_id=row.run_id, done=int(row.done),
                    total=None if row.total is None else int(row.total), cursor=cursor,
                    updated_at=rows.aware(row.updated_at),  # type: ignore[arg-type]
                    resumed_from=row.resumed_from, request=row.request,
                    requested_by=row.requested_by)
