"""``opsctl init``: the offline-script layout and a ``[tool.opsctl]`` table."""

from __future__ import annotations

from pathlib import Path

import click

from .. import output
from ..config import absolute
from ..errors import ConfigError, Declined
from ..ledger.migrations import BY_HAND, EnvScript, diff, to_wire, wire
from ..prompt import can_ask, confirm
from ..scaffold import APP_LINE, app_found_note, guess_init_dir, init_project
from .params import project_of


@click.command("init")
@click.option("--root", "root_name", metavar="FOLDER",
              help="The offline-script folder, inside the project (default: the configured "
                   "root, else offline_script).")
@click.option("-y", "--yes", is_flag=True,
              help="Change migrations/env.py without asking, so the app's migrations leave "
                   "opsctl's tables alone.")
@click.pass_context
def init_command(ctx: click.Context, root_name: str | None, yes: bool) -> None:
    """Create the offline-script layout and a [tool.opsctl] table.

    Creates offline_script/ with recycle/, unrecycle/ and a short README, adds
    [tool.opsctl] to pyproject.toml when there is none, and keeps the run ledger
    (instance/opsctl.sqlite3) out of git in .gitignore. Safe to run again: nothing
    that exists is changed. A Flask-Migrate/Alembic migrations/env.py that would drop
    the ledger's tables is shown the change that keeps them, and given it with --yes
    or a yes at the question.

    \b
      opsctl init
      opsctl --project ~/src/shop init --root scripts/offline
    """
    given = project_of(ctx).given_dir
    if given is not None:
        project_dir = Path(absolute(given))  # spelled as the configuration spells folders
        if not project_dir.is_dir():
            if not project_dir.parent.is_dir():
                raise ConfigError(f"--project {project_dir}: no such folder")
            project_dir.mkdir()
    else:
        project_dir = guess_init_dir(Path.cwd())
    result = init_project(project_dir, root_name)
    env = to_wire(project_dir)
    for path in result.created:
        output.echo(f"created {path.relative_to(project_dir)}{'/' if path.is_dir() else ''}")
    if result.pyproject_created is not None:
        output.echo(f"{'created' if result.pyproject_created else 'updated'} pyproject.toml "
                    "([tool.opsctl])")
    if result.app is not None or result.app_folder is not None:
        output.echo(app_found_note(result))
    if result.ignored is not None:
        output.echo(f"{'created' if result.ignored.created else 'updated'} .gitignore "
                    f"({', '.join(result.ignored.entries)}: the run ledger stays out of git)")
    if env is not None:
        _leave_ledger_alone(env, project_dir, yes)
    if result.no_app:
        left = "left commented out in" if result.pyproject_created is not None else "not set in"
        output.warn(f"no Flask app found (no [tool.opsctl] app, no FLASK_APP, no wsgi.py, "
                    f"app.py or package with a create_app), so app is {left} pyproject.toml: "
                    f"add  {APP_LINE}  under [tool.opsctl], naming your app as flask --app does")
    if not result.created and result.pyproject_created is None and result.ignored is None \
            and env is None:
        output.note(f"already set up in {project_dir}; nothing to do")
        return
    output.note("next: opsctl new ts <what>   (a temporary script in your own folder)")


def _leave_ledger_alone(env: EnvScript, project_dir: Path, yes: bool) -> None:
    shown = str(env.path.relative_to(project_dir))
    output.note(f"{shown} does not leave opsctl's tables out of Alembic's autogenerate: with "
                "ledger_url in the app's database, the next 'flask db migrate' would drop them")
    if env.changed is None:
        output.note(BY_HAND.format(env=shown))
        return
    if not yes:
        for line in diff(env, shown):
            output.note(line)
        try:
            yes = can_ask() and confirm(f"Change {shown}?", otherwise=f"{shown} unchanged")
        except Declined:
            yes = False
        if not yes:
            output.note(f"{shown} unchanged; 'opsctl init --yes' makes the change")
            return
    wire(env)
    output.echo(f"updated {shown} (opsctl's tables left out of the app's migrations)")
