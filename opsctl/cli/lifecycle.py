"""``opsctl promote``, ``demote``, ``stale`` and ``clean``: thin skins over
:mod:`opsctl.lifecycle`."""

from __future__ import annotations

import click

from .. import output
from ..catalogue import Script
from ..errors import Declined, OpsctlError
from ..identity import first_guess_note
from ..lifecycle.candidates import Candidate, offer_moves, suggest
from ..lifecycle.cleaning import StaleScript, clean_project, find_stale, plan_clean_project
from ..lifecycle.moves import Move, Moved, Verb, apply_move, plan_move
from ..project import Project
from ..prompt import can_ask, confirm
from .params import SCRIPT, pass_project


def interactive() -> bool:
    """Whether questions can be asked: someone is at a terminal to answer them."""
    return can_ask()


# -- promote / demote -----------------------------------------------------------------------


def _move(project: Project, verb: Verb, script: Script, name: str | None, *, ask: bool) -> None:
    move = plan_move(verb, script, naming=project.naming, name=name,
                     catalogue=project.catalogue)
    if move.similar:
        output.warn(f"recycle/ already has scripts of a similar purpose: "
                    f"{', '.join(move.similar)}; the convention is to extend one of those "
                    "instead of adding another")
        if ask and interactive() and not confirm(
                f"Promote {script.display} to {move.target.display} anyway?",
                otherwise=f"{script.display} not promoted"):
            raise Declined(f"{script.display} not promoted; extend "
                           f"{' or '.join(move.similar)} instead")
    _perform(project, move)


def _perform(project: Project, move: Move) -> None:
    _moved(_carry_out(project, move))


def _carry_out(project: Project, move: Move) -> Moved:
    operator = project.identity.name
    note = first_guess_note(project.identity)
    if note:
        output.note(note)
    return apply_move(move, config=project.config, operator=operator)


def _moved(moved: Moved) -> None:
    move = moved.move
    output.success(f"{move.verb}d {move.source.display} -> {move.target.display}.py "
                   f"({moved.method})")
    if moved.reworded:
        output.note(f"its docstring now reads as a recycle script's: the temporary-script "
                    f"paragraph was rewritten; review {move.target.display}.py before "
                    "committing")


def _candidate_rows(verb: Verb, candidates: list[Candidate]) -> list[list[str]]:
    rows = []
    for c in candidates:
        evidence = [str(c.runs), str(c.days), ", ".join(c.operators),
                    f"{c.last_at:%Y-%m-%d}" if c.last_at else "never"]
        # For promote, days and operators are the why; demote has two different whys.
        why = [c.why] if verb == "demote" else []
        rows.append([c.script.display, *evidence, *why, c.others])
    return rows


def _suggest(project: Project, verb: Verb, as_json: bool) -> None:
    config = project.config
    candidates = suggest(verb, config, project.catalogue)
    # RUNS, DAYS and OPERATORS count uses only: runs that succeeded and were not dry.
    if verb == "promote":
        title = ("Temporary scripts needed again (runs that succeeded for real, on 2+ days or "
                 "by 2+ operators):")
        columns = ["script", "runs", "days", "operators", "last run", "other runs"]
        empty = ("no temporary script has succeeded for real (not dry) on two or more days "
                 "or for two or more operators; nothing to promote")
    else:
        title = (f"Recycle scripts that look one-off (run once for real, or not run for "
                 f"{config.stale_days} days; dry runs do not count):")
        columns = ["script", "runs", "days", "operators", "last run", "why", "other runs"]
        empty = (f"no recycle script was run only once for real or has gone "
                 f"{config.stale_days} days without a real run; nothing to demote")
    if as_json:
        output.print_json([c.as_dict() for c in candidates])
        return
    output.table(columns, _candidate_rows(verb, candidates), title=title, empty=empty)
    if not candidates:
        return
    for c in candidates:
        if c.target is None:
            output.note(f"{c.script.display} has no ts_YYYY_MM_DD_ name to take the new name "
                        "from: promote it with --as NAME")
    if not interactive():
        output.note(f"{verb} one with: opsctl {verb} <script>"
                    + (" [--as NAME]" if verb == "promote" else ""))
        return

    def accept(move: Move) -> bool:
        if move.similar:
            output.warn(f"recycle/ already has scripts of a similar purpose: "
                        f"{', '.join(move.similar)}")
        return confirm(f"{verb.capitalize()} {move.source.display} to {move.target.display}?",
                       otherwise=f"stopped asking: {move.source.display} and the rest not "
                                 f"{verb}d")

    failed = 0
    for offer in offer_moves(candidates, naming=project.naming, accept=accept,
                             carry_out=lambda move: _carry_out(project, move)):
        display = offer.candidate.script.display
        if offer.refused is not None:
            output.warn(f"{display}: {offer.refused.message}")
        elif offer.failed is not None:
            output.warn(f"{display} not {verb}d: {offer.failed.message}")
            failed += 1
        elif offer.moved is not None:
            _moved(offer.moved)
    if failed:
        raise OpsctlError(f"{failed} of the accepted moves failed (see above); the rest were "
                          "done")


def _run_verb(project: Project, verb: Verb, script: Script | None, name: str | None,
              yes: bool, as_json: bool) -> None:
    if script is None:
        if name is not None:
            raise click.UsageError("--as names one script; give the SCRIPT too")
        _suggest(project, verb, as_json)
        return
    if as_json:
        raise click.UsageError("--json is for the candidate list; leave SCRIPT out")
    _move(project, verb, script, name, ask=not yes)


_AS_HELP = "The name in {folder}/ (snake_case, no ts_ or date). Default: {default}."


@click.command("promote")
@click.argument("script", type=SCRIPT, required=False)
@click.option("--as", "name", metavar="NAME",
              help=_AS_HELP.format(folder="recycle", default="the name without ts_YYYY_MM_DD_"))
@click.option("-y", "--yes", is_flag=True,
              help="Do not ask when recycle/ has scripts of a similar purpose.")
@click.option("--json", "as_json", is_flag=True,
              help="With no SCRIPT: print the candidates as JSON.")
@pass_project
def promote_command(project: Project, script: Script | None, name: str | None, yes: bool,
                    as_json: bool) -> None:
    """Move a temporary script to recycle/ or list candidates.

    The new name is the temporary name without ts_YYYY_MM_DD_, unless --as.
    Before adding to recycle/ the convention is to extend an existing script of the
    same purpose, so promote names similar ones and, in a terminal, asks first.
    In a git work tree the move is a git mv, so history follows; the ledger keeps
    the script's runs under its old name too. The ts template's docstring
    paragraphs become the recycle template's; your own words are kept.

    Without SCRIPT: list the temporary scripts the ledger shows were needed again
    (runs that succeeded, not dry, on two or more days or by two or more
    operators), and in a terminal offer to promote each.

    \b
      opsctl promote yuzaoyah/ts_2024_06_10_export_order_data
          -> recycle/export_order_data.py
      opsctl promote ts_2024_06_10_export_custom_s --as export_customer_names
      opsctl promote                  # the candidates, with their runs
    """
    _run_verb(project, "promote", script, name, yes, as_json)


@click.command("demote")
@click.argument("script", type=SCRIPT, required=False)
@click.option("--as", "name", metavar="NAME", help=_AS_HELP.format(folder="unrecycle",
                                   default="the same name (without ts_YYYY_MM_DD_)"))
@click.option("--json", "as_json", is_flag=True,
              help="With no SCRIPT: print the candidates as JSON.")
@pass_project
def demote_command(project: Project, script: Script | None, name: str | None,
                   as_json: bool) -> None:
    """Move a recycle script to unrecycle/, or list one-offs.

    unrecycle/ keeps scripts that turned out to be needed once, as the record
    (a temporary script can be demoted there too);
    'opsctl run' refuses to run one again after it succeeded (unless --force).
    In a git work tree the move is a git mv, so history follows.

    Without SCRIPT: list the recycle scripts run exactly once, or not run for
    stale_days, and in a terminal offer to demote each. Dry runs do not count.

    \b
      opsctl demote recycle/flush_order_data
          -> unrecycle/flush_order_data.py
      opsctl demote                   # the candidates, with their runs
    """
    _run_verb(project, "demote", script, name, True, as_json)


# -- stale / clean --------------------------------------------------------------------------


def _last_run(s: StaleScript, known: bool = True) -> str:
    run = s.last_run
    if run is None:
        return "never" if known else "unknown"
    status = "running now" if s.running else run.status
    return f"{run.started_at:%Y-%m-%d} {run.operator} {status}"


def _stale_row(s: StaleScript, known: bool = True) -> list[str]:
    # No date column: the date is in the name, and the age says what it means.
    return [s.script.display, s.script.owner or "", f"{s.age_days}d", _last_run(s, known)]


_OLDER_HELP = "Older than this many days by the date in the name (default: stale_days)."


@click.command("stale")
@click.option("--older-than", type=click.IntRange(min=0), metavar="DAYS", help=_OLDER_HELP)
@click.option("--owner", metavar="DEVELOPER", help="Only this developer's scripts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@pass_project
def stale_command(project: Project, older_than: int | None, owner: str | None,
                  as_json: bool) -> None:
    """List temporary scripts older than stale_days.

    Each is shown with its owner, age and last run. Age comes from the date in
    the name (ts_YYYY_MM_DD_...). recycle/ and unrecycle/ are never stale.
    'opsctl clean' deletes what this lists.

    \b
      opsctl stale
      opsctl stale --older-than 30 --owner yuzaoyah
    """
    found = find_stale(project.config, project.catalogue, older_than=older_than, owner=owner)
    if found.runs_unknown is not None:
        output.warn(found.runs_unknown)
    if as_json:
        output.print_json([s.as_dict() for s in found.scripts])
        return
    known = found.runs_unknown is None
    output.table(["script", "owner", "age", "last run"],
                 [_stale_row(s, known) for s in found.scripts],
                 empty=f"no temporary script is older than {found.limit} days")


@click.command("clean")
@click.option("--older-than", type=click.IntRange(min=0), metavar="DAYS", help=_OLDER_HELP)
@click.option("--owner", metavar="DEVELOPER", help="Only this developer's scripts.")
@click.option("--include-uncommitted", is_flag=True,
              help="In a git work tree, also delete scripts git has no copy of (untracked "
                   "or changed); they are gone for good.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask (needed without a terminal).")
@pass_project
def clean_command(project: Project, older_than: int | None, owner: str | None,
                  include_uncommitted: bool, yes: bool) -> None:
    """Delete temporary scripts older than stale_days.

    They are listed first, then clean asks (--yes for scripts). Only temporary
    scripts are ever deleted, never recycle/ or unrecycle/, and never one with a
    run in progress. In a git work tree the deletion is a git rm (commit it), so
    git keeps the history; scripts git has no copy of are kept unless
    --include-uncommitted.

    \b
      opsctl clean                    # list, then ask
      opsctl clean --older-than 180 --owner yuzaoyah --yes
    """
    plan = plan_clean_project(project.config, project.catalogue, older_than=older_than,
                              owner=owner, include_uncommitted=include_uncommitted)
    if not plan.deletions:
        output.note(f"no temporary script is older than {plan.limit} days; nothing to clean")
        return
    rows = [[*_stale_row(d.stale), "delete" if d.keep is None else f"keep: {d.keep}"]
            for d in plan.deletions]
    output.table(["script", "owner", "age", "last run", "action"], rows)
    doomed = plan.doomed
    if not doomed:
        output.note("nothing to delete")
        return
    what = f"{len(doomed)} temporary script{'s' if len(doomed) != 1 else ''}"
    if not yes:
        if not interactive():
            raise Declined(f"clean would delete {what}; confirm in a terminal, or pass --yes")
        if not confirm(f"Delete {what}?", otherwise="nothing deleted"):
            raise Declined("nothing deleted")
    result = clean_project(project.config, plan.deletions)
    for d in result.deleted:
        output.echo(f"deleted {d.stale.script.display}")
    for d in result.kept:
        if d in plan.deletions:
            continue  # already shown as kept in the table
        output.warn(f"kept {d.stale.script.display}: {d.keep}")
    if result.deleted:
        tail = "; commit the deletion" if "git rm" in result.method else ""
        output.note(f"deleted {len(result.deleted)} with {result.method}{tail}")
