"""The benchmark's long-data-job lines (issue 16): a ``batches()`` loop against the same
keyset loop written by hand, and the cost of one checkpoint, on PostgreSQL and SQLite.

**The loops.** A table of :data:`ROWS` rows (``id``, ``counter``); each loop reads the ids
1,000 at a time in key order and runs one ``UPDATE ... SET counter = counter + 1 WHERE id
BETWEEN first AND last`` per batch, then commits. One script does it with
``opsctl.batches(select(Row.id), size=1000)`` (its count at the start, a checkpoint and a stop
check at each boundary included), the other with ``WHERE id > last ORDER BY id LIMIT 1000``
and nothing of opsctl. Both run under ``opsctl run`` in the same project, app and ledger, and
time their loop themselves (``time.perf_counter()`` around it, printed as JSON), so the start
of the process, the same for both, is not in the figure. They run alternately (A B A B ...),
the table vacuumed before each, and the target is the median of the pairwise ratios.

**A checkpoint** is timed in process through the ledger's own API
(:meth:`~opsctl.ledger.progress.Checkpoints.checkpoint`, one ``UPDATE`` in a transaction of
its own, which returns the stop asked of the run), as a run writes it between two batches;
beside it, a stop check on its own (:meth:`~opsctl.ledger.progress.Checkpoints.requested`,
one primary-key read), which a run makes only before its first batch.

PostgreSQL: the app's table and the ledger in one throwaway database. SQLite:
the app's database and the ledger in two files, as the default ledger is a file of its own.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

#: Rows in the table, full and quick.
ROWS = 1_000_000
ROWS_QUICK = 100_000
SIZE = 1_000
#: Where the loops' table lives in each measurement's app.
TABLE = "bench_row"

APP = '''\
"""The benchmark's rows: one table, its database from BENCHROWS_DATABASE."""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Row(db.Model):
    __tablename__ = "bench_row"
    id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    counter = db.Column(db.Integer, nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCHROWS_DATABASE"]
    db.init_app(app)
    return app
'''

BATCHES_LOOP = '''\
"""Add one to every counter: opsctl.batches(), one UPDATE per batch."""
import json
import time

import sqlalchemy as sa
from benchrows import Row, db
from opsctl import batches


def main():
    began = time.perf_counter()
    for batch in batches(sa.select(Row.id), size={size}):
        db.session.execute(sa.update(Row).where(Row.id.between(batch[0].id, batch[-1].id))
                           .values(counter=Row.counter + 1))
        db.session.commit()
    print(json.dumps({{"loop_s": time.perf_counter() - began}}))
'''

HAND_LOOP = '''\
"""Add one to every counter: the same keyset loop by hand, nothing of opsctl."""
import json
import time

import sqlalchemy as sa
from benchrows import Row, db


def main():
    began = time.perf_counter()
    last = 0
    while True:
        ids = db.session.execute(sa.select(Row.id).where(Row.id > last).order_by(Row.id)
                                 .limit({size})).scalars().all()
        if not ids:
            break
        db.session.execute(sa.update(Row).where(Row.id.between(ids[0], ids[-1]))
                           .values(counter=Row.counter + 1))
        db.session.commit()
        last = ids[-1]
    print(json.dumps({{"loop_s": time.perf_counter() - began}}))
'''


def make_project(base: Path) -> Path:
    """A project with the rows' app and the two loops (``recycle/batches_loop``,
    ``recycle/hand_loop``)."""
    project = base / "batchproj"
    (project / "offline_script" / "recycle").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.opsctl]\napp = "benchrows:create_app"\n',
                                            encoding="utf-8")
    (project / "benchrows.py").write_text(APP, encoding="utf-8")
    for name, source in (("batches_loop", BATCHES_LOOP), ("hand_loop", HAND_LOOP)):
        (project / "offline_script" / "recycle" / f"{name}.py").write_text(
            source.format(size=SIZE), encoding="utf-8")
    return project


def fill(url: str, rows: int) -> float:
    """Create the table with ``rows`` rows at 0: ``generate_series`` on PostgreSQL, an
    ``executemany`` of 50,000 rows at a time elsewhere. Returns the seconds it took."""
    import sqlalchemy as sa

    began = time.perf_counter()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, "
                                 "counter INTEGER NOT NULL)")
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"INSERT INTO {TABLE} (id, counter) "
                                     f"SELECT g, 0 FROM generate_series(1, {rows}) AS g")
            else:
                for start in range(1, rows + 1, 50_000):
                    conn.exec_driver_sql(f"INSERT INTO {TABLE} (id, counter) VALUES (?, 0)",
                                         [(i,) for i in range(start, min(start + 50_000,
                                                                         rows + 1))])
        vacuum(engine)
    finally:
        engine.dispose()
    return time.perf_counter() - began


def vacuum(engine: Any) -> None:
    """Clear what the last loop left (a million dead row versions on PostgreSQL), untimed,
    so both loops start from the same table."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM ANALYZE {TABLE}")
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def available() -> str:
    """Why a ``batches()`` loop cannot be measured in this version; empty when it can."""
    import opsctl

    return "" if "batches" in opsctl.__all__ else "opsctl.batches() is not in this version"


def measure_loops(bench: Any, key: str, title: str, project: Path, app_url: str,
                  ledger_url: str, rows: int, runs: int, env: dict[str, str]) -> Any:
    """Both loops on ``rows`` rows at ``app_url`` (the ledger at ``ledger_url``), ``runs``
    pairs after one warm-up of each: a ``bench.Measurement`` of the loops' own times."""
    import sqlalchemy as sa

    m = bench.Measurement(key, title, bench.Side("opsctl run recycle/batches_loop"),
                          bench.Side("opsctl run recycle/hand_loop"))
    why = available()
    if why:
        m.status, m.note = "not available", why
        return m
    seconds = fill(app_url, rows)
    m.extra.update(rows=rows, size=SIZE, fill_s=round(seconds, 1))
    e = {**env, "BENCHROWS_DATABASE": app_url, "OPSCTL_LEDGER_URL": ledger_url}
    engine = sa.create_engine(app_url)
    try:
        sides = [bench.Command((bench.OPSCTL, "run", f"recycle/{name}"), project)
                 for name in ("batches_loop", "hand_loop")]

        def timed(cmd: Any) -> float:
            vacuum(engine)
            outcome, stdout = bench.run_process(cmd, e, capture=True)
            if outcome.returncode != 0:
                raise RuntimeError(f"exit {outcome.returncode}: {bench._tail(outcome.stderr)}")
            return float(json.loads(stdout.strip().splitlines()[-1])["loop_s"])

        try:
            for cmd in sides:  # warm-up: bytecode written, caches filled
                timed(cmd)
            for _ in range(runs):
                a, b = timed(sides[0]), timed(sides[1])
                m.a.times.append(a)
                m.b.times.append(b)
                m.ratios.append(a / b)
        except (RuntimeError, ValueError, KeyError, IndexError) as exc:
            m.status, m.note = "failed", str(exc)[:300]
            return m
        with engine.connect() as conn:
            counted = conn.exec_driver_sql(f"SELECT MIN(counter), MAX(counter) FROM {TABLE}").one()
        if tuple(counted) != (2 * (runs + 1),) * 2:  # every row, once per loop run
            m.status, m.note = "failed", f"counters {tuple(counted)} after {runs + 1} pairs"
        m.note = m.note or (f"{rows:,} rows, {rows // SIZE:,} batches of {SIZE:,}; "
                            f"{_per_batch(m)} more per batch")
    finally:
        engine.dispose()
    return m


def _per_batch(m: Any) -> str:
    extra = statistics.median(a - b for a, b in zip(m.a.times, m.b.times, strict=True))
    return f"{extra / (m.extra['rows'] / SIZE) * 1000:.2f} ms"


def measure_checkpoints(bench: Any, key: str, title: str, url: str,
                        iterations: int) -> Any:
    """One run's checkpoint (one ``UPDATE`` committed on its own) timed ``iterations``
    times in process, and its stop check (``requested()``) beside it in ``extra``."""
    m = bench.Measurement(key, title, bench.Side("Ledger.checkpoint(run, done=, cursor=)"),
                          None)
    from opsctl.errors import LedgerUnreachable
    from opsctl.ledger.store import Ledger
    from opsctl.ledger.values import Process

    try:
        ledger = Ledger.open(url)
    except LedgerUnreachable as exc:
        m.status, m.note = "not available", f"cannot open the ledger: {exc}"
        return m
    try:
        run = ledger.start(script="recycle/batches_loop", process=Process.current("bench"),
                           args=[])
        ledger.begin_progress(run.id, total=iterations * SIZE, cursor=[0])
        checks: list[float] = []
        for i in range(iterations + 5):
            began = time.perf_counter()
            ledger.checkpoint(run.id, done=i * SIZE, cursor=[i * SIZE])
            middle = time.perf_counter()
            ledger.requested(run.id)
            if i >= 5:  # the first few open connections
                m.a.times.append(middle - began)
                checks.append(time.perf_counter() - middle)
        ledger.finish(run, status="succeeded", exit_code=0)
        m.extra["stop_check_median_ms"] = round(statistics.median(checks) * 1000, 3)
        m.note = f"stop check (requested()) {m.extra['stop_check_median_ms']:.2f} ms"
    except Exception as exc:  # noqa: BLE001 - a broken ledger is one failed row, not a crash
        m.status, m.note = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        ledger.close()
    return m


def measure(bench: Any, workdir: Path, env: dict[str, str], *, rows: int, runs: int,
            iterations: int) -> list[Any]:
    """Every line of this module: the loops and the checkpoint, on PostgreSQL then SQLite."""
    project = make_project(workdir)
    out = []
    with bench.ServerDatabase(bench.PG_SERVER) as pg:
        title = f"batches() loop vs hand-written keyset loop, {rows:,} rows, PostgreSQL"
        if pg.url is None:
            why = f"no PostgreSQL: {pg.error}"
            out.append(bench.Measurement("batches_postgresql", title, bench.Side("-"), None,
                                         "not available", why))
            out.append(bench.Measurement("checkpoint_postgresql", "checkpoint write, "
                                         "PostgreSQL", bench.Side("-"), None, "not available",
                                         why))
        else:
            bench.log(title)
            out.append(measure_loops(bench, "batches_postgresql", title, project, pg.url,
                                     pg.url, rows, runs, env))
            bench.log("checkpoint write, PostgreSQL")
            out.append(measure_checkpoints(bench, "checkpoint_postgresql",
                                           "checkpoint write, PostgreSQL", pg.url, iterations))
    title = f"batches() loop vs hand-written keyset loop, {rows:,} rows, SQLite"
    bench.log(title)
    out.append(measure_loops(bench, "batches_sqlite", title, project,
                             f"sqlite:///{workdir / 'rows.sqlite3'}",
                             f"sqlite:///{workdir / 'rows-ledger.sqlite3'}", rows, runs, env))
    bench.log("checkpoint write, SQLite")
    out.append(measure_checkpoints(bench, "checkpoint_sqlite", "checkpoint write, SQLite",
                                   f"sqlite:///{workdir / 'checkpoints.sqlite3'}", iterations))
    return out


def targets(bench: Any, ms: dict[str, Any], quick: bool) -> list[Any]:
    """The loop within 1.05x of the hand-written one and a checkpoint under 5 ms, on
    PostgreSQL; the same figures on SQLite, reported."""
    note = "quick mode: fewer rows and pairs, indicative only" if quick else ""
    out = []
    for database, required in (("postgresql", True), ("sqlite", False)):
        name = bench.DATABASE_NAMES[database]
        loop = ms.get(f"batches_{database}")
        rows = f"{loop.extra['rows']:,}" if loop is not None and "rows" in loop.extra else \
            f"{ROWS:,}"
        target = bench._ratio_target(f"batches() loop, size 1,000, {rows} rows, {name} <= "
                                     "1.05x the hand-written keyset loop", loop, 1.05,
                                     quick=quick)
        target.required = required
        if loop is not None and loop.status == "ok" and loop.b is not None:
            target.measured = (f"{bench._ms(loop.a.median)} vs {bench._ms(loop.b.median)}, "
                               f"{_per_batch(loop)}/batch")
        out.append(target)
        point = bench._ledger_target(f"checkpoint write, {name} < 5 ms",
                                     ms.get(f"checkpoint_{database}"), 0.005)
        point.required = required
        if note and point.value is not None:
            point.note = note
        out.append(point)
    return out


def add_arguments(parser: Any) -> None:
    parser.add_argument("--batch-rows", type=int, metavar="N",
                        help=f"rows the batches() loops go through (default {ROWS:,}; "
                             f"quick: {ROWS_QUICK:,})")


def rows_for(quick: bool, chosen: int | None) -> int:
    return chosen or (ROWS_QUICK if quick else ROWS)



