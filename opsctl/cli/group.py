"""The ``opsctl`` command group: global options and lazily loaded subcommands.

Subcommands live in :mod:`opsctl.cli.params`, one module per verb, and are imported only when
used, so ``opsctl --help`` and ``opsctl lint`` never pay for Flask or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import click

from ..errors import SIGINT_EXIT, OpsctlError, unexpected
from ..project import Project

#: CLI name -> "module:attribute" of the Click command. The order is the order in --help.
COMMANDS: dict[str, str] = {
    "init": "opsctl.cli.init:init_command",
    "new": "opsctl.cli.new:new_command",
    "list": "opsctl.cli.list:list_command",
    "run": "opsctl.cli.run:run_command",
    "history": "opsctl.cli.history:history_command",
    "pause": "opsctl.cli.stops:pause_command",
    "cancel": "opsctl.cli.stops:cancel_command",
    "promote": "opsctl.cli.lifecycle:promote_command",
    "demote": "opsctl.cli.lifecycle:demote_command",
    "rename": "opsctl.cli.rename:rename_command",
    "absorb": "opsctl.cli.rename:absorb_command",
    "stale": "opsctl.cli.lifecycle:stale_command",
    "clean": "opsctl.cli.lifecycle:clean_command",
    "lint": "opsctl.cli.lint:lint_command",
    "serve": "opsctl.cli.serve:serve_command",
}

#: CLI name -> the first paragraph of the command's help, so that ``opsctl --help`` lists the
#: commands without importing them (that import costs more than the rest of --help together).
#: A test keeps each one equal to its command's own; a command missing here is imported.
SUMMARIES: dict[str, str] = {
    "init": "Create the offline-script layout and a [tool.opsctl] table.",
    "new": "Create a script from a template and print its path.",
    "list": "List every script: kind, owner, date, description and last run.",
    "run": "Run a script inside the Flask app context and record the run.",
    "history": "Show the run ledger, newest first, or one run whole.",
    "pause": "Pause a running run at its next batch boundary; resume it later.",
    "cancel": "Cancel a running run at its next batch boundary, for good; a queued one at once.",
    "promote": "Move a temporary script to recycle/ or list candidates.",
    "demote": "Move a recycle script to unrecycle/, or list one-offs.",
    "rename": "Give a script a better name in its own folder; its history follows.",
    "absorb": "Remove a script folded into another; its history becomes the other's.",
    "stale": "List temporary scripts older than stale_days.",
    "clean": "Delete temporary scripts older than stale_days.",
    "lint": "Check the naming of the offline-script tree; exit 1 on any error.",
    "serve": "Serve the web dashboard on 127.0.0.1, for development.",
}


class OpsctlGroup(click.Group):
    """A group whose subcommands are imported on first use, and whose unexpected errors are
    one line unless ``--debug``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Click's own version imports every command for its short help; the same rows, from
        # SUMMARIES and Click's own shortening, without importing them.
        rows = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        for name in names:
            short = self._short_help(name, limit)
            if short is not None:
                rows.append((name, short))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _short_help(self, name: str, limit: int) -> str | None:
        summary = SUMMARIES.get(name)
        if summary is not None:
            return click.Command(name, help=summary).get_short_help_str(limit)
        command = self._load(name)
        return None if command is None or command.hidden else command.get_short_help_str(limit)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def _load(self, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpsctlError as exc:
            raise as_click(exc) from exc
        except KeyboardInterrupt:
            # Ctrl-C exits 130, as documented (and as the lint's fast path does), not with
            # Click's "Aborted!" and 1. A run records its own interruption before this.
            raise click.exceptions.Exit(SIGINT_EXIT) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit,
                BrokenPipeError):
            raise  # Click's own; and a reader gone (`opsctl list | head`) ends quietly there
        except Exception as exc:
            project = ctx.find_object(Project)
            if (project is not None and project.debug) or os.environ.get("OPSCTL_DEBUG"):
                raise
            raise as_click(unexpected(exc)) from exc


def as_click(error: OpsctlError) -> click.ClickException:
    """An opsctl refusal as Click's own exception, so Click prints ``Error: <message>`` and
    exits with the refusal's code (:mod:`opsctl.errors` does not depend on Click)."""
    converted = click.ClickException(error.message)
    # Click declares exit_code on the class; this one instance carries the refusal's own.
    converted.exit_code = error.exit_code  # type: ignore[misc]
    return converted


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("opsctl", cls=OpsctlGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--project", "project_dir", metavar="DIR", envvar="OPSCTL_PROJECT",
              type=click.Path(file_okay=False, path_type=Path),
              help="The project folder (default: found upward from the current folder).")
@click.option("--developer", metavar="NAME",
              help="Who you are (your developer folder, the ledger's operator).")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.version_option(package_name="opsctl", prog_name="opsctl")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, developer: str | None,
        debug: bool) -> None:
    """Keep a Flask project's offline scripts named, small and safe to run.

    Scripts live under offline_script/: recycle/ for scripts run again and again,
    unrecycle/ for one-off fixes kept as the record, and one folder per developer
    for temporary scripts named ts_YYYY_MM_DD_<what>.py.

    \b
    Start here:
      opsctl init                       create the layout
      opsctl new ts export_order_data   write a temporary script
      opsctl list                       see every script and its last run
      opsctl run recycle/clear_cache    run one in the app context, on the record
      opsctl lint                       check the naming (for CI)
    """
    if not isinstance(ctx.obj, Project):
        ctx.obj = Project(project_dir, debug=debug)
    project = ctx.obj
    project.debug = project.debug or debug
    project.developer_option = developer
