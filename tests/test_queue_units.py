"""The parts of ``run --queue`` that need no worker: queue URLs and their configuration, the
ledger's queued rows (asked, started by a worker with the lock, cancelled, dropped), and the
command's refusals of options that do not go together. In process, on SQLite."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsctl.cli.group import cli
from opsctl.config import load_config
from opsctl.errors import ConfigError
from opsctl.ledger.queued import NotQueued
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import LockBusy, Process
from opsctl.queue.dispatch import job_of, queued_note
from opsctl.queue.targets import Target, parse, target


def test_queue_urls() -> None:
    assert parse("ops", "rq://127.0.0.1:6379/0?queue=ops") == \
        Target("ops", "rq", "redis://127.0.0.1:6379/0", "ops")
    assert parse("ops", "rq://:pw@redis.internal:6380/2") == \
        Target("ops", "rq", "redis://:pw@redis.internal:6380/2", "default")
    assert parse("bg", "celery://shop.tasks:celery_app?queue=opsctl") == \
        Target("bg", "celery", "shop.tasks:celery_app", "opsctl")
    assert parse("bg", "celery://tasks:app").queue is None
    with pytest.raises(ConfigError, match=r"queue 'x': 'rq:///0' names no Redis host"):
        parse("x", "rq:///0")
    with pytest.raises(ConfigError, match=r"names no Celery app \(celery://module:celery_app"):
        parse("x", "celery://tasks")
    with pytest.raises(ConfigError, match=r"'redis://h/0' is no queue URL"):
        parse("x", "redis://h/0")


def test_queues_come_from_the_table_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.opsctl.queues]\nops = "rq://10.0.0.1:6379/0?queue=ops"\n'
        'bg = "celery://tasks:celery_app"\n', encoding="utf-8")
    config = load_config(tmp_path, environ={
        "OPSCTL_QUEUE_OPS": "rq://127.0.0.1:6379/1?queue=ops",
        "OPSCTL_QUEUE_NIGHTLY": "rq://127.0.0.1:6379/0?queue=nightly"})
    assert dict(config.queues) == {"ops": "rq://127.0.0.1:6379/1?queue=ops",
                                   "bg": "celery://tasks:celery_app",
                                   "nightly": "rq://127.0.0.1:6379/0?queue=nightly"}
    assert target(config.queues, "OPS").where == "redis://127.0.0.1:6379/1"
    with pytest.raises(ConfigError, match=r"no queue named 'later' \(configured: bg, nightly, "
                                          r"ops\).*OPSCTL_QUEUE_LATER"):
        target(config.queues, "later")
    (tmp_path / "pyproject.toml").write_text("[tool.opsctl]\nqueues = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="queues must be a table of queue URLs"):
        load_config(tmp_path, environ={})


def test_the_job_of_a_queued_run_is_in_its_note() -> None:
    process = Process("alice", "laptop", 1, "n", None)
    note = queued_note("ops", "opsctl-0123abcd", process)
    assert note == "queued on ops as job opsctl-0123abcd by alice on laptop"

    class Row:
        notes = ("something else", note)

    assert job_of(Row()) == ("ops", "opsctl-0123abcd")  # type: ignore[arg-type]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    opened = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_queued_row_becomes_running_with_the_lock_on_the_worker(ledger: Ledger) -> None:
    asker = Process("alice", "laptop", 11, "laptop-node", None)
    queued = ledger.enqueue(script="recycle/x", process=asker, args=["--token", "***"],
                            sha256="ab" * 32, reason="OPS-1", notes=["queued on ops"])
    assert (queued.status, queued.host, queued.operator) == ("queued", "laptop", "alice")
    assert ledger.holder("recycle/x") is None  # a queued run holds no lock
    worker = Process.current("worker-user")
    run = ledger.start_queued(queued.id, process=worker, environment="production",
                              notes=["app a, database b"])
    assert (run.id, run.status, run.host, run.pid) == (queued.id, "running", worker.host,
                                                       worker.pid)
    assert (run.operator, run.args, run.reason) == ("alice", ["--token", "***"], "OPS-1")
    assert run.notes == ("queued on ops", "app a, database b")
    assert run.environment == "production"
    holder = ledger.holder("recycle/x")
    assert holder is not None and (holder.run_id, holder.operator) == (run.id, "alice")
    # A second queued run of the script meets the lock; starting the first again is refused.
    second = ledger.enqueue(script="recycle/x", process=asker, args=[], sha256=None)
    with pytest.raises(LockBusy):
        ledger.start_queued(second.id, process=worker, environment=None)
    assert ledger.run(second.id).status == "queued"  # type: ignore[union-attr]
    with pytest.raises(NotQueued, match="is running"):
        ledger.start_queued(run.id, process=worker, environment=None)
    assert len(ledger.runs("recycle/x")) == 2


def test_cancel_and_drop_end_only_a_queued_row(ledger: Ledger) -> None:
    asker = Process("alice", "laptop", 11, "laptop-node", None)
    first = ledger.enqueue(script="recycle/x", process=asker, args=[], sha256=None)
    cancelled = ledger.cancel_queued(first.id, operator="bob")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.error == "cancelled by bob before it started" and cancelled.ended_at
    with pytest.raises(NotQueued, match="is cancelled"):
        ledger.start_queued(first.id, process=Process.current("w"), environment=None)
    second = ledger.enqueue(script="recycle/x", process=asker, args=[], sha256=None)
    dropped = ledger.drop_queued(second.id, exit_code=75, error="not started: locked")
    assert dropped is not None and (dropped.status, dropped.exit_code) == ("failed", 75)
    # Neither touches a run that is not queued.
    assert ledger.drop_queued(first.id, exit_code=1, error="x").status == "cancelled"  # type: ignore[union-attr]
    assert ledger.cancel_queued(999, operator="bob") is None


def test_queue_options_that_do_not_go_together(tmp_path: Path) -> None:
    (tmp_path / "offline_script" / "recycle").mkdir(parents=True)
    (tmp_path / "offline_script" / "recycle" / "x.py").write_text('"""X."""\n')
    (tmp_path / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    runner = CliRunner()
    for args, message in (
            (["--wait-result", "recycle/x"], "--wait-result and --allow-changed go with --queue"),
            (["--queue", "ops", "--no-ledger", "recycle/x"], "--queue needs the ledger"),
            (["--queue", "ops", "recycle/x"], "no queue named 'ops' (configured: none)")):
        done = runner.invoke(cli, ["--project", str(tmp_path), "run", *args])
        assert done.exit_code == 2, done.stderr
        assert message in done.stderr
    assert not (tmp_path / "instance").exists()  # nothing recorded, no ledger made


def test_shards_out_of_range_are_refused_as_the_option_is_read(tmp_path: Path) -> None:
    """``--shards`` is a range Click checks (and ``--help`` shows), in the same words and with
    the same exit code as before: nothing recorded, and the queue not even looked up."""
    from opsctl.run.args import MAX_SHARDS

    (tmp_path / "offline_script" / "recycle").mkdir(parents=True)
    (tmp_path / "offline_script" / "recycle" / "x.py").write_text('"""X."""\n')
    (tmp_path / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    runner = CliRunner()
    for given, message in (("1", "1 is not between 2"), ("65", "65 is not between 2"),
                           ("-3", "-3 is not between 2"), ("x", "'x' is not a valid integer")):
        done = runner.invoke(cli, ["--project", str(tmp_path), "run", "--queue", "nowhere",
                                   "--shards", given, "recycle/x"])
        assert done.exit_code == 2, done.stderr
        assert f"Invalid value for '--shards': {message}" in done.stderr
        assert "no queue named" not in done.stderr
    said = runner.invoke(cli, ["--project", str(tmp_path), "run", "--help"]).stdout
    assert f"[2<=x<={MAX_SHARDS}]" in " ".join(said.split())
    assert MAX_SHARDS == 64
    assert not (tmp_path / "instance").exists()


def test_a_worker_on_another_ledger_runs_nothing(tmp_path: Path, ledger: Ledger,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from opsctl.queue.worker import FORMAT, run_job

    (tmp_path / "offline_script" / "recycle").mkdir(parents=True)
    (tmp_path / "offline_script" / "recycle" / "x.py").write_text(
        '"""X."""\n\n\ndef main():\n    raise SystemExit("ran")\n')
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.opsctl]\nledger_url = "{ledger.url}"\n', encoding="utf-8")
    queued = ledger.enqueue(script="recycle/x", process=Process.current("alice"), args=[],
                            sha256="0" * 64)
    payload = {"format": FORMAT, "run_id": queued.id, "project": str(tmp_path),
               "script": "recycle/x", "args": [], "sha256": "0" * 64,
               "ledger": "postgresql://ops@db.internal/ops"}
    assert run_job(payload) == 78
    assert "was asked for in the ledger at postgresql://ops@db.internal/ops, but this " \
           "worker records in sqlite:///" in capsys.readouterr().err
    assert ledger.run(queued.id).status == "queued"  # type: ignore[union-attr]
    assert run_job({**payload, "format": 99}) == 2
    assert "a job of an unknown format (99)" in capsys.readouterr().err
    # On its own ledger: the script changed since it was asked for, so it is refused at its
    # start, and its queued row ends failed with why.
    from opsctl.ledger.engine import display_url

    assert run_job({**payload, "ledger": display_url(ledger.url)}) == 1
    assert "recycle/x changed since run" in capsys.readouterr().err
    refused = ledger.run(queued.id)
    assert refused is not None and (refused.status, refused.exit_code) == ("failed", 1)
    assert refused.error.startswith(  # type: ignore[union-attr]
        f"not started on {socket.gethostname()}: recycle/x changed since run {queued.id} was "
        "queued (sha256 000000000000 when asked,")
    # Asked by a newer opsctl with an option this worker does not know: refused, not run
    # without it.
    newer = ledger.enqueue(script="recycle/x", process=Process.current("alice"), args=[],
                           sha256="0" * 64)
    assert run_job({**payload, "run_id": newer.id, "ledger": display_url(ledger.url),
                    "options": {"dry_run": True, "shards": 4}}) == 2
    assert "does not know the options shards; upgrade it" in capsys.readouterr().err
    assert ledger.run(newer.id).status == "failed"  # type: ignore[union-attr]


def test_a_celery_broker_that_is_down_is_said_at_once(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("celery")
    import socket as sockets

    from opsctl.errors import QueueUnreachable
    from opsctl.queue import celery

    with sockets.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    (tmp_path / "downtasks.py").write_text(
        "from celery import Celery\n\n"
        f"app = Celery('x', broker='amqp://guest:secret@127.0.0.1:{closed}//')\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(QueueUnreachable) as raised:
        celery.reachable(parse("bg", "celery://downtasks:app"))
    assert raised.value.exit_code == 84
    assert raised.value.message == (
        f"queue bg (celery): the broker at amqp://guest:**@127.0.0.1:{closed}// cannot be "
        "reached ([Errno 111] Connection refused); start it, or check the Celery app's "
        "broker_url")
    with pytest.raises(ConfigError, match=r"cannot import the Celery app nowhere:app"):
        celery.reachable(parse("bg", "celery://nowhere:app"))


REDIS = "127.0.0.1:6379/15"


def _project(tmp_path: Path, ledger: Ledger, queues: str) -> object:
    from opsctl.project import Project

    (tmp_path / "offline_script" / "recycle").mkdir(parents=True)
    (tmp_path / "offline_script" / "recycle" / "x.py").write_text(
        '"""X."""\n\n\ndef main(token: str = ""):\n    pass\n')
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.opsctl]\nledger_url = "{ledger.url}"\n'
        f'secret_options = ["token"]\n[tool.opsctl.queues]\n{queues}\n', encoding="utf-8")
    return Project(tmp_path)


def test_a_dispatch_interrupted_after_the_row_is_written_leaves_nothing_queued(
        tmp_path: Path, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or any error but the queue being down) between writing the queued row and
    putting its job on the queue: the row must not stay ``queued`` for ever."""
    pytest.importorskip("rq")
    from opsctl.queue import dispatch, rq
    from opsctl.run.args import RunOptions

    project = _project(tmp_path, ledger, f'ops = "rq://{REDIS}?queue=review"')

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rq, "enqueue", interrupted)
    script = project.catalogue.resolve("recycle/x", cwd=tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(KeyboardInterrupt):
        dispatch.dispatch(project, script, [], RunOptions(), "ops")  # type: ignore[arg-type]
    (row,) = ledger.runs("recycle/x")
    assert (row.status, row.exit_code) == ("failed", 130)
    assert row.error == "not queued: interrupted (KeyboardInterrupt) before its job was queued"


def test_an_rq_job_leaves_no_arguments_in_redis_once_run(tmp_path: Path) -> None:
    """The job carries the arguments as given (a secret among them): once a worker has run
    it, RQ must not keep it (with its arguments) for its result's sake."""
    pytest.importorskip("rq")
    from redis import Redis
    from rq import Queue, SimpleWorker

    from opsctl.queue import rq

    found = parse("ops", f"rq://{REDIS}?queue=review-{os.getpid()}")
    job = f"opsctl-review-{os.getpid()}"
    rq.enqueue(found, {"format": 99, "run_id": 1, "script": "recycle/x",
                       "args": ["--token", "s3cret"]}, job)
    redis = Redis.from_url(found.where)
    assert redis.exists(f"rq:job:{job}")
    SimpleWorker([Queue(found.queue, connection=redis)], connection=redis).work(burst=True)
    assert not redis.exists(f"rq:job:{job}")


def test_a_celery_job_shows_no_arguments_in_logs_and_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's worker logs and events (``inspect``, Flower) show a task's ``argsrepr``:
    the payload's arguments, a secret among them, must not be in it."""
    pytest.importorskip("celery")
    from opsctl.queue import celery

    (tmp_path / "memtasks.py").write_text(
        "from celery import Celery\n\napp = Celery('x', broker='memory://')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = parse("bg", "celery://memtasks:app?queue=review")
    celery.enqueue(found, {"format": 1, "run_id": 7, "script": "recycle/x",
                           "args": ["--token", "s3cret"]}, "opsctl-0")
    import memtasks  # type: ignore[import-not-found]

    with memtasks.app.connection_for_read() as conn:
        message = conn.SimpleQueue("review").get(timeout=1)
    assert message.headers["argsrepr"] == "(opsctl run 7: recycle/x)"
    assert "s3cret" not in str(message.headers)
    assert message.decode()[0][0]["args"] == ["--token", "s3cret"]  # the worker's copy


def test_wait_result_in_a_pipe_ends_when_the_worker_died(tmp_path: Path, ledger: Ledger) -> None:
    """``--wait-result`` without a terminal (CI, cron): a worker killed mid-run must end the
    wait with the run ``lost`` (exit 1), not leave it waiting on a ``running`` row for ever."""
    import threading

    from opsctl.queue import dispatch

    project = _project(tmp_path, ledger, f'ops = "rq://{REDIS}?queue=review"')
    queued = ledger.enqueue(script="recycle/x", process=Process.current("alice"), args=[],
                            sha256=None)
    dead = Process.current("worker")._replace(pid_started="not this process")
    run = ledger.start_queued(queued.id, process=dead, environment=None)
    got: list[int] = []
    waiting = threading.Thread(target=lambda: got.append(
        dispatch.follow(project, ledger, run)), daemon=True)  # type: ignore[arg-type]
    waiting.start()
    waiting.join(10)
    assert got == [1]
    assert ledger.run(run.id).status == "lost"  # type: ignore[union-attr]


def test_a_cancelled_rq_job_leaves_no_arguments_in_redis() -> None:
    """Cancelling a queued run takes its job off the queue and deletes it: RQ's job hash,
    the arguments as given in it, must not stay in Redis with no expiry."""
    pytest.importorskip("rq")
    from redis import Redis

    from opsctl.queue import rq

    found = parse("ops", f"rq://{REDIS}?queue=review-cancel-{os.getpid()}")
    job = f"opsctl-cancel-{os.getpid()}"
    rq.enqueue(found, {"format": 1, "run_id": 1, "script": "recycle/x",
                       "args": ["--token", "s3cret"]}, job)
    redis = Redis.from_url(found.where)
    assert rq.remove(found, job) is True
    assert redis.llen(f"rq:queue:{found.queue}") == 0
    assert not redis.exists(f"rq:job:{job}")
    assert rq.remove(found, job) is False


def test_a_broken_queue_url_is_told_without_its_password() -> None:
    for url in ("redis://:s3cret@redis.internal:6379/0", "amqp://guest:s3cret@mq//"):
        with pytest.raises(ConfigError) as raised:
            parse("x", url)
        assert "s3cret" not in raised.value.format_message()
        assert ":***@" in raised.value.format_message()


def test_a_job_the_worker_fails_on_before_the_start_ends_its_row(tmp_path: Path,
                                                                 ledger: Ledger) -> None:
    """An error of no kind opsctl knows on the worker before the run starts (here a job
    without its arguments) must not leave the row ``queued`` for ever."""
    from opsctl.ledger.engine import display_url
    from opsctl.queue.worker import FORMAT, run_job

    _project(tmp_path, ledger, "")
    queued = ledger.enqueue(script="recycle/x", process=Process.current("alice"), args=[],
                            sha256="0" * 64)
    with pytest.raises(KeyError):
        run_job({"format": FORMAT, "run_id": queued.id, "project": str(tmp_path),
                 "script": "recycle/x", "sha256": "0" * 64, "ledger": display_url(ledger.url)})
    row = ledger.run(queued.id)
    assert row is not None and (row.status, row.exit_code) == ("failed", 1)
    assert row.error == (f"not started on {socket.gethostname()}: KeyError (its message, "
                         "which may hold an argument, is in the worker's log)")


def test_a_sharded_dispatch_stopped_between_its_shards_leaves_nothing_queued(
        tmp_path: Path, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the shards' rows are written, between writing a shard and linking it to
    its parent: no run, the parent and that shard included, stays ``queued`` (holding the
    script's lock, with no job to run it)."""
    pytest.importorskip("rq")
    from opsctl.queue import shards
    from opsctl.run.args import RunOptions

    project = _project(tmp_path, ledger, f'ops = "rq://{REDIS}?queue=review"')
    (tmp_path / "offline_script" / "recycle" / "x.py").write_text(
        '"""X."""\nfrom opsctl import batches\n\n\ndef main():\n'
        '    for _ in batches(range(3)):\n        pass\n', encoding="utf-8")
    linked: list[int] = []
    link = Ledger.link_shard

    def interrupted(self: Ledger, run_id: int, **kwargs: object) -> None:
        if linked:
            raise KeyboardInterrupt
        linked.append(run_id)
        link(self, run_id, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "link_shard", interrupted)
    script = project.catalogue.resolve("recycle/x", cwd=tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(KeyboardInterrupt):
        shards.dispatch_sharded(project, script, [], RunOptions(), "ops", 3)  # type: ignore[arg-type]
    found = ledger.runs("recycle/x")
    assert len(found) == 3  # the parent, a linked shard, the one stopped before its link
    assert [r.status for r in found] == ["failed"] * 3
    assert {r.exit_code for r in found} == {130}
    assert ledger.holder("recycle/x") is None



class CtrlC(list[str]):
    """A job's arguments that Ctrl-C interrupts as the worker reads them: what SIGINT does
    to a worker between taking a job and starting its run."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt


def test_ctrl_c_on_the_worker_before_the_start_ends_its_row_with_130(tmp_path: Path,
                                                                     ledger: Ledger) -> None:
    """Ctrl-C on a worker before the run starts: the row ends with 130, the code of an
    interrupted opsctl (as a dispatch stopped so, and a run interrupted while it waits for
    its lock), not with 1; and the interrupt goes on to the worker."""
    from opsctl.ledger.engine import display_url
    from opsctl.queue.worker import FORMAT, run_job

    _project(tmp_path, ledger, "")
    queued = ledger.enqueue(script="recycle/x", process=Process.current("alice"), args=[],
                            sha256="0" * 64)
    with pytest.raises(KeyboardInterrupt):
        run_job({"format": FORMAT, "run_id": queued.id, "project": str(tmp_path),
                 "script": "recycle/x", "args": CtrlC(), "sha256": "0" * 64,
                 "allow_changed": True, "ledger": display_url(ledger.url)})
    row = ledger.run(queued.id)
    assert row is not None and (row.status, row.exit_code) == ("failed", 130)
    assert row.error == (f"not started on {socket.gethostname()}: KeyboardInterrupt (its "
                         "message, which may hold an argument, is in the worker's log)")


JOB = ("import json, sys\nfrom opsctl.queue.worker import run_job\n"
       "sys.exit(run_job(json.loads(sys.argv[1])))\n")


def test_a_shard_whose_parent_cannot_be_closed_keeps_its_outcome(tmp_path: Path,
                                                                 ledger: Ledger) -> None:
    """The last shard of a sharded run ends, on a worker (a real process), and closing its
    parent fails with an error other than an unreachable ledger (here the parent's row holds
    a time no database driver parses): the worker says so in one line, no traceback, and its
    job still ends with the shard's own exit code."""
    import sqlite3
    import subprocess
    import sys

    from opsctl.ledger.engine import display_url
    from opsctl.queue.worker import FORMAT

    _project(tmp_path, ledger, "")
    (tmp_path / "app.py").write_text("from flask import Flask\n\n\ndef create_app():\n"
                                     "    return Flask(__name__)\n", encoding="utf-8")
    me = Process.current("alice")
    parent = ledger.open_parent(script="recycle/x", process=me, args=[], sha256=None)
    first, child = (ledger.enqueue(script="recycle/x", process=me, args=[], sha256=None)
                    for _ in (1, 2))
    for index, shard in enumerate((first, child), 1):
        ledger.link_shard(shard.id, parent_id=parent.id, index=index, count=2)
    ledger.finish(ledger.start_shard(first.id, process=me), status="succeeded", exit_code=0)
    with sqlite3.connect(ledger.url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE opsctl_runs SET started_at = 'yesterday' WHERE id = ?",
                     [parent.id])
    payload = {"format": FORMAT, "run_id": child.id, "project": str(tmp_path),
               "script": "recycle/x", "args": [], "sha256": "0" * 64, "allow_changed": True,
               "shard": True, "ledger": display_url(ledger.url)}
    done = subprocess.run([sys.executable, "-c", JOB, json.dumps(payload)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (f"the sharded run of run {child.id} could not be ended (ValueError: "
            in done.stderr)
    ended = ledger.run(child.id)
    assert ended is not None and (ended.status, ended.exit_code) == ("succeeded", 0)
