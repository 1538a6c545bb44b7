"""The last run of each of ``list``'s scripts: read by a glance when one can
(:mod:`.glance` for SQLite, :mod:`.serverglance` for PostgreSQL, neither importing
SQLAlchemy), else by the :class:`~.store.Ledger`, which upgrades, records and reaps first;
and the glance ``history`` reads through (:func:`reader`).
"""

from __future__ import annotations

from .facts import journal_folder
from .glance import Glance, Seen, glance

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from ..config import Config
    from .values import Run


def last_runs(config: Config, keys: list[str]) -> dict[str, Run]:
    """The newest run of each key, for ``opsctl list``: read here when a glance can, else by
    :func:`.store.last_runs` (which may import SQLAlchemy, upgrade and record)."""
    found = reader(config)
    if found is not None:
        try:
            return found.last_runs(keys)
        except found.Error:
            pass  # the ledger tells what is wrong, in its words
        finally:
            found.close()
    return _ledger_last_runs(config, keys)


def last_seen(config: Config, keys: list[str]) -> dict[str, Seen]:
    """What ``opsctl list``'s table shows of each key's newest run: read here when a glance
    can (four columns, no JSON to parse), else taken from the ledger's last runs (the glance
    not tried twice)."""
    found = reader(config)
    if found is not None:
        try:
            return found.last_seen(keys)
        except found.Error:
            pass
        finally:
            found.close()
    return {key: Seen(run.started_at, run.operator, run.status, run.dry_run)
            for key, run in _ledger_last_runs(config, keys).items()}


def prepare(config: Config) -> None:
    """Begin the connection to a PostgreSQL ledger that :func:`last_runs` or
    :func:`last_seen` will read (:func:`.serverglance.prepare`), so the server starts its
    backend while ``list`` walks the tree; :func:`forget` closes it when none is read."""
    url = config.effective_ledger_url
    if url.startswith("postgres"):
        from .serverglance import prepare as begin

        begin(url)


def forget() -> None:
    """Close a connection :func:`prepare` began that nothing read."""
    import sys

    glance = sys.modules.get(f"{__package__}.serverglance")
    if glance is not None:
        glance.forget()


def _ledger_last_runs(config: Config, keys: list[str]) -> dict[str, Run]:
    from .store import last_runs as read

    return read(config, keys)


def reader(config: Config, *, reaping: bool = False) -> Glance | None:
    """A glance at the project's ledger: SQLite's, else a server's (:mod:`.serverglance`,
    PostgreSQL's or MariaDB's through its driver alone, or none), else None; when
    ``reaping`` (``history``), None too when a run is to be marked ``lost``. A server that
    cannot be reached is :class:`~opsctl.errors.LedgerUnreachable` here, once."""
    url, journal = config.effective_ledger_url, journal_folder(config.project_path)
    found = glance(url, journal, reaping=reaping)
    if found is None and url.startswith(("postgres", "mysql", "mariadb")):
        from .serverglance import server_glance  # its driver's import is no SQLite reader's

        found = server_glance(url, journal, reaping=reaping)
    return found
