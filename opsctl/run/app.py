"""Loading the project's Flask application, the way ``flask`` itself does, and naming it.

Flask's own machinery does the work: :func:`flask.cli.load_dotenv` for ``.flaskenv`` / ``.env``,
and :class:`flask.cli.ScriptInfo` (``prepare_import`` + ``locate_app``) for every form
``flask --app`` accepts: ``module``, ``module:app``, ``module:create_app()``,
``module:create_app('dev')``, or a file path.

Which app is :mod:`.appsource`'s one order. Loading runs with the app folder as the current
directory, as if ``flask`` were started there; the script then runs in the caller's own
directory. The run's first line names the app and its database (:func:`announcement`).
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
    #: What was imported (``opsctl.demo:create_app``, or the file Flask's discovery took:
    #: ``wsgi.py``), or None for the flask command's own ``create_app``.
    import_path: str | None
    #: Where that came from (:class:`.appsource.AppChoice`): ``--app``, ``FLASK_APP``...
    source: str

    @property
    def what(self) -> str:
        return self.import_path or self.app.name

    @property
    def description(self) -> str:
        return f"{self.what} ({self.app.name})"


def load_app(config: Config, app_option: str | None = None, *, app_source: str = "--app",
             script_info: Any = None, cwd: Path | None = None,
             debug: bool = False) -> LoadedApp:
    """Load the project's Flask app; :class:`AppNotFound` names what was tried.

    ``app_option`` is an explicit choice (``--app``, or ``flask --app`` as ``app_source``
    says); ``script_info`` is the flask command's, inside ``flask ops``.
    """
    from flask.cli import NoAppException, ScriptInfo, load_dotenv
    from flask.helpers import get_load_dotenv

    from .appsource import app_folder, choose

    cwd = cwd or Path.cwd()
    folder = app_folder(config)
    option = _from_caller(app_option, cwd) if app_option else None
    with _working_directory(folder):
        before = os.environ.get("FLASK_APP")
        if get_load_dotenv():
            load_dotenv()  # never over a variable already set: the shell's own win
        choice = choose(config, option, app_source, script_info=script_info,
                        flask_app_before=before, folder=folder, cwd=cwd)
        if str(folder) not in sys.path:
            # Like `flask` started in the app folder: its modules are importable.
            sys.path.insert(0, str(folder))
        if choice.script_info:
            return _load(script_info.load_app, None, choice.source, debug, NoAppException,
                         where=folder)
        if choice.path is None:
            return _discover(choice.source, debug, folder, config, cwd)
        info = ScriptInfo(app_import_path=choice.path, set_debug_flag=False)
        return _load(info.load_app, choice.path, choice.source, debug, NoAppException,
                     where=folder)


def _discover(source: str, debug: bool, folder: Path, config: Config, cwd: Path) -> LoadedApp:
    """Flask's own discovery (``wsgi.py``, then ``app.py``), knowing which file gave the app."""
    from flask.cli import NoAppException, locate_app, prepare_import

    from .appsource import nothing_found, shown

    for name in ("wsgi.py", "app.py"):
        if not (folder / name).is_file():
            continue
        file = shown(folder / name, config.project_dir)
        loaded = _load(lambda name=name: locate_app(prepare_import(name), None,
                                                    raise_if_not_found=False),
                       file, source, debug, NoAppException, where=folder)
        if loaded.app is not None:
            return loaded
    raise AppNotFound(nothing_found(config, folder, cwd))


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
        return (f"{source} made no Flask app: {_clause(_first_line(message))}; fix the "
                "flask command's create_app, or pass --app")
    if "an ImportError was raised" in message:
        # Flask appends the whole traceback; its last line says what failed.
        lines = [ln for ln in message.strip().splitlines() if ln.strip()]
        return (f"importing the Flask app {path} (from {source}) raised "
                f"{_clause(lines[-1])}; "
                "fix the import, or run with --debug for the traceback")
    looked = f", in {where}" if where is not None else ""
    return (f"no Flask app at {path!r} (from {source}{looked}): "
            f"{_clause(_first_line(message))}; "
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


def announcement(loaded: LoadedApp, here: Path | None = None) -> str:
    """``app X (where X came from), database URL``: what a run's first line says and its
    ledger note keeps, so a wrong app is seen at once. Passwords are hidden; with ``here``, a
    SQLite file below that folder is shown relative to it. Needs an app context."""
    return f"app {loaded.what} ({loaded.source}), {_database_text(loaded.app, here)}"


#: Where an app without Flask-SQLAlchemy usually keeps its database (flaskr: ``DATABASE``).
_DATABASE_KEYS = ("SQLALCHEMY_DATABASE_URI", "DATABASE_URL", "DATABASE_URI", "DATABASE")


def _database_text(app: Flask, here: Path | None) -> str:
    urls: list[tuple[str | None, Any]] = []
    db = app.extensions.get("sqlalchemy")
    if db is not None:
        try:
            engines = db.engines
            urls = [(key, engines[key].url) for key in
                    sorted(engines, key=lambda k: (k is not None, str(k)))]
        except Exception as exc:  # a misconfigured bind fails in the script, not here
            return f"database unknown ({type(exc).__name__})"
    else:
        settings = [app.config.get(key) for key in _DATABASE_KEYS]
        urls.extend((None, value) for value in settings if isinstance(value, str) and value)
        del urls[1:]
    if not urls:
        return "no database in its configuration"
    (key, first), *binds = urls
    text = f"database {'' if key is None else f'{key}: '}{_shown_url(first, here)}"
    if binds:
        names = ", ".join(str(key) for key, _ in binds)
        text += f" (and bind{'s' if len(binds) > 1 else ''} {names})"
    return text


def _shown_url(value: Any, here: Path | None) -> str:
    from sqlalchemy.engine import make_url

    from .secrets import Scrubber

    try:
        url = make_url(value)
    except Exception:  # a plain file path (flaskr's DATABASE), or no URL SQLAlchemy reads
        text = str(value)
        return (Scrubber().text(text) or text) if "://" in text else _below(text, here)
    database = url.database or ""
    if url.drivername.startswith("sqlite") and os.path.isabs(database):
        url = url.set(database=_below(database, here))
    return url.render_as_string(hide_password=True)


def _below(path: str, here: Path | None) -> str:
    """``path`` relative to ``here`` when it lies below it (what SQLite makes of a relative
    path is the same file, from there)."""
    if here is None or not os.path.isabs(path) or not Path(path).is_relative_to(here):
        return path
    return Path(path).relative_to(here).as_posix()
