"""Finding the project and reading ``[tool.opsctl]``, overridden by ``OPSCTL_*`` variables.

Precedence: command-line options > ``OPSCTL_*`` environment variables > ``[tool.opsctl]`` >
defaults. Unknown keys and wrong types are :class:`~opsctl.errors.ConfigError` naming the key
and where it came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from .errors import ConfigError, OpsctlError
from .naming import DEFAULT_DEVELOPER_PATTERN

DEFAULT_ROOT = "offline_script"
DEFAULT_STALE_DAYS = 90
DEFAULT_PROTECTED = ("production",)
DEFAULT_SECRET_OPTIONS = ("password", "passwd", "token", "secret", "api-key", "api_key")


class Config(NamedTuple):
    """The settings of one project, every path absolute."""

    project_dir: Path
    root: Path
    source: str = "defaults"
    app: str | None = None
    templates: Path | None = None
    stale_days: int = DEFAULT_STALE_DAYS
    developer_pattern: str = DEFAULT_DEVELOPER_PATTERN
    developers: tuple[str, ...] | None = None
    ledger_url: str | None = None
    protected_environments: tuple[str, ...] = DEFAULT_PROTECTED
    secret_options: tuple[str, ...] = DEFAULT_SECRET_OPTIONS
    lint: Mapping[str, Any] = MappingProxyType({})

    @property
    def default_ledger_url(self) -> str:
        """``instance/opsctl.sqlite3`` under the project: Flask's place for local state."""
        return f"sqlite:///{self.project_dir / 'instance' / 'opsctl.sqlite3'}"

    @property
    def effective_ledger_url(self) -> str:
        return self.ledger_url or self.default_ledger_url


# key -> (type check, description for messages, converter from an environment string)
def _str(v: Any) -> bool:
    return isinstance(v, str)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _strlist(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _table(v: Any) -> bool:
    return isinstance(v, dict)


def _opt_str(s: str) -> str | None:
    return s or None


def _split(s: str) -> list[str] | None:
    # An empty variable means "not set", not an empty list (an empty developers allow-list
    # would reject every folder).
    return [x.strip() for x in s.split(",") if x.strip()] or None


_KEYS: dict[str, tuple[Any, str, Any]] = {
    "root": (_str, "a folder path (string)", _opt_str),
    "app": (_str, "a Flask app import path (string)", _opt_str),
    "templates": (_str, "a folder path (string)", _opt_str),
    "stale_days": (_int, "a whole number of days (>= 0)", int),
    "developer_pattern": (_str, "a regular expression (string)", _opt_str),
    "developers": (_strlist, "a list of folder names", _split),
    "ledger_url": (_str, "a SQLAlchemy database URL (string)", _opt_str),
    "protected_environments": (_strlist, "a list of environment names", _split),
    "secret_options": (_strlist, "a list of option names", _split),
    "lint": (_table, "a table ([tool.opsctl.lint])", None),
}


_TABLE_RE = re.compile(r"^\s*\[tool\.opsctl[\].]", re.MULTILINE)


def has_opsctl_table(pyproject: Path) -> bool:
    """Whether a ``pyproject.toml`` has a ``[tool.opsctl]`` table (a text check, no parse:
    looking at every pyproject.toml upward must stay cheap)."""
    try:
        return _TABLE_RE.search(pyproject.read_text(encoding="utf-8")) is not None
    except (OSError, UnicodeDecodeError):
        return False


def is_project_dir(folder: Path) -> bool:
    return has_opsctl_table(folder / "pyproject.toml") or (folder / DEFAULT_ROOT).is_dir()


def find_project_dir(start: Path | None = None) -> Path | None:
    """The nearest folder upward holding ``pyproject.toml`` with ``[tool.opsctl]``, or an
    ``offline_script/`` folder."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if is_project_dir(folder):
            return folder
    return None


def check_project_dir(folder: Path) -> Path:
    """A folder named with ``--project``: it must exist and be an opsctl project."""
    if not folder.is_dir():
        raise ConfigError(f"--project {folder}: no such folder")
    if not is_project_dir(folder):
        raise ConfigError(f"--project {folder}: not an opsctl project (no pyproject.toml with "
                          "[tool.opsctl], no offline_script/ folder); run 'opsctl init' there "
                          "first")
    return folder


def read_table(project_dir: Path) -> tuple[dict[str, Any], str]:
    """The raw ``[tool.opsctl]`` table of a project and a description of where it came from."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file():
        return {}, "defaults"
    import tomllib  # imported on use: a project without pyproject.toml needs no parser

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML ({exc}); fix the file") from None
    tool = data.get("tool", {})
    table = tool.get("opsctl", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.opsctl] must be a table")
    return table, str(pyproject)


def load_config(
    project_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read the configuration of ``project_dir``: file, then environment, then ``overrides``."""
    environ = os.environ if environ is None else environ
    table, source = read_table(project_dir)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{source}: unknown key [tool.opsctl] {key!r} (known keys: {known})")
        check, expected, _ = _KEYS[key]
        if not check(value):
            raise ConfigError(
                f"{source}: [tool.opsctl] {key} must be {expected}, not {type(value).__name__} "
                f"{value!r}")
        values[key] = value
    for key, (check, expected, convert) in _KEYS.items():
        var = f"OPSCTL_{key.upper()}"
        if convert is None or var not in environ:
            continue
        try:
            value = convert(environ[var])
        except ValueError:
            raise ConfigError(f"environment variable {var} must be {expected}, not "
                              f"{environ[var]!r}") from None
        if value is None:
            continue
        if not check(value):
            raise ConfigError(f"environment variable {var} must be {expected}, not "
                              f"{environ[var]!r}")
        values[key] = value
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})

    try:
        re.compile(values.get("developer_pattern", DEFAULT_DEVELOPER_PATTERN))
    except re.error as exc:
        raise ConfigError(f"{source}: developer_pattern is not a valid regular expression "
                          f"({exc})") from None

    def path(value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else project_dir / p

    templates = values.get("templates")
    return Config(
        project_dir=project_dir,
        root=path(values.get("root", DEFAULT_ROOT)),
        source=source,
        app=values.get("app"),
        templates=path(templates) if templates else project_dir / "templates",
        stale_days=values.get("stale_days", DEFAULT_STALE_DAYS),
        developer_pattern=values.get("developer_pattern", DEFAULT_DEVELOPER_PATTERN),
        developers=tuple(values["developers"]) if "developers" in values else None,
        ledger_url=values.get("ledger_url"),
        protected_environments=tuple(values.get("protected_environments", DEFAULT_PROTECTED)),
        secret_options=tuple(values.get("secret_options", DEFAULT_SECRET_OPTIONS)),
        lint=values.get("lint", {}),
    )


def require_project_dir(start: Path | None = None) -> Path:
    """Like :func:`find_project_dir`, but an error that says what to do when there is none."""
    found = find_project_dir(start)
    if found is None:
        raise OpsctlError(
            f"no opsctl project here ({start or Path.cwd()}): no pyproject.toml with "
            "[tool.opsctl] and no offline_script/ folder above it; run 'opsctl init' in the "
            "project root, or pass --project DIR")
    return found
