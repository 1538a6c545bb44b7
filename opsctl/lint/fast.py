"""What ``opsctl lint`` does once its options are known, and a fast path that reads them.

The lint runs on every push and in every pre-commit hook, and importing Click costs more than
linting 10,000 names (SPEC §8 holds the lint within 2x of a bare ``os.scandir`` walk). So the
``opsctl`` program (:mod:`opsctl.cli.main`) hands ``opsctl lint`` straight to :func:`run_fast`
when its arguments are of the everyday shapes (paths, ``--format``, ``--baseline``, ``-v``,
``--no-cache``, and the group's ``--project`` and ``--debug``), and everything else to the
Click group: ``--help``, ``--fix``, ``--write-baseline``, ``--list-rules``, an unknown or
repeated option, a project that is not one, shell completion. The Click command
(:mod:`opsctl.cli.lint`) and the fast path both end in :func:`execute`, so the two cannot
drift apart in what the lint does; tests run both on the same arguments and compare every byte
of output and the exit status, and check that every option read here is declared alike on the
Click side.
"""

from __future__ import annotations

import os

from .. import output
from ..errors import OpsctlError, unexpected
from ..light import NamedTuple
from ..light import read_options as _read_options
from ..light import readable_or_absent as _readable_or_absent
from .formats import FORMATS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ..project import Project
    from .settings import LintConfig


class LintOptions(NamedTuple):
    """The options of ``opsctl lint``, as Click or :func:`parse_fast` read them."""

    paths: tuple[str, ...] = ()
    fmt: str = "text"
    baseline: str | None = None
    write_to: str | None = None
    fix: bool = False
    verbose: bool = False
    list_rules: bool = False
    show_stale: bool = False
    changed_files: str | None = None
    no_cache: bool = False


class FastLint(NamedTuple):
    """An ``opsctl ... lint ...`` command line the fast path can run: the lint's options and
    the group's (``--project``, or ``OPSCTL_PROJECT``, and ``--debug``)."""

    options: LintOptions
    project_dir: str | None = None
    debug: bool = False


#: The options the fast path reads (``{option: field}``): the group's, then the lint's.
_GROUP_VALUED = {"--project": "project_dir"}
_GROUP_FLAGS = {"--debug": "debug"}
_LINT_VALUED = {"--format": "fmt", "--baseline": "baseline"}
_LINT_FLAGS = {"-v": "verbose", "--verbose": "verbose", "--no-cache": "no_cache"}


def parse_fast(argv: Sequence[str], environ: Mapping[str, str]) -> FastLint | None:
    """``opsctl ARGV`` as a lint the fast path can run, or None when only Click may read it.

    Read here: ``--project DIR`` (an existing opsctl project) and ``--debug`` before
    ``lint``; after it, file and folder paths, ``--format`` (one of :data:`FORMATS`),
    ``--baseline`` (not a folder), ``-v``/``--verbose`` and ``--no-cache``. Each option at
    most once, as ``--opt value`` or ``--opt=value``. Anything else is Click's, and so is
    anything Click would refuse, so its messages stay the only ones; so is a shell completing
    a word.
    """
    if environ.get("_OPSCTL_COMPLETE"):
        return None
    group: dict[str, object] = {}
    i = _read_options(argv, 0, _GROUP_VALUED, _GROUP_FLAGS, group, None)
    if i is None or i == len(argv) or argv[i] != "lint":
        return None
    values: dict[str, object] = {}
    paths: list[str] = []
    if _read_options(argv, i + 1, _LINT_VALUED, _LINT_FLAGS, values, paths) is None:
        return None
    if values.get("fmt", "text") not in FORMATS:
        return None
    baseline = values.get("baseline")
    if isinstance(baseline, str) and os.path.isdir(baseline):
        return None  # Click says it is a folder, not a file
    if not all(map(_readable_or_absent, paths)) or \
            (isinstance(baseline, str) and not _readable_or_absent(baseline)):
        return None  # Click says it is not readable
    # Click takes OPSCTL_PROJECT when --project is not given, and an empty one as unset.
    given = group.get("project_dir")
    project = given if isinstance(given, str) else environ.get("OPSCTL_PROJECT") or None
    if project is not None:
        from ..config import is_project_dir

        if not (os.path.isdir(project) and _readable_or_absent(project) and
                is_project_dir(project)):
            return None  # Click and the project's checks say what is wrong with it
    options = LintOptions(paths=tuple(paths), **values)  # type: ignore[arg-type]
    return FastLint(options, project, bool(group.get("debug")))


def run_fast(argv: Sequence[str]) -> int | None:
    """The whole of ``opsctl ARGV`` without Click, as its exit status, when it is a lint of
    the everyday shapes; None when the arguments are Click's to read (:func:`parse_fast`)."""
    fast = parse_fast(argv, os.environ)
    if fast is None:
        return None
    from ..project import Project

    try:
        return execute(Project(fast.project_dir, debug=fast.debug), fast.options)
    except OpsctlError as exc:
        exc.show()
        return exc.exit_code
    except BrokenPipeError:
        raise  # the reader went away: opsctl.cli.main ends quietly
    except Exception as exc:
        if fast.debug or os.environ.get("OPSCTL_DEBUG"):
            raise
        error = unexpected(exc)
        error.show()
        return error.exit_code


def execute(project: Project, options: LintOptions) -> int:
    """Lint the project as ``options`` say, print the findings and notes, and return the
    exit status: 0 clean (warnings allowed), 1 errors found."""
    from ..config import tidy
    from . import engine as lint_
    from .formats import render, shown, summary
    from .settings import LintConfig

    settings = LintConfig.from_config(project.config)
    if options.list_rules:
        _print_rules(settings)
        return 0
    if options.show_stale:
        settings = settings._replace(show_stale=True)
    if options.no_cache:
        settings = settings._replace(cache_dir=None)
    root = project.root_path
    prefix = _prefix(root, project.dir_path)
    # Paths as JSON and baselines give them: from the project, whatever the root.
    from_project = _relative_prefix(root, project.dir_path)
    # Spelled as pathlib would (`--write-baseline out/` writes the file out); an empty
    # --baseline is no baseline, as an empty option is elsewhere.
    baseline = tidy(options.baseline) if options.baseline else None
    if options.write_to == "":
        from .rules import LintUsageError

        raise LintUsageError("--write-baseline needs a file name, such as "
                             ".opsctl-baseline.json")
    write_to = tidy(options.write_to) if options.write_to is not None else None
    outcome = lint_.run(root, project.naming, settings, paths=list(options.paths) or None,
                        fix=options.fix, baseline=baseline, write_baseline_to=write_to,
                        project_config=project.config,
                        operator=lambda: project.identity.name, prefix=from_project)
    report = outcome.report

    if outcome.fixes is not None:
        for r in outcome.fixes.renamed:
            output.note(f"fixed: {shown(prefix + r.source)} -> {shown(prefix + r.target)} "
                        f"({'git mv' if r.git else 'renamed'})")
        for r, why in outcome.fixes.refused:
            output.warn(f"not renamed: {shown(prefix + r.source)} -> "
                        f"{shown(prefix + r.target)}: {why}")
        left = len(report.findings) + report.baselined
        recorded = " (recorded in the run ledger, so history follows)" \
            if outcome.fixes.recorded else ""
        output.note(f"--fix renamed {len(outcome.fixes.renamed)}{recorded}; {left} finding"
                    f"{'' if left == 1 else 's'} left for a person")
    if outcome.baseline_moved:
        moved = outcome.baseline_moved
        output.note(f"moved {moved} baseline entr{'y' if moved == 1 else 'ies'} to the new "
                    f"names in {baseline or settings.baseline}")
    if outcome.baseline_written is not None:
        count = outcome.baseline_written
        output.note(f"wrote {count} accepted finding{'' if count == 1 else 's'} to "
                    f"{write_to}")
    elif report.baseline_unused:
        output.note(f"{report.baseline_unused} baseline entr"
                    f"{'y is' if report.baseline_unused == 1 else 'ies are'} fixed or gone; "
                    f"shrink {baseline or settings.baseline} with --write-baseline")
    if options.verbose:
        for p in report.outside:
            output.note(f"skipped {shown(p)}: not under the offline-script root {root}")

    color = options.fmt == "text" and output.use_color()
    shown_as, changed = (from_project if options.fmt == "json" else prefix), None
    if options.fmt == "github":
        from .changes import changed_paths

        shown_as = _github_prefix(root, project.dir_path)
        changed = changed_paths(root, options.changed_files, os.getcwd(), os.environ)
    if options.fmt == "text":  # written as it is made: thousands of findings are megabytes
        from .formats import text_parts

        for part in text_parts(report, shown_as, color):
            output.write(part)
    elif text := render(options.fmt, report, shown_as, color=color, changed=changed):
        output.write(text)
    output.note(summary(report, prefix))
    return report.exit_code


def _prefix(root: str, base: str) -> str:
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


def _relative_prefix(root: str, base: str) -> str:
    """The root's path from ``base``, ``..`` and all when it is outside (another drive:
    absolute, the only way there)."""
    try:
        rel = os.path.relpath(root, base)
    except ValueError:
        return f"{root}{os.sep}"
    return "" if rel == "." else rel.replace(os.sep, "/") + "/"


def _github_prefix(root: str, project_dir: str) -> str:
    """GitHub resolves ``file=`` from the repository root: the workspace when in Actions."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        real_root, real_workspace = os.path.realpath(root), os.path.realpath(workspace)
        if real_root == real_workspace or \
                real_root.startswith(real_workspace.rstrip(os.sep) + os.sep):
            return _prefix(real_root, real_workspace)
    return _prefix(root, project_dir)


def _print_rules(settings: LintConfig) -> None:
    from .rules import RULES

    rows = []
    for rule in RULES:
        state = settings.severities[rule.code] if rule.code in settings.enabled else "off"
        rows.append([rule.code, rule.name, state, rule.summary])
    output.table(["code", "rule", "severity", "finds"], rows)
