from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import output
from ..project import Project
from . import pass_project

if TYPE_CHECKING:
    from ..lint import LintConfig


@click.command("lint")
@click.argument("paths", nargs=-1, metavar="[PATHS]...",
                type=click.Path(path_type=Path, dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "junit"]),
              default="text", show_default=True,
              help="text for people; json for tools; github for pull-request annotations; "
                   "junit for CI dashboards.")
@click.option("--baseline", "baseline", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Ignore the findings recorded in FILE (default: the baseline key of "
                   "[tool.opsctl.lint]).")
@click.option("--write-baseline", "write_to", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Record every current finding in FILE as accepted, then report nothing "
                   "new. Fixed or deleted files drop out.")
@click.option("--fix", is_flag=True,
              help="Rename what is safe to rename (case, separators, zero padding of dates) "
                   "with git mv; report the rest.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also say which given paths were skipped as outside the root.")
@click.option("--list-rules", is_flag=True,
              help="Print the rules (code, name, severity) and exit.")
@pass_project
def lint_command(project: Project, paths: tuple[Path, ...], fmt: str, baseline: Path | None,
                 write_to: Path | None, fix: bool, verbose: bool, list_rules: bool) -> None:
    """Check the naming of the offline-script tree; exit 1 on any error.

    Temporary scripts are named ts_YYYY_MM_DD_<what>.py in a developer folder;
    recycle/ and unrecycle/ scripts have plain snake_case names, one per
    purpose, with a docstring and no work done on import. With PATHS, only
    those files (and the duplicates they take part in) are checked: what a
    pre-commit hook passes. Paths outside the root are skipped.

    \b
      opsctl lint                               the whole tree
      opsctl lint --format github               annotations on a pull request
      opsctl lint offline_script/yuzaoyah/ts_2024_06_10_export.py
      opsctl lint --write-baseline .opsctl-baseline.json    adopt on a legacy tree
      opsctl lint --baseline .opsctl-baseline.json          fail only on new findings
      opsctl lint --fix                         Export-Order.py -> export_order.py
      opsctl lint --list-rules                  codes for [tool.opsctl.lint]

    \b
    Exit status: 0 clean (warnings allowed), 1 errors found, 2 usage or
    configuration error. Rules, severities and ignore globs are set in
    [tool.opsctl.lint]: select, disable, severity, ignore, status_suffixes,
    content_kinds, baseline.
    """
    # Imported here, not at the top: the command registry loads this module for --help too.
    from .. import lint as lint_
    from ..lint_formats import render, shown, summary

    settings = lint_.LintConfig.from_config(project.config)
    if list_rules:
        _print_rules(settings)
        return
    root = project.root
    prefix = _prefix(root, project.dir)
    outcome = lint_.run(root, project.naming, settings, paths=list(paths) or None, fix=fix,
                        baseline=baseline, write_baseline_to=write_to,
                        project_config=project.config, operator=lambda: project.identity.name)
    report = outcome.report

    if outcome.fixes is not None:
        how = "git mv" if outcome.fixes.git else "renamed"
        for r in outcome.fixes.renamed:
            output.note(f"fixed: {shown(prefix + r.source)} -> {shown(prefix + r.target)} "
                        f"({how})")
        for r, why in outcome.fixes.refused:
            output.warn(f"not renamed: {shown(prefix + r.source)} -> "
                        f"{shown(prefix + r.target)}: {why}")
        left = len(report.findings) + report.baselined
        recorded = " (recorded in the run ledger, so history follows)" \
            if outcome.fixes.recorded else ""
        output.note(f"--fix renamed {len(outcome.fixes.renamed)}{recorded}; {left} finding"
                    f"{'' if left == 1 else 's'} left for a person")
    if outcome.baseline_written is not None:
        # Findings, as the summary counts them; the file holds one entry per path and rule,
        # so two findings of one rule in one file are one entry.
        count, entries = report.baselined, outcome.baseline_written
        output.note(f"wrote {count} accepted finding{'' if count == 1 else 's'} to {write_to} "
                    f"({entries} entr{'y' if entries == 1 else 'ies'}: one per path and rule)")
    elif report.baseline_unused:
        output.note(f"{report.baseline_unused} baseline entr"
                    f"{'y is' if report.baseline_unused == 1 else 'ies are'} fixed or gone; "
                    f"shrink {baseline or settings.baseline} with --write-baseline")
    if verbose:
        for p in report.outside:
            output.note(f"skipped {shown(p)}: not under the offline-script root {root}")

    color = fmt == "text" and output.use_color()
    shown_as = _github_prefix(root, project.dir) if fmt == "github" else prefix
    text = render(fmt, report, shown_as, color=color)
    if text:
        # color=True: the decision is made (a terminal, FORCE_COLOR), so Click must not undo it.
        click.echo(text, nl=False, color=color or None)
    output.note(summary(report, prefix))
    if report.exit_code:
        raise click.exceptions.Exit(report.exit_code)


def _prefix(root: Path, base: Path) -> str:
    """How paths are shown: relative to ``base`` (the project folder) when the root is in it."""
    try:
        rel = os.path.relpath(root, base)
    except ValueError:  # another drive on Windows
        return f"{root}{os.sep}"
    if rel == ".":
        return ""
    if rel.startswith(".."):
        return f"{root}/"
    return rel.replace(os.sep, "/") + "/"


def _github_prefix(root: Path, project_dir: Path) -> str:
    """GitHub resolves ``file=`` from the repository root: the workspace when in Actions."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and Path(os.path.realpath(root)).is_relative_to(os.path.realpath(workspace)):
        return _prefix(Path(os.path.realpath(root)), Path(os.path.realpath(workspace)))
    return _prefix(root, project_dir)


def _print_rules(settings: LintConfig) -> None:
    from ..lint import RULES

    rows = []
    for rule in RULES:
        state = settings.severities[rule.code] if rule.code in settings.enabled else "off"
        rows.append([rule.code, rule.name, state, rule.summary])
    output.table(["code", "rule", "severity", "finds"], rows)
