"""``opsctl init``: the offline-script layout and a ``[tool.opsctl]`` table."""

from __future__ import annotations

from pathlib import Path

import click

from .. import output
from ..config import absolute
from ..errors import ConfigError
from ..scaffold import guess_init_dir, init_project
from .params import project_of


@click.command("init")
@click.option("--root", "root_name", metavar="FOLDER",
              help="The offline-script folder, inside the project (default: the configured "
                   "root, else offline_script).")
@click.pass_context
def init_command(ctx: click.Context, root_name: str | None) -> None:
    """Create the offline-script layout and a [tool.opsctl] table.

    Creates offline_script/ with recycle/, unrecycle/ and a short README, and adds
    [tool.opsctl] to pyproject.toml when there is none. Safe to run again: nothing
    that exists is changed.

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
    if not result.created and result.pyproject_created is None:
        output.note(f"already set up in {project_dir}; nothing to do")
        return
    for path in result.created:
        output.echo(f"created {path.relative_to(project_dir)}{'/' if path.is_dir() else ''}")
    if result.pyproject_created is not None:
        output.echo(f"{'created' if result.pyproject_created else 'updated'} pyproject.toml "
                    "([tool.opsctl])")
    output.note("next: opsctl new ts <what>   (a temporary script in your own folder)")
