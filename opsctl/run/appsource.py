"""Which Flask app a run loads: one order, the same for ``opsctl run`` and ``flask ops run``.

1. an explicit choice: ``--app`` of either command, ``flask --app`` on the command line (not
   ``FLASK_APP``: Flask hands both over alike, Click tells them apart), or the ``create_app``
   of a project's own ``FlaskGroup``;
2. ``OPSCTL_APP``;
3. ``[tool.opsctl] app``;
4. ``FLASK_APP``: the environment's, else the app folder's ``.flaskenv`` / ``.env``;
5. discovery in the app folder: ``wsgi.py`` / ``app.py`` as Flask finds them, else the one
   package with a factory (:mod:`opsctl.application`).

An explicit choice that names nothing is an error, never a reason to try the next one. The
app folder is ``app_folder`` (``OPSCTL_APP_FOLDER``), else the project folder: its
``.flaskenv`` / ``.env`` are read (never over a variable already set) and discovery runs there,
as ``flask`` started in it would.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..application import DOTENV_FILES, dotenv_flask_app, find_apps
from ..errors import AppNotFound

if TYPE_CHECKING:
    from ..config import Config


class AppChoice(NamedTuple):
    #: As ``flask --app`` takes it; None: Flask's own wsgi.py/app.py discovery, or the
    #: flask command's ``create_app``.
    path: str | None
    #: Where it came from, short: ``--app``, ``[tool.opsctl] app``, ``FLASK_APP in .flaskenv``.
    source: str
    #: Whether the flask command's own ScriptInfo makes the app (its ``create_app``).
    script_info: bool = False


def app_folder(config: Config) -> Path:
    """The app folder, which must exist."""
    folder = config.app_folder
    if not folder.is_dir():
        named = "OPSCTL_APP_FOLDER" if os.environ.get("OPSCTL_APP_FOLDER") else \
            f"[tool.opsctl] app_folder in {config.source}"
        raise AppNotFound(f"the app folder {folder} (from {named}) is not a folder; point "
                          "app_folder at the folder flask is started from, relative to the "
                          "project")
    return folder


def choose(config: Config, option: str | None, option_source: str, *, script_info: object,
           flask_app_before: str | None, folder: Path, cwd: Path) -> AppChoice:
    """The app to load, in the order above. Runs in ``folder`` with its dotenv files read;
    ``flask_app_before`` is ``FLASK_APP`` as it was before they were."""
    if option:
        return AppChoice(option, option_source)
    if getattr(script_info, "create_app", None) is not None:
        # A caller handing over its own app (opsctl.testing) may say what it is.
        source = getattr(script_info, "opsctl_source", "the flask command's create_app")
        return AppChoice(None, str(source), script_info=True)
    if os.environ.get("OPSCTL_APP"):
        return AppChoice(os.environ["OPSCTL_APP"], "OPSCTL_APP")
    if config.app:
        return AppChoice(config.app, "[tool.opsctl] app")
    flask_app = os.environ.get("FLASK_APP")
    if flask_app:
        starts = (cwd, folder) if flask_app_before is not None else (folder,)
        return AppChoice(flask_app, _flask_app_source(flask_app, starts, config.project_dir))
    if any((folder / name).is_file() for name in ("wsgi.py", "app.py")):
        return AppChoice(None, "found")
    found = [app for app in find_apps(folder) if app.file not in ("wsgi.py", "app.py")]
    if len(found) > 1:
        listed = ", ".join(f"{a.import_path} ({a.file})" for a in found)
        raise AppNotFound(f"several Flask apps found in {folder}: {listed}; choose one with "
                          "app = \"...\" in [tool.opsctl], or pass --app")
    if found:
        return AppChoice(found[0].import_path, f"found {found[0].file}")
    raise AppNotFound(nothing_found(config, folder, cwd))


def _flask_app_source(value: str, starts: tuple[Path, ...], project: Path) -> str:
    """``FLASK_APP``, or ``FLASK_APP in <file>`` when the nearest ``.flaskenv`` / ``.env``
    upward of where ``flask`` (or opsctl) read them set this value."""
    for start in starts:
        for name in reversed(DOTENV_FILES):  # .env is read last, so it wins
            file = _nearest(start, name)
            if file is not None:
                found = dotenv_flask_app(file.parent)
                if found is not None and found[0] == value:
                    return f"FLASK_APP in {shown(file, project)}"
    return "FLASK_APP"


def _nearest(start: Path, name: str) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / name).is_file():
            return folder / name
    return None


def shown(path: Path, project: Path) -> str:
    """``path`` relative to the project when inside it, for messages."""
    return path.relative_to(project).as_posix() if path.is_relative_to(project) else str(path)


def nothing_found(config: Config, folder: Path, cwd: Path) -> str:
    message = ("no Flask app found: no --app, no OPSCTL_APP or [tool.opsctl] app, no FLASK_APP "
               f"(nor in .flaskenv/.env), and no wsgi.py, app.py or package with a create_app "
               f"in {folder}; set app = \"yourpackage:create_app\" in [tool.opsctl], or pass "
               "--app")
    project = config.project_dir
    if cwd != folder and cwd.is_relative_to(project) and cwd != project and (
            any((cwd / name).is_file() for name in (*DOTENV_FILES, "wsgi.py", "app.py"))):
        # A monorepo's backend/, where `flask` works because it is started there.
        message += (f"; to start the app from {shown(cwd, project)}/ as flask does here, set "
                    f"app_folder = \"{shown(cwd, project)}\" in [tool.opsctl]")
    return message
