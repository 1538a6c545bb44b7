"""Running a script in a test: in process, through ``opsctl run``'s own runner, against an app
built for tests and a ledger of the test's own.

:class:`ScriptRunner` is what the pytest fixture ``opsctl_run`` (:mod:`opsctl.pytest_plugin`)
hands to a test; it works without pytest too::

    runner = ScriptRunner(project_dir, app=app, ledger_url="sqlite:////tmp/t/ledger.sqlite3")
    result = runner("recycle/clear_cache", "--older-than", "7d", dry_run=True)
    assert result.exit_code == 0, result.output

The run takes the path of ``opsctl run`` from the script's arguments on: its entry point, the
run-once check, the lock, the dry-run guard (a dry run's changes are rolled back even after the
script commits), the outcome and its record. What ``opsctl run`` answers with an exit code (an
unknown script, a usage error, a refusal) comes back as a :class:`ScriptRun` with that code
and the message in its output. A run never asks: it is confirmed as with ``--yes``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from flask import Flask

    from .catalogue import Script
    from .config import StrPath
    from .ledger.values import Run
    from .project import Project


class ScriptRun(NamedTuple):
    """One run of a script in a test, as ``opsctl run`` ended it."""

    #: The script's key, ``recycle/clear_cache``, or what was asked for when none was found.
    script: str
    args: tuple[str, ...]
    #: What ``opsctl run`` would exit with: the script's own code, or opsctl's refusal.
    exit_code: int
    #: Everything written to stdout and stderr during the run, the script's and opsctl's.
    output: str
    #: What the script passed to ``report()``, as the ledger keeps it (JSON values).
    summary: dict[str, Any]
    dry_run: bool
    #: ``succeeded``, ``failed`` or ``interrupted``; None when no run was recorded (refused
    #: before the script started, or ``--help``).
    status: str | None
    run_id: int | None
    #: The error recorded: the traceback of an exception, the message of an exit.
    error: str | None


class ScriptRunner:
    """Runs the scripts of the project in ``project_dir`` in this process.

    ``app``: the Flask app to run against (a test's own, built with its test configuration);
    None loads the project's app the way ``opsctl run`` finds it, with ``TESTING = True``.
    ``ledger_url``: where runs are recorded (a test's throwaway database); the project's own
    ledger is never touched.
    """

    def __init__(self, project_dir: StrPath, *, ledger_url: str,
                 app: Flask | None = None) -> None:
        self.project_dir = os.fspath(project_dir)
        self.ledger_url = ledger_url
        self._app = app
        self._owns_app = False
        #: What the run's first line calls the app.
        self.app_source = "the test's app"

    @property
    def app(self) -> Flask:
        """The app scripts run against (the project's, loaded on first use)."""
        if self._app is None:
            from .run.app import load_app

            found = load_app(self._project().config, debug=True)
            found.app.config["TESTING"] = True
            self._app, self._owns_app = found.app, True
            self.app_source = f"{found.source}, loaded for tests"
        return self._app

    def run(self, script: str, *args: str, dry_run: bool = False, reason: str | None = None,
            force: bool = False, request_context: bool = False, limit: int | None = None,
            resume: bool | int = False) -> ScriptRun:
        """Run ``script`` with ``args`` as ``opsctl run [--dry-run] [--reason R] [--force]
        [--request-context] [--limit N] [--resume [RUN_ID]] --yes SCRIPT ARGS`` would
        (``resume=True``: the script's newest unfinished run); the runner itself is callable
        as this."""
        import click

        from .errors import OpsctlError
        from .run.tee import Tail, teed

        project = self._project()
        key, code, before = script, 0, -1
        tail = Tail(limit=sys.maxsize)
        path = list(sys.path)
        try:
            with teed(tail):
                try:
                    found = project.catalogue.resolve(script, cwd=project.dir)
                    key = found.display
                    newest = self._newest(project)
                    before = newest.id if newest is not None else 0
                    code = self._run(project, found, list(args), dry_run=dry_run,
                                     reason=reason, force=force,
                                     request_context=request_context, limit=limit,
                                     resume=resume)
                except (OpsctlError, click.ClickException) as exc:
                    exc.show()  # as opsctl run says it, on stderr
                    code = exc.exit_code
        finally:
            sys.path[:] = path  # the run puts the project first, as `flask` does
        run = None
        if before >= 0:  # the script was found: did a run of it start?
            newest = self._newest(project)
            if newest is not None and newest.id != before and newest.script == key:
                run = newest
        return ScriptRun(script=key, args=tuple(args), exit_code=code, output=tail.text(),
                         summary=dict(run.summary) if run else {},
                         dry_run=run.dry_run if run else dry_run,
                         status=run.status if run else None, run_id=run.id if run else None,
                         error=run.error if run else None)

    __call__ = run

    def close(self) -> None:
        """Close the database connections of an app this runner loaded itself."""
        if self._owns_app and self._app is not None:
            db = self._app.extensions.get("sqlalchemy")
            if db is not None:
                with self._app.app_context():
                    engines = list(db.engines.values())
                for engine in engines:
                    engine.dispose()

    def _project(self) -> Project:
        from .project import Project

        # debug: a failure's traceback is shown in the output, as --debug shows it.
        return Project(self.project_dir, debug=True, overrides={"ledger_url": self.ledger_url})

    def _run(self, project: Project, script: Script, args: list[str], *, dry_run: bool,
             reason: str | None, force: bool, request_context: bool, limit: int | None,
             resume: bool | int) -> int:
        from flask.cli import ScriptInfo

        from .run.args import RunOptions
        from .run.runner import run_script

        app = self.app
        # The app is given as `flask ops run` gives the one the flask command loaded.
        info = ScriptInfo(create_app=lambda: app, set_debug_flag=False)
        info.opsctl_source = self.app_source  # type: ignore[attr-defined]
        wanted = None if resume is False else "" if resume is True else str(resume)
        options = RunOptions(dry_run=dry_run, yes=True, force=force, reason=reason,
                             request_context=request_context, script_info=info, limit=limit,
                             resume=wanted)
        return run_script(project, script, args, options)

    @staticmethod
    def _newest(project: Project) -> Run | None:
        """The newest run in the ledger, None when it has none."""
        from .ledger.store import open_ledger

        with open_ledger(project.config) as ledger:
            runs = ledger.runs(limit=1)
        return runs[0] if runs else None
