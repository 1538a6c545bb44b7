"""The ledger's schema version, and the steps that upgrade an older ledger in place.

``opsctl_meta(name='schema')`` holds the version. Version 1 is opsctl 0.1.0's tables;
:data:`STEPS` takes a ledger from each version to the next, so :data:`SCHEMA_VERSION` is one
more than their count (:data:`~.facts.SCHEMA_VERSION`, known without SQLAlchemy). A later
column is one more step at the end of the list and one more column in :mod:`.schema`; a step
is never edited once released.

* Opening an up-to-date ledger costs one primary-key read of the version row, nothing more.
* A new ledger is created directly at :data:`SCHEMA_VERSION` from :mod:`.schema`. Tables
  left by a creation cut short (an older opsctl's, or on a database whose DDL is not
  transactional) count as version 1 and are brought up by the steps.
* An older ledger is upgraded when opened, reading or writing, under the database's schema
  lock (:meth:`~.backend.Backend.schema_change`): one process upgrades, another opening it
  at the same moment waits and then finds the work done. Where DDL is transactional (SQLite,
  PostgreSQL) the whole upgrade is one transaction. MySQL/MariaDB commit each DDL statement
  implicitly, so there every step first checks whether its change is already there (a step
  cut short is completed by the next opener) and the version row is raised after each step.
* A ledger newer than :data:`SCHEMA_VERSION` is refused (:class:`~opsctl.errors.LedgerTooNew`):
  a newer opsctl upgraded it, and this one must not write rows it does not understand.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from ..errors import LedgerTooNew, LedgerUnreachable
from .backend import Backend
from .engine import display_url
from .facts import SCHEMA_VERSION
from .latest import keep_latest
from .schema import META, METADATA, LongText, When

#: One step: takes a ledger from one version to the next; must check before it changes.
Step = Callable[[sa.engine.Connection], None]


def _index_runs_by_start(conn: sa.engine.Connection) -> None:
    """1 → 2: an index on ``opsctl_runs.started_at``: ``history`` lists every script's runs
    newest first, and without it reads the whole table to do so."""
    if "ix_opsctl_runs_started_at" in _index_names(conn, "opsctl_runs"):
        return
    # The table as this step knows it, not as :mod:`.schema` has it today.
    runs = sa.Table("opsctl_runs", sa.MetaData(), sa.Column("started_at", sa.DateTime))
    sa.Index("ix_opsctl_runs_started_at", runs.c.started_at).create(conn)


def _add_run_notes(conn: sa.engine.Connection) -> None:
    """2 → 3: ``opsctl_runs.notes``, what opsctl itself observed about a run (an environment
    the operator's shell disagreed with, a dry run the script honoured itself, an outcome
    recorded late from the local journal), as a JSON list of sentences."""
    if "notes" in {str(c["name"]) for c in sa.inspect(conn).get_columns("opsctl_runs")}:
        return
    # The long-text type each database's module gives the other text columns.
    kind = LongText().compile(dialect=conn.dialect)
    name = conn.dialect.identifier_preparer.quote("notes")
    conn.exec_driver_sql(f"ALTER TABLE opsctl_runs ADD COLUMN {name} {kind}")


def _add_move_kind(conn: sa.engine.Connection) -> None:
    """3 → 4: ``opsctl_moves.kind``, NULL for a move and ``absorb`` for a script folded into
    another (``opsctl absorb``), whose runs then show in the other's history."""
    if "kind" in {str(c["name"]) for c in sa.inspect(conn).get_columns("opsctl_moves")}:
        return
    kind = sa.String(16).compile(dialect=conn.dialect)
    name = conn.dialect.identifier_preparer.quote("kind")
    conn.exec_driver_sql(f"ALTER TABLE opsctl_moves ADD COLUMN {name} {kind}")


#: Version 5's indexes on ``opsctl_runs``, as that step knows them: each read walks one
#: newest first and stops at its limit (see :mod:`.schema`).
_V5_INDEXES = (("ix_opsctl_runs_script_start", ("script", "started_at", "id")),
               ("ix_opsctl_runs_script_status", ("script", "status", "started_at", "id")),
               ("ix_opsctl_runs_start", ("started_at", "id")),
               ("ix_opsctl_runs_status_start", ("status", "started_at", "id")))
#: The indexes they replace, each the first columns of one of them.
_V4_INDEXES = ("ix_opsctl_runs_script_started", "ix_opsctl_runs_status",
               "ix_opsctl_runs_started_at")


def _index_every_read(conn: sa.engine.Connection) -> None:
    """4 → 5: an index for every read of the runs (``history`` with or without a script or
    ``--status``, the last runs of ``list`` and ``stale``, run-once), each ending with the id
    the reads break ties with, so none sorts the table or reads past its limit; the three
    older indexes are the first columns of new ones, and go."""
    found = _index_names(conn, "opsctl_runs")
    runs = sa.Table("opsctl_runs", sa.MetaData(), sa.Column("id", sa.Integer),
                    sa.Column("script", sa.String(512)), sa.Column("status", sa.String(16)),
                    sa.Column("started_at", sa.DateTime))
    for name, columns in _V5_INDEXES:
        if name not in found:
            sa.Index(name, *(runs.c[c] for c in columns)).create(conn)
    for name in _V4_INDEXES:
        if name in found:
            sa.Index(name, runs.c.started_at).drop(conn)


def _add_progress(conn: sa.engine.Connection) -> None:
    """5 → 6: ``opsctl_progress``, a run's batches: items done and in all, the cursor of its
    last checkpoint, the run it resumed, and a pause or cancel asked of it."""
    if sa.inspect(conn).has_table("opsctl_progress"):
        return
    # The table as this step knows it, not as :mod:`.schema` has it today.
    text = LongText()
    when = When()
    table = sa.Table(
        "opsctl_progress", sa.MetaData(),
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("done", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger),
        sa.Column("cursor", text),
        sa.Column("updated_at", when, nullable=False),
        sa.Column("resumed_from", sa.Integer),
        sa.Column("request", sa.String(16)),
        sa.Column("requested_by", sa.String(255)),
        sa.Column("requested_at", when),
        sa.Index("ix_opsctl_progress_resumed_from", "resumed_from"))
    table.create(conn)


def _add_shards(conn: sa.engine.Connection) -> None:
    """6 → 7: a shard's link to its parent run on ``opsctl_progress``: ``parent_id``,
    ``shard`` (``"i/N"``) and ``key_range`` (its ``[lo, hi)`` as JSON), and an index on
    ``parent_id``. Each column is added only when missing (MariaDB commits each DDL)."""
    have = {str(c["name"]) for c in sa.inspect(conn).get_columns("opsctl_progress")}
    quote = conn.dialect.identifier_preparer.quote
    kinds = (("parent_id", sa.Integer()), ("shard", sa.String(16)), ("key_range", LongText()))
    for name, kind in kinds:
        if name not in have:
            conn.exec_driver_sql(f"ALTER TABLE opsctl_progress ADD COLUMN {quote(name)} "
                                 f"{kind.compile(dialect=conn.dialect)}")
    if "ix_opsctl_progress_parent_id" not in _index_names(conn, "opsctl_progress"):
        progress = sa.Table("opsctl_progress", sa.MetaData(),
                            sa.Column("parent_id", sa.Integer))
        sa.Index("ix_opsctl_progress_parent_id", progress.c.parent_id).create(conn)


def _index_locks_by_run(conn: sa.engine.Connection) -> None:
    """7 → 8: an index on ``opsctl_locks.run_id``: a run's end, its heartbeat and a sharded
    run's close find its lock by its run, and on MariaDB a DELETE that scans the table waits
    on every lock row another transaction holds (a shard starting, a heartbeat)."""
    if "ix_opsctl_locks_run_id" in _index_names(conn, "opsctl_locks"):
        return
    locks = sa.Table("opsctl_locks", sa.MetaData(), sa.Column("run_id", sa.Integer))
    sa.Index("ix_opsctl_locks_run_id", locks.c.run_id).create(conn)


def _keep_latest_runs(conn: sa.engine.Connection) -> None:
    """8 → 9: ``opsctl_latest``, each script's newest run as ``list`` shows it, kept by
    triggers on the runs and filled from the runs already there (:mod:`.latest`; SQLite and
    PostgreSQL)."""
    keep_latest(conn)


#: ``STEPS[n - 1]`` upgrades a ledger at version ``n`` to ``n + 1``.
STEPS: list[Step] = [_index_runs_by_start, _add_run_notes, _add_move_kind, _index_every_read,
                     _add_progress, _add_shards, _index_locks_by_run, _keep_latest_runs]
#: The read of the version row: the whole cost of opening an up-to-date ledger.
_VERSION = sa.select(META.c.value).where(META.c.name == "schema")


def prepare(engine: sa.engine.Engine, backend: Backend, url: str, *,
            create: bool) -> tuple[int | None, int | None]:
    """Bring the ledger at ``engine`` to :data:`SCHEMA_VERSION`: ``(version, upgraded_from)``.

    ``version`` is None when there are no tables and ``create`` is false (a reader then
    reads empty); ``upgraded_from`` is the version this call upgraded from, None when it
    upgraded nothing (another process may have).
    """
    found = read_version(engine, backend, url)
    if found == SCHEMA_VERSION:
        return found, None
    if found is None and not create:
        return None, None
    for attempt in range(20):
        try:
            with backend.schema_change(engine) as conn:
                return _bring_up(conn, backend, url, create=create)
        except sa.exc.DBAPIError as exc:
            # A database busy beyond its timeout, or a race on a database without a schema
            # lock: whoever lost looks again after a moment. Anything else (no right to
            # change the tables, say) is told at once.
            now = read_version(engine, backend, url)
            if now == SCHEMA_VERSION:
                return now, None
            if attempt == 19 or not (backend.retryable(exc) or now != found):
                raise
            found = now
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def read_version(engine: sa.engine.Engine, backend: Backend, url: str) -> int | None:
    """The ledger's schema version (one primary-key read); None when it has no tables.
    Refuses a version newer than :data:`SCHEMA_VERSION`."""
    try:
        with engine.connect() as conn:
            value = conn.execute(_VERSION).scalar()
    except (sa.exc.ProgrammingError, sa.exc.OperationalError) as exc:
        if backend.missing_table(exc):
            return None
        raise
    return _known(value, url)


def _known(value: str | None, url: str) -> int | None:
    if value is None:
        return None
    try:
        version = int(value)
    except ValueError:
        raise LedgerUnreachable(f"the ledger at {display_url(url)} has a schema version "
                                f"opsctl does not know ({value!r})",
                                "point ledger_url at an opsctl ledger") from None
    if version > SCHEMA_VERSION:
        raise LedgerTooNew(f"the ledger at {display_url(url)} has schema version {version}, "
                           f"newer than this opsctl understands ({SCHEMA_VERSION})",
                           "upgrade opsctl")
    return version


def _bring_up(conn: sa.engine.Connection, backend: Backend, url: str, *,
              create: bool) -> tuple[int | None, int | None]:
    """Under the schema lock: look again, then create or upgrade what is still needed."""
    inspector = sa.inspect(conn)
    found = None
    if inspector.has_table(META.name):
        found = _known(conn.execute(_VERSION).scalar(), url)
    if found == SCHEMA_VERSION:
        return found, None  # another process did it while this one waited
    if found is None:
        if not create:
            return None, None
        leftover = any(inspector.has_table(name) for name in METADATA.tables)
        backend.create_tables(conn, METADATA)
        if not leftover:
            keep_latest(conn)
            conn.execute(META.insert().values(name="schema", value=str(SCHEMA_VERSION)))
            return SCHEMA_VERSION, None
        # Tables of a creation cut short: which version made them is unknown, so every step
        # runs, each checking first.
        conn.execute(META.insert().values(name="schema", value="1"))
        found = 1
    for version in range(found, SCHEMA_VERSION):
        STEPS[version - 1](conn)
        conn.execute(META.update().where(META.c.name == "schema")
                     .values(value=str(version + 1)))
    return SCHEMA_VERSION, found


def _index_names(conn: sa.engine.Connection, table: str) -> set[str]:
    return {str(ix["name"]) for ix in sa.inspect(conn).get_indexes(table)}
