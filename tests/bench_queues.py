"""Benchmark of ``opsctl run --queue``: the time from ``opsctl run --queue`` returning to an
idle worker starting the script (its ``main()`` called), for RQ and for Celery, whole
processes on the real Redis (127.0.0.1:6379) and RabbitMQ (127.0.0.1:5672); and the
throughput of a sharded run (``--shards 2`` on two RQ workers) against one queued run on
one worker, over the batches benchmark's table on PostgreSQL (:func:`sharded_throughput`).

:mod:`tests.bench` reports it with the rest; on its own::

    python -m tests.bench_queues [--runs N]

A worker is started per engine (``rq worker``; ``celery worker --pool solo``) in a project of
its own and stopped by its pid. Each run is asked for only once the previous one has ended,
so the worker is idle. A negative figure would mean the worker started the script before the
asking process had exited. An engine whose package or server is missing is skipped, with
the reason.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
OPSCTL = str(BIN / "opsctl")

APP = '''\
from flask import Flask

app = Flask(__name__)
'''

MARK = '''\
"""Note when main() starts."""
import os
import time
from pathlib import Path

from opsctl import current_run


def main():
    started = time.time()
    Path(os.environ["BENCH_MARKS"], str(current_run().id)).write_text(repr(started))
'''

TASKS = '''\
from celery import Celery

from opsctl.queue.celery import register

celery_app = Celery("bench", broker="amqp://guest:guest@127.0.0.1:5672//")
register(celery_app)
'''

#: Per engine: the package it needs, its server's port, the worker's argv (the queue last
#: but for Celery's options), and what the worker logs once it listens.
ENGINES = {
    "rq": ("rq", 6379, "rq://127.0.0.1:6379/0?queue={queue}",
           ["rq", "worker", "--url", "redis://127.0.0.1:6379/0", "{queue}"], "Listening on"),
    "celery": ("celery", 5672, "celery://tasks:celery_app?queue={queue}",
               ["celery", "-A", "tasks:celery_app", "worker", "-n", "opsctl-bench-{queue}@%h",
                "-Q", "{queue}", "--pool", "solo",
                "--without-gossip", "--without-mingle", "-l", "info"], "ready."),
}


def _open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def unavailable(engine: str) -> str | None:
    """Why ``engine`` cannot be measured here; None when it can."""
    package, port, *_ = ENGINES[engine]
    import importlib.util

    if importlib.util.find_spec(package) is None:
        return f"{package} is not installed (pip install 'opsctl[{engine}]')"
    if not _open(port):
        return f"nothing listens on 127.0.0.1:{port}"
    return None


def make_project(base: Path, engine: str, queue: str) -> Path:
    project = base / f"queues-{engine}"
    (project / "offline_script" / "recycle").mkdir(parents=True)
    (project / "instance").mkdir()
    url = ENGINES[engine][2].format(queue=queue)
    (project / "pyproject.toml").write_text(
        f'[tool.opsctl]\napp = "benchqapp:app"\n\n[tool.opsctl.queues]\nbench = "{url}"\n',
        encoding="utf-8")
    (project / "benchqapp.py").write_text(APP, encoding="utf-8")
    (project / "tasks.py").write_text(TASKS, encoding="utf-8")
    (project / "offline_script" / "recycle" / "mark.py").write_text(MARK, encoding="utf-8")
    return project


def latencies(engine: str, runs: int, base: Path,
              env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Seconds from ``opsctl run --queue`` returning to the script starting, and from it
    being started to the script starting, ``runs`` times each (after one warm-up run)."""
    from opsctl.ledger.store import Ledger

    queue = f"bench-{uuid.uuid4().hex[:8]}"
    project = make_project(base, engine, queue)
    marks = base / f"marks-{engine}"
    marks.mkdir()
    env = {**env, "BENCH_MARKS": str(marks), "PYTHONPATH": str(project)}
    argv = [str(BIN / ENGINES[engine][3][0]),
            *(a.format(queue=queue) for a in ENGINES[engine][3][1:])]
    log = base / f"{engine}.log"
    with open(log, "w", encoding="utf-8") as out:
        worker = subprocess.Popen(argv, cwd=project, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while ENGINES[engine][4] not in log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {engine} worker did not start: {log.read_text()[-500:]}")
            time.sleep(0.05)
        ledger = Ledger.open(f"sqlite:///{project / 'instance' / 'opsctl.sqlite3'}")
        found: list[float] = []
        whole: list[float] = []
        try:
            for i in range(runs + 1):
                asking = time.time()
                asked = subprocess.run([OPSCTL, "run", "--queue", "bench", "recycle/mark"],
                                       cwd=project, env=env, capture_output=True, text=True,
                                       stdin=subprocess.DEVNULL, timeout=60)
                returned = time.time()
                if asked.returncode != 0:
                    raise RuntimeError(f"opsctl run --queue: {asked.stderr.strip()}")
                run_id = int(asked.stdout)
                mark = marks / str(run_id)
                deadline = time.monotonic() + 60
                while not mark.exists() or not mark.read_text():
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"run {run_id} never started on the {engine} worker")
                    time.sleep(0.002)
                if i:  # the first is a warm-up
                    found.append(float(mark.read_text()) - returned)
                    whole.append(float(mark.read_text()) - asking)
                while True:  # the worker idle again before the next
                    now = ledger.run(run_id)
                    if now is None or now.status not in ("queued", "running"):
                        break
                    time.sleep(0.02)
        finally:
            ledger.close()
        return found, whole
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)


#: The sharded line's rows (the batches benchmark's table, :mod:`bench_batches`).
SHARD_ROWS = 200_000


def _batches_module() -> Any:
    try:
        from tests import bench_batches
    except ImportError:
        import bench_batches  # type: ignore[no-redef]
    return bench_batches


def _server_database() -> Any:
    try:
        from tests import bench
    except ImportError:
        import bench  # type: ignore[no-redef]
    return bench.ServerDatabase(bench.PG_SERVER)


def sharded_throughput(base: Path, env: dict[str, str], rows: int = SHARD_ROWS,
                       runs: int = 3) -> dict[str, Any]:
    """The batches benchmark's loop (``recycle/batches_loop``: ``batches()`` over
    ``bench_row``'s ids, one ``UPDATE`` a batch of 1,000) asked of RQ workers on PostgreSQL
    (the table and the ledger): as one queued run, which one worker takes, and as
    ``--shards 2``, which two workers take side by side; ``runs`` of each, alternately, the
    table vacuumed before each. Each side's seconds: the span its run(s) took in the ledger
    (first start to last end: the work horses' start-up is before it) and from asking to the
    end (the queue's latency and the start-ups too)."""
    import sqlalchemy as sa

    from opsctl.ledger.store import Ledger

    batches = _batches_module()
    why = unavailable("rq")
    if why:
        return {"skipped": why}
    with _server_database() as pg:
        if pg.url is None:
            return {"skipped": f"no PostgreSQL: {pg.error}"}
        project = batches.make_project(base / "sharded")
        queue = f"bench-shards-{uuid.uuid4().hex[:8]}"
        with open(project / "pyproject.toml", "a", encoding="utf-8") as toml:
            toml.write(f'\n[tool.opsctl.queues]\nbench = "rq://127.0.0.1:6379/0?queue={queue}"\n')
        batches.fill(pg.url, rows)
        e = {**env, "BENCHROWS_DATABASE": pg.url, "OPSCTL_LEDGER_URL": pg.url,
             "PYTHONPATH": str(project)}
        workers = [_rq_worker(project, queue, e, base / f"shards-rq-{n}.log") for n in (1, 2)]
        engine = sa.create_engine(pg.url)
        ledger = Ledger.open(pg.url)
        found: dict[str, Any] = {"rows": rows, "one": [], "two": [], "one_wall": [],
                                 "two_wall": []}
        try:
            for i in range(runs + 1):
                for side, more in (("one", []), ("two", ["--shards", "2"])):
                    batches.vacuum(engine)
                    span, wall = _timed_run(project, e, ledger, more)
                    if i:  # the first of each is a warm-up
                        found[side].append(span)
                        found[f"{side}_wall"].append(wall)
        finally:
            ledger.close()
            engine.dispose()
            for worker in workers:
                if worker.poll() is None:
                    os.kill(worker.pid, signal.SIGKILL)
                    worker.wait(timeout=30)
    return found


def _rq_worker(project: Path, queue: str, env: dict[str, str], log: Path) -> Any:
    with open(log, "w", encoding="utf-8") as out:
        worker = subprocess.Popen([str(BIN / "rq"), "worker", "--url",
                                   "redis://127.0.0.1:6379/0", queue], cwd=project, env=env,
                                  stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while "Listening on" not in log.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the rq worker did not start: {log.read_text()[-500:]}")
        time.sleep(0.05)
    return worker


def _timed_run(project: Path, env: dict[str, str], ledger: Any,
               more: list[str]) -> tuple[float, float]:
    """One run of the loop on the queue (``more``: ``--shards 2``): the span of its run(s)
    in the ledger, and the seconds from asking to its end."""
    asking = time.monotonic()
    asked = subprocess.run([OPSCTL, "run", "--queue", "bench", *more, "recycle/batches_loop"],
                           cwd=project, env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=120)
    if asked.returncode != 0:
        raise RuntimeError(f"opsctl run --queue: {asked.stderr.strip()}")
    run_id = int(asked.stdout)
    deadline = time.monotonic() + 600
    while (run := ledger.run(run_id)) is None or run.status in ("queued", "running"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} did not end")
        time.sleep(0.02)
    wall = time.monotonic() - asking
    if run.status != "succeeded":
        raise RuntimeError(f"run {run_id} {run.status}: {run.error}")
    runs = ledger.children(run_id) or [run]
    span = max(r.ended_at for r in runs) - min(r.started_at for r in runs)
    return span.total_seconds(), wall


def sharded_line(found: dict[str, Any]) -> str:
    """The sharded throughput line."""
    if "skipped" in found:
        return f"sharded throughput: skipped: {found['skipped']}"
    rows = found["rows"]
    one, two = statistics.median(found["one"]), statistics.median(found["two"])
    wall_one = statistics.median(found["one_wall"])
    wall_two = statistics.median(found["two_wall"])
    return (f"batches() loop on {rows:,} rows, PostgreSQL: 1 worker {rows / one:,.0f} rows/s "
            f"({one:.2f} s), --shards 2 on 2 workers {rows / two:,.0f} rows/s ({two:.2f} s): "
            f"{one / two:.2f}x; from asking to the end {wall_one:.2f} s vs {wall_two:.2f} s "
            f"(medians of {len(found['one'])})")


def summary(times: list[float]) -> str:
    return (f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
            f"max {max(times) * 1000:.0f}; {len(times)} runs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench_queues")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--shard-rows", type=int, default=SHARD_ROWS,
                        help="rows of the sharded throughput line")
    parser.add_argument("--shard-runs", type=int, default=3)
    parser.add_argument("--only-shards", action="store_true",
                        help="measure the sharded throughput line alone")
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCTL_", "FLASK_"))}
    with tempfile.TemporaryDirectory(prefix="opsctl-bench-queues-") as base:
        print(sharded_line(sharded_throughput(Path(base), env, args.shard_rows,
                                              args.shard_runs)))
        for engine in ENGINES if not args.only_shards else ():
            why = unavailable(engine)
            if why:
                print(f"{engine}: skipped: {why}")
                continue
            returned, asked = latencies(engine, args.runs, Path(base), env)
            print(f"{engine}, idle worker: from run --queue returning to the script starting "
                  f"{summary(returned)}; from asking {summary(asked)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
