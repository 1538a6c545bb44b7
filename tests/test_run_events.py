"""A run's Blinker signals (:mod:`opsctl.run.events`): sent in the process that runs the
script, in the app context, with the app as sender; the example receiver posts one line to a
chat webhook, here a local HTTP server the test starts.

In process through :class:`opsctl.testing.ScriptRunner`: the runner ``opsctl run`` uses, on
an app the test connects receivers for.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from runkit import write_script

from opsctl.run import events
from opsctl.testing import ScriptRunner

OK = '''\
"""Succeeds, and reports."""
from opsctl import report


def main():
    report(rows=3)
'''

BATCHED = '''\
"""Five items in batches of two."""
from opsctl import batches


def main():
    for batch in batches(["a", "b", "c", "d", "e"], size=2):
        pass
'''

BROKEN = '''\
"""Fails."""


def main():
    raise RuntimeError("no such table")
'''


class Webhook:
    """A chat webhook on 127.0.0.1: keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        posted = self.posted

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                posted.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/ops"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[ScriptRunner]:
    proj = tmp_path / "proj"
    (proj / "offline_script" / "recycle").mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    write_script(proj, "recycle/ok", OK)
    write_script(proj, "recycle/broken", BROKEN)
    write_script(proj, "recycle/batched", BATCHED)
    app = Flask("events_app")
    app.config["NAME"] = "events"
    made = ScriptRunner(proj, app=app, ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield made
    made.close()


def test_started_and_finished_are_sent_with_the_run_and_its_outcome(
        runner: ScriptRunner, webhook: Webhook) -> None:
    seen: list[tuple[str, Any, dict[str, Any]]] = []

    def started(sender: Flask, **kw: Any) -> None:
        # In the app context of the process that runs the script, with its lock held.
        seen.append(("started", sender, {"app": current_app.config["NAME"], **kw}))

    def finished(sender: Flask, **kw: Any) -> None:
        seen.append(("finished", sender, kw))

    post = events.chat_webhook(webhook.url)
    with events.run_started.connected_to(started, runner.app), \
            events.run_finished.connected_to(finished, runner.app), \
            events.run_finished.connected_to(post):
        ok = runner("recycle/ok")
        broken = runner("recycle/broken")
    assert (ok.status, broken.status) == ("succeeded", "failed")
    assert [(what, sender) for what, sender, _ in seen] == [
        ("started", runner.app), ("finished", runner.app),
        ("started", runner.app), ("finished", runner.app)]
    first = seen[0][2]
    assert first["app"] == "events" and first["run"].id == ok.run_id
    assert first["run"].script == "recycle/ok" and first["run"].operator
    done = seen[1][2]
    assert (done["status"], done["exit_code"], done["error"]) == ("succeeded", 0, None)
    assert done["summary"] == {"rows": 3}
    failed = seen[3][2]
    assert (failed["status"], failed["exit_code"]) == ("failed", 1)
    assert "RuntimeError: no such table" in failed["error"]
    operator = first["run"].operator
    assert webhook.posted == [
        {"text": f"run {ok.run_id} of recycle/ok by {operator}: succeeded (exit 0)"},
        {"text": f"run {broken.run_id} of recycle/broken by {operator}: failed (exit 1)"}]


def test_a_receiver_that_raises_is_a_warning_and_the_run_ends_as_it_would(
        runner: ScriptRunner, tmp_path: Path) -> None:
    # A webhook nobody listens at: the receiver raises URLError.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    later: list[str] = []
    post = events.chat_webhook(f"http://127.0.0.1:{closed}/hook", timeout=2)
    with events.run_finished.connected_to(post), \
            events.run_finished.connected_to(lambda sender, **kw: later.append(kw["status"])):
        ok = runner("recycle/ok")
    assert (ok.exit_code, ok.status) == (0, "succeeded")
    assert "a receiver of opsctl.run-finished (chat_webhook.<locals>.post) raised URLError" \
        in ok.output
    assert later == ["succeeded"]


def test_a_checkpoint_is_sent_after_each_batch_is_recorded(runner: ScriptRunner) -> None:
    from opsctl.ledger.store import Ledger

    seen: list[tuple[Any, int | None, int, int | None, int]] = []

    def checkpoint(sender: Flask, *, run: Any, progress: Any) -> None:
        with Ledger.open(runner.ledger_url) as ledger:  # written before it is told
            recorded = ledger.progress(run.id)
        assert recorded is not None
        seen.append((sender, run.id, progress.done, progress.total, recorded.done))

    with events.run_checkpoint.connected_to(checkpoint, runner.app):
        done = runner("recycle/batched")
    assert done.status == "succeeded"
    assert seen == [(runner.app, done.run_id, n, 5, n) for n in (2, 4, 5)]


def test_the_signals_are_opsctl_s_public_names() -> None:
    import opsctl

    assert opsctl.run_started is events.run_started
    assert opsctl.run_finished is events.run_finished
    assert opsctl.run_checkpoint is events.run_checkpoint
