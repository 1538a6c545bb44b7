"""Which app a run loads, whoever asks: ``opsctl run`` and ``flask ops run`` follow one order
(README, "Which app"), in real processes on throwaway projects.

An explicit ``--app`` (either command's, or ``flask --app``) wins over ``OPSCTL_APP``,
``[tool.opsctl] app``, ``FLASK_APP`` and ``.flaskenv``, and one that names nothing fails with
79 instead of falling back; ``app_folder`` is where ``.flaskenv`` / ``.env`` are read and
discovery runs, from the project root or from inside that folder; every run's first line
names the app and its database, passwords hidden, and the ledger keeps it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from runkit import PLAIN_APP, env, ledger, opsctl, write_script

FLASK = str(Path(sys.executable).with_name("flask"))

GREET = '''\
"""Print the app's greeting."""
from flask import current_app


def main():
    print("greeting", current_app.config["GREETING"])
'''

#: Each way of naming the app, each giving a greeting of its own.
SETTINGS = ("opsctl_app", "config", "flask_app", "dotenv", "wsgi")


def make_project(base: Path, *, settings: tuple[str, ...] = SETTINGS) -> Path:
    """A project where each of ``settings`` names ``plainapp:create_app('<setting>')``."""
    project = base / "proj"
    (project / "offline_script" / "recycle").mkdir(parents=True)
    table = f'[tool.opsctl]\nledger_url = "sqlite:///{base / "ledger.sqlite3"}"\n'
    if "config" in settings:
        table += "app = \"plainapp:create_app('config')\"\n"
    (project / "pyproject.toml").write_text(table, encoding="utf-8")
    (project / "plainapp.py").write_text(PLAIN_APP, encoding="utf-8")
    if "dotenv" in settings:
        (project / ".flaskenv").write_text("FLASK_APP=plainapp:create_app('dotenv')\n",
                                           encoding="utf-8")
    if "wsgi" in settings:
        (project / "wsgi.py").write_text(
            "from plainapp import create_app\napp = create_app('wsgi')\n", encoding="utf-8")
    write_script(project, "recycle/greet", GREET)
    return project


def environment_for(settings: tuple[str, ...]) -> dict[str, str]:
    out = {}
    if "opsctl_app" in settings:
        out["OPSCTL_APP"] = "plainapp:create_app('opsctl_app')"
    if "flask_app" in settings:
        out["FLASK_APP"] = "plainapp:create_app('flask_app')"
    return out


def run(cwd: Path, argv: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    """``opsctl ...`` (the project found from ``cwd``) or ``flask ...``, in a real process."""
    program = [FLASK] if argv[0] == "flask" else [sys.executable, "-m", "opsctl"]
    return subprocess.run([*program, *argv[1:]], cwd=cwd, env=env(**extra), text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


EXPLICIT = {
    "opsctl run --app": ["opsctl", "run", "--app", "{app}", "recycle/greet"],
    "flask ops run --app": ["flask", "ops", "run", "--app", "{app}", "recycle/greet"],
    "flask --app": ["flask", "--app", "{app}", "ops", "run", "recycle/greet"],
}


@pytest.mark.parametrize("form", list(EXPLICIT))
def test_an_explicit_app_wins_over_every_setting(tmp_path: Path, form: str) -> None:
    project = make_project(tmp_path)
    argv = [a.format(app="plainapp:create_app('explicit')") for a in EXPLICIT[form]]
    result = run(project, argv, **environment_for(SETTINGS))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "greeting explicit\n"
    source = "flask --app" if form == "flask --app" else "--app"
    assert f"app plainapp:create_app('explicit') ({source})" in result.stderr.splitlines()[0]


@pytest.mark.parametrize("form", list(EXPLICIT))
def test_an_explicit_app_that_names_nothing_never_falls_back(tmp_path: Path, form: str) -> None:
    project = make_project(tmp_path)
    argv = [a.format(app="nonexistent_mod") for a in EXPLICIT[form]]
    result = run(project, argv, **environment_for(SETTINGS))
    assert result.returncode == 79, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Error: no Flask app at 'nonexistent_mod' (from ")
    assert str(project) in result.stderr  # where it was looked for
    assert result.stderr.count("\n") == 1


ORDER = [
    (("opsctl_app", "config", "flask_app", "dotenv", "wsgi"), "opsctl_app", "OPSCTL_APP"),
    (("config", "flask_app", "dotenv", "wsgi"), "config", "[tool.opsctl] app"),
    (("flask_app", "dotenv", "wsgi"), "flask_app", "FLASK_APP"),
    (("dotenv", "wsgi"), "dotenv", "FLASK_APP in .flaskenv"),
    (("wsgi",), "wsgi", "found"),
]


@pytest.mark.parametrize(("settings", "expected", "source"), ORDER,
                         ids=[s for _, s, _ in ORDER])
@pytest.mark.parametrize("command", ["opsctl run", "flask ops run"])
def test_both_commands_follow_one_order(tmp_path: Path, settings: tuple[str, ...],
                                        expected: str, source: str, command: str) -> None:
    project = make_project(tmp_path, settings=settings)
    result = run(project, [*command.split(), "recycle/greet"], **environment_for(settings))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"greeting {expected}\n"
    first = result.stderr.splitlines()[0]
    app = "wsgi.py" if expected == "wsgi" else f"plainapp:create_app('{expected}')"
    assert first.startswith(f"opsctl: app {app} ({source}), "), first


# --------------------------------------------------------------------------- monorepo

BACKEND_APP = '''\
"""The backend: its database from DATABASE_URL, else a default one."""
import os
from flask import Flask


def create_app():
    app = Flask(__name__)
    app.config["DATABASE"] = os.environ.get("DATABASE_URL", "sqlite:///default.db")
    return app
'''

SHOW_DATABASE = '''\
"""Print the app's database."""
from flask import current_app


def main():
    print("database", current_app.config["DATABASE"])
'''


def monorepo(base: Path, *, app_line: str = "") -> tuple[Path, str]:
    """The project (pyproject.toml, offline_script/) at the root, the app and its .flaskenv
    in backend/; the database URL only that .flaskenv sets."""
    root = base / "repo"
    (root / "backend").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[tool.opsctl]\nledger_url = "sqlite:///{base / "ledger.sqlite3"}"\n'
        f'app_folder = "backend"\n{app_line}', encoding="utf-8")
    (root / "backend" / "app.py").write_text(BACKEND_APP, encoding="utf-8")
    database = f"sqlite:///{base / 'backend.db'}"
    (root / "backend" / ".flaskenv").write_text(
        f"FLASK_APP=app:create_app\nDATABASE_URL={database}\n", encoding="utf-8")
    write_script(root, "recycle/show_database", SHOW_DATABASE)
    return root, database


@pytest.mark.parametrize("app_line", ["", 'app = "app:create_app"\n'],
                         ids=["flaskenv-names-it", "config-names-it"])
@pytest.mark.parametrize("where", ["root", "backend"])
@pytest.mark.parametrize("command", ["opsctl run", "flask ops run"])
def test_a_monorepo_app_folder_s_flaskenv_reaches_the_app(tmp_path: Path, app_line: str,
                                                         where: str, command: str) -> None:
    root, database = monorepo(tmp_path, app_line=app_line)
    cwd = root if where == "root" else root / "backend"
    result = run(cwd, [*command.split(), "recycle/show_database"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"database {database}\n"
    assert f"database {database}" in result.stderr.splitlines()[0]


def test_app_folder_from_the_environment(tmp_path: Path) -> None:
    root, database = monorepo(tmp_path)
    (root / "pyproject.toml").write_text(
        f'[tool.opsctl]\nledger_url = "sqlite:///{tmp_path / "ledger.sqlite3"}"\n',
        encoding="utf-8")
    without = run(root / "backend", ["opsctl", "run", "recycle/show_database"])
    assert without.returncode == 79, without.stderr
    # Standing in backend/ without the setting: the error says what to set.
    assert 'app_folder = "backend"' in without.stderr
    result = run(root, ["opsctl", "run", "recycle/show_database"], OPSCTL_APP_FOLDER="backend")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"database {database}\n"


def test_an_app_folder_that_is_not_there_is_app_not_found(tmp_path: Path) -> None:
    root, _ = monorepo(tmp_path)
    result = run(root, ["opsctl", "run", "recycle/show_database"], OPSCTL_APP_FOLDER="frontend")
    assert result.returncode == 79, result.stderr
    assert "frontend" in result.stderr and "OPSCTL_APP_FOLDER" in result.stderr


# --------------------------------------------------------------------------- flaskr

FLASKR_INIT = '''\
import os

from flask import Flask


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DATABASE=os.path.join(app.instance_path, "flaskr.sqlite"))
    app.config["GREETING"] = "flaskr"
    return app
'''


def test_a_flaskr_package_is_found_when_nothing_names_the_app(tmp_path: Path) -> None:
    project = tmp_path / "flask-tutorial"
    (project / "flaskr").mkdir(parents=True)
    (project / "flaskr" / "__init__.py").write_text(FLASKR_INIT, encoding="utf-8")
    (project / "flaskr" / "db.py").write_text("import sqlite3\n", encoding="utf-8")
    (project / "tests").mkdir()
    (project / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "flaskr"\n\n[tool.opsctl]\n'
        f'ledger_url = "sqlite:///{tmp_path / "ledger.sqlite3"}"\n', encoding="utf-8")
    write_script(project, "recycle/greet", GREET)
    result = run(project, ["opsctl", "run", "recycle/greet"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "greeting flaskr\n"
    first = result.stderr.splitlines()[0]
    assert first.startswith("opsctl: app flaskr:create_app (found flaskr/__init__.py)"), first
    assert "flaskr.sqlite" in first


# --------------------------------------------------------------------------- the first line

SHOP = '''\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["GREETING"] = "shop"
    app.config["SQLALCHEMY_DATABASE_URI"] = {main!r}
    app.config["SQLALCHEMY_BINDS"] = {{"audit": "sqlite://"}}
    db.init_app(app)
    return app
'''


def test_the_first_line_names_the_app_and_its_database_without_the_password(
        tmp_path: Path) -> None:
    project = make_project(tmp_path, settings=())
    url = "postgresql+psycopg://shop:hunter2secret@127.0.0.1:1/shop"
    (project / "shopapp.py").write_text(SHOP.format(main=url), encoding="utf-8")
    result = opsctl(project, "run", "--app", "shopapp:create_app", "recycle/greet")
    assert result.returncode == 0, result.stderr
    assert "hunter2secret" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first == ("opsctl: app shopapp:create_app (--app), database "
                     "postgresql+psycopg://shop:***@127.0.0.1:1/shop (and bind audit)"), first
    with ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as book:
        (only,) = book.runs()
    assert only.notes[0] == first.removeprefix("opsctl: ")
    shown = opsctl(project, "history", "--run", str(only.id))
    assert f"note:         {only.notes[0]}" in shown.stdout


def test_a_sqlite_database_below_the_current_folder_is_shown_from_there(tmp_path: Path) -> None:
    project = make_project(tmp_path, settings=())
    (project / "shopapp.py").write_text(
        SHOP.format(main=f"sqlite:///{project / 'instance' / 'shop.sqlite3'}"),
        encoding="utf-8")
    result = opsctl(project, "run", "--app", "shopapp:create_app", "recycle/greet")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "opsctl: app shopapp:create_app (--app), database sqlite:///instance/shop.sqlite3 "
        "(and bind audit)")


def test_a_project_s_own_flask_group_names_its_app(tmp_path: Path) -> None:
    """``python manage.py ops run``: a FlaskGroup built with create_app is the project's own
    explicit choice, over [tool.opsctl] app; its --app still wins over it."""
    project = make_project(tmp_path, settings=("config",))
    (project / "manage.py").write_text(
        "from flask.cli import FlaskGroup\nfrom plainapp import create_app\n\n"
        "cli = FlaskGroup(create_app=lambda: create_app('manage'))\n\n"
        "if __name__ == '__main__':\n    cli()\n", encoding="utf-8")
    manage = [sys.executable, "manage.py", "ops", "run"]
    done = subprocess.run([*manage, "recycle/greet"], cwd=project, env=env(), text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "greeting manage\n"
    assert "(the flask command's create_app)" in done.stderr.splitlines()[0]
    given = subprocess.run([*manage, "--app", "plainapp:create_app('given')", "recycle/greet"],
                           cwd=project, env=env(), text=True, capture_output=True,
                           timeout=120, stdin=subprocess.DEVNULL)
    assert given.returncode == 0, given.stderr
    assert given.stdout == "greeting given\n"
