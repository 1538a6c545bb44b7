from __future__ import annotations

from pathlib import Path

import click

from .. import output
from ..identity import first_guess_note
from ..project import Project
from ..scaffold import create, describe, plan_new, render, similar_recycle
from . import pass_project


def _parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--var")
        out[key] = value
    return out


def _shown(path: Path, project_dir: Path) -> str:
    return str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) else str(path)


@click.command("new")
@click.argument("kind", type=click.Choice(["ts", "recycle"]))
@click.argument("name")
@click.option("-m", "--message", help="What the script does (its docstring's first line).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="An extra template variable; repeatable.")
@pass_project
def new_command(project: Project, kind: str, name: str, message: str | None,
                variables: tuple[str, ...]) -> None:
    """Create a script from a template and print its path.

    \b
      opsctl new ts export_order_data
          -> offline_script/<you>/ts_<today>_export_order_data.py
      opsctl new recycle clear_cache -m "Clear expired cache entries."
          -> offline_script/recycle/clear_cache.py

    NAME is the purpose in snake_case; opsctl adds ts_ and the date itself.
    """
    extra = _parse_vars(variables)
    developer = project.identity.name if kind == "ts" else None
    script = plan_new(kind, name, config=project.config, naming=project.naming,
                      catalogue=project.catalogue,
                      developer=developer or "", today=None)
    if developer is not None:
        note = first_guess_note(project.identity)
        if note:
            output.note(note)
    similar = similar_recycle(name, project.catalogue)
    if similar:
        output.warn(f"recycle/ already has scripts of a similar purpose: {', '.join(similar)}; "
                    "the convention is to extend one of those instead of adding another")
    variables_all = {
        "name": name, "kind": kind, "developer": developer or project.identity.name,
        "date": project.naming.today.isoformat(), "description": message or describe(name),
        "key": script.key, "rel": _shown(script.path, project.dir),
        **extra,
    }
    content = render(kind, variables_all, project_templates=project.config.templates)
    create(script, content)
    output.echo(variables_all["rel"])
