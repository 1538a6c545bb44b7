"""``opsctl list``: every script with its kind, owner, age and last run (:mod:`opsctl.listing`)."""

from __future__ import annotations

import click

from .. import output
from ..listing import FIT, list_scripts, row_of
from ..project import Project
from .params import pass_project


@click.command("list")
@click.option("--kind", type=click.Choice(["recycle", "unrecycle", "temporary", "ts"]),
              help="Only scripts of this kind (ts = temporary).")
@click.option("--owner", metavar="DEVELOPER", help="Only this developer's temporary scripts.")
@click.option("--stale", is_flag=True, help="Only temporary scripts older than stale_days.")
@click.option("--no-runs", is_flag=True, help="Skip the ledger (no last-run column).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_project
def list_command(project: Project, kind: str | None, owner: str | None, stale: bool,
                 no_runs: bool, as_json: bool) -> None:
    """List every script: kind, owner, date, description and last run.

    \b
      opsctl list
      opsctl list --kind recycle
      opsctl list --owner yuzaoyah --stale
      opsctl list --json | jq '.[].key'
    """
    entries = list_scripts(project, kind="temporary" if kind == "ts" else kind, owner=owner,
                           stale=stale, with_runs=not no_runs)
    if as_json:
        output.print_json([e.as_dict() for e in entries])
        return
    columns = ["kind", "script", "owner", "age", "last run", "description"]
    rows = [row_of(e) for e in entries]
    if no_runs:
        del columns[4]
        for row in rows:
            del row[4]
    output.table(columns, rows, empty="no scripts match", fit=FIT)
