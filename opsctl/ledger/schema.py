"""The ledger's tables as the current schema version has them, and the column types and the
server-clock function they use (each database's choice made by its backend).

A new ledger is created from these definitions directly at the current version; an older
one reaches it through the steps in :mod:`.upgrade`, which never read these definitions
(they describe what is, not what was).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from .engine import backend_for


class server_utcnow(FunctionElement[_dt.datetime]):  # noqa: N801 - a SQL function, like sa.func's
    """The database server's current UTC time, so lock leases use one clock for everyone."""

    type = sa.DateTime()
    inherit_cache = True


@compiles(server_utcnow)
def _compile_utcnow(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return backend_for(compiler.dialect.name).utcnow_sql


class LongText(sa.types.TypeDecorator[str]):
    """Long text (output tail, error, summary): TEXT, or what the database holds it in."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(backend_for(dialect.name).text_type())


class When(sa.types.TypeDecorator[_dt.datetime]):
    """A naive UTC time, to the microsecond where the database can."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(backend_for(dialect.name).datetime_type())


_TEXT = LongText()
_WHEN = When()
_KEY = sa.String(512)  # 512 utf8mb4 characters still fit an InnoDB index

METADATA = sa.MetaData()

RUNS = sa.Table(
    "opsctl_runs", METADATA,
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
    # What opsctl itself observed about the run, as a JSON list of sentences (schema 3).
    sa.Column("notes", _TEXT),
    # Schema 5: every read walks one of these, newest first, and stops at its limit; the
    # id breaks ties between runs started in the same microsecond, as the reads order them.
    # history, list's and stale's last runs, run-once: one script's runs.
    sa.Index("ix_opsctl_runs_script_start", "script", "started_at", "id"),
    # history --status of one script; run-once's last success.
    sa.Index("ix_opsctl_runs_script_status", "script", "status", "started_at", "id"),
    # history: every script's runs.
    sa.Index("ix_opsctl_runs_start", "started_at", "id"),
    # history --status; reaping the running rows whose lock went.
    sa.Index("ix_opsctl_runs_status_start", "status", "started_at", "id"),
)

LOCKS = sa.Table(
    "opsctl_locks", METADATA,
    sa.Column("script", _KEY, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("operator", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("node", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("pid_started", sa.String(32)),
    sa.Column("since", _WHEN, nullable=False),
    sa.Column("heartbeat_at", _WHEN, nullable=False),
    # Schema 8: a run's end, its heartbeat and a sharded run's close find its lock by its
    # run (on MariaDB a DELETE that scans locks every row it reads, other runs' included).
    sa.Index("ix_opsctl_locks_run_id", "run_id"),
)

MOVES = sa.Table(
    "opsctl_moves", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("old_key", _KEY, nullable=False),
    sa.Column("new_key", _KEY, nullable=False),
    sa.Column("operator", sa.String(255), nullable=False),
    sa.Column("moved_at", _WHEN, nullable=False),
    # Schema 4: NULL for a move (the script now lives at new_key); "absorb" when the script
    # at old_key was folded into the one at new_key and removed (opsctl absorb).
    sa.Column("kind", sa.String(16)),
)

# Schema 6: a run's batches (:mod:`.progress`): one row per run that checkpointed, asked to
# stop, or resumed another; written at each batch boundary, so narrow (never the run's wide
# row with its output tail).
PROGRESS = sa.Table(
    "opsctl_progress", METADATA,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
    # Items done so far, all batches of this run together (a resumed run starts at its
    # predecessor's count: progress is the job's, not the process's).
    sa.Column("done", sa.BigInteger, nullable=False),
    # Items in all, when known (``batches(total=True)`` counts once at the start).
    sa.Column("total", sa.BigInteger),
    # Where the next batch starts, as JSON: a keyset position, a CSV row number, a count.
    sa.Column("cursor", _TEXT),
    sa.Column("updated_at", _WHEN, nullable=False),
    # The run this one continues (``opsctl run --resume``).
    sa.Column("resumed_from", sa.Integer),
    # ``pause`` or ``cancel``, asked by ``requested_by`` (``opsctl pause``/``cancel``):
    # the run stops at its next batch boundary.
    sa.Column("request", sa.String(16)),
    sa.Column("requested_by", sa.String(255)),
    sa.Column("requested_at", _WHEN),
    # A shard of a sharded run (``opsctl run --queue NAME --shards N``): its parent run,
    # which shard it is (``"i/N"``, i from 1), and its half-open key range ``[lo, hi)`` as a
    # JSON list (``null`` for an open end). A sharded run's own row: no parent, ``shard``
    # its count of shards (``"N"``, from their link on), ``key_range`` its split.
    sa.Column("parent_id", sa.Integer),
    sa.Column("shard", sa.String(16)),
    sa.Column("key_range", _TEXT),
    # The resume chain is read both ways: what a run continued, and what continued it.
    sa.Index("ix_opsctl_progress_resumed_from", "resumed_from"),
    # A parent's children are read at each child's end.
    sa.Index("ix_opsctl_progress_parent_id", "parent_id"),
)

# Created last: its ``schema`` row says the tables above exist and at which version, so
# opening an up-to-date ledger costs one primary-key read instead of reflecting every table.
META = sa.Table(
    "opsctl_meta", METADATA,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)
