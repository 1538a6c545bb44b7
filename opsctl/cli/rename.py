"""``opsctl rename`` and ``opsctl absorb``: the convention's own workflow after extending a
script, thin skins over :mod:`opsctl.lifecycle.renames` and :mod:`opsctl.lifecycle.absorb`."""

from __future__ import annotations

import click

from .. import output
from ..catalogue import Script, printable
from ..identity import first_guess_note
from ..lifecycle.renames import mentions_of
from ..project import Project
from .params import SCRIPT, pass_project


def _operator(project: Project) -> str:
    operator = project.identity.name
    note = first_guess_note(project.identity)
    if note:
        output.note(note)
    return operator


def _mentions(project: Project, key: str) -> None:
    """List the tracked lines that still name ``key``, for the operator to update."""
    from ..gitops import GitError

    shown = printable(key)
    try:
        found = mentions_of(project.config.root, key)
    except GitError as exc:
        output.warn(f"could not search for what still mentions {shown}: {exc.message}")
        return
    if not found.searched:
        output.note(f"not a git work tree: search your cron files, CI configs and docs for "
                    f"{shown} yourself")
    elif not found.found:
        output.note(f"no tracked file mentions {shown}")
    else:
        output.echo(f"still mentioning {shown} (update them):")
        for m in found.found:
            output.echo(f"  {m.path}:{m.line}: {m.text.strip()}")


def _runs(count: int, *, done: bool) -> str:
    """``1 run now shows``, ``2 runs now show``; ``2 runs would show``."""
    noun = "1 run" if count == 1 else f"{count} runs"
    if not done:
        return f"{noun} would show"
    return f"{noun} now show{'s' if count == 1 else ''}"


@click.command("rename")
@click.argument("script", type=SCRIPT)
@click.argument("new_name")
@pass_project
def rename_command(project: Project, script: Script, new_name: str) -> None:
    """Give a script a better name in its own folder; its history follows.

    NEW_NAME is the purpose only: a temporary script keeps its ts_YYYY_MM_DD_
    prefix. The name passes the lint and never overwrites a script. In a git
    work tree the rename is a git mv; the ledger records it, so the script's
    history, lock and run-once follow it (a script with a run in progress is not
    renamed). Then the tracked files that still mention the old name (cron
    files, CI configs, docs, other scripts) are listed, not edited.

    \b
      opsctl rename recycle/export_order_id_and_custom_name export_order
      opsctl rename yuzaoyah/ts_2024_06_10_export_custom_s export_customers
    """
    from ..lifecycle.moves import apply_move
    from ..lifecycle.renames import plan_rename

    move = plan_rename(script, new_name, naming=project.naming)
    moved = apply_move(move, config=project.config, operator=_operator(project))
    output.success(f"renamed {move.source.display} -> {move.target.display}.py "
                   f"({moved.method})")
    _mentions(project, move.source.key)


@click.command("absorb")
@click.argument("keep", type=SCRIPT)
@click.argument("other", type=SCRIPT)
@click.option("--check", is_flag=True, help="Only show what absorb would do; change nothing.")
@pass_project
def absorb_command(project: Project, keep: Script, other: Script, check: bool) -> None:
    """Remove a script folded into another; its history becomes the other's.

    Once OTHER's purpose has been folded into KEEP (a script of the same kind),
    absorb removes OTHER (a git rm when git tracks it) and records that its
    history now belongs to KEEP: 'opsctl history KEEP' shows OTHER's runs marked
    as absorbed, and an unrecycle/ OTHER's succeeded run counts for KEEP's
    run-once. A script with a run in progress is not absorbed. Then the tracked
    files that still mention OTHER are listed, not edited.

    \b
      opsctl absorb --check recycle/export_order recycle/export_order_ids
      opsctl absorb recycle/export_order recycle/export_order_ids
    """
    from ..lifecycle.absorb import apply_absorb, check_absorb, plan_absorb

    plan = plan_absorb(keep, other)
    if check:
        would = check_absorb(plan, config=project.config)
        output.echo(f"would remove {other.display} ({would.method}) and record it as absorbed "
                    f"into {keep.display}:")
        if would.runs:
            output.echo(f"  its {_runs(would.runs, done=False)} in opsctl history "
                        f"{keep.display}, marked absorbed")
        else:
            output.echo("  it has no recorded runs")
        if would.succeeded and other.kind == "unrecycle":
            output.echo(f"  its succeeded run would count for {keep.display}'s run-once "
                        "(opsctl run refuses it again without --force)")
        return
    done = apply_absorb(plan, config=project.config, operator=_operator(project))
    output.success(f"absorbed {other.display} into {keep.display} ({done.method}); its "
                   f"{_runs(done.runs, done=True)} in opsctl history {keep.display}")
    _mentions(project, other.key)
