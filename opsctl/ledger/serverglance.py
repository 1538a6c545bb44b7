"""Reading a PostgreSQL or MariaDB/MySQL ledger without SQLAlchemy, for ``list``'s last
runs and ``history``: what :mod:`.glance` does for SQLite. SQLAlchemy and its dialect cost
several times such a command's whole work, and so does psycopg's import: a PostgreSQL server
on this machine is read through :mod:`.pgwire` (its protocol, spoken over a socket), any
other through the driver (psycopg 3, else psycopg2, as :mod:`.postgresql` prefers them;
PyMySQL). Either is all such a read needs.

:func:`server_glance` answers None, and the caller opens the :class:`~.store.Ledger`, when
the read would not be the whole truth or when it would read the URL differently:

* a URL that is not ``postgres[ql][+psycopg|+psycopg2]://`` or
  ``mysql|mariadb[+pymysql]://`` with at most a user, a password, a host, a port and a
  database (options in the URL are SQLAlchemy's and the driver's to read), or whose driver is
  not installed (mysqlclient, which SQLAlchemy prefers when installed, is left to it);
* a local journal entry waiting to be recorded;
* a server that refuses (the ledger says why, in its words);
* a ledger at another schema version than this opsctl's (:data:`~.facts.SCHEMA_VERSION`);
* when ``reaping`` (``history``), a run to mark ``lost`` (:func:`.glance.to_reap`, by the
  server's clock).

A server that cannot be reached at all (refused, timed out, an unknown host) is the ledger's
:class:`~opsctl.errors.LedgerUnreachable` at once, in its words: the ledger would only connect
again, and wait again.

The session is read-only. ``history --limit 0`` reads its runs a page at a time, each after
the last run of the one before (newest first, by start and id), so memory stays flat as it
does through the ledger's server-side cursor. On PostgreSQL the last runs are one read of
the table the ledger keeps of them (:mod:`.latest`); on MariaDB, which keeps none, one
statement per page of keys, :func:`.queries.newest_of_keys`', one correlated walk a key.
"""

from __future__ import annotations

import re

from ..light import datetime as _dt
from .facts import FIX_URL, SCHEMA_VERSION, journal_waiting
from .glance import _ALL, _NEWEST, _SEEN, CHUNK, Glance, newest_first, to_reap
from .latest import read as read_latest

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Any

    from ..errors import LedgerUnreachable
    from .values import Run

#: :data:`.glance._SEEN` without the run's id, none of them ever NULL (``concat_ws`` would
#: skip it, and the record would lack a field).
_SEEN_FIELDS = ("script", "started_at", "operator", "status", "dry_run")
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
    found: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    database = "dbname" if postgres else "database"
    for field, name in (("user", "user"), ("password", "password"), ("database", database)):
        if match[field]:
            found[name] = _unquoted(match[field])
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


def _unquoted(text: str) -> str:
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return unquote(text)


def _installed(drivers: tuple[str, ...]) -> str:
    """The first of ``drivers`` that is installed (else the last), not imported."""
    return next((m for m in drivers if _findable(m)), drivers[-1])


def _findable(module: str) -> bool:
    """Whether ``module`` is installed, asked of the import system's finders as
    :func:`importlib.util.find_spec` asks them (without importing :mod:`importlib`, which
    costs more than the question)."""
    import sys

    return module in sys.modules or any(
        finder.find_spec(module, None) is not None
        for finder in sys.meta_path if hasattr(finder, "find_spec"))


#: Connections :func:`prepare` began, by URL, for :func:`server_glance` to finish.
_BEGUN: dict[str, Any] = {}


def prepare(url: str) -> None:
    """Begin the connection :func:`server_glance` will make to ``url`` (PostgreSQL through
    :mod:`.pgwire` only): the server forks its backend and authenticates while the caller
    walks its tree. Anything that goes wrong is left for :func:`server_glance` to meet and
    tell again; :func:`forget` closes a connection begun and not used."""
    found = connect_args(url)
    if found is None or not found[0].startswith("psycopg") or url in _BEGUN or \
            not _findable(found[0]):
        return
    from . import pgwire

    try:
        _BEGUN[url] = pgwire.begin(**found[1], utc=True)
    except (pgwire.Elsewhere, pgwire.WireError):
        pass


def forget() -> None:
    """Close the connections :func:`prepare` began that no glance used."""
    while _BEGUN:
        _BEGUN.popitem()[1].close()


def server_glance(url: str, journal: str, *,
                  reaping: bool = False) -> ServerGlance | None:
    """A reader of the PostgreSQL or MariaDB ledger at ``url`` whose local journal is the
    folder ``journal``, or None (see the module; ``reaping``: ``history``'s). A server that
    cannot be reached at all is :class:`~opsctl.errors.LedgerUnreachable` at once: the
    ledger would only wait for it again."""
    found = connect_args(url)
    if found is None or journal_waiting(journal):
        forget()
        return None
    module, kwargs = found
    if module == "MySQLdb" or not _findable(module):
        return None  # its own keywords, or a driver the ledger would ask to be installed
    if module.startswith("psycopg"):
        from . import pgwire  # on this machine, the protocol spoken without the driver

        begun = _BEGUN.pop(url, None)
        try:
            conn = pgwire.connect(**kwargs, utc=True) if begun is None else begun.finish()
            return _checked(conn, pgwire.WireError, WireGlance, reaping)
        except pgwire.Elsewhere:
            pass
        except pgwire.Unreached as exc:
            raise _unreachable(url, exc) from None
        except pgwire.WireError:
            return None
    try:
        driver = __import__(module)
    except ImportError:
        return None
    try:
        conn = driver.connect(**kwargs)
    except driver.Error as exc:
        if _unreached(exc):
            raise _unreachable(url, exc) from None
        return None
    return _checked(conn, driver.Error,
                    ServerGlance if module.startswith("psycopg") else MySQLGlance, reaping)


def _checked(conn: Any, error: type[Exception], kind: type[ServerGlance],
             reaping: bool = False) -> ServerGlance | None:
    """A glance on ``conn`` when its ledger is at this opsctl's schema version and, when
    ``reaping``, has no run to reap; else None, ``conn`` closed."""
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT value FROM opsctl_meta WHERE name = 'schema'")
        schema = cursor.fetchone()
        if schema is not None and schema[0] == str(SCHEMA_VERSION):
            found = kind(conn, error)
            if not (reaping and to_reap(found)):
                return found
    except error:
        pass
    conn.close()
    return None


#: PyMySQL's "Can't connect to MySQL server" (``CR_CONN_HOST_ERROR``).
_MYSQL_UNREACHED = 2003


def _unreached(exc: Exception) -> bool:
    """Whether a driver's connection error says no server answered (no SQLSTATE: the
    server said nothing), rather than what a server refused."""
    if hasattr(exc, "sqlstate") or hasattr(exc, "pgcode"):  # psycopg, psycopg2 (libpq's
        # words for what the server said at connection: "FATAL:  database ... does not exist")
        return getattr(exc, "sqlstate", None) is None and \
            getattr(exc, "pgcode", None) is None and "FATAL:" not in str(exc)
    return bool(exc.args) and exc.args[0] == _MYSQL_UNREACHED


def _unreachable(url: str, exc: Exception) -> LedgerUnreachable:
    """The ledger's own error for a server it cannot reach
    (:func:`.engine.unreachable_message`), its password hidden."""
    from ..errors import LedgerUnreachable

    match = _URL.match(url)
    if match is not None and match["password"] is not None:
        url = url[:match.start("password")] + "***" + url[match.end("password"):]
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else type(exc).__name__
    return LedgerUnreachable(f"the run ledger at {url} is unreachable ({first})", FIX_URL)


def _naive(when: _dt.datetime) -> _dt.datetime:
    """An aware time as the naive UTC a row holds."""
    return when.astimezone(_dt.UTC).replace(tzinfo=None)


class ServerGlance(Glance):
    """A read-only look at a PostgreSQL ledger: the reads of :class:`~.glance.Glance`, with
    the ledger's answers."""

    _MARK = "%s"
    _param = staticmethod(_naive)
    _NOW = "SELECT TIMEZONE('utc', CURRENT_TIMESTAMP)"  # :mod:`.postgresql`'s ``utcnow_sql``

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(sql, params)
        return cursor

    @staticmethod
    def _when(cell: Any) -> _dt.datetime:
        return cell.replace(tzinfo=_dt.UTC)  # type: ignore[no-any-return]

    def iter_runs(self, key: str | None = None, *, status: str | None = None,
                  limit: int | None = None, all_under_key: bool = False) -> Iterator[Run]:
        """:meth:`.glance.Glance.iter_runs`; all of them (no ``limit``) a page at a time,
        each after the last run of the one before: a driver here reads a statement's rows
        whole."""
        if limit is not None:
            yield from super().iter_runs(key, status=status, limit=limit,
                                         all_under_key=all_under_key)
            return
        spans = None
        if key is not None:
            spans = [*self.spans(key), *([(key, None, None)] if all_under_key else [])]
        mark = self._MARK
        sql, params = newest_first(spans, status, None, _ALL, mark, self._param)
        after = sql.replace(_NEWEST, f" AND (started_at, id) < ({mark}, {mark}){_NEWEST}")
        page: list[Run] = list(self._rows(f"{sql} LIMIT {CHUNK}", params))
        while page:
            yield from page
            if len(page) < CHUNK:
                return
            last = page[-1]
            page = list(self._rows(f"{after} LIMIT {CHUNK}",
                                   [*params, self._param(last.started_at), last.id]))

    @staticmethod
    def _time_of(text: str) -> Any:
        """A time written as text (ISO, naive UTC), as the driver gives a cell of it."""
        return _dt.datetime.fromisoformat(text)

    def _latest(self, columns: str) -> Iterable[Sequence[Any]] | None:
        """:meth:`.glance.Glance._latest`. What a table shows (:data:`.glance._SEEN`) comes
        as one text, a record a run and a field a column between control characters:
        splitting it costs a fraction of reading a thousand rows of cells one by one."""
        if columns == _SEEN:
            found = self._seen_rows()
            if found is not None:
                return found
        return self._execute(read_latest(columns)).fetchall()  # type: ignore[no-any-return]

    def _seen_rows(self) -> list[Sequence[Any]] | None:
        """The rows of what a table shows, read as one text: every record must have all its
        fields (the last, the dry run's ``t`` or ``f``, cannot hold a separator, so a value
        that holds one shows, and None says to read rows of cells); the run's id is left out
        (None)."""
        fields = ", ".join(_SEEN_FIELDS)
        (found,) = self._execute(f"SELECT string_agg(concat_ws(chr(31), {fields}), chr(30)) "
                                 "FROM opsctl_latest").fetchone()
        if found is None:
            return []
        time_of = self._time_of
        rows: list[Sequence[Any]] = []
        for record in found.split("\x1e"):
            fields = record.split("\x1f")
            if len(fields) != len(_SEEN_FIELDS):
                return None
            script, started, operator, status, dry_run = fields
            rows.append((None, script, time_of(started), operator, status, dry_run == "t"))
        return rows


class WireGlance(ServerGlance):
    """:class:`ServerGlance` on :mod:`.pgwire`'s connection, whose times are aware already."""

    @staticmethod
    def _when(cell: Any) -> _dt.datetime:
        return cell  # type: ignore[no-any-return]

    @staticmethod
    def _time_of(text: str) -> Any:
        return _dt.datetime.fromisoformat(text + "+00:00")


class MySQLGlance(ServerGlance):
    """:class:`ServerGlance` on MariaDB or MySQL, which keep no latest runs: the page's keys
    are a derived table of constants, each walked by a correlated subquery (as the ledger
    asks)."""

    PAGE = 250  # :data:`.queries.PAGE`
    _NOW = "SELECT UTC_TIMESTAMP(6)"  # :mod:`.mysql`'s ``utcnow_sql``
    _PROGRESS = Glance._PROGRESS.replace("cursor", "`cursor`")

    def _latest(self, columns: str) -> Iterable[Sequence[Any]] | None:
        return None  # a MariaDB ledger keeps no latest runs (:mod:`.latest`)

    def _page(self, page: list[str], columns: str) -> tuple[str, Sequence[Any]]:
        listed = " UNION ALL ".join(["SELECT %s AS k"] * len(page))
        return (f"SELECT {columns} FROM opsctl_runs WHERE id IN (SELECT (SELECT x.id FROM "
                f"opsctl_runs x WHERE x.script = wanted.k ORDER BY x.started_at DESC, "
                f"x.id DESC LIMIT 1) FROM ({listed}) AS wanted)", page)
