"""The web dashboard in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright, against a live server on 127.0.0.1 (werkzeug's, in a thread), entered by
``opsctl serve``'s one-time token URL.

Lists and filters scripts, opens a run, watches a progress value change without a reload
while the test writes checkpoints through the ledger, pauses a run with its button, and sees
a script's ``<script>`` output as text. Pages are looked at on a desktop and at phone width
(375 px: nothing wider than the screen); with ``OPSCTL_SCREENSHOTS=1`` their screenshots are
written to tests/screenshots/ for the README.

Skipped, saying why, where Playwright or Chromium is missing; under ``CI=true`` that fails.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.ledger.store import Ledger
from opsctl.web.serve import address, server, serving_app
from tests.conftest import IN_CI
from tests.webkit import finished, ledger_of, running, web_project

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK) and shutil.which("chromium") is None:
        return "no Chromium at /usr/bin/chromium (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The project with its ledger, the live server, and one browser for the module."""
    why = _unavailable()
    if why:
        if IN_CI:
            pytest.fail(f"{why}; CI=true requires it (.ci/run installs it)")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    project = web_project(tmp_path_factory.mktemp("web"))
    ledger = ledger_of(project)
    app, access = serving_app(str(project), "dev")
    live = server(app, 0)
    thread = threading.Thread(target=live.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM if os.access(
                CHROMIUM, os.X_OK) else shutil.which("chromium"))
            try:
                yield {"project": project, "ledger": ledger, "browser": browser,
                       "entry": address(live, access),
                       "base": f"http://127.0.0.1:{live.server_port}"}
            finally:
                browser.close()
    finally:
        live.shutdown()
        live.server_close()
        ledger.close()


@pytest.fixture
def page(site: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser context, entered through the token URL."""
    context = site["browser"].new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.goto(site["entry"])
    try:
        yield tab
    finally:
        context.close()


def test_scripts_listed_and_filtered(site: dict[str, Any], page: Any) -> None:
    rows = page.locator("table.scripts tbody tr")
    assert rows.count() == 5
    page.select_option("select[name=kind]", "recycle")
    page.click("form.filters button")
    page.wait_for_url("**kind=recycle**")
    keys = page.locator("table.scripts td.key").all_inner_texts()
    assert keys == ["recycle/clear_cache", "recycle/export_orders"]
    page.fill("input[name=q]", "clear")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**q=clear**")
    assert page.locator("table.scripts td.key").all_inner_texts() == ["recycle/clear_cache"]


def test_a_run_page_shows_output_as_text(site: dict[str, Any], page: Any) -> None:
    ledger: Ledger = site["ledger"]
    run = finished(ledger, "unrecycle/fix_totals", summary={"fixed": 3},
                   output="<script>document.title='owned'</script>\nfixed 3 orders\n")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(site["base"] + "/runs")
    page.click(f"a[href='/runs/{run.id}']")
    page.wait_for_url(f"**/runs/{run.id}")
    assert "fixed=3" in page.locator("dl.facts").inner_text()
    assert "<script>document.title='owned'</script>" in page.locator("pre.output").inner_text()
    assert page.title() == f"Run {run.id} · opsctl" and not dialogs


def test_progress_updates_without_a_reload_and_pause_is_asked(
        site: dict[str, Any], page: Any) -> None:
    ledger: Ledger = site["ledger"]
    run = running(ledger, "recycle/export_orders", total=200)
    ledger.checkpoint(run.id, done=20)
    page.goto(f"{site['base']}/runs/{run.id}")
    text = page.locator(".live-text")
    assert "10% 20/200" in text.inner_text()
    page.evaluate("window.notReloaded = true")
    ledger.checkpoint(run.id, done=150)
    from playwright.sync_api import expect

    started = time.monotonic()
    expect(text).to_contain_text("75% 150/200", timeout=2_000)  # the page's CSP forbids eval
    assert time.monotonic() - started <= 2.5
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("progress").evaluate("p => p.value") == 75
    page.click("button.pause")
    page.wait_for_url(f"**/runs/{run.id}")
    assert ledger.requested(run.id) == "pause"
    assert ledger.progress(run.id).requested_by.startswith("dev (web 127.0.0.1)")  # type: ignore[union-attr]


def test_pages_fit_a_phone_and_a_desktop(site: dict[str, Any], page: Any) -> None:
    ledger: Ledger = site["ledger"]
    for i in range(6):
        finished(ledger, "recycle/clear_cache", status="failed" if i == 2 else "succeeded",
                 summary={"deleted": i * 7}, operator="alice" if i % 2 else "bob",
                 environment="production")
    shown = finished(ledger, "bob/ts_2026_11_20_check_refunds", status="failed",
                     args=["--day", "2026-11-02", "--api-key", "abcd1234"],
                     error="Traceback (most recent call last):\n  File \"check_refunds.py\", "
                           "line 12, in main\nValueError: no orders on 2026-11-02",
                     output="exporting 2026-11-02\n0 orders\n")
    live = running(ledger, "alice/ts_2024_06_10_backfill_prices", total=5_000)
    ledger.checkpoint(live.id, done=1_850)
    out = SHOTS if os.environ.get("OPSCTL_SCREENSHOTS") == "1" else None
    pages = {"scripts": "/", "runs": "/runs", "run": f"/runs/{shown.id}",
             "progress": f"/runs/{live.id}"}
    for width, suffix in ((1280, ""), (375, "-phone")):
        page.set_viewport_size({"width": width, "height": 800})
        for name, url in pages.items():
            page.goto(site["base"] + url)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{name} is {wide}px wide at {width}px"
            if out == SHOTS:  # pictures cost a second each: taken only for the README
                page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=True)
