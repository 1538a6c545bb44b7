"""Exactly-once batches: when the ledger lives in the app's own database, each checkpoint is
written in the script's transaction, so a batch's changes and the cursor after it commit
together, or not at all.

``batches(query, size=N, exactly_once=True)`` turns it on for a loop (the script knows it
commits once per batch). The session the pages are read with gets a ``before_commit`` hook:
when the script commits, the checkpoint of the batch it is working on (items done and the
cursor after that batch) is one ``UPDATE`` executed on the session's own connection. A
``kill -9`` at any moment then leaves the ledger's cursor exactly where the committed data is.

The script must commit once per batch, at its end (a commit in the middle of a batch records
the whole batch as done). It is refused when the ledger is in another database (its table must
be reachable on the app's connection). A dry run writes its checkpoints through the ledger as
usual: the script's transaction is rolled back.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import OpsctlError

if TYPE_CHECKING:
    from .course import Course
    from .keyset import Keyset


class NotSameDatabase(OpsctlError):
    """``exactly_once=True`` with the ledger in another database than the app's session."""

    exit_code = 2


class SameTransaction:
    """Writes the pending checkpoint in the transaction each commit of the session ends."""

    def __init__(self, course: Course, keyset: Keyset) -> None:
        assert course.ledger is not None
        self.course = course
        self.ledger = course.ledger
        self.keyset = keyset
        self.active = not course.dry_run
        self._pending: tuple[int, Any] | None = None
        self._hooked: weakref.WeakSet[Any] = weakref.WeakSet()
        # Refused in a dry run too: it tells what the real run would meet.
        app_url = keyset.session().get_bind(**keyset.bind_arguments).engine.url
        if not same_database(app_url, sa.engine.make_url(self.ledger.url)):
            raise NotSameDatabase(
                "opsctl.batches(exactly_once=True): the ledger is not in the app's "
                f"database ({_shown(self.ledger.url)} and {_shown(app_url)}): a checkpoint "
                "can only commit with the script's changes when ledger_url is the app's "
                "database; drop exactly_once (each batch is then done at least once)")

    def pending(self, done: int, cursor: Any) -> None:
        """The batch about to be yielded: its checkpoint, written at the session's commit."""
        self._pending = (done, cursor)
        if self.active:
            session = self.keyset.session()
            if session not in self._hooked:
                event.listen(session, "before_commit", self._before_commit)
                self._hooked.add(session)

    def written(self) -> bool:
        """Whether the batch's checkpoint is the script's transaction's to write (its next
        commit carries it); False in a dry run, where the course writes it through the
        ledger."""
        return self.active

    def _before_commit(self, session: Any) -> None:
        if self._pending is None or self.course.run_id is None:
            return
        done, cursor = self._pending
        # Rows inserted during the run, after the cursor: the total grows with them, as the
        # course's does when it writes the checkpoint itself.
        counted = self.course.total
        total = done if counted is not None and done > counted else None
        self.ledger.checkpoint(self.course.run_id, done=done, cursor=cursor, total=total,
                               conn=session.connection(
                                   bind_arguments=self.keyset.bind_arguments))

    def close(self) -> None:
        for session in list(self._hooked):
            if event.contains(session, "before_commit", self._before_commit):
                event.remove(session, "before_commit", self._before_commit)
        self._hooked = weakref.WeakSet()


def same_database(one: sa.engine.URL, other: sa.engine.URL) -> bool:
    """Whether two URLs name the same database (drivers aside; SQLite by its file)."""
    if one.get_backend_name() != other.get_backend_name():
        return False
    if one.get_backend_name() == "sqlite":
        return bool(one.database) and bool(other.database) and \
            one.database not in (":memory:",) and \
            Path(one.database or "").resolve() == Path(other.database or "").resolve()
    return (one.host or "localhost", one.port, one.database, one.username) == \
        (other.host or "localhost", other.port, other.database, other.username)


def _shown(url: Any) -> str:
    made = sa.engine.make_url(url) if isinstance(url, str) else url
    return str(made.render_as_string(hide_password=True))
