"""What one lint has found, and the rules that need more than one name: duplicates, the
evidence of shared scripts, stale scripts summarised, developer folders only the repository
can vouch for, and the content rules run at the end. :mod:`opsctl.lint.walk` feeds it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property

from ..light import datetime as _dt
from ..naming import IGNORED_NAMES, SHARED_FOLDERS, Naming, Problem
from .bulk import FastMatches, ListedStems, Match, day_name
from .cache import ContentFacts
from .duplicates import duplicates
from .rules import CONTENT_CODES, Finding, LintReport
from .scriptlist import Scripts, Shared, scripts_of
from .settings import FIRST_COMMIT, LintConfig
from .stale import BAD, OK, STALE, StaleScripts

__all__ = ["BAD", "OK", "STALE", "Collector", "is_script", "stems"]


class Collector(StaleScripts):
    """What one lint has found: findings as the rules allow them (enabled, not ignored, at
    their configured severity), the scripts whose content to check, the names the duplicate
    rule compares, and the summaries (stale scripts, unknown developers) made at the end.
    :meth:`report` sorts it all."""

    #: Whether the lint checks given files (file-list mode) rather than walking the tree.
    partial = False

    def __init__(self, root: str, naming: Naming, config: LintConfig) -> None:
        self.root = root
        self.naming = naming
        self.config = config
        self.findings: list[Finding] = []
        self.checked = 0
        self.outside: list[str] = []
        #: The scripts of recycle/ and unrecycle/: ``(folder, file name)`` pairs and groups.
        self.shared_scripts: Shared = []
        #: The shared scripts the full rules checked (a plain name is proved good in bulk).
        self.marked_scripts: list[tuple[str, str]] = []
        #: The scripts whose content to check: root-relative paths, and shared folders'
        #: scripts as groups (:mod:`opsctl.lint.scriptlist`).
        self.content: Scripts = []
        self.enabled = config.enabled
        self.severity = dict(config.severities)
        self.content_kinds = config.content_kinds if config.enabled & CONTENT_CODES \
            else frozenset()
        self.today = naming.today
        _apply_date_floor(naming, config, root)
        self.stale_before = naming.today - _dt.timedelta(days=config.stale_days) \
            if "OPS401" in config.enabled else None
        self.dates: dict[str, int] = {}  # OK, STALE or BAD
        # Dates neither stale nor future, in the fast match itself: most names then need no
        # date work at all. Without a stale window (the rule off, or decades long), each
        # distinct date is checked once instead.
        self.matches = FastMatches(naming.status_suffixes)
        self._window = (max(self.stale_before, naming.date_floor), self.today) \
            if self.stale_before is not None and config.stale_days <= 3660 else None
        self.ignored = _compile_globs(config.ignore)
        #: Whether stale scripts are only counted, in bulk: one summary, no glob to ask.
        self.counts_stale = self._window is not None and not config.show_stale and \
            self.ignored is None and "temporary" not in self.content_kinds
        #: The names of the first day not stale and of the floor: a good temporary name
        #: sorts below one exactly when its date is before that day.
        self.stale_before_name = day_name(self.stale_before or naming.today)
        self.date_floor_name = day_name(naming.date_floor)
        self.dev_folders_checked: set[str] = set()
        self.unvouched: list[str] = []  # developer folders only the repository can vouch for
        self.nested_reported: set[str] = set()
        self.stale_count = 0
        self.stale_oldest: tuple[str, str] | None = None  # (date, path)
        #: The recycle/ and unrecycle/ scripts by stem; a walk that lists them indexes them.
        self._shared_stems: dict[str, str] | ListedStems | None = None
        self._shared_list: list[tuple[str, str]] | None = None
        self._facts: ContentFacts | None = None
        self._begun: Scripts | None = None  # the scripts begin_contents started on

    # -- recording ---------------------------------------------------------------------------

    @cached_property
    def window(self) -> Match | None:
        """The fast match of a good temporary name dated neither stale nor future, compiled
        when a folder's names are first checked (a warm lint has them all from its cache)."""
        return None if self._window is None else self.matches.between(*self._window)

    def add(self, path: str, code: str, message: str, fix: str | None = None,
            line: int | None = None, found: str | None = None) -> None:
        if code not in self.enabled or (self.ignored is not None and self.ignored(path)):
            return
        self.findings.append(Finding(path, code, message, self.severity[code], fix, line,
                                     found))

    def problem(self, path: str, problem: Problem) -> None:
        self.add(path, problem.code, problem.message, problem.fix)

    def report(self, *, partial: bool = False) -> LintReport:
        self.check_contents()
        if self._facts is not None:
            self._facts.save(whole_tree=not partial)
        if not partial:
            # A tree-wide judgement: in file-list mode (a pre-commit hook) the commit being
            # made may be its author's first, and the hook must not wait on git's history.
            self.check_developers()
        self.summarise_stale()
        # File-list mode may reach one finding twice (a file given twice, or inside a folder
        # also given); a walk of the tree visits every name once.
        found = dict.fromkeys(self.findings) if partial else self.findings
        findings = tuple(sorted(found, key=Finding.sort_key))
        return LintReport(self.root, findings, self.checked, tuple(self.outside), partial,
                          stale=self.stale_count)

    # -- cross-file rules --------------------------------------------------------------------

    def check_duplicates(self, scripts: Iterable[tuple[str, str]],
                         only: set[str] | None) -> None:
        """Report the copies among shared scripts of one purpose
        (:func:`opsctl.lint.duplicates.duplicates`); ``only`` limits that to the files being
        checked."""
        if "OPS302" not in self.enabled:
            return
        for path, message, fix in duplicates(scripts, self.naming, only):
            self.add(path, "OPS302", message, fix)

    def check_twins(self, scripts: Iterable[tuple[str, str]], only: set[str] | None) -> None:
        """Report recycle scripts untouched since a near-twin appeared
        (:mod:`opsctl.lint.twins`); ``only`` limits that to pairs with a file being checked."""
        if "OPS303" not in self.enabled:
            return
        from .twins import near_twins

        self.check_contents()  # the descriptions, from the cache or the check of each script
        facts = self.facts

        def describe(rel: str) -> str:  # asked once each: let go of as given, paths and all
            known = facts.descriptions.pop(rel, None)
            return facts.description(rel) if known is None else known

        for path, message, fix in near_twins(self.root, scripts, self.naming, only, describe,
                                             facts):
            self.add(path, "OPS303", message, fix)
        # Asked for by no one after this rule: their space is the report's to fill.
        facts.descriptions.clear()

    @property
    def facts(self) -> ContentFacts:
        """What the content rules found, through the cache (:mod:`opsctl.lint.cache`)."""
        if self._facts is None:
            self._facts = ContentFacts(self.root, self.config.cache_dir,
                                       whole_tree=not self.partial)
        return self._facts

    def shared_original(self, base: str) -> str | None:
        """The recycle/ (else unrecycle/) script named ``base``: what a name is a copy of."""
        if self._shared_stems is None:
            self._shared_stems = stems(self.list_shared())
        return self._shared_stems.get(base)

    def list_shared(self) -> list[tuple[str, str]]:
        """Every script name in recycle/ and unrecycle/: the evidence and duplicate rules'
        (listed once)."""
        if self._shared_list is None:
            self._shared_list = []
            for folder in SHARED_FOLDERS:
                try:
                    with os.scandir(os.path.join(self.root, folder)) as entries:
                        self._shared_list.extend((folder, e.name) for e in entries
                                                 if is_script(e))
                except OSError:
                    continue
        return self._shared_list

    def check_developers(self) -> None:
        """Developer folders no ``developers`` list vouches for: in a git repository, the
        ones no commit author goes by (one ``git log``, and only when there are any)."""
        if not self.unvouched or "OPS103" not in self.enabled:
            return
        from .authors import goes_by, known_developers

        known = known_developers(self.root)
        if known is None:
            return  # not a repository, a shallow clone, or no git: nobody to ask
        for folder in self.unvouched:
            if not goes_by(folder, known):
                self.add(folder, "OPS103",
                         f"no commit author of this repository goes by {folder!r} (the folder "
                         "'opsctl new' makes from an author's e-mail), and [tool.opsctl] "
                         "developers is not set to vouch for it",
                         "list the team in [tool.opsctl] developers, or move the scripts into "
                         "the folder of the developer who wrote them")

    # -- content rules -----------------------------------------------------------------------

    def begin_contents(self) -> None:
        """Start the content rules on the scripts collected so far, to run beside the rest of
        the walk (:meth:`ContentFacts.begin`), when the walk adds no others: temporary
        scripts' content is not checked."""
        if self.content and "temporary" not in self.content_kinds:
            self._begun = self._content_todo()
            self.content = []
            self.facts.begin(self._begun)

    def check_contents(self) -> None:
        """The content rules on the scripts collected so far: from the cache, else parsed
        (:mod:`opsctl.lint.cache` loads ``ast`` and the rules only for that)."""
        begun, self._begun = self._begun, None
        if begun is not None and not self.content:
            todo = begun
        elif self.content or begun:
            todo = [*(begun or ()), *self._content_todo()]
        else:
            return
        self.content = []
        for rel, (code, message, fix, line, found) in self.facts.findings(todo):
            self.add(rel, code, message, fix, line, found)

    def _content_todo(self) -> Scripts:
        return self.content if self.ignored is None else \
            [(rel, kind) for rel, kind in scripts_of(self.content) if not self.ignored(rel)]


def stems(scripts: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{stem: "folder/name.py"}``, recycle/ first when a stem is in both."""
    stems: dict[str, str] = {}
    for folder, name in sorted(scripts, key=lambda s: s[0] != "recycle"):
        stems.setdefault(name[:-3], f"{folder}/{name}")
    return stems


def is_script(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    return name.endswith(".py") and not name.startswith(".") and name not in IGNORED_NAMES \
        and not entry.is_dir()


def _apply_date_floor(naming: Naming, config: LintConfig, root: str) -> None:
    """Set the naming rules' date floor from ``[tool.opsctl.lint] date_floor``."""
    if config.date_floor is None:
        return
    if config.date_floor == FIRST_COMMIT:
        from .authors import first_commit_date

        first = first_commit_date(root)
        if first is not None:
            naming.date_floor = first
        return
    from ..dates import parse_floor

    floor = parse_floor(config.date_floor)
    if floor is not None:
        naming.date_floor = floor


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
