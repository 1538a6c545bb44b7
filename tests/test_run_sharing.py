"""The run-time warning (:mod:`opsctl.run.sharing`): the ledger in one of the app's databases
and a migrations ``env.py`` that would drop its tables. Real Flask apps, in process; the
warning in a real run is in ``test_flask_migrate.py``."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from opsctl.config import Config, load_config
from opsctl.ledger.alembic import exclude_ledger
from opsctl.ledger.migrations import read_env_script, to_wire, wire
from opsctl.run.sharing import migrations_would_drop_ledger, warn_if_migrations_drop_ledger


def flask_migrate_env() -> Path:
    spec = importlib.util.find_spec("flask_migrate")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "templates" / "flask" / "env.py"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose migrations/env.py is Flask-Migrate's, as `flask db init` writes it."""
    proj = tmp_path / "shop"
    (proj / "migrations").mkdir(parents=True)
    shutil.copy(flask_migrate_env(), proj / "migrations" / "env.py")
    (proj / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    return proj


def config(project: Path, ledger_url: str) -> Config:
    return load_config(project, environ={}, overrides={"ledger_url": ledger_url})


def app_on(database: str, binds: dict[str, str] | None = None, **migrate: Any) -> Flask:
    app = Flask("shop")
    app.config["SQLALCHEMY_DATABASE_URI"] = database
    app.config["SQLALCHEMY_BINDS"] = binds or {}
    db = SQLAlchemy()
    db.init_app(app)
    Migrate(app, db, **migrate)
    return app


def message(app: Flask, cfg: Config) -> str | None:
    with app.app_context():
        return migrations_would_drop_ledger(app, cfg)


def test_the_ledger_in_the_app_s_database_with_a_plain_env_py_is_warned(
        project: Path, tmp_path: Path) -> None:
    database = tmp_path / "shop.sqlite3"
    # The same file, spelled two ways: relative to the project, and absolute.
    (project / "data").symlink_to(tmp_path)
    said = message(app_on(f"sqlite:///{database}"), config(project, "sqlite:///data/shop.sqlite3"))
    assert said is not None
    assert said.startswith(f"the run ledger shares the app's database (sqlite:///{database}) "
                           "and migrations/env.py does not leave opsctl's tables out")
    assert "'opsctl init'" in said and "\n" not in said


def test_no_warning_once_env_py_uses_the_filter(project: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    env = to_wire(project)
    assert env is not None
    wire(env)
    assert read_env_script(env.path).wired
    assert message(app_on(url), config(project, url)) is None


def test_no_warning_when_migrate_itself_is_given_the_filter(project: Path,
                                                            tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    assert message(app_on(url, **exclude_ledger()), config(project, url)) is None
    # A filter of the project's own is not opsctl's.
    own = app_on(url, include_object=lambda *a: True)
    assert message(own, config(project, url)) is not None


def test_no_warning_for_a_ledger_elsewhere_or_no_migrations(project: Path,
                                                            tmp_path: Path) -> None:
    app_url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    assert message(app_on(app_url), config(project, "sqlite:///instance/opsctl.sqlite3")) \
        is None
    (project / "migrations" / "env.py").unlink()
    assert message(app_on(app_url), config(project, app_url)) is None


def test_a_second_bind_and_migrate_s_own_directory_count(project: Path, tmp_path: Path) -> None:
    audit = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    (project / "migrations").rename(project / "db_migrations")
    app = app_on(f"sqlite:///{tmp_path / 'shop.sqlite3'}", {"audit": audit},
                 directory="db_migrations")
    said = message(app, config(project, audit))
    assert said is not None and "db_migrations/env.py" in said


def test_the_warning_is_one_line_on_stderr_and_never_stops_a_run(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    app = app_on(url)
    with app.app_context():
        warn_if_migrations_drop_ledger(app, config(project, url))
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith("warning: the run ledger shares the app's database")
    assert out.err.count("\n") == 1
    # An env.py that cannot be read is no warning, and no error either.
    (project / "migrations" / "env.py").write_bytes(b"\xff\xfe not utf-8")
    with app.app_context():
        warn_if_migrations_drop_ledger(app, config(project, url))
    assert capsys.readouterr() == ("", "")
