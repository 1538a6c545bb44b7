"""The lint's vocabulary: its rules, their codes and severities, and the values a lint
returns (:class:`Finding`, :class:`LintReport`).

Every other lint module imports these; this one imports only the naming rules and the errors.
"""

from __future__ import annotations

from ..errors import OpsctlError
from ..light import NamedTuple
from ..naming import Kind

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Literal

    Severity = Literal["error", "warning"]
else:
    Severity = str  # as mypy reads it above
SEVERITIES: tuple[Severity, ...] = ("error", "warning")


class Rule(NamedTuple):
    """One lint rule: a stable code, a short name, its default severity and what it finds."""

    code: str
    name: str
    severity: Severity
    summary: str


RULES: tuple[Rule, ...] = (
    Rule("OPS101", "layout", "error",
         "a file directly in the root, or a folder inside recycle/, unrecycle/ or a developer "
         "folder"),
    Rule("OPS102", "developer-folder", "error",
         "a developer folder not matching developer_pattern, not in developers, or named "
         "for no person (backup, old_scripts, common)"),
    Rule("OPS103", "unknown-developer", "warning",
         "without a developers list, in a git repository: a developer folder that no commit "
         "author goes by"),
    Rule("OPS201", "temporary-name", "error",
         "a temporary script not named ts_YYYY_MM_DD_<what>.py, or <what> a copy: a number, "
         "date, version or copy word, or a copy of one of the developer's scripts"),
    Rule("OPS202", "temporary-date", "error",
         "a temporary script dated with an impossible calendar date, before date_floor, or "
         "in the future"),
    Rule("OPS203", "temporary-maybe-copy", "warning",
         "<what> ending in a word that may mark a copy (clear_temp), with no script of the "
         "developer to prove it one"),
    Rule("OPS301", "script-name", "error",
         "a recycle/unrecycle name that is not plain snake_case: a dot, a ts_ prefix, a date, "
         "a number, version or copy word, or a copy of another shared script"),
    Rule("OPS302", "duplicate", "error",
         "one name in both recycle/ and unrecycle/, or a copy of another shared script "
         "(differing by a mark or by case); the original is not reported"),
    Rule("OPS303", "near-twin", "warning",
         "a recycle script not changed since a near-twin (a nearly identical name or "
         "description) appeared beside it"),
    Rule("OPS304", "script-maybe-copy", "warning",
         "a recycle/unrecycle name ending in a word that may mark a copy (export_draft), with "
         "no sibling to prove it one"),
    Rule("OPS401", "stale", "warning",
         "temporary scripts older than stale_days: one summary line (--show-stale: each)"),
    Rule("OPS501", "not-a-script", "error",
         "a non-.py file where scripts live (__init__.py, README.md, __pycache__ are fine)"),
    Rule("OPS601", "import-side-effects", "error",
         "module-level work that touches data, files or the network, or runs the script, "
         "outside if __name__ == \"__main__\":"),
    Rule("OPS602", "docstring", "error", "a script without a module docstring"),
    Rule("OPS603", "unparsable", "error",
         "a script that is binary, not UTF-8 or not valid Python, so its content cannot be "
         "checked"),
    Rule("OPS604", "possible-side-effect", "warning",
         "a module-level call or loop whose work the lint cannot judge (a function it does "
         "not know)"),
)
RULES_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}
_CODE_OF: dict[str, str] = {**{r.code.lower(): r.code for r in RULES},
                            **{r.name: r.code for r in RULES}}
DEFAULT_SEVERITIES: dict[str, Severity] = {r.code: r.severity for r in RULES}
CONTENT_CODES = frozenset({"OPS601", "OPS602", "OPS603", "OPS604"})
CONTENT_KINDS: tuple[Kind, ...] = ("recycle", "unrecycle", "temporary")


class Finding(NamedTuple):
    """One thing wrong in the tree. ``path`` is relative to the offline-script root, with
    ``/`` separators; it names a file, or a folder for layout and developer-folder findings.
    ``line`` is set only for content findings."""

    path: str
    code: str
    message: str
    severity: Severity = "error"
    fix: str | None = None
    line: int | None = None
    #: What was found, when a path and a rule do not say it alone (the statement of an
    #: import side effect): with them, the finding's fingerprint in a baseline.
    found: str | None = None

    @property
    def rule(self) -> str:
        return RULES_BY_CODE[self.code].name

    def sort_key(self) -> tuple[str, int, str, str]:
        return self.path, self.line or 0, self.code, self.message



class LintUsageError(OpsctlError):
    """The lint was asked for something it cannot do: exit 2, as for a bad option."""

    exit_code = 2


class PathNotFound(LintUsageError):
    """A path given to ``opsctl lint`` does not exist."""


class RootMissing(LintUsageError):
    """The offline-script root is not there to lint."""


class LintReport(NamedTuple):
    """The outcome of one lint: its findings, sorted, and what was looked at."""

    root: str
    findings: tuple[Finding, ...]
    checked: int
    #: Paths given in file-list mode that are not under the root (skipped).
    outside: tuple[str, ...] = ()
    #: True when only given paths were checked (file-list mode).
    partial: bool = False
    baselined: int = 0
    #: Baseline entries that no longer match anything (fixed or deleted); None in file-list
    #: mode, where most of the tree was not looked at.
    baseline_unused: int | None = None
    #: Stale temporary scripts, summarised in one finding unless --show-stale.
    stale: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def exit_code(self) -> int:
        """1 when any error-level finding is left, 0 otherwise."""
        return 1 if self.errors else 0



def _safe(text: str) -> str:
    from ..catalogue import printable

    return printable(text)

