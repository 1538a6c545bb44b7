"""The run ledger: one row per run, the moves of scripts, and the locks that keep runs apart.

The ledger lives in its own SQLAlchemy engine, never the application's session, so a script's
rollback can never lose a ledger row. Its database is SQLite by default
(``instance/opsctl.sqlite3`` under the project), or a team's shared PostgreSQL or
MySQL/MariaDB (``ledger_url`` / ``OPSCTL_LEDGER_URL``) so every operator sees one history.

Importing this module loads SQLAlchemy; commands that do not need the ledger never import it.
Rows never leave the module: callers get frozen :class:`Run`, :class:`ScriptStats` and
:class:`Holder` values.

Locks
    A run holds a row in ``opsctl_locks`` whose primary key is the script's key, inserted in
    the same transaction as the run's own row, so the database's unique constraint decides
    who runs, on one machine or many. A holder is *stale* when it can no longer finish:

    * on the same node (host name, boot id and PID namespace, so containers sharing a host
      name are not confused), when its pid is gone or now belongs to a newer process;
    * on another node, when its heartbeat (written every :data:`HEARTBEAT_SECONDS` with the
      *database server's* clock, so the machines' clocks need not agree) is older than
      :data:`LEASE_SECONDS`.

    A stale holder is taken over with a compare-and-delete on ``(script, run_id)``; its run is
    marked ``lost``. Two processes taking over at once both delete at most that row and then
    race on the insert again, which only one wins.

Moves
    ``promote``/``demote`` record ``old_key → new_key`` with the time. A script's *lineage* is
    the chain of keys it had, each with the time span it had it, so the runs of
    ``recycle/export_order`` include those it had as ``yuzaoyah/ts_2024_06_10_export_order``
    but not those of a different script that later took a freed name.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import time
from collections.abc import Iterable, Sequence
from contextlib import suppress
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..errors import LedgerUnreachable
from .facts import STATUSES, exists_at
from .facts import ledger_exists as ledger_exists

if TYPE_CHECKING:
    from ..config import Config

UTC = _dt.UTC
SCHEMA_VERSION = "1"
#: How often a running process refreshes its lock.
HEARTBEAT_SECONDS = 15.0
#: A holder on another machine whose heartbeat is older than this is presumed dead.
LEASE_SECONDS = 90.0
#: Bytes of text columns kept (output tail, error): MySQL MEDIUMTEXT holds 16 MiB, so this
#: bound is about what a reader of ``history --run`` wants, not what the database allows.
TEXT_LIMIT = 64 * 1024


# --------------------------------------------------------------------------- values


class Run(NamedTuple):
    """One recorded run. ``script`` is the key the script had when it ran."""

    id: int
    script: str
    sha256: str | None
    args: list[str]
    operator: str
    host: str
    pid: int
    started_at: _dt.datetime
    ended_at: _dt.datetime | None
    status: str
    exit_code: int | None
    dry_run: bool
    error: str | None
    output_tail: str | None
    git_revision: str | None
    git_dirty: bool | None
    environment: str | None
    reason: str | None
    summary: dict[str, Any]

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, None while running."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 with ``+00:00``)."""
        return {
            "id": self.id,
            "script": self.script,
            "sha256": self.sha256,
            "args": list(self.args),
            "operator": self.operator,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration": self.duration,
            "status": self.status,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "error": self.error,
            "output_tail": self.output_tail,
            "git_revision": self.git_revision,
            "git_dirty": self.git_dirty,
            "environment": self.environment,
            "reason": self.reason,
            "summary": dict(self.summary),
        }


class ScriptStats(NamedTuple):
    """What the ledger knows about one script under its current key.

    ``runs`` counts every recorded run, dry runs included; ``succeeded`` counts succeeded
    runs that were not dry (those changed something). ``days`` are local calendar dates of
    the machine asking. ``running`` is true while a run holds a live lock.
    """

    key: str
    runs: int
    succeeded: int
    days: frozenset[_dt.date]
    operators: frozenset[str]
    first_at: _dt.datetime | None
    last_at: _dt.datetime | None
    running: bool


class Process(NamedTuple):
    """Who is running: written into a run row and its lock."""

    operator: str
    host: str
    pid: int
    node: str
    pid_started: str | None

    @classmethod
    def current(cls, operator: str) -> Process:
        pid = os.getpid()
        return cls(operator, socket.gethostname(), pid, node_id(), process_start(pid))


class Holder(NamedTuple):
    """The run holding a script's lock."""

    script: str
    run_id: int
    operator: str
    host: str
    node: str
    pid: int
    pid_started: str | None
    since: _dt.datetime
    heartbeat_at: _dt.datetime

    def describe(self) -> str:
        from ..output import local

        since = local(self.since, seconds=True)
        return (f"run {self.run_id} by {self.operator} on {self.host} (pid {self.pid}) "
                f"since {since}")


class AlreadySucceeded(Exception):
    """Raised by :meth:`Ledger.start` with ``once=True`` when the script already succeeded."""

    def __init__(self, run: Run) -> None:
        super().__init__(f"run {run.id} succeeded")
        self.run = run


class LockBusy(Exception):
    """Raised by :meth:`Ledger.start` when a live run holds the script's lock."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(holder.describe())
        self.holder = holder


# --------------------------------------------------------------------------- this machine


@cache
def node_id() -> str:
    """This process's node: host name, boot id and PID namespace.

    Two processes with equal node ids see the same pids, so a pid check is meaningful
    between them; anything else falls back to the heartbeat lease.
    """
    parts = [socket.gethostname()]
    with suppress(OSError):
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            parts.append(fh.read().strip())
    with suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return "/".join(parts)[:255]


def process_start(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None


def pid_alive(pid: int, started: str | None) -> bool:
    """Whether ``pid`` is still the process that took the lock."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    except OSError:
        return False
    if started is not None:
        now = process_start(pid)
        if now is not None and now != started:
            return False  # the pid was reused by a newer process
    return True


# --------------------------------------------------------------------------- schema


class _utcnow(FunctionElement[_dt.datetime]):
    """The database server's current UTC time, so lock leases use one clock for everyone."""

    type = sa.DateTime()
    inherit_cache = True


@compiles(_utcnow)
def _utcnow_default(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(_utcnow, "postgresql")
def _utcnow_pg(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return "TIMEZONE('utc', CURRENT_TIMESTAMP)"


@compiles(_utcnow, "mysql")
@compiles(_utcnow, "mariadb")
def _utcnow_mysql(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return "UTC_TIMESTAMP(6)"


@compiles(_utcnow, "sqlite")
def _utcnow_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    # %f is SS.SSS; three more zeros make the six-digit fraction SQLAlchemy parses.
    return "STRFTIME('%Y-%m-%d %H:%M:%f000', 'now')"


class _Text(sa.types.TypeDecorator[str]):
    """TEXT; MEDIUMTEXT on MySQL/MariaDB, whose TEXT stops at 64 KiB of bytes."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            # Imported here: the MySQL dialect costs ~10 ms to import, and most runs never
            # see it.
            from sqlalchemy.dialects.mysql import MEDIUMTEXT

            return dialect.type_descriptor(MEDIUMTEXT())
        return dialect.type_descriptor(sa.Text())


class _When(sa.types.TypeDecorator[_dt.datetime]):
    """DATETIME; with microseconds on MySQL/MariaDB, which drop them unless asked."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())


_TEXT = _Text()
_WHEN = _When()
_KEY = sa.String(512)  # 512 utf8mb4 characters still fit an InnoDB index
#: Table options for MySQL/MariaDB, set just before creating the tables there: naming them in
#: ``sa.Table`` would import the MySQL dialect on every run.
_MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

_metadata = sa.MetaData()

_runs = sa.Table(
    "opsctl_runs", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("script", _KEY, nullable=False),
    sa.Column("sha256", sa.String(64)),
    sa.Column("args", _TEXT, nullable=False),
    sa.Column("operator", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", _WHEN, nullable=False),
    sa.Column("ended_at", _WHEN),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("exit_code", sa.Integer),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("error", _TEXT),
    sa.Column("output_tail", _TEXT),
    sa.Column("git_revision", sa.String(64)),
    sa.Column("git_dirty", sa.Boolean),
    sa.Column("environment", sa.String(255)),
    sa.Column("reason", _TEXT),
    sa.Column("summary", _TEXT),
    sa.Index("ix_opsctl_runs_script_started", "script", "started_at"),
    sa.Index("ix_opsctl_runs_status", "status"),
)

_locks = sa.Table(
    "opsctl_locks", _metadata,
    sa.Column("script", _KEY, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("operator", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("node", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("pid_started", sa.String(32)),
    sa.Column("since", _WHEN, nullable=False),
    sa.Column("heartbeat_at", _WHEN, nullable=False),
)

_moves = sa.Table(
    "opsctl_moves", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("old_key", _KEY, nullable=False),
    sa.Column("new_key", _KEY, nullable=False),
    sa.Column("operator", sa.String(255), nullable=False),
    sa.Column("moved_at", _WHEN, nullable=False),
)

# Created last: its row says the tables above exist, so opening an existing ledger costs one
# primary-key read instead of reflecting every table.
_meta = sa.Table(
    "opsctl_meta", _metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)


# --------------------------------------------------------------------------- helpers


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(UTC)


def _aware(value: _dt.datetime | None) -> _dt.datetime | None:
    """Rows hold naive UTC (SQLite and MySQL keep no zone); values crossing out are aware."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(value: _dt.datetime) -> _dt.datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _clip(text: str | None, limit: int = TEXT_LIMIT) -> str | None:
    """Keep the end of long text (the end of output and of a traceback matter most)."""
    if text is None or len(text) <= limit:
        return text
    return "[…]" + text[-limit:]


def _json_load(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as the user wrote it, minus nothing secret
        return url.split("@")[-1] if "@" in url else url


def _driver_url(url: str) -> sa.engine.URL:
    """Pick the driver the extras install when the URL names none.

    ``postgresql://`` means psycopg2 and ``mysql://`` means mysqlclient to SQLAlchemy; opsctl
    ships psycopg 3 and PyMySQL (``opsctl[postgres]``, ``opsctl[mysql]``).
    """
    import importlib.util

    parsed = sa.engine.make_url(url)
    defaults = {"postgresql": ("psycopg2", "postgresql+psycopg"),
                "mysql": ("MySQLdb", "mysql+pymysql"),
                "mariadb": ("mariadb", "mariadb+pymysql")}
    if parsed.drivername in defaults:
        module, replacement = defaults[parsed.drivername]
        if importlib.util.find_spec(module) is None:
            parsed = parsed.set(drivername=replacement)
    return parsed


def _engine_options(url: sa.engine.URL) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend == "sqlite":
        # Twenty processes starting at once queue on SQLite's write lock; wait for it.
        return {"connect_args": {"timeout": 30}}
    if backend == "postgresql":
        return {"connect_args": {"connect_timeout": 5}, "pool_size": 2}
    if backend in ("mysql", "mariadb"):
        return {"connect_args": {"connect_timeout": 5, "charset": "utf8mb4"}, "pool_size": 2,
                "isolation_level": "READ COMMITTED"}
    return {}


def _retryable(exc: BaseException) -> bool:
    """Deadlocks, serialization failures and a busy SQLite: try the transaction again."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or ""
    if code in ("40001", "40P01"):
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1205, 1213):  # MySQL lock wait timeout, deadlock
        return True
    return "database is locked" in str(orig)


# --------------------------------------------------------------------------- the ledger


class Ledger:
    """The run ledger on one database. Open with :meth:`open`; close when done."""

    def __init__(self, engine: sa.engine.Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.has_schema = False
        # Moves are few and rare; one read serves a whole command (record_move refreshes it).
        self._moves: list[tuple[str, str, _dt.datetime]] | None = None

    # -- opening

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Ledger:
        """Connect and make sure the tables exist (created on first use).

        With ``create=False`` nothing is created: a ledger without tables just reads empty.
        Raises :class:`~opsctl.errors.LedgerUnreachable` when the database cannot be used.
        """
        engine = _engine(url)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_connect)
        ledger = cls(engine, url)
        if not create and not exists_at(url):
            return ledger  # connecting would create the file: an absent ledger reads empty
        try:
            ledger._ensure_schema(create)
        except LedgerUnreachable:
            engine.dispose()
            raise
        except Exception as exc:  # any driver or database error
            engine.dispose()
            raise LedgerUnreachable(_unreachable_message(url, exc), FIX_URL) from None
        return ledger

    def _ensure_schema(self, create: bool) -> None:
        self.has_schema = self._schema_version() is not None
        if self.has_schema or not create:
            return
        for attempt in range(20):
            try:
                if self.engine.dialect.name in ("mysql", "mariadb"):
                    for table in _metadata.tables.values():
                        table.dialect_kwargs.update(_MYSQL)
                # checkfirst: another process may have created some tables a moment ago.
                _metadata.create_all(self.engine, checkfirst=True)
                with self.engine.begin() as conn:
                    if self.engine.dialect.name == "sqlite":
                        # WAL: readers never block the one writer, and commits need no fsync
                        # of the main file; persistent in the file, so set once.
                        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                    conn.execute(_meta.insert().values(name="schema", value=SCHEMA_VERSION))
                break
            except sa.exc.DBAPIError:
                # Processes starting together on a new ledger race to create it: whoever
                # lost looks again after a moment.
                if self._schema_version() is not None:
                    break
                if attempt == 19:
                    raise
                time.sleep(0.05 * (attempt + 1))
        self.has_schema = True

    def _schema_version(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                value = conn.execute(sa.select(_meta.c.value)
                                     .where(_meta.c.name == "schema")).scalar()
        except (sa.exc.ProgrammingError, sa.exc.OperationalError) as exc:
            if _missing_table(exc):
                return None
            raise
        return str(value) if value is not None else None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- moves

    def record_move(self, old_key: str, new_key: str, operator: str) -> None:
        """Record that the script at ``old_key`` now lives at ``new_key``."""
        with self.engine.begin() as conn:
            conn.execute(_moves.insert().values(old_key=old_key, new_key=new_key,
                                                operator=operator, moved_at=_naive(utcnow())))
        self._moves = None

    def _all_moves(self) -> list[tuple[str, str, _dt.datetime]]:
        if not self.has_schema:
            return []
        if self._moves is None:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(_moves.c.old_key, _moves.c.new_key,
                                              _moves.c.moved_at)
                                    .order_by(_moves.c.moved_at, _moves.c.id)).all()
            self._moves = [(r.old_key, r.new_key, _aware(r.moved_at))  # type: ignore[misc]
                           for r in rows]
        return self._moves

    def lineage(self, key: str) -> list[tuple[str, _dt.datetime | None, _dt.datetime | None]]:
        """The keys the script now at ``key`` had, newest first, each with ``[from, until)``.

        ``from``/``until`` are None where unbounded.
        """
        return _lineage(key, self._all_moves())

    def aliases(self, key: str) -> list[str]:
        """``key`` and every former key it had, following moves transitively."""
        seen: list[str] = []
        for k, _, _ in self.lineage(key):
            if k not in seen:
                seen.append(k)
        return seen

    # -- reading runs

    def runs(self, key: str | None = None, *, status: str | None = None,
             limit: int | None = None, follow_moves: bool = True) -> list[Run]:
        """Runs, newest first; of one script (and its former keys) when ``key`` is given."""
        if not self.has_schema:
            return []
        query = sa.select(_runs)
        if key is not None:
            spans: list[Span] = self.lineage(key) if follow_moves else [(key, None, None)]
            query = query.where(_spans_clause(spans))
        if status is not None:
            query = query.where(_runs.c.status == status)
        query = query.order_by(_runs.c.started_at.desc(), _runs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_run_of(row) for row in conn.execute(query)]

    def run(self, run_id: int) -> Run | None:
        """One run by id."""
        if not self.has_schema:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_runs).where(_runs.c.id == run_id)).first()
        return _run_of(row) if row is not None else None

    def knows(self, key: str) -> bool:
        """Whether a run or a move was recorded under exactly this key."""
        if not self.has_schema:
            return False
        with self.engine.connect() as conn:
            run = conn.execute(sa.select(_runs.c.id).where(_runs.c.script == key).limit(1))
            if run.first() is not None:
                return True
            move = conn.execute(sa.select(_moves.c.id).where(
                sa.or_(_moves.c.old_key == key, _moves.c.new_key == key)).limit(1))
            return move.first() is not None

    def has_succeeded(self, key: str) -> Run | None:
        """The latest succeeded, non-dry run of this script under any of its keys."""
        if not self.has_schema:
            return None
        with self.engine.connect() as conn:
            return self._succeeded(conn, key)

    def _succeeded(self, conn: sa.engine.Connection, key: str) -> Run | None:
        query = (sa.select(_runs).where(_spans_clause(self.lineage(key)))
                 .where(_runs.c.status == "succeeded", _runs.c.dry_run.is_(False))
                 .order_by(_runs.c.started_at.desc()).limit(1))
        row = conn.execute(query).first()
        return _run_of(row) if row is not None else None

    def last_runs(self, keys: Iterable[str]) -> dict[str, Run]:
        """The newest run of each key (moves followed)."""
        wanted = set(keys)
        if not self.has_schema or not wanted:
            return {}
        moves = self._all_moves()
        moved = {k for old, new, _ in moves for k in (old, new)}
        newest = (sa.select(sa.func.max(_runs.c.id)).group_by(_runs.c.script)
                  .scalar_subquery())
        out: dict[str, Run] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(sa.select(_runs).where(_runs.c.id.in_(newest))):
                run = _run_of(row)
                if run.script in wanted and run.script not in moved:
                    out[run.script] = run
            # Keys touched by moves are few: ask for each precisely.
            for key in wanted & moved:
                query = (sa.select(_runs).where(_spans_clause(_lineage(key, moves)))
                         .order_by(_runs.c.started_at.desc(), _runs.c.id.desc()).limit(1))
                newest_row = conn.execute(query).first()
                if newest_row is not None:
                    out[key] = _run_of(newest_row)
        return out

    def stats(self) -> dict[str, ScriptStats]:
        """Per current key: counts, days, operators and whether a run is live.

        Runs under former keys are folded into the key the script has now.
        """
        if not self.has_schema:
            return {}
        moves = self._all_moves()
        cols = (_runs.c.id, _runs.c.script, _runs.c.started_at, _runs.c.status,
                _runs.c.dry_run, _runs.c.operator)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols)).all()
            live = {h.run_id for h in self._holders(conn) if not self._stale(h, conn)}
        acc: dict[str, dict[str, Any]] = {}
        for row in rows:
            started = _aware(row.started_at)
            assert started is not None
            key = _current_key(row.script, started, moves)
            a = acc.setdefault(key, {"runs": 0, "succeeded": 0, "days": set(),
                                     "operators": set(), "first": None, "last": None,
                                     "running": False})
            a["runs"] += 1
            if row.status == "succeeded" and not row.dry_run:
                a["succeeded"] += 1
            a["days"].add(started.astimezone().date())
            a["operators"].add(row.operator)
            a["first"] = started if a["first"] is None else min(a["first"], started)
            a["last"] = started if a["last"] is None else max(a["last"], started)
            if row.status == "running" and row.id in live:
                a["running"] = True
        return {k: ScriptStats(k, a["runs"], a["succeeded"], frozenset(a["days"]),
                               frozenset(a["operators"]), a["first"], a["last"], a["running"])
                for k, a in acc.items()}

    # -- locks and the run's own rows

    def holder(self, key: str) -> Holder | None:
        """The live holder of this script's lock (under any of its keys), if any.

        A stale holder found on the way is taken over: its run is marked ``lost``.
        """
        if not self.has_schema:
            return None
        keys = self.aliases(key)
        with self.engine.connect() as conn:
            holders = [h for h in self._holders(conn) if h.script in keys]
            stale = [h for h in holders if self._stale(h, conn)]
        for h in stale:
            self._take_over(h)
        live = [h for h in holders if h not in stale]
        return live[0] if live else None

    def start(self, *, script: str, process: Process, args: Sequence[str],
              sha256: str | None = None, dry_run: bool = False,
              git_revision: str | None = None, git_dirty: bool | None = None,
              environment: str | None = None, reason: str | None = None,
              once: bool = False) -> Run:
        """Write the run's row and take the script's lock, in one transaction.

        Raises :class:`LockBusy` when a live run holds the lock; a stale holder is taken
        over (its run marked ``lost``) and the start goes ahead. With ``once`` (run-once for
        ``unrecycle/``), raises :class:`AlreadySucceeded` when a real run of the script
        succeeded: checked with the lock held, so a run that ended a moment ago, or that
        ``--wait`` waited for, counts.
        """
        started = utcnow()
        values = {
            "script": script, "sha256": sha256, "args": json.dumps(list(args)),
            "operator": process.operator, "host": process.host, "pid": process.pid,
            "started_at": _naive(started), "status": "running", "dry_run": dry_run,
            "git_revision": git_revision, "git_dirty": git_dirty,
            "environment": environment, "reason": reason,
        }
        former = [k for k in self.aliases(script) if k != script]
        for _attempt in range(50):
            try:
                with self.engine.begin() as conn:
                    inserted = conn.execute(_runs.insert().values(**values))
                    run_id = inserted.inserted_primary_key[0]  # type: ignore[index]
                    conn.execute(_locks.insert().values(
                        script=script, run_id=run_id, operator=process.operator,
                        host=process.host, node=process.node, pid=process.pid,
                        pid_started=process.pid_started, since=_utcnow(),
                        heartbeat_at=_utcnow()))
                    if former:
                        # A run started before a move still holds the old key's lock.
                        for h in self._holders(conn, former):
                            if not self._stale(h, conn):
                                raise LockBusy(h)
                    if once:
                        done = self._succeeded(conn, script)
                        if done is not None:
                            raise AlreadySucceeded(done)  # rolls the row and lock back
            except sa.exc.IntegrityError:
                with self.engine.connect() as conn:
                    found = self._holders(conn, [script])
                    current = found[0] if found else None
                    if current is not None and not self._stale(current, conn):
                        raise LockBusy(current) from None
                if current is not None:
                    self._take_over(current)
                continue  # released or taken over meanwhile: try again
            except LockBusy as busy:
                if self._stale(busy.holder):
                    self._take_over(busy.holder)
                    continue
                raise
            except sa.exc.OperationalError as exc:
                if _retryable(exc):
                    continue
                raise
            return Run(id=int(run_id), script=script, sha256=sha256, args=list(args),
                       operator=process.operator, host=process.host, pid=process.pid,
                       started_at=started, ended_at=None, status="running", exit_code=None,
                       dry_run=dry_run, error=None, output_tail=None,
                       git_revision=git_revision, git_dirty=git_dirty,
                       environment=environment, reason=reason, summary={})
        raise LedgerUnreachable(f"could not take the lock of {script} in the ledger at "
                                f"{display_url(self.url)}: it kept changing hands",
                                "try again")

    def record(self, *, script: str, process: Process, args: Sequence[str], status: str,
               exit_code: int | None, error: str | None = None, sha256: str | None = None,
               dry_run: bool = False, git_revision: str | None = None,
               git_dirty: bool | None = None, environment: str | None = None,
               reason: str | None = None) -> Run:
        """Write a run that ended before it could start properly (its import raised): one
        row, already complete, and no lock."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        now = utcnow()
        values = {
            "script": script, "sha256": sha256, "args": json.dumps(list(args)),
            "operator": process.operator, "host": process.host, "pid": process.pid,
            "started_at": _naive(now), "ended_at": _naive(now), "status": status,
            "exit_code": exit_code, "dry_run": dry_run, "error": _clip(error),
            "git_revision": git_revision, "git_dirty": git_dirty,
            "environment": environment, "reason": reason, "summary": "{}",
        }
        for attempt in range(10):
            try:
                with self.engine.begin() as conn:
                    inserted = conn.execute(_runs.insert().values(**values))
                    run_id = inserted.inserted_primary_key[0]  # type: ignore[index]
                break
            except sa.exc.OperationalError as exc:
                if not _retryable(exc) or attempt == 9:
                    raise
        return Run(id=int(run_id), script=script, sha256=sha256, args=list(args),
                   operator=process.operator, host=process.host, pid=process.pid,
                   started_at=now, ended_at=now, status=status, exit_code=exit_code,
                   dry_run=dry_run, error=_clip(error), output_tail=None,
                   git_revision=git_revision, git_dirty=git_dirty, environment=environment,
                   reason=reason, summary={})

    def finish(self, run: Run, *, status: str, exit_code: int | None,
               error: str | None = None, output_tail: str | None = None,
               summary: dict[str, Any] | None = None) -> bool:
        """Complete the run's row and release its lock, in one transaction.

        Returns False when the run's lock had been taken over as stale meanwhile (its row
        marked ``lost`` by another process, e.g. after a long pause of this machine): the
        run's real outcome is recorded all the same, since it did end, and ``error`` starts
        with a note that the lock was taken over, so history shows that another run may
        have overlapped it.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        values = {"status": status, "exit_code": exit_code, "ended_at": _naive(utcnow()),
                  "error": _clip(error), "output_tail": _clip(output_tail),
                  "summary": json.dumps(summary or {}, default=str, ensure_ascii=False)}
        for attempt in range(10):
            try:
                with self.engine.begin() as conn:
                    updated = conn.execute(_runs.update()
                                           .where(_runs.c.id == run.id,
                                                  _runs.c.status == "running")
                                           .values(**values))
                    mine = bool(updated.rowcount)
                    if not mine:
                        lost = conn.execute(sa.select(_runs.c.error)
                                            .where(_runs.c.id == run.id)).scalar()
                        note = (f"taken over: {lost or 'its lock was taken over as stale'}; "
                                f"the run went on and ended {status}")
                        conn.execute(_runs.update().where(_runs.c.id == run.id).values(
                            **{**values, "error": _clip("\n".join(filter(None, [note,
                                                                                 error])))}))
                    conn.execute(_locks.delete().where(_locks.c.script == run.script,
                                                       _locks.c.run_id == run.id))
                return mine
            except sa.exc.OperationalError as exc:
                if not _retryable(exc) or attempt == 9:
                    raise
        return True  # pragma: no cover - the loop returns or raises

    def heartbeat(self, run: Run) -> bool:
        """Refresh the run's lock; False when the lock is no longer this run's."""
        with self.engine.begin() as conn:
            result = conn.execute(_locks.update()
                                  .where(_locks.c.script == run.script,
                                         _locks.c.run_id == run.id)
                                  .values(heartbeat_at=_utcnow()))
        return bool(result.rowcount)

    def reap(self) -> list[int]:
        """Mark ``lost`` every run whose holder died; returns their ids."""
        if not self.has_schema:
            return []
        with self.engine.connect() as conn:
            stale = [h for h in self._holders(conn) if self._stale(h, conn)]
            # A running row without a lock cannot finish: its lock went without its end.
            orphans = conn.execute(
                sa.select(_runs.c.id).where(_runs.c.status == "running",
                                            _runs.c.id.not_in(sa.select(_locks.c.run_id)))
            ).scalars().all()
        lost = [h.run_id for h in stale if self._take_over(h)]
        for run_id in orphans:
            if self._mark_lost(run_id, "its lock was released without the run finishing"):
                lost.append(run_id)
        return lost

    # -- lock internals

    def _holders(self, conn: sa.engine.Connection,
                 keys: Sequence[str] | None = None) -> list[Holder]:
        query = sa.select(_locks)
        if keys is not None:
            query = query.where(_locks.c.script.in_(list(keys)))
        return [Holder(script=r.script, run_id=r.run_id, operator=r.operator, host=r.host,
                       node=r.node, pid=r.pid, pid_started=r.pid_started,
                       since=_aware(r.since), heartbeat_at=_aware(r.heartbeat_at))  # type: ignore[arg-type]
                for r in conn.execute(query)]

    def _stale(self, holder: Holder, conn: sa.engine.Connection | None = None) -> bool:
        if holder.node == node_id():
            return not pid_alive(holder.pid, holder.pid_started)
        if conn is None:
            with self.engine.connect() as own:
                return self._stale(holder, own)
        now = _aware(conn.execute(sa.select(_utcnow())).scalar())
        assert now is not None
        return (now - holder.heartbeat_at).total_seconds() > LEASE_SECONDS

    def _take_over(self, holder: Holder) -> bool:
        with self.engine.begin() as conn:
            deleted = conn.execute(_locks.delete().where(_locks.c.script == holder.script,
                                                         _locks.c.run_id == holder.run_id))
            if not deleted.rowcount:
                return False  # someone else took it over first
        how = ("its process is gone" if holder.node == node_id()
               else f"no heartbeat for over {LEASE_SECONDS:.0f} s")
        self._mark_lost(holder.run_id, f"lost: {how} (pid {holder.pid} on {holder.host}); "
                        "its lock was released")
        return True

    def _mark_lost(self, run_id: int, error: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(_runs.update()
                                  .where(_runs.c.id == run_id, _runs.c.status == "running")
                                  .values(status="lost", ended_at=_naive(utcnow()),
                                          error=error))
        return bool(result.rowcount)


# --------------------------------------------------------------------------- module helpers


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    # NORMAL is safe in WAL mode (a power cut may lose the last commit, never corrupt) and
    # takes the fsync off every commit: a run's two writes stay well under a millisecond.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _missing_table(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(s in text for s in ("no such table", "does not exist", "doesn't exist",
                                   "undefinedtable"))


def _unreachable_message(url: str, exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    return f"the run ledger at {display_url(url)} is unreachable ({first})"


#: What to do about a ledger that cannot be used, unless something more precise is known.
FIX_URL = "fix ledger_url in [tool.opsctl] or OPSCTL_LEDGER_URL"
#: The extra that installs the driver opsctl picks for each backend.
_EXTRAS = {"postgresql": ("postgres", "psycopg"), "mysql": ("mysql", "pymysql"),
           "mariadb": ("mysql", "pymysql")}


def _engine(url: str) -> sa.engine.Engine:
    """The ledger's engine (nothing connects yet); what is wrong with the URL, in words."""
    try:
        engine_url = _driver_url(url)
    except sa.exc.ArgumentError:
        raise LedgerUnreachable(
            f"the ledger_url {url!r} is not a database URL (e.g. sqlite:///instance/"
            "opsctl.sqlite3, postgresql+psycopg://user@host/db)", FIX_URL) from None
    try:
        return sa.create_engine(engine_url, **_engine_options(engine_url))
    except ImportError as exc:  # the dialect is known, its driver is not installed
        backend = engine_url.get_backend_name()
        extra, module = _EXTRAS.get(backend, (None, None))
        missing = exc.name or engine_url.get_driver_name()
        where = f"the run ledger at {display_url(url)} needs the {missing} driver, which is " \
                "not installed"
        if extra is None:
            raise LedgerUnreachable(where, f"pip install {missing}") from None
        install = f'pip install "opsctl[{extra}]"'
        if missing != module:  # a driver the extra does not bring, named in the URL
            install += f" and write the URL as {backend}+{module}://..., or install {missing}"
        raise LedgerUnreachable(where, install) from None
    except sa.exc.NoSuchModuleError:
        raise LedgerUnreachable(
            f"the ledger_url {display_url(url)!r} names a database SQLAlchemy does not know "
            f"({engine_url.drivername})", FIX_URL) from None
    except Exception as exc:  # options the driver rejects, and the like
        raise LedgerUnreachable(_unreachable_message(url, exc), FIX_URL) from None


def _run_of(row: Any) -> Run:
    return Run(
        id=row.id, script=row.script, sha256=row.sha256, args=_json_load(row.args, []),
        operator=row.operator, host=row.host, pid=row.pid,
        started_at=_aware(row.started_at),  # type: ignore[arg-type]
        ended_at=_aware(row.ended_at), status=row.status, exit_code=row.exit_code,
        dry_run=bool(row.dry_run), error=row.error, output_tail=row.output_tail,
        git_revision=row.git_revision,
        git_dirty=None if row.git_dirty is None else bool(row.git_dirty),
        environment=row.environment, reason=row.reason,
        summary=_json_load(row.summary, {}),
    )


Span = tuple[str, "_dt.datetime | None", "_dt.datetime | None"]


def _lineage(key: str, moves: list[tuple[str, str, _dt.datetime]]) -> list[Span]:
    """Follow moves backwards from the script now at ``key``.

    The script had ``key`` since the last move into it (or, if none, since the last move out
    of it: a script that left freed the name); before that it had the move's old key, and so
    on. Each step only looks at moves before the time it reached.
    """
    spans: list[Span] = []
    current: str | None = key
    until: _dt.datetime | None = None
    seen: set[tuple[str, _dt.datetime | None]] = set()
    while current is not None and (current, until) not in seen:
        seen.add((current, until))
        before = [m for m in moves if until is None or m[2] < until]
        into = [m for m in before if m[1] == current]
        if into:
            old, _, when = into[-1]
            spans.append((current, when, until))
            current, until = old, when
            continue
        out = [m for m in before if m[0] == current]
        spans.append((current, out[-1][2] if out else None, until))
        current = None
    return spans


def _current_key(script: str, started: _dt.datetime,
                 moves: list[tuple[str, str, _dt.datetime]]) -> str:
    """Where the script that ran as ``script`` at ``started`` lives now."""
    key, when = script, started
    for _ in range(len(moves) + 1):
        nxt = next((m for m in moves if m[0] == key and m[2] > when), None)
        if nxt is None:
            break
        key, when = nxt[1], nxt[2]
    return key


def _spans_clause(spans: list[Span]) -> sa.ColumnElement[bool]:
    parts = []
    for key, since, until in spans:
        cond = [_runs.c.script == key]
        if since is not None:
            cond.append(_runs.c.started_at >= _naive(since))
        if until is not None:
            cond.append(_runs.c.started_at < _naive(until))
        parts.append(sa.and_(*cond))
    return sa.or_(*parts)


def open_ledger(config: Config) -> Ledger:
    """Open the project's ledger, creating ``instance/`` for the default SQLite file."""
    if not config.ledger_url:
        try:
            (config.project_dir / "instance").mkdir(exist_ok=True)
        except OSError as exc:
            raise LedgerUnreachable(
                f"cannot create {config.project_dir / 'instance'} for the run ledger "
                f"({exc.strerror})", "set ledger_url in [tool.opsctl] or OPSCTL_LEDGER_URL") \
                from None
    return Ledger.open(config.effective_ledger_url)


def last_runs(config: Config, keys: list[str]) -> dict[str, Run]:
    """The newest run of each key, for ``opsctl list``. Reads only: creates no file, no table."""
    if not ledger_exists(config):
        return {}
    ledger = Ledger.open(config.effective_ledger_url, create=False)
    try:
        return ledger.last_runs(keys)
    finally:
        ledger.close()
