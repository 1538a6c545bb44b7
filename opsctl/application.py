"""Where a project's Flask application lives, read from source with :mod:`ast`, never imported.

The places looked at, in order: ``wsgi.py`` and ``app.py`` (Flask's own discovery), then each
package (a folder with ``__init__.py``) in the folder or in its ``src/``: its ``__init__.py``
with an app or a factory (Flask's tutorial, flaskr: ``create_app``), else its ``app.py`` or
``wsgi.py``. In a module, what Flask's ``find_best_app`` would take: an ``app`` or
``application``, else a ``Flask(...)`` under another name, else ``create_app`` / ``make_app``.

``init`` writes what it finds into ``[tool.opsctl]`` (with ``app_folder`` when the app sits in
a subfolder of its own, as in a monorepo's ``backend/``); ``run`` falls back on it when nothing
names the app (:mod:`opsctl.run.appsource`).
"""

from __future__ import annotations

import ast
import os
from typing import NamedTuple

#: What Flask's find_best_app looks for first, and the factories it calls last.
APP_NAMES = ("app", "application")
FACTORY_NAMES = ("create_app", "make_app")
#: The files ``flask`` reads its environment from, in the order it reads them.
DOTENV_FILES = (".flaskenv", ".env")
#: Folders that hold tests, documents, migrations or installed code, never the app.
_SKIPPED = frozenset({"tests", "test", "docs", "doc", "migrations", "node_modules", "build",
                      "dist", "site-packages", "venv", "env", "instance"})


class FoundApp(NamedTuple):
    """A likely Flask app, as ``flask --app`` takes it from the folder searched
    (``flaskr:create_app``, ``src/shop:create_app``), and the file that holds it."""

    import_path: str
    file: str


class Located(NamedTuple):
    """What ``init`` writes: the app folder (relative, or None for the project itself), the
    apps found there, and the ``FLASK_APP`` its ``.flaskenv`` / ``.env`` already set."""

    folder: str | None
    apps: list[FoundApp]
    flask_app: str | None


def find_apps(folder: str | os.PathLike[str]) -> list[FoundApp]:
    """Every likely Flask app in ``folder``, in the order above."""
    found = []
    for name in ("wsgi.py", "app.py"):
        attr = app_attribute(os.path.join(folder, name))
        if attr is not None:
            found.append(FoundApp(f"{name[:-3]}:{attr}", name))
    for base in ("", "src"):
        for package in _packages(os.path.join(folder, base)):
            rel = f"{base}/{package}" if base else package
            attr = app_attribute(os.path.join(folder, base, package, "__init__.py"))
            if attr is not None:
                found.append(FoundApp(f"{rel}:{attr}", f"{rel}/__init__.py"))
                continue  # its app.py is what __init__ hands out
            for module in ("app", "wsgi"):
                attr = app_attribute(os.path.join(folder, base, package, f"{module}.py"))
                if attr is not None:
                    # src/ is not importable as it stands: a file path makes Flask add it.
                    where = f"{rel}/{module}.py" if base else f"{package}.{module}"
                    found.append(FoundApp(f"{where}:{attr}", f"{rel}/{module}.py"))
                    break
    return found


def app_attribute(path: str | os.PathLike[str]) -> str | None:
    """The name of the app or factory a module defines (Flask's order), or None."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    names: set[str] = set()
    flask_objects: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
                    if _makes_flask(node.value):
                        flask_objects.append(target.id)
    for name in APP_NAMES:
        if name in names:
            return name
    if flask_objects:
        return flask_objects[0]
    for name in FACTORY_NAMES:
        if name in names:
            return name
    return None


def _makes_flask(value: ast.expr | None) -> bool:
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    return (isinstance(func, ast.Name) and func.id == "Flask") or \
        (isinstance(func, ast.Attribute) and func.attr == "Flask")


def _packages(folder: str) -> list[str]:
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return []
    return [name for name in entries
            if name.isidentifier() and not name.startswith("_") and name not in _SKIPPED
            and os.path.isfile(os.path.join(folder, name, "__init__.py"))]


def dotenv_flask_app(folder: str | os.PathLike[str]) -> tuple[str, str] | None:
    """``FLASK_APP`` as ``folder``'s own ``.flaskenv`` / ``.env`` set it (``.env`` wins, as in
    Flask), with the file's name; a plain reading of ``KEY=value`` lines."""
    found = None
    for name in DOTENV_FILES:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            key, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and key.strip() == "FLASK_APP" and value.strip():
                found = (value.split(" #")[0].strip().strip("\"'"), name)
    return found


def locate(project_dir: str | os.PathLike[str]) -> Located:
    """Where ``init`` finds the app: in the project folder, else in the one subfolder that
    ``flask`` is evidently started from (a ``.flaskenv``, or a ``wsgi.py`` / ``app.py``)."""
    here = Located(None, find_apps(project_dir), _flask_app(project_dir))
    if here.apps or here.flask_app:
        return here
    folders = []
    for name in sorted(os.listdir(project_dir)):
        path = os.path.join(project_dir, name)
        if name.startswith((".", "_")) or name in _SKIPPED or not os.path.isdir(path):
            continue
        apps = find_apps(path)
        flask_app = _flask_app(path)
        if os.path.isfile(os.path.join(path, ".flaskenv")) or flask_app or \
                any(a.file in ("wsgi.py", "app.py") for a in apps):
            folders.append(Located(name, apps, flask_app))
    return folders[0] if len(folders) == 1 else here


def _flask_app(folder: str | os.PathLike[str]) -> str | None:
    found = dotenv_flask_app(folder)
    return found[0] if found else None
