"""The count a query's ``batches()`` loop starts with (``total=True``), for its run's progress.

In a run whose pages come from a scoped session (Flask-SQLAlchemy's ``db.session``) on a
database server, the ``COUNT(*)`` runs apart (:func:`count_apart`): in a thread of its own, on
a session of its own made by the same factory (so the session's own events, a tenant's or
soft-deletion's criteria, apply to it as they do to the pages), in a copy of the script's
context (its Flask app context). The first batch then does not wait for it (on a table of a
hundred million rows, a count takes minutes), and the server counts while the loop pages. The
total reaches the ledger with the first checkpoint written after it is known, and at the
latest when the loop has read its last page (:class:`~.course.Course`); a run stopped before
(pause, cancel, ``--limit``) does not wait for a count still running.

Elsewhere it is counted in line, before the first batch (:func:`count_inline`): a ``Query``
(its session is its own), a session given as it is, SQLite (a second connection would hold a
lock on the file against the loop's writes, or open another database in memory), and, as
:mod:`.batches` decides, a dry run (its changes are seen only by its own connection) and an
exactly-once loop (its checkpoints are the script's transaction's to write).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from .. import output
from .keyset import Keyset


class Pending:
    """A count running in a thread of its own; the total is ``base`` (the items the runs
    resumed had done) plus the count."""

    def __init__(self, work: Callable[[], int], base: int = 0) -> None:
        self.base = base
        self._found: list[int | Exception] = []
        self._thread = threading.Thread(target=contextvars.copy_context().run,
                                        args=(self._run, work), name="opsctl-count",
                                        daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], int]) -> None:
        try:
            self._found.append(work())
        except Exception as exc:  # noqa: BLE001 - raised to the loop by result()
            self._found.append(exc)

    def ready(self) -> bool:
        return bool(self._found)

    def total(self, done: int) -> int | None:
        """The total, waited for (at least ``done``); None when the count failed, which is
        said: the run goes on, its progress without a total."""
        self._thread.join()
        found = self._found[0]
        if isinstance(found, Exception):
            first = (str(found).strip().splitlines() or [type(found).__name__])[0]
            output.warn(f"opsctl.batches(): the items could not be counted ({first}); the "
                        "run goes on, its progress without a total")
            return None
        return max(self.base + found, done)


def count_inline(keyset: Keyset, after: tuple[Any, ...] | None) -> int:
    """The items after ``after``, counted on the pages' own session."""
    counted = keyset.counting(after)
    if keyset.orm_query:
        return int(counted.count())
    statement = sa.select(sa.func.count()).select_from(counted.subquery())
    return int(keyset.session().execute(statement).scalar_one())


def count_apart(keyset: Keyset, after: tuple[Any, ...] | None, base: int) -> Pending | None:
    """The items after ``after``, counted apart (see the module's docstring); None where they
    must be counted in line."""
    scoped = keyset.scoped()
    if scoped is None or \
            keyset.session().get_bind(**keyset.bind_arguments).dialect.name == "sqlite":
        return None
    statement = sa.select(sa.func.count()).select_from(keyset.counting(after).subquery())
    factory = scoped.session_factory

    def work() -> int:
        with factory() as session:
            return int(session.execute(statement).scalar_one())

    return Pending(work, base)
