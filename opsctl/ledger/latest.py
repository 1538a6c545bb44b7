"""``opsctl_latest``: the newest run of each script, what ``list``'s table shows of it, kept
by the database itself (schema 9).

``list`` shows every script's last run. Found in ``opsctl_runs``, that is one walk of the
script index and one read of the run's row per script: a thousand scattered pages of a large
ledger, and a cost that grows with the number of runs. Here it is one row per script that
ever ran, read whole: the same few pages at a thousand runs or at a million.

The table is kept by triggers on ``opsctl_runs``, so every write is seen, whoever makes it
(each of the ledger's writes, a process that opened the ledger before it was upgraded and
ends its run after, a row inserted by hand), in the same transaction as the write:

* SQLite (one writer at a time): after each insert, delete, or change of a column shown here,
  the script's row is read again from the script index (``LIMIT 1``, newest first), so it is
  always exactly what the runs say.
* PostgreSQL (writers at once, each seeing only what was committed): a run written replaces
  the script's row when it is that run's or older (``ON CONFLICT ... WHERE``, which compares
  with the row as the last writer committed it); a run deleted, moved to another script or
  back in time reads the script's newest again.
* MariaDB/MySQL keep none (a trigger there asks for a privilege a ledger's user may lack when
  the server logs its binary log): their reads walk the runs as before.

:func:`keep_latest` creates the table and its triggers where the database keeps one, and
fills it from the runs (a new ledger, and the upgrade to schema 9). The definitions here are
version 9's, as the upgrade knows them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import sqlalchemy as sa

#: The table's name (:mod:`.alembic` leaves it alone, as the other ledger tables).
NAME = "opsctl_latest"
#: Its columns, in order: a run's script (the key), its id, and what a table shows of it.
COLUMNS = ("script", "run_id", "started_at", "operator", "status", "dry_run")
#: The same cells of a run in ``opsctl_runs``.
_RUN_CELLS = "script, id, started_at, operator, status, dry_run"
_INTO = f"INSERT INTO {NAME} ({', '.join(COLUMNS)}) "


def _newest(key: str) -> str:
    """The newest run of the script ``key`` names (SQL), as the row to insert."""
    return (f"{_INTO}SELECT {_RUN_CELLS} FROM opsctl_runs WHERE script = {key} "
            "ORDER BY started_at DESC, id DESC LIMIT 1")


#: SQLite's triggers: the script's row read again after each write that may change it.
_SHOWN = "script, started_at, operator, status, dry_run"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS {NAME}_insert AFTER INSERT ON opsctl_runs BEGIN "
    f"DELETE FROM {NAME} WHERE script = NEW.script; {_newest('NEW.script')}; END",
    f"CREATE TRIGGER IF NOT EXISTS {NAME}_update AFTER UPDATE OF {_SHOWN} ON opsctl_runs "
    f"BEGIN DELETE FROM {NAME} WHERE script IN (OLD.script, NEW.script); "
    f"{_newest('OLD.script')}; "
    f"{_newest('NEW.script AND NEW.script <> OLD.script')}; END",
    f"CREATE TRIGGER IF NOT EXISTS {NAME}_delete AFTER DELETE ON opsctl_runs BEGIN "
    f"DELETE FROM {NAME} WHERE script = OLD.script; {_newest('OLD.script')}; END",
)

#: PostgreSQL's: one function, for each row written.
POSTGRESQL_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION {NAME}_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.script <> NEW.script
                                                OR OLD.started_at > NEW.started_at)) THEN
    DELETE FROM {NAME} WHERE script = OLD.script AND run_id = OLD.id;
    {_newest('OLD.script')} ON CONFLICT (script) DO NOTHING;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    {_INTO}VALUES (NEW.script, NEW.id, NEW.started_at, NEW.operator, NEW.status,
                   NEW.dry_run)
    ON CONFLICT (script) DO UPDATE SET run_id = EXCLUDED.run_id,
      started_at = EXCLUDED.started_at, operator = EXCLUDED.operator,
      status = EXCLUDED.status, dry_run = EXCLUDED.dry_run
    WHERE {NAME}.run_id = EXCLUDED.run_id
      OR ({NAME}.started_at, {NAME}.run_id) < (EXCLUDED.started_at, EXCLUDED.run_id);
  END IF;
  RETURN NULL;
END $$""",
    f"DROP TRIGGER IF EXISTS {NAME}_keep ON opsctl_runs",
    f"CREATE TRIGGER {NAME}_keep AFTER INSERT OR DELETE OR UPDATE OF {_SHOWN} ON "
    f"opsctl_runs FOR EACH ROW EXECUTE PROCEDURE {NAME}_keep()",
)

TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}


def read(columns: str) -> str:
    """The statement of every script's newest run, its ``columns`` (a run's, as
    :mod:`.glance` names them; the run's id first, then its script): what a table shows is
    all in the table; the rest of a run is read by its id."""
    if columns == "id, script, started_at, operator, status, dry_run":
        return f"SELECT {', '.join(COLUMNS[1::-1])}, {', '.join(COLUMNS[2:])} FROM {NAME}"
    listed = ", ".join(f"r.{c}" for c in columns.split(", "))
    return f"SELECT {listed} FROM {NAME} AS l JOIN opsctl_runs AS r ON r.id = l.run_id"


def kept(dialect: str) -> bool:
    """Whether a ledger on this database (a SQLAlchemy dialect name) keeps the table."""
    return dialect in TRIGGERS


#: The triggers by name, per database, as :func:`unkept` drops them.
_DROPS = {"sqlite": [f"DROP TRIGGER IF EXISTS {NAME}_{w}" for w in ("insert", "update",
                                                                    "delete")],
          "postgresql": [f"DROP TRIGGER IF EXISTS {NAME}_keep ON opsctl_runs"]}


def unkept(conn: sa.engine.Connection) -> None:
    """Drop the triggers, before runs are written in bulk (a trigger a row would cost more
    than the rows); :func:`keep_latest` then makes them again and fills the table once."""
    for statement in _DROPS.get(conn.dialect.name, []):
        conn.exec_driver_sql(statement)


def keep_latest(conn: sa.engine.Connection) -> None:
    """Create the table and its triggers where the database keeps one (each only when
    missing), and fill it from the runs: the newest of each script."""
    triggers = TRIGGERS.get(conn.dialect.name)
    if triggers is None:
        return
    import sqlalchemy as sa

    from .schema import When

    table = sa.Table(
        NAME, sa.MetaData(),
        sa.Column("script", sa.String(512), primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("started_at", When(), nullable=False),
        sa.Column("operator", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False))
    table.create(conn, checkfirst=True)
    for statement in triggers:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(f"DELETE FROM {NAME}")
    conn.exec_driver_sql(
        f"{_INTO}SELECT {', '.join('r.' + c for c in _RUN_CELLS.split(', '))} FROM "
        "(SELECT DISTINCT script FROM opsctl_runs) AS s JOIN opsctl_runs AS r ON r.id = "
        "(SELECT x.id FROM opsctl_runs AS x WHERE x.script = s.script "
        "ORDER BY x.started_at DESC, x.id DESC LIMIT 1)")
