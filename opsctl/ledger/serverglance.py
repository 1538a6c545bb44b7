"""Reading a PostgreSQL ledger through its driver alone, for ``list``'s last runs: what
:mod:`.glance` does for SQLite. SQLAlchemy and its PostgreSQL dialect cost several times a
list's whole work; the driver (psycopg 3, else psycopg2, as :mod:`.postgresql` prefers
them) is all a read of one page of keys needs.

:func:`server_glance` answers None, and the caller opens the :class:`~.store.Ledger`, when
the read would not be the whole truth or when it would read the URL differently:

* a URL that is not ``postgres[ql][+psycopg|+psycopg2]://`` with at most a user, a password,
  a host, a port and a database (options in the URL are SQLAlchemy's and the driver's to
  read), or whose driver is not installed;
* a local journal entry waiting to be recorded;
* a server that cannot be reached or refuses (the ledger says why, in its words);
* a ledger at another schema version than this opsctl's (:data:`~.facts.SCHEMA_VERSION`).

The session is read-only (``default_transaction_read_only``); its one statement per page of
keys is :func:`.queries.newest_of_keys`' lateral walk, the keys one array parameter.
"""

from __future__ import annotations

import re

from ..light import datetime as _dt
from .facts import SCHEMA_VERSION
from .glance import Glance, journal_waiting, newest_first

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from .spans import Span

#: A URL as SQLAlchemy reads one (``sqlalchemy.engine.url``), without options.
_URL = re.compile(r"(?P<scheme>postgres(?:ql)?)(?:\+(?P<driver>\w+))?://"
                  r"(?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?"
                  r"(?:\[(?P<ipv6host>[^/?]+)\]|(?P<host>[^/:?]+))?(?::(?P<port>\d*))?"
                  r"(?:/(?P<database>[^?]*))?\Z")
#: The driver modules, as :class:`.postgresql.PostgreSQL` prefers them.
DRIVERS = ("psycopg", "psycopg2")
#: Seconds to wait for the server (the ledger's engine waits as long).
CONNECT_TIMEOUT = 5


def connect_args(url: str) -> tuple[str, dict[str, Any]] | None:
    """``(driver module, its connect keywords)`` for a ledger URL the light read takes (see
    the module); None for any other."""
    match = _URL.match(url)
    if match is None or match["driver"] not in (None, *DRIVERS):
        return None
    from urllib.parse import unquote

    found: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    for field, name in (("user", "user"), ("password", "password"), ("database", "dbname")):
        if match[field]:
            found[name] = unquote(match[field])
    host = match["ipv6host"] or match["host"]
    if host:
        found["host"] = host
    if match["port"]:
        found["port"] = int(match["port"])
    return match["driver"] or _installed(), found


def _installed() -> str:
    import importlib.util

    return next((m for m in DRIVERS if importlib.util.find_spec(m) is not None), DRIVERS[0])


def server_glance(url: str, journal: str) -> ServerGlance | None:
    """A reader of the PostgreSQL ledger at ``url`` whose local journal is the folder
    ``journal``, or None (see the module)."""
    found = connect_args(url)
    if found is None or journal_waiting(journal):
        return None
    module, kwargs = found
    try:
        driver = __import__(module)
    except ImportError:
        return None
    try:
        conn = driver.connect(**kwargs, options="-c default_transaction_read_only=on")
    except driver.Error:
        return None
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT value FROM opsctl_meta WHERE name = 'schema'")
        schema = cursor.fetchone()
        if schema is not None and schema[0] == str(SCHEMA_VERSION):
            return ServerGlance(conn, driver.Error)
    except driver.Error:
        pass
    conn.close()
    return None


def _naive(when: _dt.datetime) -> _dt.datetime:
    """An aware time as the naive UTC a row holds."""
    return when.astimezone(_dt.UTC).replace(tzinfo=None)


class ServerGlance(Glance):
    """A read-only look at a PostgreSQL ledger: :meth:`~.glance.Glance.last_runs` and
    :meth:`~.glance.Glance.last_seen`, with the ledger's answers."""

    PAGE = 1_000  # :data:`.queries.LATERAL_PAGE`: one array parameter, whatever its length

    def __init__(self, conn: Any, error: type[Exception]) -> None:
        super().__init__(conn)
        self.Error = error
        self._json = False

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(sql, params)
        return cursor

    @staticmethod
    def _when(cell: Any) -> _dt.datetime:
        return cell.replace(tzinfo=_dt.UTC)  # type: ignore[no-any-return]

    def _page(self, page: list[str], columns: str) -> tuple[str, Sequence[Any]]:
        walk = ", ".join(f"newest.{c}" for c in columns.split(", "))
        return (f"SELECT {walk} FROM unnest(%s::text[]) AS k(key) CROSS JOIN LATERAL "
                f"(SELECT {columns} FROM opsctl_runs WHERE script = k.key "
                f"ORDER BY started_at DESC, id DESC LIMIT 1) AS newest", [page])

    def _newest_of(self, spans: list[Span], columns: str) -> Any:
        return self._execute(*newest_first(spans, None, 1, columns, "%s", _naive)).fetchone()
