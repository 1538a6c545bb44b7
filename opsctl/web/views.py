"""The dashboard's blueprint: its pages, the guard before each request and the headers after,
and the actions (POST only, with the session's CSRF token).

Pages: scripts (``/``), runs (``/runs``, paged by keyset: ``?after=<position>``), one run
(``/runs/<id>``), and the progress of running runs as JSON (``/progress?ids=1,2``) that the
pages' small script polls. Actions: pause and cancel a running run, through the ledger's
:meth:`~opsctl.ledger.progress.Checkpoints.request`, as ``opsctl pause``/``cancel`` ask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from . import guard, pages

if TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse

    from ..ledger.store import Ledger
    from ..project import Project

blueprint = Blueprint("opsctl", __name__, template_folder="templates",
                      static_folder="static", static_url_path="/static")

#: Runs per page.
PAGE_SIZE = 50


def settings() -> dict[str, Any]:
    found: dict[str, Any] = current_app.extensions["opsctl"]
    return found


def access() -> guard.Access:
    found: guard.Access = settings()["access"]
    return found


def source() -> pages.Source:
    found: pages.Source = settings()["source"]
    return found


@blueprint.before_request
def check() -> Any:
    """Refuse whatever the configured access does not allow; drop a token from the URL."""
    if request.endpoint == "opsctl.static":
        return None
    if "opsctl" not in current_app.extensions:
        return refused("setup")
    who = access()
    if who.entry(request.args, session):
        return redirect(request.path)
    if not who.configured:
        return refused("setup")
    g.opsctl_user = who.user()
    if not who.allows(g.opsctl_user, "view", None):
        return refused("token" if isinstance(who, guard.TokenAccess) else "view")
    if request.method == "POST" and not guard.csrf_ok(session, request.form.get("csrf_token")):
        return refused("csrf", status=400)
    return None


def refused(why: str, status: int = 403) -> tuple[str, int]:
    return render_template("opsctl_web/refused.html", why=why), status


@blueprint.after_request
def headers(response: BaseResponse) -> BaseResponse:
    for name, value in guard.HEADERS.items():
        response.headers[name] = value
    return response


@blueprint.app_template_global("csrf_token")
def csrf_token() -> str:
    return guard.csrf_token(session)


@blueprint.app_template_global("opsctl_may")
def may(action: str, script: str | None = None) -> bool:
    """Whether the user of this request may do ``action`` (the templates hide the rest)."""
    return access().allows(g.get("opsctl_user"), action, script)


def _project_and_ledger() -> tuple[Project, Ledger | None]:
    project = source().project()
    return project, source().ledger(project)


@blueprint.route("/")
def scripts() -> str:
    project = source().project()
    wanted = {k: request.args.get(k, "").strip() for k in ("kind", "owner", "q")}
    page = pages.scripts_page(project, kind=wanted["kind"], owner=wanted["owner"],
                              search=wanted["q"])
    page = page._replace(entries=[e for e in page.entries if may("view", e.key)],
                         promote=[c for c in page.promote if may("view", c.script.key)],
                         demote=[c for c in page.demote if may("view", c.script.key)])
    from .actions import queues_of

    return render_template("opsctl_web/scripts.html", page=page, wanted=wanted,
                           stale_days=project.config.stale_days, queues=queues_of(project))


@blueprint.route("/runs")
def runs() -> str:
    from ..ledger.facts import STATUSES
    from ..ledger.paging import Filters, Position

    wanted = {k: request.args.get(k, "").strip()
              for k in ("script", "status", "operator", "environment")}
    filters = Filters(**{k: v or None for k, v in wanted.items()})
    after = request.args.get("after", "")
    before = Position.parse(after) if after else None
    _, ledger = _project_and_ledger()
    page = pages.runs_page(ledger, filters, before, PAGE_SIZE)
    page = page._replace(runs=[r for r in page.runs if may("view", r.script)])
    given: dict[str, Any] = {k: v for k, v in wanted.items() if v}
    later = url_for(".runs", **given, after=page.next.token()) if page.next else None
    first = url_for(".runs", **given) if before else None
    return render_template("opsctl_web/runs.html", page=page, wanted=wanted,
                           statuses=STATUSES, later=later, first=first)


@blueprint.route("/runs/<int:run_id>")
def run(run_id: int) -> Any:
    from ..history import summary_text, took

    project, ledger = _project_and_ledger()
    page = pages.run_page(project, ledger, run_id)
    if page is None:
        abort(404)
    if not may("view", page.run.script):
        return refused("view")
    from ..run.environment import is_protected

    environment = page.run.environment or ""
    from .actions import queues_of

    return render_template("opsctl_web/run.html", page=page, took=took(page.run),
                           queues=queues_of(project),
                           summary=summary_text(page.run.summary),
                           protected=is_protected(environment,
                                                  project.config.protected_environments))


@blueprint.route("/progress")
def progress() -> Any:
    """The progress of the runs asked for (``ids=1,2,3``), for the pages' polling."""
    ids = [int(i) for i in request.args.get("ids", "").split(",")[:200] if i.isdigit()]
    _, ledger = _project_and_ledger()
    if ledger is None or not ids:
        return jsonify({})
    found = {}
    for run_id in ids:
        one = ledger.run(run_id)
        if one is None or not may("view", one.script):
            continue
        shown = pages.progress_of(ledger, [one], statuses=None).get(run_id)
        found[str(run_id)] = {"status": one.status,
                              "progress": shown.as_dict() if shown else None}
    return jsonify(found)


@blueprint.route("/runs/<int:run_id>/<any(pause, cancel):action>", methods=["POST"])
def stop(run_id: int, action: str) -> Any:
    """Ask a running run to pause or cancel at its next batch boundary, or cancel a queued
    one, as ``opsctl pause`` and ``opsctl cancel`` do (:func:`.actions.stop`); what happened
    is shown on its page."""
    from ..errors import OpsctlError
    from ..run.environment import is_protected
    from . import actions

    project, ledger = _project_and_ledger()
    found = ledger.run(run_id) if ledger is not None else None
    if ledger is None or found is None:
        abort(404)
    if not access().allows(g.opsctl_user, action, found.script):
        return refused("act")
    if found.environment and is_protected(found.environment,
                                          project.config.protected_environments) \
            and request.form.get("confirm", "").strip() != found.script:
        return refused("confirm", status=400)
    try:
        flash(actions.stop(project, ledger, found, action, operator()))
    except OpsctlError as exc:
        flash(exc.format_message())
    return redirect(url_for(".run", run_id=run_id))


def operator() -> str:
    """Who asks, as recorded: the logged-in user and the request's address."""
    name = access().name_of(g.get("opsctl_user"))
    return f"{name} (web {request.remote_addr or 'unknown address'})"


@blueprint.route("/scripts/<path:key>/start", methods=["GET", "POST"])
def start(key: str) -> Any:
    """The form that starts a run of a script (GET), and queuing it (POST)."""
    from ..errors import OpsctlError
    from .actions import queues_of
    from .form import args_of, fields_of

    project = source().project()
    try:
        script = project.catalogue.resolve(key)
    except OpsctlError:
        abort(404)
    if not may("run", script.key):
        return refused("act")
    fields = fields_of(script.path.read_text(encoding="utf-8", errors="replace"),
                       project.config.secret_options)
    queues = queues_of(project)
    if request.method == "POST":
        queue = request.form.get("queue", "")
        if queue not in queues:
            abort(400)
        from . import actions

        try:
            run = actions.start(project, script, args_of(fields, request.form), queue=queue,
                                dry_run="dry_run" in request.form,
                                reason=request.form.get("reason", "").strip() or None,
                                confirmed=request.form.get("confirm", "").strip() == script.key,
                                operator=operator())
        except OpsctlError as exc:
            flash(exc.format_message())
            return redirect(url_for(".start", key=script.key))
        flash(f"run {run.id} of {run.script} queued on {queue}")
        return redirect(url_for(".run", run_id=run.id))
    return render_template("opsctl_web/start.html", key=script.key, fields=fields,
                           queues=queues)


@blueprint.route("/runs/<int:run_id>/resume", methods=["POST"])
def resume(run_id: int) -> Any:
    """Queue the resumption of a paused (or interrupted, failed, lost) run."""
    from ..errors import OpsctlError
    from . import actions
    from .actions import queues_of

    project, ledger = _project_and_ledger()
    found = ledger.run(run_id) if ledger is not None else None
    if ledger is None or found is None:
        abort(404)
    if not may("resume", found.script):
        return refused("act")
    queue = request.form.get("queue", "")
    if queue not in queues_of(project):
        abort(400)
    try:
        run = actions.resume(project, found, queue=queue,
                             confirmed=request.form.get("confirm", "").strip() == found.script,
                             operator=operator())
    except OpsctlError as exc:
        flash(exc.format_message())
        return redirect(url_for(".run", run_id=run_id))
    flash(f"run {run.id} queued on {queue}: it resumes run {run_id}")
    return redirect(url_for(".run", run_id=run.id))
