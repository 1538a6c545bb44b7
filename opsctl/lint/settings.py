"""``[tool.opsctl.lint]``, read and validated into a :class:`LintConfig`.

Errors name the key and the file, as for ``[tool.opsctl]`` itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ..config import tidy
from ..dates import parse_floor
from ..errors import ConfigError
from ..light import NamedTuple
from ..naming import DEFAULT_STATUS_SUFFIXES, STATUS_SUFFIXES_TYPE, configured_status_suffixes
from .rules import _CODE_OF, CONTENT_KINDS, DEFAULT_SEVERITIES, RULES_BY_CODE, SEVERITIES, Severity

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Any

    from ..config import Config

# -- configuration ----------------------------------------------------------------------------

# The value types here are NamedTuples, not dataclasses: the dataclasses module (with inspect,
# which it imports) costs more import time than linting thousands of names, and lint runs in CI
# on every push.
class LintConfig(NamedTuple):
    """``[tool.opsctl.lint]``, validated: which rules run, how severe they are, what to skip."""

    enabled: frozenset[str] = frozenset(RULES_BY_CODE)
    severities: Mapping[str, Severity] = MappingProxyType(DEFAULT_SEVERITIES)
    ignore: tuple[str, ...] = ()
    status_suffixes: tuple[str, ...] = DEFAULT_STATUS_SUFFIXES
    content_kinds: frozenset[str] = frozenset({"recycle", "unrecycle"})
    stale_days: int = 90
    #: The baseline file, absolute (a relative one in the table is under the project).
    baseline: str | None = None
    #: The earliest date a temporary name may carry: ``YYYY-MM-DD``, ``first-commit`` (the
    #: repository's), or None for :data:`opsctl.dates.DEFAULT_DATE_FLOOR`.
    date_floor: str | None = None
    #: One OPS401 warning per stale script (``--show-stale``) instead of one summary.
    show_stale: bool = False
    #: The folder of the content cache (:mod:`opsctl.lint.cache`); None: no cache.
    cache_dir: str | None = None

    @classmethod
    def from_config(cls, config: Config) -> LintConfig:
        """The lint settings of a loaded project configuration."""
        return cls.from_table(config.lint, source=config.source,
                              project_dir=config.project_path, stale_days=config.stale_days,
                              )._replace(cache_dir=config.cache_path)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], *, source: str = "defaults",
                   project_dir: str | os.PathLike[str] | None = None,
                   stale_days: int = 90) -> LintConfig:
        """Validate a raw ``[tool.opsctl.lint]`` table; errors name the key and the file."""
        unknown = sorted(set(table) - set(_LINT_KEYS))
        if unknown:
            raise ConfigError(f"{source}: unknown key [tool.opsctl.lint] {unknown[0]!r} "
                              f"(known keys: {', '.join(sorted(_LINT_KEYS))})")

        def strings(key: str) -> list[str] | None:
            if key not in table:
                return None
            value = table[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _type_error(source, key, value)
            return value

        def codes(key: str, values: Iterable[str]) -> set[str]:
            return {_rule_code(v, source, key) for v in values}

        select = strings("select")
        enabled = codes("select", select) if select is not None else set(RULES_BY_CODE)
        enabled -= codes("disable", strings("disable") or ())

        severities = dict(DEFAULT_SEVERITIES)
        raw_severity = table.get("severity", {})
        if not isinstance(raw_severity, dict):
            raise _type_error(source, "severity", raw_severity)
        for key, value in raw_severity.items():
            code = _rule_code(key, source, "severity")
            if value not in SEVERITIES:
                raise ConfigError(f"{source}: [tool.opsctl.lint] severity.{key} must be "
                                  f"\"error\" or \"warning\", not {value!r}")
            severities[code] = value

        ignore = tuple(strings("ignore") or ())
        for pattern in ignore:
            if not pattern.strip():
                raise ConfigError(f"{source}: [tool.opsctl.lint] ignore holds an empty "
                                  "pattern; remove it")

        suffixes = configured_status_suffixes(table, source)

        kinds = strings("content_kinds")
        for kind in kinds or ():
            if kind not in CONTENT_KINDS:
                raise ConfigError(f"{source}: [tool.opsctl.lint] content_kinds entry {kind!r} "
                                  f"must be one of {', '.join(CONTENT_KINDS)}")

        baseline = table.get("baseline")
        if baseline is not None and (not isinstance(baseline, str) or not baseline.strip()):
            raise _type_error(source, "baseline", baseline)
        baseline_path = None
        if baseline:
            baseline_path = os.path.expanduser(baseline)
            if not os.path.isabs(baseline_path) and project_dir is not None:
                baseline_path = os.path.join(project_dir, baseline_path)
            baseline_path = tidy(baseline_path)

        date_floor = table.get("date_floor")
        if date_floor is not None and (not isinstance(date_floor, str) or (
                date_floor != FIRST_COMMIT and parse_floor(date_floor) is None)):
            raise _type_error(source, "date_floor", date_floor)

        return cls(
            enabled=frozenset(enabled),
            severities=severities,
            ignore=ignore,
            status_suffixes=suffixes,
            content_kinds=frozenset(kinds) if kinds is not None else
            frozenset({"recycle", "unrecycle"}),
            stale_days=stale_days,
            baseline=baseline_path,
            date_floor=date_floor,
        )


_LINT_KEYS: dict[str, str] = {
    "select": "a list of rule codes or names (OPS201, \"stale\")",
    "disable": "a list of rule codes or names",
    "severity": "a table of rule code or name = \"error\" or \"warning\"",
    "ignore": "a list of path globs relative to the root (\"legacy/**\")",
    "status_suffixes": STATUS_SUFFIXES_TYPE,
    "content_kinds": "a list of folder kinds (recycle, unrecycle, temporary)",
    "baseline": "a file path (string)",
    "date_floor": "a date such as \"2015-01-01\", or \"first-commit\"",
}

#: ``date_floor = "first-commit"``: the repository's first commit is the earliest date.
FIRST_COMMIT = "first-commit"


def _type_error(source: str, key: str, value: object) -> ConfigError:
    return ConfigError(f"{source}: [tool.opsctl.lint] {key} must be {_LINT_KEYS[key]}, not "
                       f"{type(value).__name__} {value!r}")


def _rule_code(text: str, source: str, key: str) -> str:
    code = _CODE_OF.get(text.strip().lower())
    if code is None:
        raise ConfigError(f"{source}: [tool.opsctl.lint] {key}: unknown rule {text!r} "
                          "('opsctl lint --list-rules' lists the codes and names)")
    return code

