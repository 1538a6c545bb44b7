"""``opsctl lint`` on the Click road; everyday shapes skip Click (:mod:`opsctl.lint.fast`)."""

from __future__ import annotations

import click

from ..lint.fast import LintOptions, execute
from ..lint.formats import FORMATS
from ..project import Project
from .params import pass_project


@click.command("lint")
@click.argument("paths", nargs=-1, metavar="[PATHS]...",
                type=click.Path(dir_okay=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              default="text", show_default=True,
              help="text for people; json for tools; github for pull-request annotations; "
                   "junit for CI dashboards.")
@click.option("--baseline", "baseline", metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Ignore the findings recorded in FILE (default: the baseline key of "
                   "[tool.opsctl.lint]).")
@click.option("--write-baseline", "write_to", metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Record every current finding in FILE as accepted, then report nothing "
                   "new. Fixed or deleted files drop out.")
@click.option("--fix", is_flag=True,
              help="Rename what is safe to rename (case, separators, zero padding of dates) "
                   "with git mv; report the rest.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also say which given paths were skipped as outside the root.")
@click.option("--list-rules", is_flag=True,
              help="Print the rules (code, name, severity) and exit.")
@click.option("--show-stale", is_flag=True,
              help="One warning per stale temporary script, instead of one line for all.")
@click.option("--changed-files", "changed_files", metavar="FILE",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="With --format github: annotate the files listed in FILE (one a line, "
                   "'-' for stdin) first. In a pull request, git is asked.")
@click.option("--no-cache", is_flag=True,
              help="Parse every script's content again, without reading or writing the cache "
                   "of unchanged scripts (.opsctl_cache, or cache_dir in [tool.opsctl]).")
@pass_project
def lint_command(project: Project, paths: tuple[str, ...], fmt: str, baseline: str | None,
                 write_to: str | None, fix: bool, verbose: bool, list_rules: bool,
                 show_stale: bool, changed_files: str | None, no_cache: bool) -> None:
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
    content_kinds, baseline, date_floor.
    """
    # The work is opsctl.lint.fast's, shared with the fast path that `opsctl lint` takes
    # without Click for its everyday shapes.
    code = execute(project, LintOptions(paths=paths, fmt=fmt, baseline=baseline,
                                        write_to=write_to, fix=fix, verbose=verbose,
                                        list_rules=list_rules, show_stale=show_stale,
                                        changed_files=changed_files, no_cache=no_cache))
    if code:
        raise click.exceptions.Exit(code)
