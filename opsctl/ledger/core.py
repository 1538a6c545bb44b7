"""What every part of the :class:`~opsctl.ledger.store.Ledger` shares: its engine, its URL,
its database's backend, whether the tables exist, how long a write waits out an outage, the
local journal, and how a database error leaves the ledger.

The ledger is one class built from focused parts, each on the one below it:
:class:`~.lineage.Lineage` (moves), :class:`~.locks.Locks`, :class:`~.tally.Tally`
(per-script counts), :class:`~.reads.Reads`, :class:`~.writes.Writes`, :class:`~.ends.Ends`
(a run's end, kept whatever happens), :class:`~.progress.Checkpoints` (a run's batches),
:class:`~.queued.Queued` (runs asked of a queue's workers), :class:`~.shards.Shards`
(a sharded run's parent and children) and
:class:`~opsctl.ledger.store.Ledger` (opening and closing).

Every public method of those parts is :func:`guarded` (:func:`guarded_iter` when it yields):
a database error that escapes it is a :class:`~opsctl.errors.LedgerUnreachable` (exit 78, one
line), never a driver's traceback.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import sqlalchemy as sa

from ..errors import LedgerUnreachable
from .backend import Backend
from .engine import backend_for, display_url

if TYPE_CHECKING:
    from .journal import Journal

P = ParamSpec("P")
R = TypeVar("R")

#: Seconds the end of a run waits out a ledger that cannot be reached, by default
#: (``ledger_retry_seconds``).
RETRY_SECONDS = 30.0
#: The longest pause between two attempts.
MAX_BACKOFF = 2.0
#: What to do about a ledger that went away or refuses a change.
FIX_LATER = "check that its database is up and writable, then try again"


class LedgerCore:
    """The state of an open ledger; see :meth:`opsctl.ledger.store.Ledger.open`."""

    def __init__(self, engine: sa.engine.Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.backend: Backend = backend_for(engine.dialect.name)
        #: False while the database has no ledger tables (a reader then reads empty).
        self.has_schema = False
        #: How long a write that must not be lost (a run's end) waits out an outage.
        self.retry_seconds = RETRY_SECONDS
        #: Where the end of a run goes when the ledger cannot take it (None: nowhere).
        self.journal: Journal | None = None

    def retryable(self, exc: BaseException) -> bool:
        """Whether a transaction that raised ``exc`` is worth trying again."""
        return self.backend.retryable(exc)

    def persist(self, work: Callable[[sa.engine.Connection], R], *,
                on_retry: Callable[[BaseException, float], None] | None = None,
                give_up: Callable[[], bool] | None = None) -> R:
        """Run ``work`` in one transaction until it commits: a busy database or a deadlock at
        once again; a connection that failed (a server restarting, a network outage, a full
        disk) again on a fresh connection, with a growing pause, for :attr:`retry_seconds`.

        ``on_retry(exc, seconds)`` is told once, at the first failed connection; ``give_up()``
        ends the waiting early. ``work`` must be safe to run twice: a commit whose answer was
        lost may have been applied.
        """
        busy = 0
        deadline: float | None = None
        pause = 0.1
        while True:
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if self.retryable(exc) and busy < 20:
                    busy += 1
                    continue
                if not _connection_failed(exc):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.retry_seconds
                    if on_retry is not None and self.retry_seconds > 0:
                        on_retry(exc, self.retry_seconds)
                if now >= deadline or (give_up is not None and give_up()):
                    raise
                time.sleep(min(pause, deadline - now))
                pause = min(pause * 2, MAX_BACKOFF)

    def persist_row(self, work: Callable[[sa.engine.Connection], R]) -> R:
        """:meth:`persist` for a ``work`` that updates a row, or inserts it when there is
        none: when another connection inserted it between this one's update and its insert
        (its unique key violated), ``work`` again, in a transaction of its own, which now
        finds the row, whatever the database's isolation level (no savepoint to manage)."""
        try:
            return self.persist(work)
        except sa.exc.IntegrityError:
            return self.persist(work)


def _connection_failed(exc: sa.exc.DBAPIError) -> bool:
    """Whether trying again later may help: the connection was lost or could not be made, or
    the database could not write (SQLite's full disk); not a refusal such as a constraint, a
    read-only transaction or a missing right."""
    return exc.connection_invalidated or isinstance(exc, (sa.exc.OperationalError,
                                                          sa.exc.InterfaceError))


def failure(url: str, exc: BaseException, doing: str) -> LedgerUnreachable:
    """``the run ledger at URL cannot be <doing> (<the driver's first line>)``."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0].strip() if detail else type(exc).__name__
    return LedgerUnreachable(f"the run ledger at {display_url(url)} cannot be {doing} "
                             f"({first})", FIX_LATER)


def guarded(doing: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A public method of the ledger whose database errors leave it as
    :class:`~opsctl.errors.LedgerUnreachable`; ``doing`` is ``"read"`` or ``"written"``."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except sa.exc.SQLAlchemyError as exc:
                core = args[0]
                assert isinstance(core, LedgerCore)
                raise failure(core.url, exc, doing) from None

        return wrapper

    return decorate


def guarded_iter(doing: str) -> Callable[[Callable[P, Iterator[R]]], Callable[P, Iterator[R]]]:
    """:func:`guarded` for a method that yields: a database error raised while it is being
    iterated leaves it as :class:`~opsctl.errors.LedgerUnreachable` too."""

    def decorate(method: Callable[P, Iterator[R]]) -> Callable[P, Iterator[R]]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
            try:
                yield from method(*args, **kwargs)
            except sa.exc.SQLAlchemyError as exc:
                core = args[0]
                assert isinstance(core, LedgerCore)
                raise failure(core.url, exc, doing) from None

        return wrapper

    return decorate
