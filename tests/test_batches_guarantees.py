"""The guarantees of long data jobs (issue 16), in real ``opsctl run`` processes on real
SQLite, PostgreSQL and MariaDB databases.

A project whose app has a table of :data:`ROWS` rows, each with a counter at 0, and a script
that adds one to every counter in batches of :data:`SIZE` (one commit per batch):

- **kill -9, then resume.** The run is killed with SIGKILL at a random moment once it has made
  progress (read from the ledger, as ``opsctl history`` reads it), resumed, killed again: five
  kills, then the last resume finishes. No counter is 0 (no item skipped) and at most one
  batch per kill holds counters at 2 (processed twice); all the others are 1.
- **exactly once.** The same, with the ledger in the app's own database and the checkpoint
  written in the script's transaction: every counter is exactly 1.
- **pause, cancel, dry runs.** A pause asked from a second process stops the run within one
  batch (``paused``, exit 80) and a resume goes on from there; a cancel likewise
  (``cancelled``, exit 81); a dry run rolls back every batch and records its progress, and
  resuming it runs dry.

Each kill, stop and resume is a process of its own (about a second to start), so these tests
take a while: they are marked slow.

The kill points come from a seeded random (:data:`SEED`), so a failure reproduces; the message
of every assertion names the seed and the kills.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import MARIADB_SERVER, MARIADB_VARIABLE, PG_SERVER, PG_VARIABLE, server_database
from runkit import env, opsctl, opsctl_argv, wait_for

from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Progress, Run

#: Forty batches: room for five kills at distinct batches and for a stop asked from a second
#: process to land mid-run, on few enough rows that every kill, resume and check is quick.
ROWS = 8_000
SIZE = 200
KILLS = 5
#: The seed of the kill points: change it to try other moments, quote it to reproduce one.
SEED = 16_2026
#: The script's key in the test project.
KEY = "recycle/bump_counters"
#: A pause between batches (``--throttle``), so that a kill lands mid-run; longer where a stop
#: is asked from a second process (``opsctl pause`` takes a process start of its own, which
#: on a loaded machine can take a second or two: the run must still be going when it asks;
#: a stop ends it early, so a longer pause costs only the few batches before the ask).
THROTTLE = "0.01"
STOPS_THROTTLE = "0.25"

COUNTER_APP = '''\
"""A table of counters, one row per item, on the test's database."""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.pool import NullPool

DATABASE = {database!r}

db = SQLAlchemy()


class Counter(db.Model):
    __tablename__ = "counter_row"
    id = db.Column(db.Integer, primary_key=True, autoincrement=False)
    counter = db.Column(db.Integer, nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE
    # No pooled connection outlives the run: the test drops the database right after.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"poolclass": NullPool}}
    db.init_app(app)
    return app
'''

#: The backfill of the issue, as a person writes it: every counter goes up by one.
BUMP_SCRIPT = '''\
"""Add one to every counter, in batches."""
import click
import sqlalchemy as sa
from opsctl import batches
from counterapp import Counter, db


@click.command()
def main():
    for batch in batches(sa.select(Counter), size={size}{extra}):
        for row in batch:
            row.counter += 1
        db.session.commit()
'''

#: How the script asks for the exactly-once mode (README, "Long data jobs").
EXACTLY_ONCE = ", exactly_once=True"


# -- databases --------------------------------------------------------------------------------


@dataclass
class Databases:
    """The app's database and the ledger's, on one kind of database."""

    kind: str
    app: str
    ledger: str


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """The app's database and a ledger's of its own, both on the database under test."""
    kind = request.param
    if kind == "sqlite":
        yield Databases(kind, f"sqlite:///{tmp_path / 'app.sqlite3'}",
                        f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        return
    server, variable = ((PG_SERVER, PG_VARIABLE) if kind == "postgresql"
                        else (MARIADB_SERVER, MARIADB_VARIABLE))
    with ExitStack() as stack:

        def fresh() -> str:
            return stack.enter_context(contextmanager(server_database)(server, variable))

        yield Databases(kind, fresh(), fresh())


def fill(url: str) -> None:
    """Create the counters' table with :data:`ROWS` rows at 0 (one ``executemany`` per
    5,000 rows)."""
    table = sa.Table("counter_row", sa.MetaData(),
                     sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                     sa.Column("counter", sa.Integer, nullable=False))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            table.create(conn)
            for start in range(1, ROWS + 1, 5_000):
                conn.execute(table.insert(), [{"id": i, "counter": 0}
                                              for i in range(start, min(start + 5_000,
                                                                        ROWS + 1))])
    finally:
        engine.dispose()


def counters(url: str) -> list[int]:
    """Every row's counter, in the order of the ids (1 to :data:`ROWS`)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT id, counter FROM counter_row ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [row[0] for row in found] == list(range(1, ROWS + 1))
    return [row[1] for row in found]


def make_project(base: Path, dbs: Databases, *, exactly_once: bool = False) -> Path:
    """The project: the counters' app on ``dbs.app``, the ledger on ``dbs.ledger`` (on
    ``dbs.app`` itself when ``exactly_once``), the table filled, and the script."""
    ledger_url = dbs.app if exactly_once else dbs.ledger
    project = base / "proj"
    (project / "offline_script" / "recycle").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[tool.opsctl]\napp = "counterapp:create_app"\nledger_url = "{ledger_url}"\n',
        encoding="utf-8")
    (project / "counterapp.py").write_text(COUNTER_APP.format(database=dbs.app),
                                           encoding="utf-8")
    (project / "offline_script" / f"{KEY}.py").write_text(
        BUMP_SCRIPT.format(size=SIZE, extra=EXACTLY_ONCE if exactly_once else ""),
        encoding="utf-8")
    fill(dbs.app)
    return project


# -- runs -------------------------------------------------------------------------------------


@contextmanager
def ledger_at(project: Path) -> Iterator[Ledger]:
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    url = text.split('ledger_url = "', 1)[1].split('"', 1)[0]
    with Ledger.open(url) as book:
        yield book


@dataclass
class Running:
    """``opsctl run`` in a process of its own; what it prints goes to a file (never a pipe
    that fills up while the test polls)."""

    proc: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc.poll() is None


def start(project: Path, *args: str) -> Running:
    """``opsctl run ARGS``, started."""
    log = project / f"run-{time.monotonic_ns()}.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(opsctl_argv(project, "run", *args), cwd=project, env=env(),
                                stdout=out, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL)
    return Running(proc, log)


def newest_run(book: Ledger, after: int) -> Run | None:
    runs = book.runs(KEY, limit=1)
    return runs[0] if runs and runs[0].id > after else None


def started_run(book: Ledger, proc: Running, after: int) -> Run:
    """The run ``proc`` started: the first of the script's runs newer than ``after``."""
    found: list[Run] = []

    def there() -> bool:
        assert proc.alive(), f"opsctl run ended ({proc.proc.returncode}):\n{proc.output()}"
        run = newest_run(book, after)
        if run is not None:
            found.append(run)
        return bool(found)

    wait_for(there, what="the run to start")
    return found[0]


def progress(book: Ledger, run_id: int) -> Progress:
    found = book.progress(run_id)
    assert found is not None, f"run {run_id} has no progress"
    return found


def wait_progress(book: Ledger, proc: Running, run_id: int, done: int) -> int:
    """Wait until run ``run_id`` has checkpointed at least ``done`` items; what it has."""
    seen = [0]

    def reached() -> bool:
        assert proc.alive(), (f"run {run_id} ended ({proc.proc.returncode}) before {done} "
                              f"items:\n{proc.output()}")
        now = book.progress(run_id)
        seen[0] = now.done if now is not None else 0
        return seen[0] >= done

    wait_for(reached, timeout=120, what=f"run {run_id} to reach {done} items")
    return seen[0]


def ask(project: Path, book: Ledger, run_id: int, action: str) -> None:
    """Ask run ``run_id`` to ``pause`` or ``cancel`` from a second process: ``opsctl pause``
    / ``opsctl cancel`` where this opsctl has them, else the ledger's own request (what those
    commands write)."""
    from opsctl.cli.group import COMMANDS

    if action in COMMANDS:
        done = opsctl(project, action, str(run_id))
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        assert book.request(run_id, action, operator="bob") is not None


def resume_args(run_id: int, *more: str) -> list[str]:
    return ["--resume", str(run_id), *more]


def counted_up_to(values: list[int], done: int) -> bool:
    """Whether the first ``done`` counters are 1 and the rest 0: the batches before the
    checkpoint were applied once, none after it."""
    return values[:done] == [1] * done and values[done:] == [0] * (ROWS - done)


# -- kill -9 ----------------------------------------------------------------------------------


def kill_and_resume(project: Path, rng: random.Random,
                    after_kill: Callable[[int], None] = lambda done: None,
                    ) -> tuple[list[str], Run]:
    """Five runs killed at random moments, each resuming the one before; then the last
    resume, to the end. ``after_kill`` is given the items each killed run's checkpoint
    holds. What happened (for the messages), and the last run."""
    batches = ROWS // SIZE
    points = sorted(rng.sample(range(2, batches - 1), KILLS))
    story: list[str] = [f"seed {SEED}, kills after batches {points}"]
    last = 0
    with ledger_at(project) as book:
        for point in points:
            args = ["--throttle", THROTTLE, *(resume_args(last) if last else [KEY])]
            proc = start(project, *args)
            run = started_run(book, proc, last)
            reached = wait_progress(book, proc, run.id, point * SIZE)
            time.sleep(rng.uniform(0, 0.05))  # mid-batch, mid-checkpoint or between batches
            os.kill(proc.proc.pid, signal.SIGKILL)
            code = proc.wait()
            assert code == -signal.SIGKILL, \
                f"{story}: run {run.id} ended ({code}) before it was killed:\n{proc.output()}"
            done = progress(book, run.id).done
            story.append(f"run {run.id} killed at {done} (seen {reached})")
            after_kill(done)
            last = run.id
        proc = start(project, "--resume", KEY)  # the newest unfinished run: the last killed
        code = proc.wait()
        assert code == 0, f"{story}: the last resume exited {code}:\n{proc.output()}"
        final = book.runs(KEY, limit=1)[0]
        story.append(f"run {final.id} resumed {last} and finished")
        assert final.status == "succeeded", story
        assert progress(book, final.id).resumed_from == last, story
        assert progress(book, final.id).done == ROWS, story
    return story, final


@pytest.mark.slow
def test_kill_9_five_times_then_resume_skips_nothing_and_repeats_a_batch_at_most_per_kill(
        tmp_path: Path, databases: Databases) -> None:
    project = make_project(tmp_path, databases)
    story, _ = kill_and_resume(project, random.Random(SEED))
    values = counters(databases.app)
    assert values.count(0) == 0, f"{story}: {values.count(0)} items skipped"
    assert set(values) <= {1, 2}, story
    twice = [i for i, v in enumerate(values) if v == 2]
    batches_twice = {i // SIZE for i in twice}
    assert len(batches_twice) <= KILLS, f"{story}: batches processed twice: {batches_twice}"
    assert len(twice) <= KILLS * SIZE, story


@pytest.mark.slow
def test_exactly_once_when_the_ledger_is_in_the_apps_database(
        tmp_path: Path, databases: Databases) -> None:
    project = make_project(tmp_path, databases, exactly_once=True)

    def consistent(done: int) -> None:
        # At every kill, the checkpoint is exactly where the committed batches end.
        assert counted_up_to(counters(databases.app), done), f"killed at {done}"

    story, _ = kill_and_resume(project, random.Random(SEED + 1), consistent)
    values = counters(databases.app)
    wrong = {i + 1: v for i, v in enumerate(values) if v != 1}
    assert not wrong, f"{story}: {len(wrong)} counters not 1, e.g. " \
                      f"{dict(list(wrong.items())[:5])}"


# -- pause, cancel, dry runs ------------------------------------------------------------------


@pytest.mark.slow
def test_pause_cancel_and_dry_runs_stop_at_a_batch_boundary(
        tmp_path: Path, databases: Databases) -> None:
    project = make_project(tmp_path, databases)
    with ledger_at(project) as book:
        # Paused from a second process: the run ends within one batch, resumable.
        proc = start(project, "--throttle", STOPS_THROTTLE, KEY)
        paused = started_run(book, proc, 0)
        wait_progress(book, proc, paused.id, 2 * SIZE)
        ask(project, book, paused.id, "pause")
        asked_at = progress(book, paused.id).done
        assert proc.wait() == 80, proc.output()
        assert book.run(paused.id).status == "paused"  # type: ignore[union-attr]
        stopped = progress(book, paused.id).done
        assert asked_at <= stopped <= asked_at + SIZE, (asked_at, stopped)
        assert stopped < ROWS
        assert counted_up_to(counters(databases.app), stopped)

        # Resumed, it goes on from there; cancelled, it ends within one batch, for good.
        proc = start(project, "--throttle", STOPS_THROTTLE, *resume_args(paused.id))
        cancelled = started_run(book, proc, paused.id)
        wait_progress(book, proc, cancelled.id, stopped + 2 * SIZE)
        ask(project, book, cancelled.id, "cancel")
        asked_at = progress(book, cancelled.id).done
        assert proc.wait() == 81, proc.output()
        assert book.run(cancelled.id).status == "cancelled"  # type: ignore[union-attr]
        assert progress(book, cancelled.id).resumed_from == paused.id
        ended = progress(book, cancelled.id).done
        assert asked_at <= ended <= asked_at + SIZE, (asked_at, ended)
        assert ended < ROWS
        before_dry = counters(databases.app)
        assert counted_up_to(before_dry, ended)

        # A dry run rolls back every batch and records its progress; resumed, it runs dry
        # (stopped by --limit again: a dry run's batches cost what real ones do).
        proc = start(project, "--dry-run", "--limit", str(5 * SIZE), KEY)
        assert proc.wait() == 80, proc.output()
        dry = book.runs(KEY, limit=1)[0]
        assert (dry.status, dry.dry_run) == ("paused", True)
        assert progress(book, dry.id).done == 5 * SIZE
        assert counters(databases.app) == before_dry
        proc = start(project, "--limit", str(2 * SIZE), *resume_args(dry.id))
        assert proc.wait() == 80, proc.output()
        again = book.runs(KEY, limit=1)[0]
        assert (again.status, again.dry_run) == ("paused", True), proc.output()
        assert progress(book, again.id).resumed_from == dry.id
        assert progress(book, again.id).done == 7 * SIZE
        assert counters(databases.app) == before_dry
