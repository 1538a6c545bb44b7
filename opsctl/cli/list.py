"""``opsctl list`` on the Click road: every script with its kind, owner, age and last run
(:mod:`opsctl.listing.show`); everyday shapes skip Click (:mod:`opsctl.cli.list_fast`)."""

from __future__ import annotations

import click

from ..listing.show import ListOptions, execute
from ..project import Project
from .params import pass_project

#: The values of ``--kind`` (``ts`` is ``temporary``).
KINDS = ("recycle", "unrecycle", "temporary", "ts")


@click.command("list")
@click.option("--kind", type=click.Choice(KINDS),
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
    # The work is opsctl.listing.show's, shared with the fast path that `opsctl list` takes
    # without Click for its everyday shapes.
    execute(project, ListOptions(kind=kind, owner=owner, stale=stale, no_runs=no_runs,
                                 as_json=as_json))
