"""A project's Alembic migrations and the ledger: where their ``env.py`` is (Flask-Migrate's
``migrations/``, or ``script_location`` in an ``alembic.ini``), whether it leaves the ledger's
tables alone (:mod:`.alembic`), and the change that makes it do so.

Read as text and with :mod:`ast`: nothing here imports Alembic, SQLAlchemy or the project.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from typing import NamedTuple

#: The module a project's ``env.py`` imports the filter from, and the line that does it.
MODULE = "opsctl.ledger.alembic"
IMPORT_LINE = f"from {MODULE} import exclude_ledger"
#: What to do by hand, when the change cannot be made for the project.
BY_HAND = (f"add '{IMPORT_LINE}' to {{env}} and pass the keywords of context.configure(...) "
           "through it: '**exclude_ledger(conf_args)' for '**conf_args', or add "
           "'**exclude_ledger()' (your own include_object=f becomes "
           "'**exclude_ledger(include_object=f)')")


class EnvScript(NamedTuple):
    """A migrations ``env.py`` and where it stands."""

    path: Path
    #: Whether it passes opsctl's filter to ``context.configure``.
    wired: bool
    #: Its text with the change made; None when wired, or when the change is not safe to make
    #: without a person (see :data:`BY_HAND`).
    changed: str | None


def find_env_script(project_dir: Path, directory: str | None = None) -> Path | None:
    """The project's migrations ``env.py``: in ``directory`` (Flask-Migrate's, relative to the
    project) when given, else ``migrations/``, else the ``script_location`` of the project's
    ``alembic.ini``; None when there is none."""
    folders = [directory or "migrations"]
    if directory is None:
        folders += filter(None, (_script_location(project_dir / "alembic.ini"),
                                 _pyproject_location(project_dir / "pyproject.toml")))
    for folder in folders:
        env = project_dir / folder / "env.py"
        if env.is_file():
            return env
    return None


def _script_location(ini: Path) -> str | None:
    """``[alembic] script_location`` of an ``alembic.ini``, when plain."""
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read(ini, encoding="utf-8")
        value = parser.get("alembic", "script_location", fallback=None)
    except (configparser.Error, UnicodeDecodeError):
        return None
    return _plain(value, ini.parent) if value else None


def _pyproject_location(pyproject: Path) -> str | None:
    """``[tool.alembic] script_location`` (Alembic's pyproject template), when plain."""
    import tomllib

    try:
        tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    value = tool.get("alembic", {}).get("script_location") if isinstance(tool, dict) else None
    return _plain(value, pyproject.parent) if isinstance(value, str) else None


def _plain(value: str, here: Path) -> str | None:
    """A script location as a folder (``%(here)s`` is the config file's folder); None for a
    ``package:folder`` location, which is not looked into."""
    value = value.strip().replace("%(here)s", str(here))
    return None if not value or re.match(r"^[\w.]+:(?![\\/])", value) else value


def read_env_script(path: Path) -> EnvScript:
    """Whether ``path`` uses opsctl's filter, and the change that would make it; OSError or
    UnicodeDecodeError when it cannot be read."""
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return EnvScript(path, False, None)
    if uses_filter(tree):
        return EnvScript(path, True, None)
    return EnvScript(path, False, _changed(text, tree))


def uses_filter(tree: ast.Module) -> bool:
    """Whether some ``context.configure(...)`` is given something imported from
    :data:`MODULE` (the filters, or :func:`~.alembic.exclude_ledger`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module == MODULE:
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and \
                f"{node.module}." == MODULE[:MODULE.rindex(".") + 1]:
            names.update(a.asname or a.name for a in node.names if a.name == "alembic")
        elif isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names
                         if a.name == MODULE)
    if not names:
        return False
    for call in _configure_calls(tree):
        for keyword in call.keywords:
            if any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(keyword.value)):
                return True
    return False


def _configure_calls(tree: ast.Module) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == "configure"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "context"]


def _changed(text: str, tree: ast.Module) -> str | None:
    """The import added, and each online ``context.configure(...)`` (the one given a
    connection: the one autogenerate compares through) passing its keywords through
    ``exclude_ledger``. None when there is no such call, or one already names its own
    ``include_name``/``include_object`` (a person should decide how they combine)."""
    calls = [c for c in _configure_calls(tree)
             if any(k.arg == "connection" for k in c.keywords)]
    if not calls or any(k.arg in ("include_name", "include_object")
                        for c in calls for k in c.keywords):
        return None
    anchor = _last_leading_import(tree)
    if anchor is None:
        return None
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (line index, column, text to insert)
    for call in calls:
        splat = next((k for k in call.keywords if k.arg is None), None)
        if splat is not None:  # **conf_args -> **exclude_ledger(conf_args)
            value = splat.value
            assert value.end_lineno is not None and value.end_col_offset is not None
            edits.append((value.lineno - 1, _column(lines, value.lineno, value.col_offset),
                          "exclude_ledger("))
            edits.append((value.end_lineno - 1,
                          _column(lines, value.end_lineno, value.end_col_offset), ")"))
        else:
            edits.append(_appended(lines, call))
    edits.append((anchor, 0, IMPORT_LINE + "\n"))
    for index, column, insert in sorted(edits, reverse=True):
        if index == len(lines):
            lines.append("")
        lines[index] = lines[index][:column] + insert + lines[index][column:]
    changed = "".join(lines)
    try:
        ok = uses_filter(ast.parse(changed))
    except SyntaxError:
        ok = False
    return changed if ok else None


def _appended(lines: list[str], call: ast.Call) -> tuple[int, int, str]:
    """The edit adding ``**exclude_ledger()`` after the call's last argument: on a line of its
    own when the arguments stand one to a line, else after a comma."""
    last = call.keywords[-1]
    value = last.value
    assert value.end_lineno is not None and value.end_col_offset is not None
    row, column = value.end_lineno - 1, _column(lines, value.end_lineno, value.end_col_offset)
    assert call.end_lineno is not None
    rest = lines[row][column:]
    if call.end_lineno - 1 > row and rest.strip() in (",", ""):
        line = lines[row]
        indent = line[:len(line) - len(line.lstrip())]
        if rest.strip() == ",":
            return row + 1, 0, f"{indent}**exclude_ledger(),\n"
        return row, column, f",\n{indent}**exclude_ledger()"
    return row, column, ", **exclude_ledger()"


def _column(lines: list[str], lineno: int, offset: int) -> int:
    """A character column from :mod:`ast`'s UTF-8 byte offset."""
    return len(lines[lineno - 1].encode("utf-8")[:offset].decode("utf-8", errors="ignore"))


def _last_leading_import(tree: ast.Module) -> int | None:
    """The line index after the module's leading imports (its docstring and
    ``from __future__`` may stand before them)."""
    end = None
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            end = node.end_lineno
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and end is None:
            continue
        else:
            break
    return end


def wire(env: EnvScript) -> None:
    """Write the change to ``env.py``."""
    if env.changed is None:
        raise ValueError(f"{env.path}: no change to make")
    tmp = env.path.with_name(env.path.name + ".opsctl-tmp")
    tmp.write_text(env.changed, encoding="utf-8")
    os.replace(tmp, env.path)


def to_wire(project_dir: Path) -> EnvScript | None:
    """The project's migrations ``env.py`` when it does not leave the ledger alone yet."""
    path = find_env_script(project_dir)
    if path is None:
        return None
    try:
        env = read_env_script(path)
    except (OSError, UnicodeDecodeError):  # not a file opsctl could change either
        return None
    return None if env.wired else env


def diff(env: EnvScript, shown: str) -> list[str]:
    """The change as a unified diff, ``shown`` naming the file."""
    import difflib

    assert env.changed is not None
    before = env.path.read_text(encoding="utf-8").splitlines()
    return list(difflib.unified_diff(before, env.changed.splitlines(), shown, shown,
                                     n=1, lineterm=""))
