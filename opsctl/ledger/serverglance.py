"""Reading a PostgreSQL or MariaDB/MySQL ledger through its driver alone, for ``list``'s last
runs: what :mod:`.glance` does for SQLite. SQLAlchemy and its dialect cost several times a
list's whole work; the driver (psycopg 3, else psycopg2, as :mod:`.postgresql` prefers them;
PyMySQL) is all a read of one page of keys needs.

:func:`server_glance` answers None, and the caller opens the :class:`~.store.Ledger`, when
the read would not be the whole truth or when it would read the URL differently:

* a URL that is not ``postgres[ql][+psycopg|+psycopg2]://`` or
  ``mysql|mariadb[+pymysql]://`` with at most a user, a password, a host, a port and a
  database (options in the URL are SQLAlchemy's and the driver's to read), or whose driver is
  not installed (mysqlclient, which SQLAlchemy prefers when installed, is left to it);
* a local journal entry waiting to be recorded;
* a server that cannot be reached or refuses (the ledger says why, in its words);
* a ledger at another schema version than this opsctl's (:data:`~.facts.SCHEMA_VERSION`).

The session is read-only; its one statement per page of keys is
:func:`.queries.newest_of_keys`': on PostgreSQL a lateral walk, the keys one array parameter;
on MariaDB one correlated walk a key.
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
_URL = re.compile(r"(?P<scheme>postgres(?:ql)?|mysql|mariadb)(?:\+(?P<driver>\w+))?://"
                  r"(?:(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?"
                  r"(?:\[(?P<ipv6host>[^/?]+)\]|(?P<host>[^/:?]+))?(?::(?P<port>\d*))?"
                  r"(?:/(?P<database>[^?]*))?\Z")
#: The driver modules, as :class:`.postgresql.PostgreSQL` and :class:`.mysql.MySQL` prefer
#: them (``MySQLdb`` is named only to be left to the ledger).
DRIVERS = ("psycopg", "psycopg2")
MYSQL_DRIVERS = ("MySQLdb", "pymysql")
#: Host names of this machine (:data:`.mysql._LOOPBACK`).
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: Seconds to wait for the server (the ledger's engine waits as long).
CONNECT_TIMEOUT = 5


def connect_args(url: str) -> tuple[str, dict[str, Any]] | None:
    """``(driver module, its connect keywords)`` for a ledger URL the light read takes (see
    the module); None for any other."""
    match = _URL.match(url)
    if match is None:
        return None
    postgres = match["scheme"].startswith("postgres")
    drivers = DRIVERS if postgres else MYSQL_DRIVERS
    named = {"mysqldb": "MySQLdb"}.get(match["driver"], match["driver"])
    if named not in (None, *drivers):
        return None
    from urllib.parse import unquote

    found: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    database = "dbname" if postgres else "database"
    for field, name in (("user", "user"), ("password", "password"), ("database", database)):
        if match[field]:
            found[name] = unquote(match[field])
    host = match["ipv6host"] or match["host"]
    if host:
        found["host"] = host
    if match["port"]:
        found["port"] = int(match["port"])
    if postgres:
        found["options"] = "-c default_transaction_read_only=on"
    else:
        found.update(charset="utf8mb4", init_command="SET SESSION TRANSACTION READ ONLY")
        if found.get("host", "localhost") in _LOOPBACK:
            found["ssl_disabled"] = True  # as the ledger's engine connects (:mod:`.mysql`)
    return named or _installed(drivers), found


def _installed(drivers: tuple[str, ...]) -> str:
    import importlib.util

    return next((m for m in drivers if importlib.util.find_spec(m) is not None), drivers[-1])


def server_glance(url: str, journal: str) -> ServerGlance | None:
    """A reader of the PostgreSQL ledger at ``url`` whose local journal is the folder
    ``journal``, or None (see the module)."""
    found = connect_args(url)
    if found is None or journal_waiting(journal):
        return None
    module, kwargs = found
    if module == "MySQLdb":
        return None  # its own keywords; SQLAlchemy's dialect knows them
    try:
        driver = __import__(module)
    except ImportError:
        return None
    try:
        conn = driver.connect(**kwargs)
    except driver.Error:
        return None
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT value FROM opsctl_meta WHERE name = 'schema'")
        schema = cursor.fetchone()
        if schema is not None and schema[0] == str(SCHEMA_VERSION):
            kind = ServerGlance if module.startswith("psycopg") else MySQLGlance
            return kind(conn, driver.Error)
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


class MySQLGlance(ServerGlance):
    """:class:`ServerGlance` on MariaDB or MySQL: no lateral join, so the page's keys are a
    derived table of constants, each walked by a correlated subquery (as the ledger asks)."""

    PAGE = 250  # :data:`.queries.PAGE`

    def _page(self, page: list[str], columns: str) -> tuple[str, Sequence[Any]]:
        listed = " UNION ALL ".join(["SELECT %s AS k"] * len(page))
        return (f"SELECT {columns} FROM opsctl_runs WHERE id IN (SELECT (SELECT x.id FROM "
                f"opsctl_runs x WHERE x.script = wanted.k ORDER BY x.started_at DESC, "
                f"x.id DESC LIMIT 1) FROM ({listed}) AS wanted)", page)
