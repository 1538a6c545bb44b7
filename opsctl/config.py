"""Finding the project and reading ``[tool.opsctl]``, overridden by ``OPSCTL_*`` variables.

Precedence: command-line options > ``OPSCTL_*`` environment variables > ``[tool.opsctl]`` >
defaults. Unknown keys and wrong types are :class:`~opsctl.errors.ConfigError` naming the key
and where it came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import MappingProxyType

from .errors import ConfigError, OpsctlError
from .light import NamedTuple, pattern
from .naming import DEFAULT_DEVELOPER_PATTERN

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

#: A folder as the functions here take it: a str or a Path.
StrPath = str | os.PathLike[str]

DEFAULT_ROOT = "offline_script"
#: Where opsctl keeps what it read from unchanged files (:mod:`opsctl.filecache`).
DEFAULT_CACHE_DIR = ".opsctl_cache"
#: A project's own templates, under the root: hidden from the lint and the catalogue, and
#: apart from Flask's ``templates/``.
DEFAULT_TEMPLATES = ".templates"
DEFAULT_STALE_DAYS = 90
#: Seconds the end of a run waits out a ledger that cannot be reached before it goes to the
#: local journal.
DEFAULT_LEDGER_RETRY_SECONDS = 30.0
DEFAULT_PROTECTED = ("production",)
DEFAULT_SECRET_OPTIONS = ("password", "passwd", "passphrase", "token", "secret", "api-key",
                          "api_key", "apikey", "credential", "private-key", "access-key")


class Config(NamedTuple):
    """The settings of one project, every path absolute.

    Folders are kept as strings (``*_path``) and given as :class:`~pathlib.Path` by the
    properties of the same name without the suffix: the lint reads the strings, so it runs
    without importing pathlib.
    """

    project_path: str
    root_path: str
    source: str = "defaults"
    app: str | None = None
    #: The folder the app is started from (``app_folder``): its ``.flaskenv`` / ``.env`` are
    #: read and discovery runs there; None: the project folder.
    app_folder_path: str | None = None
    templates_path: str | None = None
    stale_days: int = DEFAULT_STALE_DAYS
    developer_pattern: str = DEFAULT_DEVELOPER_PATTERN
    developers: tuple[str, ...] | None = None
    ledger_url: str | None = None
    ledger_retry_seconds: float = DEFAULT_LEDGER_RETRY_SECONDS
    protected_environments: tuple[str, ...] = DEFAULT_PROTECTED
    secret_options: tuple[str, ...] = DEFAULT_SECRET_OPTIONS
    #: Whether a run's output tail is kept in the ledger.
    keep_output: bool = True
    lint: Mapping[str, Any] = MappingProxyType({})
    #: The cache folder (:mod:`opsctl.filecache`), absolute; None: no cache.
    cache_path: str | None = None
    #: ``run --queue NAME``'s queues: name -> URL (``[tool.opsctl.queues]``,
    #: ``OPSCTL_QUEUE_<NAME>``; :mod:`opsctl.queue`).
    queues: Mapping[str, str] = MappingProxyType({})

    @property
    def project_dir(self) -> Path:
        from pathlib import Path

        return Path(self.project_path)

    @property
    def root(self) -> Path:
        """The offline-script root."""
        from pathlib import Path

        return Path(self.root_path)

    @property
    def app_folder(self) -> Path:
        """Where the app is started from, as ``flask`` would be: ``app_folder``, else the
        project folder."""
        from pathlib import Path

        return Path(self.app_folder_path or self.project_path)

    @property
    def templates(self) -> Path | None:
        from pathlib import Path

        return Path(self.templates_path) if self.templates_path is not None else None

    @property
    def default_ledger_url(self) -> str:
        """``instance/opsctl.sqlite3`` under the project: Flask's place for local state."""
        return f"sqlite:///{os.path.join(self.project_path, 'instance', 'opsctl.sqlite3')}"

    @property
    def effective_ledger_url(self) -> str:
        return self.ledger_url or self.default_ledger_url


# key -> (type check, description for messages, converter from an environment string)
def _str(v: Any) -> bool:
    return isinstance(v, str)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _seconds(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf")


def _strlist(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _table(v: Any) -> bool:
    return isinstance(v, dict)


def _urls(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}


def _flag(s: str) -> bool | None:
    if not s.strip():
        return None
    try:
        return _BOOLEANS[s.strip().lower()]
    except KeyError:
        raise ValueError(s) from None


def _opt_str(s: str) -> str | None:
    return s or None


def _split(s: str) -> list[str] | None:
    # An empty variable means "not set", not an empty list (an empty developers allow-list
    # would reject every folder).
    return [x.strip() for x in s.split(",") if x.strip()] or None


_KEYS: dict[str, tuple[Any, str, Any]] = {
    "root": (_str, "a folder path (string)", _opt_str),
    "app": (_str, "a Flask app import path (string)", _opt_str),
    "app_folder": (_str, "a folder path (string)", _opt_str),
    "templates": (_str, "a folder path (string)", _opt_str),
    "stale_days": (_int, "a whole number of days (>= 0)", int),
    "developer_pattern": (_str, "a regular expression (string)", _opt_str),
    "developers": (_strlist, "a list of folder names", _split),
    "ledger_url": (_str, "a SQLAlchemy database URL (string)", _opt_str),
    "ledger_retry_seconds": (_seconds, "a number of seconds (>= 0)", float),
    "protected_environments": (_strlist, "a list of environment names", _split),
    "secret_options": (_strlist, "a list of option names", _split),
    "keep_output": (_bool, "true or false", _flag),
    "lint": (_table, "a table ([tool.opsctl.lint])", None),
    "cache_dir": (_str, "a folder path (string)", _opt_str),
    "queues": (_urls, "a table of queue URLs (strings)", None),
}


#: Keys whose ``OPSCTL_*`` variable adds to the configured list (or the default) instead of
#: replacing it.
ADDITIVE: dict[str, tuple[str, ...]] = {"protected_environments": DEFAULT_PROTECTED}

_TABLE_RE = pattern(r"^\s*\[tool\.opsctl[\].]", re.MULTILINE)


def tidy(path: StrPath) -> str:
    """``path`` spelled as :mod:`pathlib` spells it: no ``.`` parts, no doubled or trailing
    separators. ``..`` stays: only the file system knows where it leads after a symlink."""
    text = os.fspath(path)
    if os.altsep:
        text = text.replace(os.altsep, os.sep)
    drive, rest = os.path.splitdrive(text)
    head = os.sep if rest.startswith(os.sep) else ""
    parts = [p for p in rest.split(os.sep) if p not in ("", ".")]
    return drive + head + os.sep.join(parts) if drive or head or parts else "."


def absolute(path: StrPath) -> str:
    """``path`` made absolute against the current folder, and tidied. A path with ``..`` in
    it is resolved by the file system (:func:`os.path.realpath`), which alone knows where
    ``..`` leads after a symlink; a project folder is then spelled one way however it was
    reached, which its locks and the current-folder checks compare against. Other paths keep
    their spelling (a symlinked home stays as the user knows it)."""
    text = os.fspath(path)
    full = tidy(text if os.path.isabs(text) else os.path.join(os.getcwd(), text))
    return os.path.realpath(full) if _has_dotdot(full) else full


def _has_dotdot(path: str) -> bool:
    return ".." in path.split(os.sep)


def has_opsctl_table(pyproject: StrPath) -> bool:
    """Whether a ``pyproject.toml`` has a ``[tool.opsctl]`` table (a text check, no parse:
    looking at every pyproject.toml upward must stay cheap)."""
    try:
        with open(pyproject, encoding="utf-8") as fh:
            return _TABLE_RE.search(fh.read()) is not None
    except (OSError, UnicodeDecodeError):
        return False


def is_project_dir(folder: StrPath) -> bool:
    return has_opsctl_table(os.path.join(folder, "pyproject.toml")) or \
        os.path.isdir(os.path.join(folder, DEFAULT_ROOT))


def find_project_dir(start: StrPath | None = None) -> str | None:
    """The nearest folder upward holding ``pyproject.toml`` with ``[tool.opsctl]``, or an
    ``offline_script/`` folder."""
    folder = absolute(start if start is not None else os.getcwd())
    while True:
        if is_project_dir(folder):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def check_project_dir(folder: StrPath) -> str:
    """A folder named with ``--project``: it must exist and be an opsctl project."""
    if not os.path.isdir(folder):
        raise ConfigError(f"--project {absolute(folder)}: no such folder")
    if not is_project_dir(folder):
        raise ConfigError(f"--project {absolute(folder)}: not an opsctl project (no "
                          "pyproject.toml with [tool.opsctl], no offline_script/ folder); run "
                          "'opsctl init' there first")
    return absolute(folder)


def read_table(project_dir: StrPath) -> tuple[dict[str, Any], str]:
    """The raw ``[tool.opsctl]`` table of a project and a description of where it came from."""
    pyproject = os.path.join(project_dir, "pyproject.toml")
    if not os.path.isfile(pyproject):
        return {}, "defaults"
    from .filecache import KeptTable

    kept = KeptTable(os.path.join(project_dir, DEFAULT_CACHE_DIR), pyproject)
    table = kept.get()
    if table is not None:
        return table, str(pyproject)
    import tomllib  # imported on use: a project without pyproject.toml needs no parser

    try:
        with open(pyproject, encoding="utf-8") as fh:
            data = tomllib.loads(fh.read())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML ({exc}); fix the file") from None
    tool = data.get("tool", {})
    table = tool.get("opsctl", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.opsctl] must be a table")
    kept.put(table)
    return table, str(pyproject)


def load_config(
    project_dir: StrPath,
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
        if key in ADDITIVE:
            # An operator's variable may protect more, never less: it adds to the list.
            before = values.get(key, ADDITIVE[key])
            value = [*before, *(v for v in value if v not in before)]
        values[key] = value
    queues = {**values.get("queues", {}), **{var[13:].lower(): url for var, url in
                                              environ.items() if var.startswith("OPSCTL_QUEUE_")}}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})

    try:
        re.compile(values.get("developer_pattern", DEFAULT_DEVELOPER_PATTERN))
    except re.error as exc:
        raise ConfigError(f"{source}: developer_pattern is not a valid regular expression "
                          f"({exc})") from None

    project = os.fspath(project_dir)

    def path(value: str) -> str:  # relative to the project; an absolute value stays
        return absolute(os.path.join(project, os.path.expanduser(value)))

    root = values.get("root", DEFAULT_ROOT)
    app_folder = values.get("app_folder")
    return Config(
        project_path=project,
        root_path=path(root),
        source=source,
        app=values.get("app"),
        app_folder_path=path(app_folder) if app_folder else None,
        templates_path=path(values.get("templates") or os.path.join(root, DEFAULT_TEMPLATES)),
        stale_days=values.get("stale_days", DEFAULT_STALE_DAYS),
        developer_pattern=values.get("developer_pattern", DEFAULT_DEVELOPER_PATTERN),
        developers=tuple(values["developers"]) if "developers" in values else None,
        ledger_url=anchored_ledger_url(values["ledger_url"], project)
        if values.get("ledger_url") else None,
        ledger_retry_seconds=float(values.get("ledger_retry_seconds",
                                              DEFAULT_LEDGER_RETRY_SECONDS)),
        protected_environments=tuple(values.get("protected_environments", DEFAULT_PROTECTED)),
        secret_options=tuple(values.get("secret_options", DEFAULT_SECRET_OPTIONS)),
        keep_output=values.get("keep_output", True),
        lint=values.get("lint", {}),
        cache_path=path(values.get("cache_dir") or DEFAULT_CACHE_DIR),
        queues=MappingProxyType(queues),
    )


_SQLITE_URL = pattern(r"(?P<scheme>sqlite(?:\+\w+)?)://(?P<rest>.*)\Z", re.DOTALL)


def anchored_ledger_url(url: str, project_dir: str) -> str:
    """``url`` with a relative SQLite file made absolute against the project, so that every
    command, started from any folder, reads and locks one ledger. An in-memory SQLite ledger
    is refused: it would record nothing and keep no lock. Any other URL is kept as it is."""
    match = _SQLITE_URL.match(url)
    if match is None:
        return url
    path, sep, query = match["rest"].partition("?")
    if path and not path.startswith("/"):
        return url  # sqlite://host/... is no SQLite URL: opening it says so
    database = path[1:]
    if database in ("", ":memory:") or database.startswith("file::memory:") or \
            "mode=memory" in query:
        raise ConfigError(f"ledger_url {url!r} is a database in memory, which would record no "
                          "run and hold no lock; point it at a file (sqlite:///instance/"
                          "opsctl.sqlite3) or a server, or run with --no-ledger")
    if database.startswith("file:") or os.path.isabs(os.path.expanduser(database)):
        return url
    anchored = absolute(os.path.join(project_dir, os.path.expanduser(database)))
    return f"{match['scheme']}:///{anchored}{sep}{query}"


def require_project_dir(start: StrPath | None = None) -> str:
    """Like :func:`find_project_dir`, but an error that says what to do when there is none."""
    found = find_project_dir(start)
    if found is None:
        where = os.fspath(start) if start is not None else os.getcwd()
        raise OpsctlError(
            f"no opsctl project here ({where}): no pyproject.toml with "
            "[tool.opsctl] and no offline_script/ folder above it; run 'opsctl init' in the "
            "project root, or pass --project DIR")
    return found
