"""Reading a SQLite ledger without SQLAlchemy, for the commands that only read it: ``history``
and ``list``'s last runs. SQLAlchemy's import costs more than such a command's whole work
(about twice ``opsctl --help``); the standard library's ``sqlite3`` opens the file in a
millisecond.

A :class:`Glance` reads only when what it reads is all there is to show; :func:`glance`
answers None otherwise, and the caller opens the :class:`~.store.Ledger`, which upgrades,
records and reaps first:

* a ``sqlite://`` ledger file that exists (the standard driver, no URL options);
* at this opsctl's schema version (:data:`~.facts.SCHEMA_VERSION`): an older ledger is
  upgraded, a newer one refused, by the ledger;
* no local journal entry waiting to be recorded (no entry file in the journal's folder);
* when ``reaping`` (``history``), no run to mark ``lost``: every lock's holder alive, no
  running row without its lock (:func:`to_reap`, a server's too).

Its statements are SQLite's text of those :mod:`.queries` builds, walking the same indexes
and stopping at the same limits, but for the last runs of scripts never moved: those are read
from :mod:`.latest`'s table. Moves and absorptions are followed with the same :mod:`.spans`.
The connection is ``query_only``: a reader never writes, whatever happens.
"""

from __future__ import annotations

import os

from ..light import NamedTuple
from ..light import datetime as _dt
from .facts import LEASE_SECONDS, SCHEMA_VERSION, journal_waiting, sqlite_file
from .glanceshards import GlanceShards
from .latest import read as read_latest
from .spans import Move, Span, absorbed_of, current_key, lineage_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any

    from .values import Progress, Run

#: The columns of ``opsctl_runs`` in :mod:`.schema`'s order (a test holds them to it).
COLUMNS = ("id", "script", "sha256", "args", "operator", "host", "pid", "started_at",
           "ended_at", "status", "exit_code", "dry_run", "error", "output_tail",
           "git_revision", "git_dirty", "environment", "reason", "summary", "notes")
_ALL = ", ".join(COLUMNS)
#: A summary of runs reads no output tail (:data:`.queries.BRIEF`).
_BRIEF = ", ".join(c for c in COLUMNS if c != "output_tail")
#: What a table shows of a last run (:class:`Seen`).
_SEEN = "id, script, started_at, operator, status, dry_run"
_NEWEST = " ORDER BY started_at DESC, id DESC"
#: The columns of ``opsctl_progress`` a :class:`~.values.Progress` holds, in its order.
_PROGRESS = "run_id, done, total, cursor, updated_at, resumed_from, request, requested_by"
#: Whether a row is a sharded run's own (no parent of its own; its count of shards, written
#: as they are linked, or its split, which a ledger before that keeps alone).
_SPLIT = "parent_id IS NULL AND (shard IS NOT NULL OR key_range IS NOT NULL)"
#: Keys per statement of :meth:`Glance.last_runs` (SQLite before 3.32 takes 999 parameters).
PAGE = 500
#: Rows fetched at a time (:data:`.reads.CHUNK`).
CHUNK = 500


class Seen(NamedTuple):
    """What a table shows of a run (``list``'s last-run column), as :meth:`Glance.last_seen`
    reads it: a :class:`~.values.Run` has the same attributes. Here, not in :mod:`.values`,
    so that a table's read does not build the ledger's other value types."""

    started_at: _dt.datetime
    operator: str
    status: str
    dry_run: bool


def glance(url: str, journal: str, *, reaping: bool = False) -> Glance | None:
    """A reader of the SQLite ledger at ``url`` whose local journal is the folder
    ``journal``, or None when it would not read the whole truth (see the module)."""
    path = sqlite_file(url) if url.split("://", 1)[0] in ("sqlite", "sqlite+pysqlite") \
        and "?" not in url else None
    if not path or not os.path.isfile(path) or journal_waiting(journal):
        return None
    escaped = os.path.abspath(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    sqlite3 = _sqlite()
    try:
        conn = sqlite3.connect(f"file:{escaped}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA query_only = ON")
        found = conn.execute("SELECT value FROM opsctl_meta WHERE name = 'schema'").fetchone()
        if found is not None and found[0] == str(SCHEMA_VERSION):
            reader = Glance(conn, sqlite3.Error)
            if not (reaping and to_reap(reader)):
                return reader
    except sqlite3.Error:
        pass
    conn.close()
    return None


def _sqlite() -> Any:
    """The driver, on use (a server's glance needs none): the C module alone (the package
    registers date adapters a glance never uses, importing the pure-Python datetime)."""
    try:
        import _sqlite3 as driver
    except ImportError:  # pragma: no cover - another Python
        import sqlite3 as driver  # type: ignore[no-redef]
    return driver


def _utc(text: str) -> _dt.datetime:
    """A time as the ledger stores it (naive UTC text), aware."""
    return _dt.datetime.fromisoformat(text + "+00:00")


def _text(when: _dt.datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite, so comparisons are of like text."""
    from .rows import naive

    return f"{naive(when):%Y-%m-%d %H:%M:%S.%f}"


def _span_where(span: Span, mark: str = "?",
                when: Callable[[_dt.datetime], Any] | None = None) -> tuple[str, list[Any]]:
    """The runs of a span, as a condition with ``mark`` for each parameter; its times as
    ``when`` gives them to the driver (SQLite's text by default)."""
    key, since, until = span
    when = when or _text
    where, params = f"script = {mark}", [key]
    if since is not None:
        where += f" AND started_at >= {mark}"
        params.append(when(since))
    if until is not None:
        where += f" AND started_at < {mark}"
        params.append(when(until))
    return where, params


def newest_first(spans: Sequence[Span] | None, status: str | None, limit: int | None,
                 columns: str = _ALL, mark: str = "?",
                 when: Callable[[_dt.datetime], Any] | None = None) -> tuple[str, list[Any]]:
    """:func:`.queries.newest_first`, as text and its parameters (SQLite's, or with ``mark``
    and ``when`` another driver's: see :func:`_span_where`)."""
    tail, tail_params = ("", []) if status is None else (f" AND status = {mark}", [status])
    unique = list(dict.fromkeys(spans)) if spans is not None else None
    if unique is not None and len(unique) > 1 and limit is not None:
        parts: list[str] = []
        params: list[Any] = []
        for span in unique:
            where, more = _span_where(span, mark, when)
            parts.append(f"SELECT * FROM (SELECT {columns} FROM opsctl_runs WHERE {where}"
                         f"{tail}{_NEWEST} LIMIT {mark}) AS s{len(parts)}")
            params += [*more, *tail_params, limit]
        return " UNION ALL ".join(parts) + f"{_NEWEST} LIMIT {mark}", [*params, limit]
    if unique is None:
        where, params = "1 = 1", []
    elif unique:
        pieces = [_span_where(s, mark, when) for s in unique]
        where = " OR ".join(f"({w})" for w, _ in pieces)
        params = [p for _, more in pieces for p in more]
    else:
        where, params = "0 = 1", []
    sql = f"SELECT {columns} FROM opsctl_runs WHERE ({where}){tail}{_NEWEST}"
    if limit is not None:
        return f"{sql} LIMIT {mark}", [*params, *tail_params, limit]
    return sql, [*params, *tail_params]


def to_reap(reader: Glance) -> bool:
    """Whether reaping would mark a run ``lost`` (:meth:`.locks.Locks.reap`): a lock whose
    process on this node is gone, or whose heartbeat on another is older than the lease by
    the database's clock; a running row without its lock."""
    from .processes import node_id, pid_alive  # its socket costs more than a lockless read

    (now,) = reader._execute(reader._NOW).fetchone()
    for node, pid, started, beat in reader._execute(
            "SELECT node, pid, pid_started, heartbeat_at FROM opsctl_locks").fetchall():
        if node == node_id():
            if not pid_alive(pid, started):
                return True
        elif (reader._when(now) - reader._when(beat)).total_seconds() > LEASE_SECONDS:
            return True
    return reader._execute("SELECT 1 FROM opsctl_runs WHERE status = 'running' AND id NOT IN "
                           "(SELECT run_id FROM opsctl_locks) LIMIT 1").fetchone() is not None


class Glance(GlanceShards):
    """A read-only look at a SQLite ledger: the reads of :class:`~.reads.Reads` that
    ``history`` and ``list`` make, with the same names and answers."""

    #: Keys per statement of :meth:`last_runs`.
    PAGE = PAGE
    #: A parameter in a statement, and a time as the driver takes one (:func:`_span_where`).
    _MARK = "?"
    _param: Callable[[_dt.datetime], Any] = staticmethod(_text)
    #: The database's UTC time now, as the ledger's locks read it (:mod:`.schema`).
    _NOW = "SELECT STRFTIME('%Y-%m-%d %H:%M:%f', 'now')"
    #: The columns of a progress row (MariaDB quotes ``cursor``, a word of its own).
    _PROGRESS = _PROGRESS

    def __init__(self, conn: Any, error: type[Exception]) -> None:
        self._conn = conn
        #: What the driver raises (a failed read falls back to the ledger, which says why).
        self.Error = error
        self._events: tuple[list[Move], list[Move]] | None = None

    def close(self) -> None:
        self._conn.close()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A cursor over what ``sql`` selects."""
        return self._conn.execute(sql, params)

    @staticmethod
    def _when(cell: Any) -> _dt.datetime:
        """A time as the driver gives it (SQLite: naive UTC text), aware."""
        return _utc(cell)

    def _page(self, page: list[str], columns: str) -> tuple[str, Sequence[Any]]:
        """The statement of the newest run of each key of ``page``, and its parameters: a
        server's (:mod:`.serverglance`), whose :meth:`_latest` may have none to read."""
        raise NotImplementedError

    def _page_rows(self, page: list[str], columns: str) -> Iterable[Sequence[Any]]:
        """The cells of :meth:`_page`'s rows, a chunk at a time."""
        cursor = self._execute(*self._page(page, columns))
        while chunk := cursor.fetchmany(CHUNK):
            yield from chunk

    def _latest(self, columns: str) -> Iterable[Sequence[Any]] | None:
        """Every script's newest run, its ``columns``, from :mod:`.latest`'s table (None
        where the ledger keeps none: then :meth:`_page_rows`, a page of keys at a time)."""
        return self._execute(read_latest(columns)).fetchall()  # type: ignore[no-any-return]

    def _newest_of(self, spans: list[Span], columns: str) -> Any:
        """The newest run within ``spans``, its ``columns``; None when there is none."""
        return self._execute(*newest_first(spans, None, 1, columns, self._MARK,
                                           self._param)).fetchone()

    def _read_events(self) -> tuple[list[Move], list[Move]]:
        if self._events is None:
            moves: list[Move] = []
            absorbed: list[Move] = []
            for old, new, at, kind in self._execute(
                    "SELECT old_key, new_key, moved_at, kind FROM opsctl_moves "
                    "ORDER BY moved_at, id"):
                (absorbed if kind == "absorb" else moves).append((old, new, self._when(at)))
            self._events = moves, absorbed
        return self._events

    def spans(self, key: str) -> list[Span]:
        moves, absorbed = self._read_events()
        return lineage_of(key, moves, absorbed) + absorbed_of(key, moves, absorbed)

    def absorbed_spans(self, key: str) -> list[Span]:
        return absorbed_of(key, *self._read_events())

    def _rows(self, sql: str, params: Sequence[Any]) -> Iterator[Run]:
        """The runs ``sql`` selects (every column of a run in order, or all but the output
        tail), a chunk at a time; their times (the 8th and 9th cells) read from text."""
        from .rows import run_of_cells  # on use: list's table reads no whole run

        when = self._when
        cursor = self._execute(sql, params)
        while chunk := cursor.fetchmany(CHUNK):
            for cells in chunk:
                ended = cells[8]
                yield run_of_cells((*cells[:7], when(cells[7]),
                                    when(ended) if ended else None, *cells[9:]))

    def iter_runs(self, key: str | None = None, *, status: str | None = None,
                  limit: int | None = None, all_under_key: bool = False) -> Iterator[Run]:
        """:meth:`.reads.Reads.iter_runs`: newest first, a chunk at a time."""
        spans = None
        if key is not None:
            spans = [*self.spans(key), *([(key, None, None)] if all_under_key else [])]
        yield from self._rows(*newest_first(spans, status, limit, _ALL, self._MARK,
                                            self._param))

    def run(self, run_id: int) -> Run | None:
        return next(self._rows(f"SELECT {_ALL} FROM opsctl_runs WHERE id = {self._MARK}",
                               [run_id]), None)

    def owners(self, key: str) -> list[tuple[str, int]]:
        """:meth:`.reads.Reads.owners`."""
        moves, absorbed = self._read_events()
        forward = sorted(moves + absorbed, key=lambda m: m[2])
        away = sorted({when for old, _, when in forward if old == key})
        if not away:
            return []
        out: dict[str, int] = {}
        for since, until in zip([None, *away[:-1]], away, strict=True):
            where, params = _span_where((key, since, until), self._MARK, self._param)
            count, first = self._execute(
                f"SELECT count(*), min(started_at) FROM opsctl_runs WHERE {where}",
                params).fetchone()
            if count:
                owner = current_key(key, self._when(first), forward)
                out[owner] = out.get(owner, 0) + int(count)
        return [(owner, n) for owner, n in out.items() if owner != key]

    def last_runs(self, keys: Iterable[str]) -> dict[str, Run]:
        """:meth:`.reads.Reads.last_runs`: one statement per page of keys, a ``LIMIT 1`` walk
        of the script's index each, without output tails."""
        from .rows import run_of_cells

        when = self._when
        return {key: run_of_cells((*cells[:7], when(cells[7]),
                                   when(cells[8]) if cells[8] else None, *cells[9:]))
                for key, cells in self._newest(keys, _BRIEF)}

    def last_seen(self, keys: Iterable[str]) -> dict[str, Seen]:
        """What a table shows of each key's last run (:class:`Seen`), read as
        :meth:`last_runs` reads it, four columns a run."""
        when = self._when
        seen = tuple.__new__  # Seen(...) without its __new__ in Python: a thousand rows
        return {key: seen(Seen, (when(cells[2]), cells[3], cells[4], bool(cells[5])))
                for key, cells in self._newest(keys, _SEEN)}

    def _newest(self, keys: Iterable[str], columns: str) -> Iterator[tuple[str, Any]]:
        """``(key, cells)`` of the newest run of each key that has one, its ``columns`` (the
        run's id, then its script, as :data:`_BRIEF` and :data:`_SEEN` have them)."""
        wanted = sorted(set(keys))
        moves, absorbed = self._read_events()
        moved = {k for old, new, _ in moves + absorbed for k in (old, new)}
        plain = [k for k in wanted if k not in moved]
        kept = self._latest(columns) if plain else None
        if kept is not None:
            listed = set(plain)
            yield from ((cells[1], cells) for cells in kept if cells[1] in listed)
        for start in range(0, len(plain) if kept is None else 0, self.PAGE):
            for cells in self._page_rows(plain[start:start + self.PAGE], columns):
                yield cells[1], cells
        for key in (k for k in wanted if k in moved):
            spans = lineage_of(key, moves, absorbed) + absorbed_of(key, moves, absorbed)
            found = self._newest_of(spans, columns)
            if found is not None:
                yield key, found

    def progress_of(self, run_ids: Iterable[int]) -> dict[int, Progress]:
        """:meth:`.progress.Checkpoints.progress_of`: one primary-key lookup per page of ids;
        ids close together (a page of a history, newest first) in one walk of their range,
        which SQLite reads faster than it parses a list of them."""
        ids = sorted(set(run_ids))
        mark, when = self._MARK, self._when
        found: dict[int, Progress] = {}
        parents: list[int] = []  # a sharded run's own row: its shards' count, no parent
        if ids and ids[-1] - ids[0] < 4 * len(ids):
            wanted = set(ids)
            for cells in self._execute(f"SELECT {self._PROGRESS}, {_SPLIT} FROM opsctl_progress "
                                       f"WHERE run_id BETWEEN {mark} AND {mark}",
                                       (ids[0], ids[-1])).fetchall():
                if cells[0] in wanted:
                    found[cells[0]] = _progress(cells[:8], when)
                    parents += [cells[0]] if cells[8] else []
            return self.summed(found, parents)
        for start in range(0, len(ids), PAGE):
            page = ids[start:start + PAGE]
            for cells in self._execute(
                    f"SELECT {self._PROGRESS}, {_SPLIT} FROM opsctl_progress WHERE run_id IN "
                    f"({', '.join([mark] * len(page))})", page).fetchall():
                found[cells[0]] = _progress(cells[:8], when)
                parents += [cells[0]] if cells[8] else []
        return self.summed(found, parents)

    def progress(self, run_id: int) -> Progress | None:
        """:meth:`.progress.Checkpoints.progress`."""
        return self.progress_of([run_id]).get(run_id)

    def resumed_by(self, run_id: int) -> list[int]:
        """:meth:`.progress.Checkpoints.resumed_by`."""
        return [n for (n,) in self._execute(
            f"SELECT run_id FROM opsctl_progress WHERE resumed_from = {self._MARK} ORDER BY "
            "run_id", [run_id]).fetchall()]


def _progress(cells: Sequence[Any], when: Callable[[Any], _dt.datetime]) -> Progress:
    import json  # only where a page shows progress: list never reads it

    from .values import Progress

    run_id, done, total, cursor, updated_at, resumed_from, request, requested_by = cells
    try:
        position = None if cursor is None else json.loads(cursor)
    except ValueError:
        position = None  # as the ledger reads it
    return Progress(run_id, int(done), None if total is None else int(total), position,
                    when(updated_at), resumed_from, request, requested_by)
