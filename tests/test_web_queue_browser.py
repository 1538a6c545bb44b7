"""The dashboard's actions in headless Chromium, with a real ``rq worker``: start a dry run of
a script through the form, watch its progress move without a reload, pause it, resume it,
and see its summary on its page.

Needs Redis on 127.0.0.1:6379 as well as Playwright and Chromium; skipped, saying why, where
one is missing, and failing under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.web.serve import address, server, serving_app
from tests.conftest import IN_CI
from tests.runkit import env, ledger, wait_for, write_project, write_script
from tests.test_web_browser import CHROMIUM, SHOTS, _unavailable

pytestmark = pytest.mark.slow

QUEUE = f"web-browser-{uuid.uuid4().hex[:8]}"
SLOW_COUNT = '''\
"""Count items slowly, one per batch, for the dashboard's browser test."""
import time

import click

from opsctl import batches, current_run, report

OPSCTL_DRY_RUN = "honoured"


@click.command()
@click.option("--items", type=int, default=10, help="How many to count.")
def main(items):
    for batch in batches(range(items), size=1):
        for _ in batch:
            time.sleep(0.3)
    report(counted=current_run().progress.done)
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    why = _unavailable()
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        why = why or "Redis is not running on 127.0.0.1:6379"
    if why:
        if IN_CI:
            pytest.fail(f"{why}; CI=true requires it (.ci/run provides it)")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright
    from redis import Redis
    from rq import Queue

    base = tmp_path_factory.mktemp("webq")
    url = f"sqlite:///{base / 'ledger.sqlite3'}"
    project = write_project(base, url, extra=(
        f'\n[tool.opsctl.queues]\nops = "rq://127.0.0.1:6379/0?queue={QUEUE}"\n'))
    write_script(project, "recycle/slow_count", SLOW_COUNT)
    log = base / "rq.log"
    rq = str(Path(sys.executable).parent / "rq")
    with open(log, "w", encoding="utf-8") as out:
        worker = subprocess.Popen([rq, "worker", "--url", "redis://127.0.0.1:6379/0", QUEUE],
                                  cwd=project, env=env(PYTHONPATH=str(project)), stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    app, access = serving_app(str(project), "dev")
    live = server(app, 0)
    thread = threading.Thread(target=live.serve_forever, daemon=True)
    thread.start()
    try:
        wait_for(lambda: "Listening on" in log.read_text(), 60, "rq worker to start")
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM)
            try:
                yield {"browser": browser, "entry": address(live, access), "url": url,
                       "base": f"http://127.0.0.1:{live.server_port}"}
            finally:
                browser.close()
    finally:
        live.shutdown()
        live.server_close()
        worker.terminate()
        worker.wait(timeout=30)
        connection = Redis(host="127.0.0.1", port=6379, db=0)
        Queue(QUEUE, connection=connection).delete(delete_jobs=True)
        connection.close()


def status_of(url: str, run_id: int) -> str:
    with ledger(url) as opened:
        found = opened.run(run_id)
    assert found is not None
    return found.status


def test_start_watch_pause_resume_and_see_the_summary(site: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    context = site["browser"].new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(site["entry"])
        page.click("a.run-link[href='/scripts/recycle/slow_count/start']")
        assert page.locator("input[name=dry_run]").is_checked()
        if os.environ.get("OPSCTL_SCREENSHOTS") == "1":  # for the README
            page.screenshot(path=str(SHOTS / "start.png"), full_page=True)
        page.fill("input[name='opt--items']", "24")
        page.fill("input[name=reason]", "looking before the real one")
        page.click("form.start button[type=submit]")
        page.wait_for_url(re.compile(r".*/runs/\d+$"))
        first = int(page.url.rsplit("/", 1)[1])
        assert "dry" in page.locator("h1").inner_text()
        page.evaluate("window.notReloaded = true")
        text = page.locator(".live-text")
        expect(text).to_contain_text(re.compile(r"[1-9]\d*/24"), timeout=30_000)
        assert page.evaluate("window.notReloaded") is True
        page.reload()
        page.click("button.pause")
        expect(page.locator("p.note")).to_contain_text("will pause")
        wait_for(lambda: status_of(site["url"], first) == "paused", 30, "the run to pause")
        page.reload()
        page.click("button.resume")
        page.wait_for_url(re.compile(r".*/runs/\d+$"))
        second = int(page.url.rsplit("/", 1)[1])
        assert second != first
        wait_for(lambda: status_of(site["url"], second) == "succeeded", 60,
                 "the resumed run to succeed")
        page.reload()
        facts = page.locator("dl.facts").inner_text()
        assert "counted=24" in facts and f"resumes run {first}" in facts
        assert "dev (web 127.0.0.1)" in facts
        assert page.locator("h1 .status").inner_text() == "succeeded"
    finally:
        context.close()
