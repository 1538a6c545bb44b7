"""``opsctl history``: the run ledger, newest first, or one run whole (:mod:`opsctl.history`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .. import output
from ..ledger.facts import STATUSES
from .params import SCRIPT, pass_project

if TYPE_CHECKING:
    from ..project import Project


class _ScriptOrKey(click.ParamType):  # type: ignore[type-arg]  # generic only from Click 8.5
    """A ``<script>``, completed like everywhere; a script that is gone is named by its key."""

    name = "script"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        from ..history import script_key
        from .params import project_of

        assert ctx is not None
        return script_key(project_of(ctx), str(value))

    def shell_complete(self, ctx: click.Context, param: click.Parameter,
                       incomplete: str) -> list[click.shell_completion.CompletionItem]:
        return SCRIPT.shell_complete(ctx, param, incomplete)


@click.command("history")
@click.argument("script", type=_ScriptOrKey(), required=False)
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="At most this many runs (0: all).")
@click.option("--run", "run_id", type=int, metavar="ID", help="Show one run whole: args, "
              "timings, error and output tail.")
@click.option("--follow", is_flag=True, help="With --run: show its progress live until it "
              "ends, then exit with its exit code.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_project
def history_command(project: Project, script: str | None, status: str | None, limit: int,
                    run_id: int | None, follow: bool, as_json: bool) -> None:
    """Show the run ledger, newest first, or one run whole.

    Running and paused runs show their progress (45% 4,500/10,000, ~3 min left).

    A script's history includes the runs it had under former names (promote, demote,
    rename) and those of scripts absorbed into it, marked (absorbed). A name no
    script has now shows the runs recorded under it, and says where its script went.

    \b
      opsctl history
      opsctl history recycle/clear_cache --limit 5
      opsctl history --status failed --json
      opsctl history --run 42
      opsctl history --run 42 --follow
    """
    from .. import history

    if follow and (run_id is None or as_json):
        raise click.UsageError("--follow shows one run live: give it with --run ID, "
                               "without --json")
    if run_id is not None:
        if script is not None or status is not None:
            raise click.UsageError("--run shows one run; give it without SCRIPT or --status")
        if follow:
            from ..follow import follow_run

            raise click.exceptions.Exit(follow_run(project, run_id))
        whole = history.one_run(project, run_id)
        if as_json:
            output.print_json(whole.as_dict())
        else:
            click.echo(history.details(whole))
        return
    with history.shown(project, script, status=status, limit=limit or None) as found:
        for note in found.elsewhere:  # runs under this name that another script has now
            output.note(note)
        if as_json:
            # Written as they come; a script's runs say which came from a script absorbed
            # into it.
            output.print_json_items(history.json_items(found, absorbed=script is not None))
            return
        shown = history.table(found)
        if shown is not None:
            output.table_pages(shown.columns, shown.pages, fit=history.FIT)
            return
    output.note(history.nothing_shown(project, script, status, found.elsewhere))
