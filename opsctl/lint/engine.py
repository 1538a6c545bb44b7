"""The naming lint: walk the offline-script tree once and report what breaks the convention.

The rules themselves live in :mod:`opsctl.naming` (a name ``new`` accepts is a name the lint
passes); this module applies them to a whole tree or to a list of files, adds the rules that
need more than one name (duplicates, layout, staleness), and turns the outcome into
:class:`Finding` values. The rules on a file's content (docstring, import side effects, parsed
with :mod:`ast` and never imported) are in :mod:`opsctl.lint.content`. Reading
``[tool.opsctl.lint]`` is here too; baselines are in :mod:`opsctl.lint.baseline`, the safe
renames of ``--fix`` in :mod:`opsctl.lint.fix`, rendering in :mod:`opsctl.lint.formats`.

Speed matters (SPEC §8: within 2x of a bare ``os.scandir`` walk on 10,000 and 100,000 files),
so the walk is one ``os.scandir`` per folder, reads nothing but ``DirEntry`` data for names,
and a good temporary name costs one regex match (its date window included) inside a C-level
``filter``. Paths are strings, so the lint does not import :mod:`pathlib`; its values are
NamedTuples, so it does not import :mod:`dataclasses`. :mod:`opsctl.lint.content` (with
``ast``), ``json`` and ``fnmatch`` load only when there is work for them, and the ledger only
for ``--fix``.
"""

from __future__ import annotations

import datetime as _dt
import operator
import os
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, filterfalse
from typing import TYPE_CHECKING, NamedTuple

from ..naming import (
    IGNORED_NAMES,
    SHARED_FOLDERS,
    TS_FILE_RE,
    Kind,
    Naming,
    Problem,
    normalise,
)

if TYPE_CHECKING:
    from ..config import Config
    from .fix import FixOutcome

from .rules import (
    CONTENT_CODES,
    Finding,
    LintReport,
    LintUsageError,
    PathNotFound,
    RootMissing,
    _safe,
)
from .settings import LintConfig


def lint(root: str | os.PathLike[str], naming: Naming, config: LintConfig | None = None, *,
         paths: Sequence[str | os.PathLike[str]] | None = None,
         cwd: str | os.PathLike[str] | None = None) -> LintReport:
    """Lint the tree under ``root``, or only ``paths`` (absolute, or relative to ``cwd``).

    In file-list mode the cross-file rules still see what they need: the names in recycle/
    and unrecycle/ (two folder listings), never a walk of the whole tree.
    """
    linter = _Linter(os.fspath(root), naming, config or LintConfig())
    if paths is None:
        linter.walk_tree()
        return linter.report()
    linter.check_paths(paths, os.fspath(cwd) if cwd is not None else os.getcwd())
    return linter.report(partial=True)


class LintRun(NamedTuple):
    """What ``opsctl lint`` did: the report to show, and what ``--fix`` and
    ``--write-baseline`` changed on the way."""

    report: LintReport
    fixes: FixOutcome | None = None
    baseline_written: int | None = None


def run(root: str | os.PathLike[str], naming: Naming, config: LintConfig, *,
        paths: Sequence[str | os.PathLike[str]] | None = None,
        cwd: str | os.PathLike[str] | None = None, fix: bool = False,
        baseline: str | None = None, write_baseline_to: str | None = None,
        project_config: Config | None = None,
        operator: Callable[[], str] | None = None) -> LintRun:
    """Lint; with ``fix``, rename what is safe and lint again; then apply the baseline
    (``baseline``, else ``config.baseline``), or record one with ``write_baseline_to``.

    With ``project_config``, renames are recorded in the project's run ledger (when it has
    one) as ``operator()``, and a script with a run in progress is not renamed.
    """
    if write_baseline_to is not None and paths:
        raise LintUsageError("--write-baseline records the whole tree; run it without paths")
    cwd = os.fspath(cwd) if cwd is not None else os.getcwd()
    report = lint(root, naming, config, paths=paths, cwd=cwd)
    fixes = None
    if fix:
        from pathlib import Path

        from .fix import fix_findings, paths_after

        fixes = fix_findings(Path(root), report.findings, naming, project_config, operator)
        if fixes.renamed:
            if paths is not None:
                paths = paths_after(fixes.renamed, Path(root), paths, Path(cwd))
            report = lint(root, naming, config, paths=paths, cwd=cwd)
    written = None
    if write_baseline_to is not None:
        from .baseline import write_baseline

        written = write_baseline(write_baseline_to, report.findings)
    accepted = write_baseline_to or baseline or config.baseline
    if accepted is not None:
        from .baseline import apply_baseline, read_baseline

        report = apply_baseline(report, read_baseline(accepted))
    return LintRun(report, fixes, written)


# Date states, cached per distinct date string: a tree of 100,000 scripts has a few thousand.
_OK, _STALE, _BAD = 0, 1, 2

_NAME = operator.attrgetter("name")
_IS_DIR = os.DirEntry.is_dir
_DAY = operator.itemgetter(slice(3, 13))  # the date of a good temporary file name



class _Linter:
    """One run of the lint; collects findings, then :meth:`report` sorts them."""

    def __init__(self, root: str, naming: Naming, config: LintConfig) -> None:
        self.root = root
        self.naming = naming
        self.config = config
        self.findings: list[Finding] = []
        self.checked = 0
        self.outside: list[str] = []
        self.shared_scripts: list[tuple[str, str]] = []  # (folder, filename) in recycle/unrecycle
        self.content: list[tuple[str, Kind]] = []  # root-relative paths whose content to check
        self.enabled = config.enabled
        self.severity = dict(config.severities)
        self.content_kinds = config.content_kinds if config.enabled & CONTENT_CODES \
            else frozenset()
        self.today = naming.today
        self.stale_before = naming.today - _dt.timedelta(days=config.stale_days) \
            if "OPS401" in config.enabled else None
        self.dates: dict[str, int] = {}
        # Dates neither stale nor future, in the fast match itself: most names then need no
        # date work at all. Without a stale window (the rule off, or decades long), each
        # distinct date is checked once instead.
        self.window = naming.good_temporary_file_between(self.stale_before, self.today) \
            if self.stale_before is not None and config.stale_days <= 3660 else None
        self.ignored = _compile_globs(config.ignore)
        self.dev_folders_checked: set[str] = set()
        self.nested_reported: set[str] = set()

    # -- recording ---------------------------------------------------------------------------

    def add(self, path: str, code: str, message: str, fix: str | None = None,
            line: int | None = None) -> None:
        if code not in self.enabled or (self.ignored is not None and self.ignored(path)):
            return
        self.findings.append(Finding(path, code, message, self.severity[code], fix, line))

    def problem(self, path: str, problem: Problem) -> None:
        self.add(path, problem.code, problem.message, problem.fix)

    def report(self, *, partial: bool = False) -> LintReport:
        self.check_contents()
        # File-list mode may reach one finding twice (a file given twice, or inside a folder
        # also given); a walk of the tree visits every name once.
        found = dict.fromkeys(self.findings) if partial else self.findings
        findings = tuple(sorted(found, key=Finding.sort_key))
        return LintReport(self.root, findings, self.checked, tuple(self.outside), partial)

    # -- the whole tree ----------------------------------------------------------------------

    def walk_tree(self) -> None:
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            raise RootMissing(f"there is no offline-script folder at {self.root}; run 'opsctl "
                              "init', or set root in [tool.opsctl]") from None
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store) are not the lint's
            self.checked += 1
            if entry.is_dir():
                if name in SHARED_FOLDERS:
                    self.walk_shared(name, entry.path)
                elif name != "__pycache__":
                    self.walk_developer(name, entry.path)
            else:
                self.root_file(name)
        self.check_duplicates(self.shared_scripts, None)

    def root_file(self, name: str) -> None:
        if name not in IGNORED_NAMES:
            self.add(name, "OPS101",
                     "a file directly in the root; scripts live in recycle/, unrecycle/ or a "
                     "developer folder",
                     "move it into recycle/, unrecycle/ or your developer folder")

    def listing(self, rel: str, path: str) -> list[os.DirEntry[str]]:
        try:
            return list(os.scandir(path))
        except OSError as exc:
            self.add(rel, "OPS101", f"the folder cannot be listed ({exc.strerror})",
                     "fix its permissions, or remove it")
            return []

    def walk_shared(self, folder: str, path: str) -> None:
        entries = self.listing(folder, path)
        self.checked += len(entries)
        for entry in entries:
            self.shared_entry(folder, entry.name, entry.is_dir())

    def walk_developer(self, folder: str, path: str) -> None:
        """Check a developer folder and its temporary scripts.

        The bulk of a large tree, so this works on the whole folder at once: a C-level
        ``filter`` proves the good names good with one regex match each (a name dated outside
        the stale window gets one calendar check per distinct date), and only the rest reach
        the full rules in :meth:`temporary_entry`. Same result as calling it for every name,
        about twice as fast.
        """
        self.developer_folder(folder)
        entries = self.listing(folder, path)
        self.checked += len(entries)
        names: list[str] = list(map(_NAME, entries))
        if any(map(_IS_DIR, entries)):  # rare: a folder inside a developer folder
            folders = {e.name for e in entries if e.is_dir()}
            for name in folders:
                self.temporary_entry(folder, name, True)
            names = [n for n in names if n not in folders]
        window = self.window
        good = list(filter(window or self.naming.good_temporary_file, names))
        dated = good if window is None else []  # good names whose date still needs a look
        if len(good) != len(names):
            shape = self.naming.good_temporary_file
            for name in filterfalse(set(good).__contains__, names):
                if window is not None and shape(name):
                    dated.append(name)  # well formed, dated outside the window
                else:
                    self.temporary_entry(folder, name, False)
        if dated:
            days = list(map(_DAY, dated))
            odd = {day for day in set(days) if self.date_state(day) != _OK}
            for name in compress(dated, map(odd.__contains__, days)) if odd else ():
                day = name[3:13]
                if self.dates[day] == _STALE:
                    self.stale(f"{folder}/{name}", day)
                else:
                    self.temporary_entry(folder, name, False)
        if "temporary" in self.content_kinds:
            self.content.extend((f"{folder}/{name}", "temporary")
                                for name in (good if window is None else good + dated)
                                if self.dates.get(name[3:13]) != _BAD)

    # -- single names ------------------------------------------------------------------------

    def developer_folder(self, folder: str) -> None:
        if folder in self.dev_folders_checked:
            return
        self.dev_folders_checked.add(folder)
        problem = self.naming.check_developer_folder(folder)
        if problem is not None:
            self.problem(folder, problem)

    def exists(self, rel: str) -> bool:
        """Whether a root-relative path is taken: asked only while explaining a bad name."""
        return os.path.lexists(os.path.join(self.root, rel))

    def nested(self, rel: str) -> None:
        if rel in self.nested_reported:
            return
        self.nested_reported.add(rel)
        top = rel.split("/", 1)[0]
        self.add(rel, "OPS101",
                 f"a folder inside {top}/; scripts sit directly in recycle/, unrecycle/ or a "
                 "developer folder, never deeper",
                 f"move its scripts up into {top}/ (or a developer folder) and remove it")

    def not_a_script(self, rel: str) -> None:
        self.add(rel, "OPS501",
                 "not a Python script; only .py scripts (and README.md, __init__.py) belong "
                 "here",
                 "move data and notes out of the offline-script tree, or rename a script to .py")

    def shared_entry(self, folder: str, name: str, is_dir: bool) -> None:
        if name.startswith("."):
            return
        rel = f"{folder}/{name}"
        if is_dir:
            if name != "__pycache__":
                self.nested(rel)
            return
        if name in IGNORED_NAMES:
            return
        if not name.endswith(".py"):
            self.not_a_script(rel)
            return
        kind: Kind = "recycle" if folder == "recycle" else "unrecycle"
        problem = self.naming.check_script_name(name, kind, exists=self.exists)
        if problem is not None:
            self.problem(rel, problem)
        self.shared_scripts.append((folder, name))
        if kind in self.content_kinds:
            self.content.append((rel, kind))

    def temporary_entry(self, folder: str, name: str, is_dir: bool) -> None:
        if name.startswith("."):
            return
        rel = f"{folder}/{name}"
        if is_dir:
            if name != "__pycache__":
                self.nested(rel)
            return
        if name in IGNORED_NAMES:
            return
        if not name.endswith(".py"):
            self.not_a_script(rel)
            return
        if "temporary" in self.content_kinds:
            self.content.append((rel, "temporary"))
        problem = self.naming.check_temporary(name)
        if problem is not None:
            self.problem(rel, problem)
            return
        m = TS_FILE_RE.match(name)
        if m is not None and self.date_state(m[1]) == _STALE:
            self.stale(rel, m[1])

    def date_state(self, text: str) -> int:
        state = self.dates.get(text)
        if state is None:
            try:
                day = _dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
            except ValueError:
                state = _BAD
            else:
                if day > self.today:
                    state = _BAD
                elif self.stale_before is not None and day < self.stale_before:
                    state = _STALE
                else:
                    state = _OK
            self.dates[text] = state
        return state

    def stale(self, rel: str, day: str) -> None:
        self.add(rel, "OPS401",
                 f"a temporary script from {day.replace('_', '-')}, older than stale_days "
                 f"({self.config.stale_days})",
                 "delete it (opsctl clean), or promote it if it is still needed "
                 "(opsctl promote)")

    # -- file-list mode ----------------------------------------------------------------------

    def check_paths(self, paths: Sequence[str | os.PathLike[str]], cwd: str) -> None:
        root_real = os.path.realpath(self.root)
        shared_targets: set[str] = set()
        for given in paths:
            absolute = os.path.abspath(os.path.join(cwd, os.fspath(given)))
            if not os.path.lexists(absolute):
                raise PathNotFound(f"{_safe(os.fspath(given))} does not exist; give existing "
                                   "files or folders (or none, to lint the whole tree)")
            # Resolve symlinked folders on the way, not the file itself: a symlink inside the
            # root is checked by its own name.
            real = os.path.join(os.path.realpath(os.path.dirname(absolute)),
                                os.path.basename(absolute))
            if real == root_real or _inside(root_real, real):
                # The root itself, or a folder holding it (opsctl lint .): the whole tree.
                self.walk_tree()
                return
            if not _inside(real, root_real):
                self.outside.append(os.fspath(given))
                continue
            parts = os.path.relpath(real, root_real).split(os.sep)
            self.checked += 1
            self.check_parts(parts, real, shared_targets)
        if shared_targets:
            self.check_duplicates(self.list_shared(), shared_targets)

    def check_parts(self, parts: list[str], real: str, shared_targets: set[str]) -> None:
        if any(p.startswith(".") for p in parts) or "__pycache__" in parts:
            return
        is_dir = os.path.isdir(real)
        top = parts[0]
        if len(parts) == 1:
            if not is_dir:
                self.root_file(top)
            elif top in SHARED_FOLDERS:
                before = len(self.shared_scripts)
                self.walk_shared(top, real)
                shared_targets.update(f"{f}/{n}" for f, n in self.shared_scripts[before:])
            else:
                self.walk_developer(top, real)
            return
        if top not in SHARED_FOLDERS:
            self.developer_folder(top)
        if len(parts) > 2:
            self.nested(f"{top}/{parts[1]}")
        elif top in SHARED_FOLDERS:
            self.shared_entry(top, parts[1], is_dir)
            shared_targets.add(f"{top}/{parts[1]}")
        else:
            self.temporary_entry(top, parts[1], is_dir)

    def list_shared(self) -> list[tuple[str, str]]:
        """Every script name in recycle/ and unrecycle/: what the duplicate rule compares."""
        out: list[tuple[str, str]] = []
        for folder in SHARED_FOLDERS:
            try:
                with os.scandir(os.path.join(self.root, folder)) as entries:
                    out.extend((folder, e.name) for e in entries
                               if e.name.endswith(".py") and not e.name.startswith(".")
                               and e.name not in IGNORED_NAMES and not e.is_dir())
            except OSError:
                continue
        return out

    # -- cross-file rules --------------------------------------------------------------------

    def check_duplicates(self, scripts: Iterable[tuple[str, str]],
                         only: set[str] | None) -> None:
        """Report shared scripts of one purpose: the same name in recycle/ and unrecycle/, or
        names equal once case, separators and copy suffixes are set aside. Every member of
        such a group is reported (``only`` limits that to the files being checked)."""
        if "OPS302" not in self.enabled:
            return
        groups: dict[str, list[tuple[str, str]]] = {}
        for folder, name in scripts:
            key = self.naming.strip_suffixes(normalise(name[:-3]))[0]
            if key:
                groups.setdefault(key, []).append((folder, name))
        for key, members in groups.items():
            if len(members) < 2:
                continue
            members.sort(key=lambda m: (m[0] != "recycle", m))
            for folder, name in members:
                rel = f"{folder}/{name}"
                if only is None or rel in only:
                    self.duplicate(key, (folder, name), members)

    def duplicate(self, key: str, member: tuple[str, str],
                  members: list[tuple[str, str]]) -> None:
        folder, name = member
        stem = name[:-3]
        others = [(f, n) for f, n in members if (f, n) != member]
        listed = ", ".join(f"{f}/{n}" for f, n in others)
        same = [(f, n) for f, n in others if n == name]
        if same and len(others) == 1:
            self.add(f"{folder}/{name}", "OPS302",
                     f"the same name is in {same[0][0]}/{name}; a script is either recurring "
                     "(recycle/) or a one-off record (unrecycle/), not both",
                     "keep the one that is current and delete the other (git keeps history)")
            return
        other_stems = [n[:-3] for _, n in others]
        if all(s.lower() == stem.lower() for s in other_stems):
            how = "only by case"
        elif all(normalise(s) == normalise(stem) for s in other_stems):
            how = "only by case or separators"
        else:
            how = "only by a suffix"
        canonical = next((f"{f}/{n}" for f, n in members if n[:-3] == key), None)
        if canonical == f"{folder}/{name}":
            fix = (f"keep this one: merge {listed} into it (extend it with an option), then "
                   f"delete {'it' if len(others) == 1 else 'them'}")
        elif canonical:
            fix = f"merge them into {canonical} (extend it with an option) and delete the rest"
        else:
            fix = "merge them into one script with a plain snake_case name"
        self.add(f"{folder}/{name}", "OPS302", f"differs {how} from {listed}: one purpose, one "
                 "script", fix)

    # -- content rules -----------------------------------------------------------------------

    def check_contents(self) -> None:
        if not self.content:
            return
        from .content import check_scripts  # ast and the rules, only when there is work

        todo = [(rel, kind) for rel, kind in self.content
                if self.ignored is None or not self.ignored(rel)]
        for rel, code, message, fix, line in check_scripts(self.root, todo):
            self.add(rel, code, message, fix, line)
        self.content = []


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)



def _compile_globs(patterns: Sequence[str]) -> Callable[[str], object] | None:
    """One regex for every ``ignore`` glob; a glob naming a folder covers what is inside."""
    if not patterns:
        return None
    import fnmatch

    parts: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip().rstrip("/")
        parts += [fnmatch.translate(pattern), fnmatch.translate(pattern + "/*")]
    return re.compile("|".join(parts)).match
