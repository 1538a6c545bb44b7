"""Sharded runs (``opsctl run --queue NAME --shards N``) on the real Redis with two real
``rq worker`` processes started here and stopped by pid: every row of a 20,000-row table
done exactly once by 4 shards, a failing shard failing its parent, the parent's lock refusing
any other run of the script after the asking process has exited, and a shard whose worker is
killed -9 ``lost`` and resumed on another worker.

The helpers are :mod:`test_queue`'s; this module has queues of its own.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from runkit import ledger, opsctl, wait_for, write_project, write_script
from test_queue import BIN, Site, Worker, _reachable

from opsctl.errors import LOCK_HELD

pytest.importorskip("rq")

pytestmark = pytest.mark.slow

QUEUE = f"ops-shards-{uuid.uuid4().hex[:8]}"
ROWS = 20_000

ROWS_APP = '''\
"""A table of rows with a counter, in the SQLite file ROWS_DATABASE names."""
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Row(db.Model):
    __tablename__ = "row"
    id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    counter = db.Column(db.Integer, nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["ROWS_DATABASE"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    db.init_app(app)
    return app
'''

BACKFILL = '''\
"""Add one to every row's counter, 1,000 rows a batch."""
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from rowsapp import Row, db

from opsctl import batches, report


def main():
    notes = Path(os.environ["QUEUE_TEST_NOTES"])
    fail_at = int(sys.argv[2]) if sys.argv[1:2] == ["--fail-at"] else None
    done = 0
    for batch in batches(sa.select(Row.id), size=1000):
        first, last = batch[0].id, batch[-1].id
        if fail_at is not None and first <= fail_at <= last:
            raise RuntimeError(f"row {fail_at} is broken")
        if first <= 7_500 <= last and (notes / "hold").exists():
            (notes / f"holding-{os.getpid()}").write_text(str(os.getpid()))
            time.sleep(60)
        db.session.execute(sa.update(Row).where(Row.id.between(first, last))
                           .values(counter=Row.counter + 1))
        db.session.commit()
        done += len(batch)
    report(rows=done)
'''

COUNT = '''\
"""Count ten items: not a query, so it cannot be sharded."""
from opsctl import batches


def main():
    for _ in batches(range(10), size=5):
        pass
'''


class Shop(Site):
    """:class:`test_queue.Site` with a table of rows and the backfill over it."""

    def __init__(self, base: Path) -> None:
        self.url = f"sqlite:///{base / 'ledger.sqlite3'}"
        self.project = write_project(base, self.url, app="rowsapp:create_app", extra=(
            f'\n[tool.opsctl.queues]\nops = "rq://127.0.0.1:6379/0?queue={QUEUE}"\n'))
        (self.project / "rowsapp.py").write_text(ROWS_APP, encoding="utf-8")
        write_script(self.project, "recycle/backfill", BACKFILL)
        write_script(self.project, "recycle/count_items", COUNT)
        self.notes = base / "notes"
        self.notes.mkdir()
        self.database = base / "rows.sqlite3"
        self.env = {"QUEUE_TEST_NOTES": str(self.notes), "PYTHONPATH": str(self.project),
                    "ROWS_DATABASE": f"sqlite:///{self.database}"}

    def fill(self) -> None:
        with sqlite3.connect(self.database) as conn:
            conn.execute("DROP TABLE IF EXISTS row")
            conn.execute("CREATE TABLE row (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL)")
            conn.executemany("INSERT INTO row VALUES (?, 0)",
                             [(i,) for i in range(1, ROWS + 1)])

    def counters(self) -> dict[int, int]:
        with sqlite3.connect(self.database) as conn:
            return dict(conn.execute("SELECT counter, COUNT(*) FROM row GROUP BY counter"))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    if not _reachable(6379):
        if os.environ.get("CI") == "true":
            pytest.fail("Redis (6379) is down: .ci/run starts it")
        pytest.skip("Redis (6379) is not running here")
    return Shop(tmp_path_factory.mktemp("shards"))


def rq_worker(shop: Shop, name: str) -> Worker:
    return Worker([str(BIN / "rq"), "worker", "--url", "redis://127.0.0.1:6379/0", QUEUE],
                  shop, shop.notes.parent / f"{name}.log", "Listening on")


@pytest.fixture(scope="module")
def workers(shop: Shop) -> Iterator[list[Worker]]:
    started = [rq_worker(shop, "rq-1")]
    try:
        started.append(rq_worker(shop, "rq-2"))
        yield started
    finally:
        for worker in started:
            worker.stop()


def test_four_shards_on_two_workers_do_every_row_once(shop: Shop,
                                                      workers: list[Worker]) -> None:
    shop.fill()
    parent_id = shop.queued("--queue", "ops", "--shards", "4", "recycle/backfill")
    parent = shop.ended(parent_id)
    with ledger(shop.url) as opened:
        children = opened.children(parent_id)
        shards = [opened.shard_of(c.id) for c in children]
        summed = opened.progress_of([parent_id])[parent_id]
    assert (parent.status, parent.exit_code) == ("succeeded", 0)
    assert shop.counters() == {1: ROWS}  # every row, exactly once
    assert [c.status for c in children] == ["succeeded"] * 4
    assert [s[1:3] for s in shards if s] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert sum(c.summary["rows"] for c in children) == ROWS
    assert all(4_000 <= c.summary["rows"] <= 6_000 for c in children)  # quantiles: even
    # Each child's range is recorded, the first open below and the last above.
    ranges = [s[3] for s in shards if s]
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert (summed.done, summed.total) == (ROWS, ROWS)
    assert len({c.pid for c in children}) >= 2  # RQ forks a work horse per job
    shown = opsctl(shop.project, "history", "--run", str(parent_id), **shop.env)
    assert shown.returncode == 0, shown.stderr
    assert f"run {children[1].id}  shard 2/4  succeeded" in shown.stdout
    assert "progress:     100% 20,000/20,000" in shown.stdout
    child = opsctl(shop.project, "history", "--run", str(children[1].id), **shop.env)
    low, high = ranges[1]
    assert f"  shard:        2/4 of run {parent_id}, keys >= {low}, < {high}\n" in child.stdout


def test_a_failing_shard_fails_its_parent(shop: Shop, workers: list[Worker]) -> None:
    shop.fill()
    parent_id = shop.queued("--queue", "ops", "--shards", "2", "recycle/backfill",
                            "--fail-at", "12345")
    # Not a query: each shard fails, saying why, and so does its parent.
    other = shop.queued("--queue", "ops", "--shards", "2", "recycle/count_items")
    parent = shop.ended(parent_id)
    with ledger(shop.url) as opened:
        children = opened.children(parent_id)
    assert (parent.status, parent.exit_code) == ("failed", 1)
    assert [c.status for c in children] == ["succeeded", "failed"]
    assert "row 12345 is broken" in (children[1].error or "")
    assert shop.ended(other).status == "failed"
    with ledger(shop.url) as opened:
        errors = [c.error or "" for c in opened.children(other)]
    assert all("a sharded run cuts a query's integer key into ranges" in e for e in errors)


def run_here(shop: Shop, *args: str) -> tuple[int, str]:
    """``opsctl run ARGS`` in this process: its exit code and what it said on stderr."""
    from click.testing import CliRunner

    from opsctl.cli.group import cli

    done = CliRunner().invoke(cli, ["--project", str(shop.project), "run", *args],
                              env={"OPSCTL_DEVELOPER": "alice"})
    return done.exit_code, done.stderr


def test_shards_without_a_queue_and_out_of_bounds_are_usage_errors(shop: Shop) -> None:
    code, said = run_here(shop, "--shards", "4", "recycle/backfill")
    assert code == 2
    assert "--shards, --wait-result and --allow-changed go with --queue NAME" in said
    code, said = run_here(shop, "--queue", "ops", "--shards", "1", "recycle/backfill")
    assert code == 2 and "1 is not between 2 and 64" in said
    write_script(shop.project, "recycle/whole", '"""No batches."""\n\n\ndef main():\n    pass\n')
    code, said = run_here(shop, "--queue", "ops", "--shards", "2", "recycle/whole")
    assert code == 2
    assert "recycle/whole has no batches() loop: a sharded run cuts" in said
    with ledger(shop.url) as opened:
        assert not list(opened.runs("recycle/whole"))  # nothing recorded


def test_cancelling_a_sharded_run_cancels_its_queued_shards_and_frees_the_lock(
        shop: Shop) -> None:
    idle = {"OPSCTL_QUEUE_IDLE": f"rq://127.0.0.1:6379/0?queue={QUEUE}-idle"}
    asked = opsctl(shop.project, "run", "--queue", "idle", "--shards", "3", "recycle/backfill",
                   **shop.env, **idle)
    assert asked.returncode == 0, asked.stderr
    parent_id = int(asked.stdout)
    with ledger(shop.url) as opened:
        children = [c.id for c in opened.children(parent_id)]
        assert opened.run(parent_id).status == "queued"
        assert opened.holder("recycle/backfill").run_id == parent_id  # its asker is gone
    assert f"queued on idle as 3 shards (runs {', '.join(map(str, children))})" in asked.stderr
    said = opsctl(shop.project, "cancel", str(parent_id), **shop.env, **idle)
    assert said.returncode == 0, said.stderr
    assert said.stdout.splitlines() == [
        f"run {parent_id} is a sharded run: cancel asked of its shards",
        *(f"  shard {i}/3: run {n} is cancelled: it had not started"
          for i, n in enumerate(children, 1))]
    with ledger(shop.url) as opened:
        assert opened.run(parent_id).status == "cancelled"
        assert opened.holder("recycle/backfill") is None
    from redis import Redis
    from rq import Queue

    assert Queue(f"{QUEUE}-idle", connection=Redis()).count == 0  # the jobs are gone


# Last: it kills a worker.
def test_the_parents_lock_outlives_the_asker_and_a_killed_shard_is_resumed(
        shop: Shop, workers: list[Worker]) -> None:
    shop.fill()
    (shop.notes / "hold").write_text("")
    # Asked by a process of its own, which exits at once: the lock stays the parent's.
    asked = shop.ask("--queue", "ops", "--shards", "4", "recycle/backfill")
    assert asked.returncode == 0, asked.stderr
    parent_id = int(asked.stdout)
    wait_for(lambda: list(shop.notes.glob("holding-*")), 60, "a shard to hold")
    [held] = shop.notes.glob("holding-*")
    pid = int(held.read_text())
    held.unlink()
    plain = opsctl(shop.project, "run", "recycle/backfill", **shop.env)
    assert plain.returncode == LOCK_HELD, plain.stderr
    held = f"recycle/backfill is locked by run {parent_id} by alice, sharded: its shards hold it"
    assert held in plain.stderr
    code, said = run_here(shop, "--queue", "ops", "--shards", "2", "recycle/backfill")
    assert code == LOCK_HELD, said
    assert held in said
    # The holding shard's process (RQ's work horse) dies, then its worker; the other worker
    # does the other shards meanwhile.
    (shop.notes / "hold").unlink()
    worker_pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.kill(pid, signal.SIGKILL)
    [holder] = [w for w in workers if w.proc.pid == worker_pid]
    holder.stop(signal.SIGKILL)
    with ledger(shop.url) as opened:
        wait_for(lambda: opened.reap() or opened.run(parent_id).status != "running", 60,
                 "the shard to be lost")
        children = opened.children(parent_id)
        wait_for(lambda: all(c.status not in ("queued", "running")
                             for c in opened.children(parent_id)), 60, "the shards to end")
        children = opened.children(parent_id)
    [lost] = [c for c in children if c.status == "lost"]
    assert f"pid {pid}" in (lost.error or "")
    assert shop.ended(parent_id).status == "failed"  # its last shard's worker closes it
    # Resumed on the other worker: the same shard, from its checkpoint.
    resumed = shop.queued("--queue", "ops", "--resume", str(lost.id))
    assert shop.ended(resumed).status == "succeeded"
    parent = shop.ended(parent_id)
    assert (parent.status, parent.exit_code) == ("succeeded", 0)
    assert shop.counters() == {1: ROWS}  # the batch cut short done again, nothing twice
    with ledger(shop.url) as opened:
        assert opened.shard_of(resumed)[:3] == opened.shard_of(lost.id)[:3]
        assert opened.progress_of([parent_id])[parent_id].done == ROWS
