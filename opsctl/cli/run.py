"""``opsctl run``: a script in the app context, on the record (:mod:`opsctl.run.runner`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..run.args import MAX_SHARDS, is_seconds
from .params import SCRIPT, Between, pass_project

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..project import Project


class RunCommand(click.Command):
    """``opsctl run``: everything after the script name belongs to the script, a bare
    ``--wait`` (no number after it) means waiting as long as it takes, and a bare ``--resume``
    (no run id after it) the script's newest unfinished run."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _bare_wait(self, args))


def _bare_wait(command: click.Command, args: list[str]) -> list[str]:
    """The arguments with ``--wait=inf`` for a bare ``--wait`` and ``--resume=`` for a bare
    ``--resume``."""
    takes_value = {opt for p in command.params if isinstance(p, click.Option)
                   and not p.is_flag and not p.count for opt in p.opts}
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--wait":
            nxt = args[i + 1] if i + 1 < len(args) else None
            if nxt is None or not is_seconds(nxt):
                out.append("--wait=inf")
                i += 1
                continue
        if arg == "--resume":
            nxt = args[i + 1] if i + 1 < len(args) else None
            if nxt is None or not nxt.isdigit():
                out.append("--resume=")
                i += 1
                continue
        out.append(arg)
        if arg == "--" or not arg.startswith("-"):
            out.extend(args[i + 1:])  # the script's name, then its own arguments
            break
        if arg in takes_value and i + 1 < len(args):
            out.append(args[i + 1])
            i += 1
        i += 1
    return out


@click.command("run", cls=RunCommand, context_settings={"allow_interspersed_args": False})
@click.argument("script", type=SCRIPT, required=False, metavar="SCRIPT")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--app", "app_path", metavar="IMPORT",
              help="The Flask app, in any form 'flask --app' takes; wins over every setting "
                   "(default: OPSCTL_APP, [tool.opsctl] app, FLASK_APP or .flaskenv, then "
                   "discovery in the app folder).")
@click.option("--dry-run", is_flag=True,
              help="Roll back every change made through the app's db.session, and mark the "
                   "run as dry.")
@click.option("--reason", metavar="TEXT", help="Why it runs (a ticket, a sentence); recorded.")
@click.option("-y", "--yes", is_flag=True,
              help="Confirm a run in a protected environment without asking.")
@click.option("--force", is_flag=True,
              help="Run an unrecycle/ script that already succeeded once.")
@click.option("--wait", type=click.FloatRange(min=0), metavar="[SECONDS]",
              help="If another run holds the lock, wait for it (at most SECONDS) instead of "
                   "refusing at once.")
@click.option("--request-context", is_flag=True,
              help="Also push a test request context, for code that reads flask.request.")
@click.option("--no-ledger", is_flag=True,
              help="Run without the ledger: no record, no run-once check, a lock on this "
                   "machine only.")
@click.option("--resume", metavar="[RUN_ID]",
              help="Resume a paused or failed run: a new run of its script with its arguments, "
                   "whose batches start after its last checkpoint (no RUN_ID: the script's "
                   "newest unfinished run).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="Stop after N items, at a batch boundary: the run ends paused (exit 80), "
                   "to be resumed.")
@click.option("--throttle", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Sleep SECONDS between batches.")
@click.option("--max-rate", type=click.FloatRange(min=0, min_open=True),
              metavar="ITEMS_PER_SECOND",
              help="Process at most this many items per second (sleeping between batches).")
@click.option("--queue", metavar="NAME",
              help="Hand the run to a queue's workers ([tool.opsctl.queues]): record it as "
                   "queued, print its id and return at once.")
@click.option("--shards", type=Between(2, MAX_SHARDS), metavar="N",
              help="With --queue: cut the run into N child runs that the workers run side by "
                   "side, each on its own range of the script's batches() key (an integer "
                   "column); the run ends when they all have.")
@click.option("--wait-result", is_flag=True,
              help="With --queue: follow the run to its end and exit with its exit code.")
@click.option("--allow-changed", is_flag=True,
              help="With --queue: run the script even if it changed between asking and the "
                   "worker starting it.")
@pass_project
def run_command(project: Project, script: Script | None, args: tuple[str, ...],
                app_path: str | None, dry_run: bool, reason: str | None, yes: bool,
                force: bool, wait: float | None, request_context: bool, no_ledger: bool,
                resume: str | None, limit: int | None, throttle: float | None,
                max_rate: float | None, queue: str | None, shards: int | None,
                wait_result: bool, allow_changed: bool) -> None:
    """Run a script inside the Flask app context and record the run.

    opsctl's own options go BEFORE the script name; everything after SCRIPT goes to
    the script itself: 'opsctl run SCRIPT --help' shows a Click script's own options
    (or a plain script's docstring). A plain main() or legacy script gets opsctl's
    option names (--dry-run, --wait, ...) only after '--'. The exit code is the
    script's own; opsctl's refusals use 74-79, a run stopped at a batch boundary
    exits 80 (paused) or 81 (cancelled), and Ctrl-C / SIGTERM / SIGHUP / SIGQUIT
    give 130 / 143 / 129 / 131.

    \b
      opsctl run recycle/clear_cache
      opsctl run --reason "TICKET-42" recycle/flush_calendar --days 7
      opsctl run --dry-run unrecycle/flush_order_data
      opsctl run --wait 60 recycle/clear_cache
    """
    from ..run.args import RunOptions
    from ..run.runner import run_script
    from . import main

    ctx = click.get_current_context()
    if script is None and not (resume or "").isdigit():
        raise click.MissingParameter(ctx=ctx, param=next(
            p for p in run_command.params if p.name == "script"))
    if script is None and args:
        raise click.UsageError("--resume RUN_ID: put the script's name before its arguments")
    info, flask_app = _flask_side(ctx)
    options = RunOptions(app=app_path or flask_app,
                         app_source="--app" if app_path or not flask_app else "flask --app",
                         dry_run=dry_run, yes=yes, force=force, wait=wait,
                         reason=reason, no_ledger=no_ledger, request_context=request_context,
                         script_info=info, prog=ctx.command_path, resume=resume, limit=limit,
                         throttle=throttle, max_rate=max_rate, own_process=main.PROGRAM)
    if queue is None:
        if wait_result or allow_changed or shards is not None:
            raise click.UsageError("--shards, --wait-result and --allow-changed go with "
                                   "--queue NAME: a sharded run's shards run on a queue's "
                                   "workers")
        ctx.exit(run_script(project, script, args, options))
    if no_ledger:
        raise click.UsageError("--queue needs the ledger: a queued run is its row")
    if shards is not None:
        from ..queue.shards import asked_sharded

        ctx.exit(asked_sharded(project, script, args, options, queue, shards,
                               wait_result=wait_result, allow_changed=allow_changed))
    from ..queue.dispatch import asked

    ctx.exit(asked(project, script, args, options, queue, wait_result=wait_result,
                   allow_changed=allow_changed))


def _flask_side(ctx: click.Context) -> tuple[Any, str | None]:
    """Inside ``flask ops run``: the ``flask`` command's ScriptInfo, and the app given with
    ``flask --app`` on its command line. Flask puts ``FLASK_APP`` (from the environment or
    ``.flaskenv``) in the same place; only the command line is an explicit choice, so only
    it is taken here: ``FLASK_APP`` keeps its own place in the order."""
    node: click.Context | None = ctx
    while node is not None:
        if type(node.obj).__name__ == "ScriptInfo" and (
                node.parent is None or type(node.parent.obj).__name__ != "ScriptInfo"):
            given = node.get_parameter_source("app") is click.core.ParameterSource.COMMANDLINE
            return node.obj, node.obj.app_import_path if given else None
        node = node.parent
    return None, None
