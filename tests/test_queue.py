"""Runs on the team's workers (``opsctl run --queue``, :mod:`opsctl.queue`) against the real
Redis (127.0.0.1:6379) and RabbitMQ (127.0.0.1:5672, guest/guest), with a real ``rq worker``
and a real ``celery worker`` started here, one of each for the whole module, stopped by pid.

Each run of this module has queues of its own (a random suffix), so runs of the suite on one
machine never take each other's jobs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from runkit import env, ledger, opsctl, wait_for, write_project, write_script

from opsctl.errors import QUEUE_UNREACHABLE
from opsctl.ledger.values import Run

pytest.importorskip("rq")
pytest.importorskip("celery")

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SUFFIX = uuid.uuid4().hex[:8]
RQ_QUEUE = f"ops-rq-{SUFFIX}"
CELERY_QUEUE = f"ops-celery-{SUFFIX}"
BROKER = "amqp://guest:guest@127.0.0.1:5672//"

HELLO = '''\
"""Say hello, and leave a note of where it ran and what it got."""
import json
import os
import socket
import sys
from pathlib import Path

from opsctl import current_run, report


def main():
    run = current_run()
    Path(os.environ["QUEUE_TEST_NOTES"], f"ran-{run.id}").write_text(json.dumps(
        {"host": socket.gethostname(), "pid": os.getpid(), "argv": sys.argv[1:],
         "operator": run.operator}))
    report(hello="world")
    return int(sys.argv[sys.argv.index("--exit") + 1]) if "--exit" in sys.argv else 0
'''

HOLD = '''\
"""Hold the worker until the test releases it."""
import os
import time
from pathlib import Path


def main():
    notes = Path(os.environ["QUEUE_TEST_NOTES"])
    (notes / f"holding-{os.getpid()}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not (notes / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (notes / "release").unlink(missing_ok=True)
'''

COUNT = '''\
"""Count ten items, one per batch; hold at item 4 while the test says so."""
import os
import time
from pathlib import Path

from opsctl import batches, current_run, report


def main():
    notes = Path(os.environ["QUEUE_TEST_NOTES"])
    for batch in batches(range(10), size=1):
        for item in batch:
            with open(notes / "counted", "a") as out:
                out.write(f"{item}\\n")
            if item == 4 and (notes / "hold-at-4").exists():
                (notes / f"holding-{os.getpid()}").write_text(str(os.getpid()))
                time.sleep(60)
    report(done=current_run().progress.done)
'''

TASKS = f'''\
"""The team's Celery app, with opsctl's task registered on it."""
from celery import Celery

from opsctl.queue.celery import register

celery_app = Celery("shop", broker={BROKER!r})
celery_app.conf.broker_connection_retry_on_startup = True
register(celery_app)
'''


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


class Site:
    """The module's project, its ledger and the folder its scripts leave notes in."""

    def __init__(self, base: Path) -> None:
        self.url = f"sqlite:///{base / 'ledger.sqlite3'}"
        self.project = write_project(base, self.url, extra=(
            f'\n[tool.opsctl.queues]\nops = "rq://127.0.0.1:6379/0?queue={RQ_QUEUE}"\n'
            f'celery = "celery://tasks:celery_app?queue={CELERY_QUEUE}"\n'))
        (self.project / "tasks.py").write_text(TASKS, encoding="utf-8")
        write_script(self.project, "recycle/hello", HELLO)
        write_script(self.project, "recycle/hold", HOLD)
        write_script(self.project, "recycle/count", COUNT)
        self.notes = base / "notes"
        self.notes.mkdir()
        self.env = {"QUEUE_TEST_NOTES": str(self.notes), "PYTHONPATH": str(self.project)}

    def ask(self, *args: str) -> subprocess.CompletedProcess[str]:
        return opsctl(self.project, "run", *args, **self.env)

    def queued(self, *args: str) -> int:
        """Ask for a run in this process (the command's own code, without a process's
        start-up); its id, as printed."""
        from click.testing import CliRunner

        from opsctl.cli.group import cli

        asked = CliRunner().invoke(cli, ["--project", str(self.project), "run", *args],
                                   env={"OPSCTL_DEVELOPER": "alice"}, catch_exceptions=False)
        assert asked.exit_code == 0, asked.output
        return int(asked.stdout.strip())

    def run(self, run_id: int) -> Run:
        with ledger(self.url) as opened:
            found = opened.run(run_id)
        assert found is not None
        return found

    def ended(self, run_id: int, timeout: float = 60) -> Run:
        wait_for(lambda: self.run(run_id).status not in ("queued", "running"), timeout,
                 f"run {run_id} to end")
        return self.run(run_id)

    def note(self, run_id: int) -> dict[str, object]:
        return json.loads((self.notes / f"ran-{run_id}").read_text())

    def hold(self) -> tuple[int, int]:
        """Keep the RQ worker busy: the hold run's id and the pid running it."""
        run_id = self.queued("--queue", "ops", "recycle/hold")
        wait_for(lambda: list(self.notes.glob("holding-*")), 60, "the worker to hold")
        [held] = self.notes.glob("holding-*")
        pid = int(held.read_text())
        held.unlink()
        return run_id, pid


class Worker:
    def __init__(self, argv: list[str], site: Site, log: Path, ready: str) -> None:
        self.log = log
        with open(log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(argv, cwd=site.project, env=env(**site.env),
                                         stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: ready in log.read_text() or self.proc.poll() is not None, 60,
                     f"{argv[0]} to start")
            assert self.proc.poll() is None, log.read_text()
        except BaseException:
            self.stop(signal.SIGKILL)
            raise

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, how)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    if not _reachable(6379) or not _reachable(5672):
        if os.environ.get("CI") == "true":
            pytest.fail("Redis (6379) or RabbitMQ (5672) is down: .ci/run starts them")
        pytest.skip("Redis (6379) or RabbitMQ (5672) is not running here")
    return Site(tmp_path_factory.mktemp("queues"))


@pytest.fixture(scope="module")
def rq_worker(site: Site) -> Iterator[Worker]:
    worker = Worker([str(BIN / "rq"), "worker", "--url", "redis://127.0.0.1:6379/0", RQ_QUEUE],
                    site,
                    site.notes.parent / "rq.log", "Listening on")
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def celery_worker(site: Site) -> Iterator[Worker]:
    # A node name of its own: two workers named alike on one host (this one and the README's,
    # under another xdist worker) fight over the node's exclusive pidbox queue.
    worker = Worker([str(BIN / "celery"), "-A", "tasks:celery_app", "worker", "--pool",
                     "solo", "-n", f"opsctl-test-{os.getpid()}@%h",
                     "-Q", CELERY_QUEUE, "--without-gossip", "--without-mingle",
                     "--without-heartbeat", "-l", "info"], site,
                    site.notes.parent / "celery.log", "ready.")
    yield worker
    worker.stop(signal.SIGKILL)  # its warm and cold shutdowns take 10 s; nothing of ours runs


def test_rq_runs_the_queued_row_on_the_worker(site: Site, rq_worker: Worker) -> None:
    asked = site.ask("--queue", "ops", "--reason", "TICKET-7", "recycle/hello",
                     "--token", "s3cret", "x")
    assert asked.returncode == 0, asked.stderr
    run_id = int(asked.stdout)
    assert f"run {run_id} of recycle/hello queued on ops" in asked.stderr
    run = site.ended(run_id)
    assert (run.status, run.exit_code, run.summary) == ("succeeded", 0, {"hello": "world"})
    ran = site.note(run_id)
    # The worker's host and pid (RQ's work horse), who asked, and the arguments as given.
    assert (run.host, run.pid) == (ran["host"], ran["pid"]) == (socket.gethostname(),
                                                                ran["pid"])
    assert run.pid != rq_worker.proc.pid and run.operator == ran["operator"] == "alice"
    assert ran["argv"] == ["--token", "s3cret", "x"]
    assert run.args == ["--token", "***", "x"] and run.reason == "TICKET-7"
    assert run.sha256 and run.notes[0].startswith("queued on ops as job opsctl-")
    with ledger(site.url) as opened:
        assert [r.id for r in opened.runs("recycle/hello")] == [run_id]  # one row


def test_a_cancelled_queued_run_never_runs_and_a_changed_script_is_refused(
        site: Site, rq_worker: Worker) -> None:
    from click.testing import CliRunner

    from opsctl.cli.group import cli

    hold, _ = site.hold()
    cancelled = site.queued("--queue", "ops", "recycle/hello")
    changed = site.queued("--queue", "ops", "recycle/hello")
    allowed = site.queued("--queue", "ops", "--allow-changed", "recycle/hello")
    assert site.run(cancelled).status == site.run(changed).status == "queued"
    script = site.project / "offline_script" / "recycle" / "hello.py"
    script.write_text(script.read_text() + "\n# changed after asking\n")
    said = CliRunner().invoke(cli, ["--project", str(site.project), "cancel", str(cancelled)],
                              env={"OPSCTL_DEVELOPER": "bob"}, catch_exceptions=False)
    assert said.exit_code == 0, said.output
    assert said.stdout == (f"run {cancelled} (recycle/hello) is cancelled: it was still queued, "
                           "so it never ran and never will\n")
    run = site.run(cancelled)
    assert (run.status, run.error) == ("cancelled", "cancelled by bob before it started")
    (site.notes / "release").write_text("")
    assert site.ended(hold).status == "succeeded"
    refused = site.ended(changed)
    assert refused.status == "failed" and refused.exit_code == 1
    assert "recycle/hello changed since run" in (refused.error or "")
    assert site.ended(allowed).status == "succeeded"
    assert not (site.notes / f"ran-{cancelled}").exists()
    assert not (site.notes / f"ran-{changed}").exists()
    assert site.run(cancelled).status == "cancelled"


def test_redis_down_at_dispatch_is_one_line_exit_84_and_nothing_queued(site: Site) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with ledger(site.url) as opened:
        before = [r.id for r in opened.runs()]
    asked = opsctl(site.project, "run", "--queue", "down", "recycle/hello",
                   OPSCTL_QUEUE_DOWN=f"rq://127.0.0.1:{closed}/0?queue=x", **site.env)
    assert asked.returncode == QUEUE_UNREACHABLE == 84
    assert asked.stdout == ""
    assert asked.stderr.count("\n") == 1
    assert asked.stderr.startswith(f"Error: queue down (rq): Redis at redis://127.0.0.1:"
                                   f"{closed}/0 cannot be reached")
    with ledger(site.url) as opened:
        assert [r.id for r in opened.runs()] == before


def test_celery_runs_it_and_wait_result_exits_with_its_code(site: Site,
                                                             celery_worker: Worker) -> None:
    run_id = site.queued("--queue", "celery", "recycle/hello")
    run = site.ended(run_id)
    assert (run.status, run.host, run.pid) == ("succeeded", socket.gethostname(),
                                               celery_worker.proc.pid)
    waited = site.ask("--queue", "celery", "--wait-result", "recycle/hello", "--exit", "3")
    assert waited.returncode == 3, waited.stderr
    waited_id = int(waited.stdout.split()[0])
    assert site.run(waited_id).status == "failed"
    assert waited.stdout == f"{waited_id}\nrun {waited_id} failed (exit 3)\n"


# Last: it kills the module's RQ worker.
def test_a_worker_killed_mid_run_is_lost_and_resumed_on_another_worker(
        site: Site, rq_worker: Worker) -> None:
    (site.notes / "hold-at-4").write_text("")
    first = site.queued("--queue", "ops", "recycle/count")
    wait_for(lambda: list(site.notes.glob("holding-*")), 60, "the count to reach item 4")
    [held] = site.notes.glob("holding-*")
    pid = int(held.read_text())
    held.unlink()
    os.kill(pid, signal.SIGKILL)  # the run's process (RQ's work horse), then its worker
    rq_worker.stop(signal.SIGKILL)
    # Its pid is gone on this machine: the next look at the lock finds it stale.
    with ledger(site.url) as opened:
        wait_for(lambda: first in opened.reap() or opened.run(first).status == "lost", 30,
                 "the run to be lost")
        lost = opened.run(first)
    assert lost is not None and lost.status == "lost" and f"pid {pid}" in (lost.error or "")
    (site.notes / "hold-at-4").unlink()
    second = Worker([str(BIN / "rq"), "worker", "--url", "redis://127.0.0.1:6379/0",
                     RQ_QUEUE], site, site.notes.parent / "rq-second.log", "Listening on")
    try:
        resumed = site.queued("--queue", "ops", "--resume", str(first))
        done = site.ended(resumed)
    finally:
        second.stop()
    assert (done.status, done.summary) == ("succeeded", {"done": 10})
    counted = [int(n) for n in (site.notes / "counted").read_text().split()]
    # No item skipped; the batch the kill cut short (item 4) at most twice.
    assert sorted(set(counted)) == list(range(10))
    assert len(counted) - 10 <= 1 and counted.count(4) in (1, 2)
    with ledger(site.url) as opened:
        assert opened.resumed_by(first) == [resumed]
