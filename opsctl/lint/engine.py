"""The naming lint as a whole: lint a tree or a list of files, then ``--fix``, baselines.

The rules themselves live in :mod:`opsctl.naming` (a name ``new`` accepts is a name the lint
passes); :mod:`opsctl.lint.walk` applies them to a whole tree and :mod:`opsctl.lint.paths` to a
list of files, adding the rules that need more than one name (duplicates, layout,
staleness). The rules on a file's content (docstring, import side effects, parsed with
:mod:`ast` and never imported) are in :mod:`opsctl.lint.content`; ``[tool.opsctl.lint]`` in
:mod:`opsctl.lint.settings`; baselines in :mod:`opsctl.lint.baseline`, the safe renames of
``--fix`` in :mod:`opsctl.lint.fix`, rendering in :mod:`opsctl.lint.formats`.

Paths are strings, so the lint does not import :mod:`pathlib`; its values are NamedTuples, so
it does not import :mod:`dataclasses`. :mod:`opsctl.lint.content` (with ``ast``), ``json`` and
``fnmatch`` load only when there is work for them, and the ledger only for ``--fix``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ..light import NamedTuple
from ..naming import Naming
from .rules import LintReport, LintUsageError
from .settings import LintConfig
from .walk import Linter

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from ..config import Config
    from .fix import FixOutcome


def lint(root: str | os.PathLike[str], naming: Naming, config: LintConfig | None = None, *,
         paths: Sequence[str | os.PathLike[str]] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> LintReport:
    """Lint the tree under ``root``, or only ``paths`` (absolute, or relative to ``cwd``).

    In file-list mode the cross-file rules still see what they need: the names in recycle/
    and unrecycle/ (two folder listings), never a walk of the whole tree.
    """
    config = config or LintConfig()
    if paths is None:
        linter = Linter(os.fspath(root), naming, config)
        linter.walk_tree()
        return linter.report()
    from .paths import PathLinter

    checker = PathLinter(os.fspath(root), naming, config)
    checker.check_paths(paths, os.fspath(cwd) if cwd is not None else os.getcwd())
    return checker.report(partial=True)


class LintRun(NamedTuple):
    """What ``opsctl lint`` did: the report to show, and what ``--fix`` and
    ``--write-baseline`` changed on the way."""

    report: LintReport
    fixes: FixOutcome | None = None
    baseline_written: int | None = None
    #: Baseline entries ``--fix`` moved to the new names of the files it renamed.
    baseline_moved: int = 0


def run(root: str | os.PathLike[str], naming: Naming, config: LintConfig, *,
        paths: Sequence[str | os.PathLike[str]] | None = None,
        cwd: str | os.PathLike[str] | None = None, fix: bool = False,
        baseline: str | None = None, write_baseline_to: str | None = None,
        project_config: Config | None = None,
        operator: Callable[[], str] | None = None, prefix: str = "") -> LintRun:
    """Lint; with ``fix``, rename what is safe and lint again; then apply the baseline
    (``baseline``, else ``config.baseline``), or record one with ``write_baseline_to``.

    ``prefix`` is the root's path from the project (``offline_script/``): baselines record
    paths from the project, as ``--format json`` shows them. With ``project_config``, renames
    are recorded in the project's run ledger (when it has one) as ``operator()``, and a
    script with a run in progress is not renamed.
    """
    if write_baseline_to is not None and paths:
        raise LintUsageError("--write-baseline records the whole tree; run it without paths")
    cwd = os.fspath(cwd) if cwd is not None else os.getcwd()
    report = lint(root, naming, config, paths=paths, cwd=cwd)
    accepted = write_baseline_to or baseline or config.baseline
    fixes = None
    moved = 0
    if fix:
        from pathlib import Path

        from .fix import fix_findings, paths_after

        fixes = fix_findings(Path(root), report.findings, naming, project_config, operator)
        if fixes.renamed:
            if paths is not None:
                paths = paths_after(fixes.renamed, Path(root), paths, Path(cwd))
            report = lint(root, naming, config, paths=paths, cwd=cwd)
            if accepted is not None and write_baseline_to is None and os.path.exists(accepted):
                from .baseline import move_entries

                moved = move_entries(accepted, {r.source: r.target for r in fixes.renamed},
                                     prefix)
    written = None
    if write_baseline_to is not None:
        from .baseline import write_baseline

        written = write_baseline(write_baseline_to, report.findings, prefix)
    if accepted is not None:
        from .baseline import apply_baseline, read_baseline

        report = apply_baseline(report, read_baseline(accepted, prefix), prefix)
    return LintRun(report, fixes, written, moved)
