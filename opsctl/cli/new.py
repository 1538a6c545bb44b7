"""``opsctl new``: a script from a template, its path printed (:mod:`opsctl.scaffold`)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import output
from ..config import DEFAULT_TEMPLATES
from ..errors import Declined
from ..project import Project
from ..prompt import can_ask
from .params import pass_project


def interactive() -> bool:
    """Whether a question can be asked: someone is at a terminal to answer it."""
    return can_ask()


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
@click.option("--force", is_flag=True,
              help="Write a recycle script even when recycle/ has one of a similar purpose.")
@click.option("--test", "with_test", is_flag=True,
              help="Also write tests/test_NAME.py, a test that runs the new recycle script "
                   "with the opsctl_run pytest fixture.")
@pass_project
def new_command(project: Project, kind: str, name: str, message: str | None,
                variables: tuple[str, ...], force: bool, with_test: bool) -> None:
    """Create a script from a template and print its path.

    \b
      opsctl new ts export_order_data
          -> offline_script/<you>/ts_<today>_export_order_data.py
      opsctl new recycle clear_cache -m "Clear expired cache entries."
          -> offline_script/recycle/clear_cache.py

    NAME is the purpose in snake_case; opsctl adds ts_ and the date itself.
    Templates: offline_script/.templates/<kind>.py.jinja in the project (or the
    folder [tool.opsctl] templates names) overrides the built-in one.

    When recycle/ already has a script of a similar purpose, new recycle shows
    what it offers (its description and options) and how to extend it instead,
    and writes nothing: in a terminal it asks, --force writes anyway.

    --test (recycle only) also writes a test beside the project's tests (tests/
    or test/) that runs the script with dry_run=True and expects exit code 0;
    when that file exists, nothing is written.
    """
    from ..identity import first_guess_note
    from ..scaffold import new_script, plan_test_stub, write_test_stub

    extra = _parse_vars(variables)
    if with_test and kind != "recycle":
        raise click.UsageError("--test writes a test for a recycle script: opsctl new "
                               "recycle NAME --test")
    # Refused before anything is written: the script is not left without its test.
    stub = plan_test_stub(project.dir, name) if with_test else None
    if kind == "recycle":
        _extend_instead(project, name.removesuffix(".py"), force)
    created = new_script(project, kind, name, message=message, variables=extra)
    _note_old_template(project, created.old_template)
    if kind == "ts":
        note = first_guess_note(project.identity)
        if note:
            output.note(note)
        if created.similar:
            _warn_similar(created.similar)
    output.echo(str(_shown(project, created.script.path)))
    if stub is not None:
        _note_old_template(project, write_test_stub(project, stub, created.script))
        if stub.folder_created:
            output.note(f"no tests/ or test/ folder in {project.dir}: created "
                        f"{_shown(project, stub.path.parent)}/ for the test")
        output.echo(str(_shown(project, stub.path)))


def _note_old_template(project: Project, template: Path | None) -> None:
    if template is not None:
        output.note(f"{_shown(project, template)}: opsctl templates in templates/ (Flask's "
                    "folder) are deprecated; move it to "
                    f"{_shown(project, project.config.root / DEFAULT_TEMPLATES)}/")


def _warn_similar(similar: list[str]) -> None:
    output.warn(f"recycle/ already has scripts of a similar purpose: {', '.join(similar)}; the "
                "convention is to extend one of those instead of adding another")


def _shown(project: Project, path: Path) -> Path:
    return path.relative_to(project.dir) if path.is_relative_to(project.dir) else path


def _extend_instead(project: Project, name: str, force: bool) -> None:
    """When recycle/ has scripts of a purpose similar to ``name``: show what each offers and
    how to extend it, then write only with ``force`` or a yes at a terminal."""
    import shlex

    from ..lifecycle.extend import offers
    from ..scaffold import plan_new

    # An invalid name or an existing file is refused first, as without similar scripts.
    target = plan_new("recycle", name, naming=project.naming, catalogue=project.catalogue,
                      developer="")
    found = offers(name, project.catalogue)
    if not found:
        return
    keys = [o.script.display for o in found]
    _warn_similar(keys)
    for offer in found:
        output.echo(f"  {offer.script.display}: {offer.description}".rstrip(), err=True)
        for line in offer.lines():
            output.echo(f"    {line}", err=True)
    output.echo("extend it instead:" if len(found) == 1 else "extend one of them instead:",
                err=True)
    for offer in found:
        output.echo(f"  $EDITOR {shlex.quote(str(_shown(project, offer.script.path)))}",
                    err=True)
    output.echo(f"  opsctl rename {keys[0]} NEW_NAME   (once it does both: a more general name)",
                err=True)
    if force:
        return
    others = " or ".join(keys)
    if not interactive():
        raise Declined(f"{target.rel} was not written: extend {others} instead, or pass "
                       "--force to write it anyway")
    from ..prompt import confirm

    if not confirm(f"Write {target.rel} anyway?", otherwise=f"{target.rel} not written"):
        raise Declined(f"{target.rel} not written; extend {others} instead")
