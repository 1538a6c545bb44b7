from __future__ import annotations

from pathlib import Path

import click

from .. import output
from ..scaffold import guess_init_dir, init_project
from . import project_of


@click.command("init")
@click.option("--root", "root_name", default="offline_script", show_default=True,
              help="Name of the offline-script folder.")
@click.pass_context
def init_command(ctx: click.Context, root_name: str) -> None:
    """Create the offline-script layout and a [tool.opsctl] table.

    Creates offline_script/ with recycle/, unrecycle/ and a short README, and adds
    [tool.opsctl] to pyproject.toml when there is none. Safe to run again: nothing
    that exists is changed.
    """
    given = project_of(ctx)._given_dir
    project_dir = given.absolute() if given else guess_init_dir(Path.cwd())
    result = init_project(project_dir, root_name)
    if not result.created:
        output.note(f"already set up in {project_dir}; nothing to do")
        return
    for path in result.created:
        what = "updated" if path.name == "pyproject.toml" and path.stat().st_size else "created"
        output.echo(f"{what} {path.relative_to(project_dir)}{'/' if path.is_dir() else ''}")
    output.note("next: opsctl new ts <what>   (a temporary script in your own folder)")
