"""Who is running opsctl: the developer folder for ``new`` and the operator in the ledger, and
what ``new`` says to someone a project's ``developers`` list leaves out.

In order: ``--developer``, ``OPSCTL_DEVELOPER``, ``developer`` in the user config
(``$XDG_CONFIG_HOME/opsctl/config.toml``), the local part of ``git config user.email``, the OS
user name. The result is normalised to the developer-folder pattern. When it was guessed (the
last two sources), the first use says where it came from.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .errors import ConfigError
from .naming import folder_name_of

if TYPE_CHECKING:
    from .config import Config


class Identity(NamedTuple):
    name: str
    source: str
    guessed: bool


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "opsctl" / "config.toml"


def _state_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "opsctl" / "identity-noted"


def _git_email(cwd: Path | None) -> str | None:
    try:
        out = subprocess.run(["git", "config", "user.email"], cwd=cwd, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    email = out.stdout.strip()
    return email or None


#: ``Zhang.San`` → ``zhang_san``: the rule the lint also uses to know the repository's authors.
to_folder_name = folder_name_of


def find_identity(explicit: str | None = None, *, cwd: Path | None = None) -> Identity:
    """The developer identity, from the first source that gives one."""
    if explicit:
        return Identity(to_folder_name(explicit) or explicit, "--developer", False)
    env = os.environ.get("OPSCTL_DEVELOPER")
    if env:
        return Identity(to_folder_name(env) or env, "OPSCTL_DEVELOPER", False)
    path = user_config_path()
    if path.is_file():
        import tomllib  # on use: most machines have no user config, and a run needs no parser

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        value = data.get("developer")
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: developer must be a string")
        if value:
            return Identity(to_folder_name(value) or value, str(path), False)
    email = _git_email(cwd)
    if email:
        name = to_folder_name(email.split("@", 1)[0])
        if name:
            return Identity(name, f"git config user.email ({email})", True)
    import getpass

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return Identity(to_folder_name(user) or "unknown", f"the OS user name ({user})", True)


def first_guess_note(identity: Identity) -> str | None:
    """A note saying where a guessed identity came from, once per identity per user."""
    if not identity.guessed:
        return None
    state = _state_path()
    try:
        if state.is_file() and identity.name in state.read_text(encoding="utf-8").split():
            return None
        state.parent.mkdir(parents=True, exist_ok=True)
        with state.open("a", encoding="utf-8") as fh:
            fh.write(identity.name + "\n")
    except OSError:
        pass
    return (f"developer {identity.name!r} taken from {identity.source}; set OPSCTL_DEVELOPER, "
            f"'developer' in {user_config_path()}, or pass --developer to choose")


class DevelopersList(NamedTuple):
    """The developers list in force, in its order, and where a person edits it."""

    names: tuple[str, ...]
    where: str


def developers_list(config: Config) -> DevelopersList | None:
    """The ``developers`` list of ``config``, if it has one, and where it was set."""
    if config.developers is None:
        return None
    if (os.environ.get("OPSCTL_DEVELOPERS") or "").strip():
        return DevelopersList(config.developers, "OPSCTL_DEVELOPERS")
    return DevelopersList(config.developers, f"[tool.opsctl] developers in {config.source}")


def not_listed(developer: str, source: str, listed: DevelopersList) -> str:
    """Why ``new ts`` refuses a developer off the ``developers`` list, and the line that puts
    them on it."""
    names = [*listed.names, developer]
    line = f"OPSCTL_DEVELOPERS={','.join(names)}" if listed.where == "OPSCTL_DEVELOPERS" \
        else f"developers = [{', '.join(json.dumps(n) for n in names)}]"
    return (f"developer folder {developer!r} (your developer name, from {source}) is not in "
            f"the developers list ({listed.where}: {', '.join(listed.names) or 'empty'}); "
            f"to add yourself, make it  {line}  there; if you are listed under another name, "
            "pass --developer NAME or set OPSCTL_DEVELOPER")
