"""README, "Running on your workers", replayed: in a copy of the demo project, its
``[tool.opsctl.queues]`` block added to ``pyproject.toml`` and its Celery ``tasks.py`` written
as the README shows them, the workers started with the README's own commands (each on a
queue of this test's own, so concurrent suites never share one), then every ``console``
block of the section run command by command (:mod:`readme_replay`).

The run signals' example is run too: its receivers connected, a script run in process, and
the chat line it posts read back from a local HTTP server.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from readme_replay import README, REPO, Shell, blocks, environment, git, make_home, section
from runkit import wait_for

pytest.importorskip("rq")
pytest.importorskip("celery")

SECTION = "## Running on your workers"
RQ = "### RQ"
CELERY = "### Celery"
SHARDS = "### Shards"
SIGNALS = "### Run signals"
BIN = Path(sys.executable).parent


def code_block(heading: str, lang: str) -> str:
    [body] = [b.body for b in blocks(heading) if b.lang == lang]
    return body


def command(heading: str, program: str) -> list[str]:
    """The README's ``sh`` line that starts ``program``, as argv."""
    [line] = [ln for ln in code_block(heading, "sh").splitlines() if ln.startswith(program)]
    return shlex.split(line)


class Worker:
    """A worker started with the README's command, its queue swapped for the test's own."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log: Path,
                 ready: str) -> None:
        argv = [str(BIN / argv[0]), *argv[1:]]
        with open(log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_for(lambda: ready in log.read_text() or self.proc.poll() is not None, 60,
                     f"{argv[0]} to start")
            assert self.proc.poll() is None, log.read_text()
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def swapped(argv: list[str], old: str, new: str) -> list[str]:
    return [new if word == old else word for word in argv]


def _servers_down() -> str | None:
    import socket

    for port, what in ((6379, "Redis"), (5672, "RabbitMQ")):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                pass
        except OSError:
            return f"{what} is not running on 127.0.0.1:{port}"
    return None


@pytest.mark.slow
def test_running_on_your_workers(tmp_path: Path) -> None:
    down = _servers_down()
    if down:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{down}: .ci/run starts it")
        pytest.skip(down)
    home = tmp_path / "home"
    make_home(home, noted=True)
    demo = home / "opsctl"
    shutil.copytree(REPO / "offline_script", demo / "offline_script",
                    ignore=shutil.ignore_patterns("__pycache__"))
    toml = code_block(SECTION, "toml")
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (demo / "pyproject.toml").write_text(f"{pyproject}\n{toml}", encoding="utf-8")
    (demo / "tasks.py").write_text(code_block(CELERY, "python"), encoding="utf-8")
    queues = dict(re.findall(r'^(\w+) = "(.*)"$', toml, re.MULTILINE))
    rq_queue = re.search(r"queue=(\w+)", queues["ops"])[1]  # type: ignore[index]
    celery_queue = re.search(r"queue=(\w+)", queues["celery"])[1]  # type: ignore[index]
    own = uuid.uuid4().hex[:8]
    env = environment(
        home, DEMO_DATABASE_URL=f"sqlite:///{demo / 'instance' / 'demo.sqlite3'}",
        OPSCTL_QUEUE_OPS=queues["ops"].replace(rq_queue, f"{rq_queue}-{own}"),
        OPSCTL_QUEUE_CELERY=queues["celery"].replace(celery_queue, f"{celery_queue}-{own}"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the demo project"]):
        git(demo, env, *args)
    workers: list[Worker] = []
    try:
        workers.append(Worker(swapped(command(RQ, "rq worker"), rq_queue, f"{rq_queue}-{own}"),
                              demo, env, tmp_path / "rq.log", "Listening on"))
        # Solo and quiet about its peers: it starts faster; -l info says when it is ready. A
        # node name of its own: two workers named alike on one host (another test's, another
        # checkout's suite) fight over the node's exclusive pidbox queue, and one dies.
        workers.append(Worker(
            swapped(command(CELERY, "celery "), celery_queue, f"{celery_queue}-{own}")
            + ["--pool", "solo", "--without-gossip", "--without-mingle", "-l", "info",
               "-n", f"opsctl-readme-{own}@%h"],
            demo, env, tmp_path / "celery.log", "ready."))
        shell = Shell(demo, env, home)
        for heading in (RQ, CELERY, SHARDS):
            for block in blocks(heading):
                if block.lang == "console":
                    shell.replay(block)
    finally:
        for worker in workers:
            worker.kill()
    assert sum(line.startswith("$ ") for line in shell.transcript) >= 3


def test_the_section_shows_both_engines_and_the_signals() -> None:
    _, text = section(README.read_text(encoding="utf-8"), SECTION)
    assert "exit 84" in text
    for heading in (RQ, CELERY):
        assert any(b.lang == "console" for b in blocks(heading)), heading
        assert any(b.lang == "sh" for b in blocks(heading)), heading


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    posted: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/ops", posted
    server.shutdown()
    server.server_close()


def test_the_signals_example(tmp_path: Path, webhook: tuple[str, list[dict[str, object]]],
                             monkeypatch: pytest.MonkeyPatch,
                             caplog: pytest.LogCaptureFixture) -> None:
    from flask import Flask

    from opsctl.run import events
    from opsctl.testing import ScriptRunner

    url, posted = webhook
    monkeypatch.setenv("CHAT_WEBHOOK_URL", url)
    before = set(events.run_finished.receivers)
    namespace: dict[str, object] = {}
    exec(compile(code_block(SIGNALS, "python"), "README signals", "exec"), namespace)
    try:
        proj = tmp_path / "proj"
        (proj / "offline_script" / "recycle").mkdir(parents=True)
        (proj / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
        (proj / "offline_script" / "recycle" / "fails.py").write_text(
            '"""Fails."""\n\n\ndef main():\n    return 3\n', encoding="utf-8")
        runner = ScriptRunner(proj, app=Flask("shop"),
                              ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        with caplog.at_level(logging.WARNING):
            done = runner("recycle/fails")
        assert done.exit_code == 3
        operator = posted[0]["text"].split(" by ")[1].split(":")[0]  # type: ignore[union-attr]
        assert posted == [{"text": f"run {done.run_id} of recycle/fails by {operator}: failed "
                                   "(exit 3)"}]
        assert f"run {done.run_id} of recycle/fails: failed (exit 3)" in caplog.text
    finally:
        import weakref

        for key in set(events.run_finished.receivers) - before:
            receiver = events.run_finished.receivers[key]
            if isinstance(receiver, weakref.ref):
                receiver = receiver()
            events.run_finished.disconnect(receiver)
        assert set(events.run_finished.receivers) == before
