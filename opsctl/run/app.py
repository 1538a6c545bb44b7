"""Finding and loading the project's Flask application, the way ``flask`` itself does.

Flask's own machinery does the work: :func:`flask.cli.load_dotenv` for ``.flaskenv`` / ``.env``,
and :class:`flask.cli.ScriptInfo` (``prepare_import`` + ``locate_app``) for every form
``flask --app`` accepts: ``module``, ``module:app``, ``module:create_app()``,
``module:create_app('dev')``, or a file path.

Which app, in order: ``--app``; ``[tool.opsctl] app`` (or ``OPSCTL_APP``); ``FLASK_APP``
(``.flaskenv`` / ``.env`` included); ``wsgi.py`` / ``app.py`` in the project folder. Discovery
runs with the project folder as the current directory, as if ``flask`` were started there, and
the script then runs in the caller's own directory.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import AppNotFound

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from flask import Flask

    from ..config import Config
    from .environment import Environment
    from .secrets import Scrubber


class LoadedApp(NamedTuple):
    app: Flask
    #: What was imported (``opsctl.demo:create_app``), or None for wsgi.py/app.py discovery.
    import_path: str | None
    #: Where that came from, for messages: ``--app``, ``[tool.opsctl] app``, ``FLASK_APP``...
    source: str

    @property
    def description(self) -> str:
        what = self.import_path or "wsgi.py/app.py"
        return f"{what} ({self.app.name})"


def load_app(config: Config, app_option: str | None = None, *, script_info: Any = None,
             cwd: Path | None = None, debug: bool = False) -> LoadedApp:
    """Load the project's Flask app; :class:`AppNotFound` names what was tried."""
    from flask.cli import NoAppException, ScriptInfo, load_dotenv
    from flask.helpers import get_load_dotenv

    if script_info is not None and (script_info.app_import_path or script_info.create_app):
        # Inside `flask ops ...`: the flask command already knows the app.
        return _load(lambda: script_info.load_app(), script_info.app_import_path,
                     "flask --app / FLASK_APP", debug, NoAppException)

    cwd = cwd or Path.cwd()
    with _working_directory(config.project_dir):
        if get_load_dotenv():
            load_dotenv()
        if app_option:
            path, source = _from_caller(app_option, cwd), "--app"
        elif config.app:
            path = config.app
            source = ("OPSCTL_APP" if os.environ.get("OPSCTL_APP") == config.app
                      else f"[tool.opsctl] app in {config.source}")
        elif os.environ.get("FLASK_APP"):
            path, source = os.environ["FLASK_APP"], "FLASK_APP"
        else:
            path, source = None, "wsgi.py/app.py discovery"
        if str(config.project_dir) not in sys.path:
            # Like `flask` run from the project folder: its modules are importable.
            sys.path.insert(0, str(config.project_dir))
        info = ScriptInfo(app_import_path=path, set_debug_flag=False)
        return _load(info.load_app, path, source, debug, NoAppException,
                     where=config.project_dir)


def _load(load: Any, path: str | None, source: str, debug: bool, no_app: type[Exception],
          where: Path | None = None) -> LoadedApp:
    try:
        app = load()
    except no_app as exc:
        if debug:
            traceback.print_exc()
        raise AppNotFound(_no_app_message(str(exc), path, source, where)) from None
    except Exception as exc:  # the app's own import or factory raised
        if debug:
            traceback.print_exc()
        raise AppNotFound(
            f"importing the Flask app {path or 'wsgi.py/app.py'} (from {source}) raised "
            f"{type(exc).__name__}: {_clause(_first_line(str(exc)))}; fix the app, or run with "
            "--debug "
            "for the traceback") from None
    except SystemExit as exc:  # an app module calling sys.exit() on import
        raise AppNotFound(f"importing the Flask app {path} (from {source}) called "
                          f"sys.exit({exc.code!r})") from None
    return LoadedApp(app, path, source)


def _no_app_message(message: str, path: str | None, source: str, where: Path | None) -> str:
    if path is None:
        return (f"no Flask app found: no --app, no [tool.opsctl] app, no FLASK_APP (nor in "
                f".flaskenv/.env), and no wsgi.py or app.py in {where}; set "
                "app = \"yourpackage:create_app\" in [tool.opsctl], or pass --app")
    if "an ImportError was raised" in message:
        # Flask appends the whole traceback; its last line says what failed.
        lines = [ln for ln in message.strip().splitlines() if ln.strip()]
        return (f"importing the Flask app {path} (from {source}) raised "
                f"{_clause(lines[-1])}; "
                "fix the import, or run with --debug for the traceback")
    return (f"no Flask app at {path!r} (from {source}): {_clause(_first_line(message))}; "
            "check the module and attribute names (flask --app takes the same form)")


def _clause(text: str) -> str:
    """A message made to sit before '; ...': without its own full stop."""
    return text.strip().rstrip(".").rstrip()


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " ".join(lines[:2]) if lines else "(no message)"


def _from_caller(value: str, cwd: Path) -> str:
    """Make a relative file path in ``--app`` relative to where the caller stands, not to the
    project folder that discovery runs in; module names pass through unchanged."""
    path, *name = re.split(r":(?![\\/])", value, maxsplit=1)
    candidate = cwd / path
    if not Path(path).is_absolute() and (path.endswith(".py") or os.sep in path) and \
            candidate.exists():
        return ":".join([str(candidate), *name])
    return value


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def environment_of(app: Flask, protected: Sequence[str]) -> Environment:
    """The run's environment: the app's own (its ``OPSCTL_ENV`` or ``ENV`` config) when it
    states one, else ``OPSCTL_ENV``, else ``development``; protected when any name stated is
    (:mod:`.environment`)."""
    from .environment import decide

    return decide(app.config, os.environ, protected)


def scrubber_for(app: Flask, secret_names: Sequence[str], *urls: str) -> Scrubber:
    """A scrubber that knows the app's own secrets: its ``SECRET_KEY`` and secret-like
    configuration, the secret-like environment variables, and the passwords of its
    Flask-SQLAlchemy engines and of ``urls`` (the ledger's). Needs an app context."""
    from .secrets import Scrubber, app_secrets

    known = [u for u in urls if u]
    db = app.extensions.get("sqlalchemy")
    if db is not None:
        try:
            known += [e.url.render_as_string(hide_password=False) for e in db.engines.values()]
        except Exception:  # a misconfigured bind fails in the script itself, not here
            pass
    return Scrubber(app_secrets(app.config, os.environ, secret_names, known), secret_names)


def databases_of(app: Flask) -> list[str]:
    """The app's Flask-SQLAlchemy database URLs (passwords hidden), for the confirmation.

    Needs an app context.
    """
    db = app.extensions.get("sqlalchemy")
    if db is None:
        return []
    out = []
    try:
        for key, engine in db.engines.items():
            url = engine.url.render_as_string(hide_password=True)
            out.append(url if key is None else f"{key}: {url}")
    except Exception as exc:  # a misconfigured bind should not hide the prompt
        out.append(f"(unknown: {type(exc).__name__})")
    return out
