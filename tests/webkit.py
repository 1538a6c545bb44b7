"""What the web dashboard's tests share: a project with scripts of each kind and a ledger
filled through the ledger's own API, and an app with the dashboard mounted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flask import Flask

import opsctl.web
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process, Run

SCRIPTS = {
    "recycle/clear_cache.py": '"""Clear the page cache after a deploy."""\n',
    "recycle/export_orders.py": '''"""Export the orders of a day as CSV."""
import click


@click.command()
@click.option("--day", metavar="YYYY-MM-DD", help="The day to export.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier export.")
def main(day, overwrite):
    click.echo(f"exporting {day}")
''',
    "unrecycle/fix_totals.py": '"""Fix the <b>totals</b> of orders saved without one."""\n',
    "alice/ts_2024_06_10_backfill_prices.py": '"""Backfill the prices of old items."""\n',
    "bob/ts_2026_11_20_check_refunds.py": '"""Look at the refunds of last week."""\n',
}


def web_project(base: Path) -> Path:
    """A project with a script of each kind (one of them stale), and no ledger yet."""
    project = base / "proj"
    for rel, text in SCRIPTS.items():
        path = project / "offline_script" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (project / "instance").mkdir()
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    return project


def ledger_of(project: Path) -> Ledger:
    return Ledger.open(f"sqlite:///{project}/instance/opsctl.sqlite3")


def finished(ledger: Ledger, script: str, *, status: str = "succeeded", operator: str = "alice",
             args: Sequence[str] = (), environment: str | None = "staging",
             output: str | None = None, error: str | None = None,
             summary: dict[str, Any] | None = None) -> Run:
    """A run of ``script`` started and ended through the ledger, as a run's process does."""
    run = ledger.start(script=script, process=Process.current(operator), args=list(args),
                       environment=environment)
    ledger.end(run, status=status, exit_code=0 if status == "succeeded" else 1, error=error,
               output_tail=output, summary=summary)
    found = ledger.run(run.id)
    assert found is not None
    return found


def running(ledger: Ledger, script: str, *, total: int = 200, done: int = 0,
            environment: str | None = "staging") -> Run:
    """A run of ``script`` still running, with its batches' progress begun."""
    run = ledger.start(script=script, process=Process.current("carol"), args=["--batch", "50"],
                       environment=environment)
    ledger.begin_progress(run.id, total=total, done=done)
    return run


def mounted(project: Path, authorize: Callable[[Any, str, str | None], bool] | None = None,
            **options: Any) -> Flask:
    """A team's app with the dashboard at /ops."""
    app = Flask("team")
    app.secret_key = "not a secret: a test"
    opsctl.web.init_app(app, project=project, authorize=authorize, **options)
    return app
