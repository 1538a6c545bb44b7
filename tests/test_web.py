"""The web dashboard, request by request (Flask's test client): nothing served until the app
says who may; what a user without the right sees and may not do; CSRF; protected
environments; output escaped and secrets hidden; the Content-Security-Policy; keyset paging;
and ``opsctl serve``'s one-time token."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from opsctl.ledger.store import Ledger
from opsctl.web.guard import HEADERS
from opsctl.web.serve import serving_app
from tests.webkit import finished, ledger_of, mounted, running, web_project

CSP = HEADERS["Content-Security-Policy"]
#: A run's link in the first cell of a row of the runs page.
RUN_LINK = r'<td data-label="Run"><a href="/ops/runs/(\d+)">'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return web_project(tmp_path)


@pytest.fixture
def ledger(project: Path) -> Iterator[Ledger]:
    with ledger_of(project) as opened:
        yield opened


def everyone(user: Any, action: str, script: str | None) -> bool:
    return True


def viewers(user: Any, action: str, script: str | None) -> bool:
    return action == "view"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


def test_without_a_hook_every_request_is_refused_with_how_to_configure_it(
        project: Path, ledger: Ledger) -> None:
    run = finished(ledger, "recycle/clear_cache")
    client = mounted(project).test_client()
    for url in ("/ops/", "/ops/runs", f"/ops/runs/{run.id}", f"/ops/progress?ids={run.id}"):
        response = client.get(url)
        assert response.status_code == 403, url
        page = response.get_data(as_text=True)
        assert "authorize=authorize" in page and "opsctl serve" in page
        assert "clear_cache" not in page
        assert response.headers["Content-Security-Policy"] == CSP
    assert client.post(f"/ops/runs/{run.id}/cancel").status_code == 403


def test_the_blueprint_registered_alone_refuses_too(project: Path) -> None:
    import opsctl.web

    app = Flask("team")
    app.register_blueprint(opsctl.web.blueprint, url_prefix="/ops")
    response = app.test_client().get("/ops/")
    assert response.status_code == 403
    assert "init_app" in response.get_data(as_text=True)


def test_a_script_the_hook_hides_is_not_shown(project: Path, ledger: Ledger) -> None:
    hidden = finished(ledger, "recycle/clear_cache")
    shown = finished(ledger, "recycle/export_orders")
    client = mounted(project, lambda user, action, script:
                     action == "view" and script != "recycle/clear_cache").test_client()
    assert client.get(f"/ops/runs/{hidden.id}").status_code == 403
    assert client.get(f"/ops/runs/{shown.id}").status_code == 200
    runs = client.get("/ops/runs").get_data(as_text=True)
    assert re.findall(RUN_LINK, runs) == [str(shown.id)]
    assert "recycle/clear_cache" not in client.get("/ops/").get_data(as_text=True)
    assert list(client.get(f"/ops/progress?ids={hidden.id},{shown.id}").get_json()) == [
        str(shown.id)]


def test_a_user_the_hook_refuses_gets_403(project: Path) -> None:
    client = mounted(project, lambda user, action, script: False).test_client()
    response = client.get("/ops/")
    assert response.status_code == 403
    assert "not allowed to see" in response.get_data(as_text=True)


def test_pages_show_scripts_runs_and_a_run_with_the_policy_header(
        project: Path, ledger: Ledger) -> None:
    done = finished(ledger, "recycle/clear_cache", summary={"deleted": 12}, operator="dora")
    client = mounted(project, everyone).test_client()
    scripts = client.get("/ops/")
    assert scripts.status_code == 200
    text = scripts.get_data(as_text=True)
    for rel in ("recycle/clear_cache", "unrecycle/fix_totals", "alice/ts_2024_06_10_backfill"):
        assert rel in text
    assert "stale" in text  # the 2024 script is older than stale_days
    runs = client.get("/ops/runs").get_data(as_text=True)
    assert f'href="/ops/runs/{done.id}"' in runs and "dora" in runs
    one = client.get(f"/ops/runs/{done.id}")
    assert "deleted=12" in one.get_data(as_text=True)
    for response in (scripts, one, client.get("/ops/runs/999999"),
                     client.get("/ops/static/opsctl_web/style.css")):
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Frame-Options"] == "DENY"
        response.close()
    assert client.get("/ops/runs/999999").status_code == 404


def test_the_scripts_page_filters_by_kind_and_owner_and_searches_names(project: Path) -> None:
    client = mounted(project, everyone).test_client()
    recycle = client.get("/ops/?kind=recycle").get_data(as_text=True)
    assert "recycle/clear_cache" in recycle and "unrecycle/fix_totals" not in recycle
    bob = client.get("/ops/?owner=bob").get_data(as_text=True)
    assert "check_refunds" in bob and "clear_cache" not in bob
    found = client.get("/ops/?q=EXPORT").get_data(as_text=True)
    assert "recycle/export_orders" in found and "clear_cache" not in found


def test_output_and_descriptions_are_escaped_and_secrets_hidden(
        project: Path, ledger: Ledger) -> None:
    run = finished(ledger, "unrecycle/fix_totals", status="failed",
                   args=["--password", "hunter22", "--day", "monday"],
                   output="<script>alert('out')</script>\n",
                   error="Traceback: <img src=x onerror=alert(1)> "
                         "postgresql://app:s3cretpw@db/shop")
    client = mounted(project, everyone).test_client()
    page = client.get(f"/ops/runs/{run.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;out&#39;)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "hunter22" not in page and "s3cretpw" not in page
    assert "--password *** --day monday" in page
    listing = client.get("/ops/").get_data(as_text=True)
    assert "Fix the &lt;b&gt;totals&lt;/b&gt;" in listing


def test_a_viewer_sees_no_button_and_cannot_act(project: Path, ledger: Ledger) -> None:
    run = running(ledger, "recycle/export_orders")
    client = mounted(project, viewers).test_client()
    page = client.get(f"/ops/runs/{run.id}").get_data(as_text=True)
    assert "<form method=\"post\"" not in page and "Pause" not in page
    admin = mounted(project, everyone).test_client()
    token = csrf_of(admin.get(f"/ops/runs/{run.id}").get_data(as_text=True))
    with client.session_transaction() as session:
        session["opsctl_csrf"] = token
    response = client.post(f"/ops/runs/{run.id}/pause", data={"csrf_token": token})
    assert response.status_code == 403
    assert ledger.requested(run.id) is None


def test_a_post_without_the_csrf_token_is_refused(project: Path, ledger: Ledger) -> None:
    run = running(ledger, "recycle/export_orders")
    client = mounted(project, everyone).test_client()
    token = csrf_of(client.get(f"/ops/runs/{run.id}").get_data(as_text=True))
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(f"/ops/runs/{run.id}/pause", data=data)
        assert response.status_code == 400
        assert "security token" in response.get_data(as_text=True)
    assert ledger.requested(run.id) is None
    other = mounted(project, everyone).test_client()  # another session: its own token
    assert other.post(f"/ops/runs/{run.id}/pause",
                      data={"csrf_token": token}).status_code == 400
    assert client.get(f"/ops/runs/{run.id}/pause").status_code == 405
    response = client.post(f"/ops/runs/{run.id}/pause", data={"csrf_token": token},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302
    progress = ledger.progress(run.id)
    assert progress is not None and progress.request == "pause"
    assert progress.requested_by == "anonymous (web 10.1.2.3)"


def logged_in(app: Flask) -> Flask:
    """``app`` with Flask-Login: the user named by the ``X-User`` header, with the roles of
    ``X-Roles``."""
    from flask_login import LoginManager, UserMixin

    class User(UserMixin):
        def __init__(self, name: str, roles: str) -> None:
            self.id = self.username = name
            self.roles = roles.split(",") if roles else []

    manager = LoginManager(app)

    @manager.request_loader
    def load(request: Any) -> User | None:
        name = request.headers.get("X-User")
        return User(name, request.headers.get("X-Roles", "")) if name else None

    return app


def test_the_operator_is_the_logged_in_user_never_the_servers(
        project: Path, ledger: Ledger) -> None:
    run = running(ledger, "recycle/export_orders")
    client = logged_in(mounted(project, lambda user, action, script:
                               user.is_authenticated)).test_client()
    assert client.get(f"/ops/runs/{run.id}").status_code == 403
    sam = {"X-User": "support-sam"}
    token = csrf_of(client.get(f"/ops/runs/{run.id}", headers=sam).get_data(as_text=True))
    client.post(f"/ops/runs/{run.id}/cancel", data={"csrf_token": token}, headers=sam,
                environ_base={"REMOTE_ADDR": "192.0.2.7"})
    progress = ledger.progress(run.id)
    assert progress is not None and progress.request == "cancel"
    assert progress.requested_by == "support-sam (web 192.0.2.7)"


def test_roles_of_flask_login_users(project: Path, ledger: Ledger) -> None:
    run = running(ledger, "recycle/export_orders")
    client = logged_in(mounted(project, roles={"view": "support", "run": "ops"})).test_client()
    url = f"/ops/runs/{run.id}"
    assert client.get(url).status_code == 403  # nobody logged in
    assert client.get(url, headers={"X-User": "eve", "X-Roles": "sales"}).status_code == 403
    support = {"X-User": "sam", "X-Roles": "support"}
    page = client.get(url, headers=support).get_data(as_text=True)
    assert "csrf_token" not in page  # may see, no button
    ops = {"X-User": "olga", "X-Roles": "support,ops"}
    token = csrf_of(client.get(url, headers=ops).get_data(as_text=True))
    assert client.post(f"{url}/pause", data={"csrf_token": token},
                       headers=support).status_code == 403
    assert ledger.requested(run.id) is None
    assert client.post(f"{url}/pause", data={"csrf_token": token},
                       headers=ops).status_code == 302
    assert ledger.requested(run.id) == "pause"


def test_a_run_without_batches_is_not_asked_and_the_page_says_why(
        project: Path, ledger: Ledger) -> None:
    from opsctl.ledger.values import Process

    run = ledger.start(script="recycle/export_orders", process=Process.current("carol"),
                       args=[], environment="staging")
    client = mounted(project, everyone).test_client()
    token = csrf_of(client.get(f"/ops/runs/{run.id}").get_data(as_text=True))
    response = client.post(f"/ops/runs/{run.id}/pause", data={"csrf_token": token},
                           follow_redirects=True)
    assert "has recorded no batch" in response.get_data(as_text=True)
    assert ledger.requested(run.id) is None


def test_a_protected_environment_needs_the_script_name_typed(
        project: Path, ledger: Ledger) -> None:
    run = running(ledger, "recycle/export_orders", environment="production")
    client = mounted(project, everyone).test_client()
    page = client.get(f"/ops/runs/{run.id}").get_data(as_text=True)
    assert "to confirm" in page
    token = csrf_of(page)
    wrong = client.post(f"/ops/runs/{run.id}/pause",
                        data={"csrf_token": token, "confirm": "recycle/clear_cache"})
    assert wrong.status_code == 400 and ledger.requested(run.id) is None
    right = client.post(f"/ops/runs/{run.id}/pause",
                        data={"csrf_token": token, "confirm": "recycle/export_orders"})
    assert right.status_code == 302 and ledger.requested(run.id) == "pause"


def test_runs_are_paged_by_keyset_never_offset(project: Path, ledger: Ledger) -> None:
    ids = [finished(ledger, "recycle/clear_cache" if i % 2 else "recycle/export_orders",
                    status="failed" if i % 3 == 0 else "succeeded",
                    operator="bob" if i % 5 == 0 else "alice").id for i in range(120)]
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        client = mounted(project, everyone).test_client()
        seen: list[int] = []
        url: str | None = "/ops/runs"
        while url:
            page = client.get(url).get_data(as_text=True)
            seen += [int(i) for i in re.findall(RUN_LINK, page)]
            found = re.search(r'<a href="([^"]+)" rel="next">', page)
            url = found.group(1).replace("&amp;", "&") if found else None
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert seen == sorted(ids, reverse=True)
    # SQLite's dialect writes "LIMIT ? OFFSET ?" for any limit: the offset is always 0.
    reads = [(s, p) for s, p in statements if "FROM opsctl_runs" in s]
    assert len(reads) >= 3
    assert not [s for s, p in reads if "OFFSET" in s and p[-1] != 0]
    failed_bob = client.get("/ops/runs?status=failed&operator=bob").get_data(as_text=True)
    shown = [int(i) for i in re.findall(RUN_LINK, failed_bob)]
    assert shown == [i for n, i in enumerate(ids) if n % 3 == 0 and n % 5 == 0][::-1]
    one = client.get("/ops/runs?script=recycle/clear_cache").get_data(as_text=True)
    assert "recycle/export_orders" not in one


def test_a_running_run_shows_its_progress_and_the_json_follows_checkpoints(
        project: Path, ledger: Ledger) -> None:
    run = running(ledger, "recycle/export_orders", total=200)
    ledger.checkpoint(run.id, done=50)
    client = mounted(project, everyone).test_client()
    assert "25% 50/200" in client.get("/ops/runs").get_data(as_text=True)
    ledger.checkpoint(run.id, done=150)
    found = client.get(f"/ops/progress?ids={run.id}").get_json()
    assert found[str(run.id)]["status"] == "running"
    assert found[str(run.id)]["progress"]["percent"] == 75.0


def test_serve_lets_in_only_the_token_then_its_cookie(project: Path) -> None:
    app, access = serving_app(str(project), "dev")
    client = app.test_client()
    assert client.get("/").status_code == 403
    assert client.get("/?token=guessed").status_code == 403
    entered = client.get(f"/?token={access.token}")
    assert entered.status_code == 302 and entered.headers["Location"] == "/"
    assert client.get("/runs").status_code == 200
    assert app.test_client().get("/runs").status_code == 403  # no cookie, no entry
    script = client.get("/static/opsctl_web/live.js")  # the blueprint's, not a bare app's
    assert script.status_code == 200 and b"data-progress-url" in script.data
    script.close()


def test_opsctl_serve_prints_a_token_url_on_localhost(project: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "opsctl", "--project", str(project),
                                "serve", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{40,}", url), url
        bare = url.split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bare + "runs", timeout=10)
        assert refused.value.code == 403
        refused.value.close()
        import http.cookiejar

        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with browser.open(url, timeout=10) as opened:  # the cookie, then the redirect
            assert opened.status == 200 and "Scripts" in opened.read().decode()
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_readme_s_mounting_example_works(project: Path, ledger: Ledger) -> None:
    """The README's example, run as written in a team's app with Flask-Login."""
    from flask_login import LoginManager, UserMixin

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Mounting it, and saying who may do what", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    run = running(ledger, "recycle/export_orders")

    class User(UserMixin):
        def __init__(self, name: str) -> None:
            self.id = self.username = name
            self.is_admin = name == "ada"

    app = Flask("team")
    app.secret_key = "not a secret: a test"
    app.config["OPSCTL_PROJECT"] = str(project)
    LoginManager(app).request_loader(
        lambda request: User(request.headers["X-User"]) if "X-User" in request.headers
        else None)
    exec(compile(example, "README.md", "exec"), {"app": app})
    client = app.test_client()
    assert client.get("/ops/runs").status_code == 403
    page = client.get(f"/ops/runs/{run.id}", headers={"X-User": "sam"})
    assert page.status_code == 200 and "csrf_token" not in page.get_data(as_text=True)
    page = client.get(f"/ops/runs/{run.id}", headers={"X-User": "ada"})
    assert "Pause at the next batch" in page.get_data(as_text=True)


def test_a_page_deep_in_the_ledger_is_a_bounded_walk_of_the_start_index(
        project: Path, ledger: Ledger) -> None:
    from opsctl.ledger.paging import Filters, Position, page

    runs = [finished(ledger, "recycle/clear_cache") for _ in range(6)]
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(ledger.engine, "before_cursor_execute", record)
    try:
        middle = runs[3]
        found, after = page(ledger, Filters(), before=Position(middle.started_at, middle.id),
                            size=2)
    finally:
        sa.event.remove(ledger.engine, "before_cursor_execute", record)
    assert [r.id for r in found] == [runs[2].id, runs[1].id]
    assert after == Position(runs[1].started_at, runs[1].id)
    statement, parameters = statements[-1]
    with ledger.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in
                        conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "SEARCH opsctl_runs USING INDEX ix_opsctl_runs_start (started_at<?)" in plan, plan


def test_the_project_is_the_one_holding_the_app_s_package(project: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    import opsctl.web

    monkeypatch.delenv("OPSCTL_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)  # not the project: found from the app's package
    (project / "shop").mkdir()
    app = Flask("shop", root_path=str(project / "shop"))
    app.secret_key = "not a secret: a test"
    opsctl.web.init_app(app, authorize=everyone)
    assert "recycle/clear_cache" in app.test_client().get("/ops/").get_data(as_text=True)
