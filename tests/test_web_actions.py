"""The dashboard's buttons, request by request: a run started through the form is queued on a
real RQ queue (Redis at 127.0.0.1:6379; no worker: what a request does ends at the queue), as
the web user, a dry run unless unticked; a queued run is cancelled off its queue; a paused
run is resumed through the queue; with no queue configured, no button, and the page says how.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process
from tests.conftest import IN_CI
from tests.test_web import csrf_of, logged_in
from tests.webkit import ledger_of, mounted, web_project

SAM = {"X-User": "sam"}
ADDRESS = {"REMOTE_ADDR": "192.0.2.7"}


def everyone(user: Any, action: str, script: str | None) -> bool:
    return True


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return web_project(tmp_path)


@pytest.fixture
def ledger(project: Path) -> Iterator[Ledger]:
    with ledger_of(project) as opened:
        yield opened


@pytest.fixture
def queue(project: Path) -> Iterator[Any]:
    """An RQ queue of this test's own on the local Redis, named ``ops`` in the project."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        if IN_CI:
            pytest.fail("Redis is not running on 6379; CI=true requires it (.ci/run starts it)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from redis import Redis
    from rq import Queue

    name = f"web-{uuid.uuid4().hex[:10]}"
    with (project / "pyproject.toml").open("a", encoding="utf-8") as file:
        file.write(f'\n[tool.opsctl.queues]\nops = "rq://127.0.0.1:6379/0?queue={name}"\n')
    connection = Redis(host="127.0.0.1", port=6379, db=0)
    found = Queue(name, connection=connection)
    try:
        yield found
    finally:
        found.delete(delete_jobs=True)
        connection.close()


def test_without_a_queue_there_is_no_button_and_the_page_says_how(project: Path) -> None:
    client = mounted(project, everyone).test_client()
    scripts = client.get("/ops/").get_data(as_text=True)
    assert "Run…" not in scripts and "[tool.opsctl.queues]" in scripts
    form = client.get("/ops/scripts/recycle/export_orders/start").get_data(as_text=True)
    assert "needs a queue" in form and "<button" not in form
    with client.session_transaction() as session:
        session["opsctl_csrf"] = "t"
    refused = client.post("/ops/scripts/recycle/export_orders/start",
                          data={"csrf_token": "t", "queue": "ops"})
    assert refused.status_code == 400


def test_the_form_queues_a_dry_run_as_the_web_user(project: Path, ledger: Ledger,
                                                     queue: Any) -> None:
    client = logged_in(mounted(project, everyone)).test_client()
    assert "Run…" in client.get("/ops/", headers=SAM).get_data(as_text=True)
    form = client.get("/ops/scripts/recycle/export_orders/start",
                      headers=SAM).get_data(as_text=True)
    assert 'name="opt--day"' in form and 'name="opt--overwrite"' in form
    assert re.search(r'<input type="checkbox" name="dry_run" checked>', form)
    response = client.post("/ops/scripts/recycle/export_orders/start", headers=SAM,
                           environ_base=ADDRESS,
                           data={"csrf_token": csrf_of(form), "opt--day": "2026-11-02",
                                 "dry_run": "on", "reason": "ticket 42", "queue": "ops"})
    assert response.status_code == 302
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    run = ledger.run(run_id)
    assert run is not None and run.status == "queued" and run.dry_run
    assert run.args == ["--day", "2026-11-02"] and run.reason == "ticket 42"
    assert run.operator == "sam (web 192.0.2.7)"
    assert queue.count == 1
    page = client.get(f"/ops/runs/{run_id}", headers=SAM).get_data(as_text=True)
    assert "queued on ops" in page and "Cancel (still queued)" in page
    cancelled = client.post(f"/ops/runs/{run_id}/cancel", headers=SAM,
                            data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "never ran and never will" in cancelled.get_data(as_text=True)
    after = ledger.run(run_id)
    assert after is not None and after.status == "cancelled" and queue.count == 0


def test_unticking_dry_run_queues_a_real_run(project: Path, ledger: Ledger,
                                             queue: Any) -> None:
    client = mounted(project, everyone).test_client()
    form = client.get("/ops/scripts/recycle/export_orders/start").get_data(as_text=True)
    response = client.post("/ops/scripts/recycle/export_orders/start",
                           data={"csrf_token": csrf_of(form), "opt--overwrite": "on",
                                 "queue": "ops"})
    run = ledger.run(int(response.headers["Location"].rsplit("/", 1)[1]))
    assert run is not None and not run.dry_run and run.args == ["--overwrite"]


def test_a_user_without_the_right_to_run_gets_no_button_and_403(
        project: Path, ledger: Ledger, queue: Any) -> None:
    client = mounted(project, lambda user, action, script: action == "view").test_client()
    assert "Run…" not in client.get("/ops/").get_data(as_text=True)
    assert client.get("/ops/scripts/recycle/export_orders/start").status_code == 403
    with client.session_transaction() as session:
        session["opsctl_csrf"] = "t"
    response = client.post("/ops/scripts/recycle/export_orders/start",
                           data={"csrf_token": "t", "queue": "ops"})
    assert response.status_code == 403 and queue.count == 0


def test_a_paused_run_is_resumed_through_the_queue(project: Path, ledger: Ledger,
                                                   queue: Any) -> None:
    paused = ledger.start(script="recycle/export_orders", process=Process.current("carol"),
                          args=["--day", "2026-11-02"], environment="staging")
    ledger.begin_progress(paused.id, total=100)
    ledger.checkpoint(paused.id, done=40, cursor=40)
    ledger.end(paused, status="paused", exit_code=80)
    client = mounted(project, everyone).test_client()
    page = client.get(f"/ops/runs/{paused.id}").get_data(as_text=True)
    assert "Resume from its checkpoint" in page
    response = client.post(f"/ops/runs/{paused.id}/resume",
                           data={"csrf_token": csrf_of(page), "queue": "ops"})
    assert response.status_code == 302
    new = ledger.run(int(response.headers["Location"].rsplit("/", 1)[1]))
    assert new is not None and new.id != paused.id and new.status == "queued"
    assert new.script == "recycle/export_orders" and new.args == ["--day", "2026-11-02"]
    assert queue.count == 1
    job = queue.jobs[0]
    assert job.args[0]["options"]["resume"] == str(paused.id)


def test_starting_without_the_csrf_token_queues_nothing(project: Path, ledger: Ledger,
                                                        queue: Any) -> None:
    client = mounted(project, everyone).test_client()
    client.get("/ops/scripts/recycle/export_orders/start")
    response = client.post("/ops/scripts/recycle/export_orders/start",
                           data={"queue": "ops", "dry_run": "on"})
    assert response.status_code == 400 and queue.count == 0
    assert ledger.runs() == []
