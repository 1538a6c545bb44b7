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
    from ..lint_formats import render, summary

    config = project.config
    settings = lint_.LintConfig.from_config(config)
    if list_rules:
        _print_rules(settings)
        return
    if write_to is not None and paths:
        raise click.UsageError("--write-baseline records the whole tree; run it without PATHS",
                               ctx=click.get_current_context())
    naming = project.naming
    root = project.root
    cwd = Path.cwd()
    given: list[str | Path] | None = list(paths) if paths else None
    report = lint_.lint(root, naming, settings, paths=given, cwd=cwd)

    if fix:
        outcome = lint_.apply_fixes(root, lint_.plan_fixes(report.findings, naming))
        prefix = _prefix(root, project.dir)
        how = "git mv" if outcome.git else "renamed"
        for r in outcome.renamed:
            output.note(f"fixed: {_shown(prefix + r.source)} -> {_shown(prefix + r.target)} "
                        f"({how})")
        for r, why in outcome.refused:
            output.warn(f"not renamed: {_shown(prefix + r.source)} -> "
                        f"{_shown(prefix + r.target)}: {why}")
        if outcome.renamed:
            if given is not None:
                given = list(lint_.paths_after(outcome.renamed, root, given, cwd))
            report = lint_.lint(root, naming, settings, paths=given, cwd=cwd)
        left = len(report.findings)
        output.note(f"--fix renamed {len(outcome.renamed)}; {left} finding"
                    f"{'' if left == 1 else 's'} left for a person")

    if write_to is not None:
        count = lint_.write_baseline(write_to, report.findings)
        output.note(f"wrote {count} accepted finding{'' if count == 1 else 's'} to {write_to}")
        report = lint_.apply_baseline(report, lint_.read_baseline(write_to))
    else:
        baseline_file = baseline or settings.baseline
        if baseline_file is not None:
            report = lint_.apply_baseline(report, lint_.read_baseline(baseline_file))
            if report.baseline_unused:
                output.note(f"{report.baseline_unused} baseline entr"
                            f"{'y is' if report.baseline_unused == 1 else 'ies are'} fixed "
                            f"or gone; shrink {baseline_file} with --write-baseline")

    if verbose:
        for p in report.outside:
            output.note(f"skipped {_shown(p)}: not under the offline-script root {root}")

    prefix = _github_prefix(root, project.dir) if fmt == "github" else \
        _prefix(root, project.dir)
    color = fmt == "text" and output.use_color()
    text = render(fmt, report, prefix, color=color)
    if text:
        # color=True: the decision is made (a terminal, FORCE_COLOR), so Click must not undo it.
        click.echo(text, nl=False, color=color or None)
    output.note(summary(report, _prefix(root, project.dir)))
    if report.exit_code:
        raise click.exceptions.Exit(report.exit_code)


def _shown(text: str) -> str:
    from ..lint_formats import shown

    return shown(text)


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
