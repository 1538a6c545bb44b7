"""What is known of the ledger without SQLAlchemy: its statuses, whether there is one, and
the files it keeps in the project (which ``init`` keeps out of git).

Commands that only might read the ledger (``list``, ``history``, ``stale``) ask
:func:`ledger_exists` first, so a project that never ran a script imports no SQLAlchemy and
no reading ever creates a SQLite file.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from ..config import Config

#: The version of the ledger's tables this opsctl reads and writes: one more than the steps
#: of :mod:`.upgrade` that bring an older ledger to it.
SCHEMA_VERSION = 9

#: A holder on another machine whose heartbeat is older than this is presumed dead
#: (:mod:`.locks`).
LEASE_SECONDS = 90.0
#: What to do about a ledger that cannot be used, unless something more precise is known.
FIX_URL = "fix ledger_url in [tool.opsctl] or OPSCTL_LEDGER_URL"

#: A run's status; ``queued``: asked of a queue's workers (``run --queue``), not started yet;
#: ``lost``: its process died (or its lease expired) without finishing;
#: ``paused``: it stopped at a batch boundary, asked to (``--limit``, ``opsctl pause``), and
#: can be resumed; ``cancelled``: it stopped there for good (``opsctl cancel``).
STATUSES = ("queued", "running", "succeeded", "failed", "interrupted", "lost", "paused",
            "cancelled")
#: The statuses of a run that did not finish its work and may be resumed (``--resume``).
UNFINISHED = ("failed", "interrupted", "lost", "paused")

_SQLITE = re.compile(r"sqlite(?:\+\w+)?://(?P<rest>.*)\Z", re.DOTALL)


def sqlite_file(url: str) -> str | None:
    """The file of a ``sqlite://`` URL as SQLAlchemy reads it (``sqlite:///rel.db``,
    ``sqlite:////abs.db``); ``""`` for an in-memory database, None for any other URL."""
    match = _SQLITE.match(url)
    if match is None:
        return None
    rest = match["rest"].split("?", 1)[0]
    database = rest.split("/", 1)[1] if "/" in rest else ""
    return "" if database == ":memory:" else database


def ledger_exists(config: Config) -> bool:
    """Whether the project has a ledger to read (reading must never create one)."""
    return exists_at(config.effective_ledger_url)


def exists_at(url: str) -> bool:
    """Whether there is a ledger at ``url``. A SQLite ledger exists when its file does; a
    server database (or a URL that is no URL) counts as existing: opening it tells more."""
    database = sqlite_file(url)
    if database is None:
        return True
    return bool(database) and os.path.exists(database)


def journal_folder(project_dir: str) -> str:
    """Where a project's journal lives: beside its default ledger, in Flask's ``instance/``."""
    return os.path.join(project_dir, "instance", "opsctl-journal")


def local_files(config: Config) -> list[str]:
    """The ledger's files inside the project, as ``.gitignore`` takes them (relative, a folder
    ending in ``/``): a SQLite ledger, its WAL files with it (``*``), and the local journal."""
    project = config.project_path
    found = []
    database = sqlite_file(config.effective_ledger_url)
    if database and os.path.isabs(database) and \
            os.path.commonpath([database, project]) == project:
        found.append(os.path.relpath(database, project).replace(os.sep, "/") + "*")
    journal = os.path.relpath(journal_folder(project), project).replace(os.sep, "/")
    return [*found, journal + "/"]


def journal_waiting(folder: str) -> bool:
    """Whether the local journal (the folder ``folder``) holds an entry the ledger has yet
    to record."""
    try:
        return any(name.endswith(".json") for name in os.listdir(folder))
    except OSError:
        return False
