"""The run ledger: one row per run, the moves of scripts, and the locks that keep runs apart.

The ledger lives in its own SQLAlchemy engine (:mod:`.engine`), never the application's
session, so a script's rollback can never lose a ledger row. Its database is SQLite by
default (``instance/opsctl.sqlite3`` under the project), or a team's shared PostgreSQL or
MySQL/MariaDB (``ledger_url`` / ``OPSCTL_LEDGER_URL``) so every operator sees one history.

Importing this module loads SQLAlchemy; commands that do not need the ledger never import it.
Rows never leave the ledger: callers get frozen values (:mod:`.values`).

:class:`Ledger` is built from focused parts (see :mod:`.core`); this module opens it, with
its schema created or upgraded on the way (:mod:`.upgrade`), and offers the ways commands
open a project's ledger: :func:`open_ledger`, which also records what the project's local
journal kept while the ledger could not be reached (:mod:`.ends`), and :func:`last_runs`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .. import output
from ..errors import LedgerUnreachable
from .engine import make_engine, unreachable_message
from .facts import FIX_URL, exists_at, journal_folder, ledger_exists, sqlite_file
from .journal import Journal
from .sharded import Sharded
from .upgrade import prepare
from .values import Replayed, Run

if TYPE_CHECKING:
    from ..config import Config


class Ledger(Sharded):
    """The run ledger on one database. Open with :meth:`open`; close when done."""

    def __init__(self, engine: sa.engine.Engine, url: str) -> None:
        super().__init__(engine, url)
        #: The schema version this process upgraded the ledger from when it opened it; None
        #: when it upgraded nothing (it was up to date, new, or another process did it).
        self.upgraded_from: int | None = None

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Ledger:
        """Connect, and make sure the tables exist at the current schema version: created on
        first use, an older ledger upgraded in place (:mod:`.upgrade`).

        With ``create=False`` nothing is created (no SQLite file, no tables): a ledger
        without tables just reads empty; an older one is still upgraded. Raises
        :class:`~opsctl.errors.LedgerUnreachable` when the database cannot be used, and
        :class:`~opsctl.errors.LedgerTooNew` when a newer opsctl has upgraded it.
        """
        engine = make_engine(url)
        ledger = cls(engine, url)
        if not create and not exists_at(url):
            return ledger  # connecting would create the file: an absent ledger reads empty
        try:
            version, ledger.upgraded_from = prepare(engine, ledger.backend, url,
                                                    create=create)
        except LedgerUnreachable:
            engine.dispose()
            raise
        except Exception as exc:  # any driver or database error
            engine.dispose()
            raise LedgerUnreachable(unreachable_message(url, exc), FIX_URL) from None
        ledger.has_schema = version is not None
        return ledger

    def close(self) -> None:
        self.close_checkpoints()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_ledger(config: Config, *, create: bool = True) -> Ledger:
    """Open the project's ledger, with the project's ``ledger_retry_seconds`` and local
    journal, and record what the journal kept for it (each entry said in one line on stderr).

    With ``create`` (the default), ``instance/`` is made for a SQLite file there (the
    default, or a ``ledger_url`` naming it, e.g. ``sqlite:///instance/opsctl.sqlite3``), and
    the tables on first use; without, nothing is created (see :meth:`Ledger.open`).
    """
    database = sqlite_file(config.effective_ledger_url)
    instance = config.project_dir / "instance"
    if create and database and \
            os.path.normpath(os.path.dirname(database)) == os.path.normpath(instance):
        try:
            instance.mkdir(exist_ok=True)
        except OSError as exc:
            raise LedgerUnreachable(
                f"cannot create {instance} for the run ledger "
                f"({exc.strerror})", "set ledger_url in [tool.opsctl] or OPSCTL_LEDGER_URL") \
                from None
    ledger = Ledger.open(config.effective_ledger_url, create=create)
    ledger.retry_seconds = config.ledger_retry_seconds
    ledger.journal = Journal(journal_folder(config.project_path), ledger.url)
    try:
        replayed = ledger.replay_journal()
    except LedgerUnreachable as exc:  # the command itself may still work: say, go on
        output.warn(f"the local journal's entries are not recorded yet ({exc.diagnosis})")
        replayed = []
    for entry in replayed:
        _tell(entry)
    return ledger


def _tell(entry: Replayed) -> None:
    what = f"{entry.script}, {entry.status}"
    if entry.what == "recorded" and entry.whole:
        output.note(f"opsctl: recorded run {entry.run_id} ({what}) from the local journal")
    elif entry.what == "recorded":
        output.note(f"opsctl: recorded the end of run {entry.run_id} ({what}) from the local "
                    "journal")
    elif entry.what == "unknown run":
        output.warn(f"the local journal holds the end of run {entry.run_id} ({what}), which "
                    f"the ledger does not have; kept in {entry.path}")
    elif entry.what == "unreadable":
        output.warn(f"cannot read the journal entry {entry.path}; left as it is")


def last_runs(config: Config, keys: list[str]) -> dict[str, Run]:
    """The newest run of each key, for ``opsctl list``. Reads only: creates no file, no table."""
    if not ledger_exists(config):
        return {}
    ledger = open_ledger(config, create=False)
    try:
        return ledger.last_runs(keys)
    finally:
        ledger.close()
