"""``opsctl new``: a script from a template, its path printed (:mod:`opsctl.scaffold`)."""

from __future__ import annotations

import click

from .. import output
from ..project import Project
from .params import pass_project


def _parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--var")
        out[key] = value
    return out


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
    Templates: templates/<kind>.py.jinja in the project overrides the built-in one.
    """
    from ..identity import first_guess_note
    from ..scaffold import new_script

    extra = _parse_vars(variables)
    created = new_script(project, kind, name, message=message, variables=extra)
    if kind == "ts":
        note = first_guess_note(project.identity)
        if note:
            output.note(note)
    if created.similar:
        output.warn(f"recycle/ already has scripts of a similar purpose: "
                    f"{', '.join(created.similar)}; the convention is to extend one of those "
                    "instead of adding another")
    path = created.script.path
    output.echo(str(path.relative_to(project.dir) if path.is_relative_to(project.dir) else path))
