"""Helpers for the ``opsctl run`` tests: throwaway projects with small Flask apps, scripts, and
opsctl run in real processes.

Two apps: ``plainapp`` (Flask alone, for locks and signals, where many processes start at
once) and ``shopapp`` (Flask-SQLAlchemy with a second bind, pointed at the test's own database,
for dry runs and the script's session).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from opsctl.ledger.store import Ledger

PLAIN_APP = '''\
"""Flask alone."""
from flask import Flask

app = Flask(__name__)
app.config["GREETING"] = "plain"


def create_app(name="plain"):
    made = Flask(__name__)
    made.config["GREETING"] = name
    return made
'''

SHOP_APP = '''\
"""A shop on Flask-SQLAlchemy: items on the default bind, audit entries on a second one."""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.pool import NullPool

DATABASE = {database!r}
AUDIT = {audit!r}

db = SQLAlchemy()


class Item(db.Model):
    __tablename__ = "shop_item"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False)
    price = db.Column(db.Integer, nullable=False)


class AuditEntry(db.Model):
    __bind_key__ = "audit"
    __tablename__ = "shop_audit"
    id = db.Column(db.Integer, primary_key=True)
    text = db.Column(db.String(100), nullable=False)


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE
    app.config["SQLALCHEMY_BINDS"] = {{"audit": AUDIT}}
    # No pooled connections left behind: the test drops the database right after.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"poolclass": NullPool}}
    db.init_app(app)
    return app


def seed():
    """Create the tables with three items and one audit entry."""
    app = create_app()
    with app.app_context():
        db.create_all()
        db.session.add_all([Item(id=1, name="apple", price=100),
                            Item(id=2, name="pear", price=200),
                            Item(id=3, name="plum", price=300),
                            AuditEntry(id=1, text="seeded")])
        db.session.commit()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()

'''

#: Holds the lock until the test lets it go: writes its pid to ``started``, then waits for
#: ``release`` (at most a minute).
HOLD_SCRIPT = '''\
"""Hold the lock until released."""
import os
import sys
import time
from pathlib import Path


def main():
    here = Path({folder!r})
    (here / f"started-{{os.getpid()}}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not (here / "release").exists():
        if time.monotonic() > deadline:
            print("never released", file=sys.stderr)
            return 9
        time.sleep(0.05)
    print("released")
    return 0
'''


def write_project(base: Path, ledger_url: str, *, app: str = "plainapp:app",
                  database: str | None = None, extra: str = "") -> Path:
    """A project with both apps, the given ledger, and ``[tool.opsctl] app``."""
    project = base / "proj"
    for folder in ("offline_script/recycle", "offline_script/unrecycle",
                   "offline_script/alice"):
        (project / folder).mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text(
        f'[tool.opsctl]\napp = "{app}"\nledger_url = "{ledger_url}"\n{extra}',
        encoding="utf-8")
    (project / "plainapp.py").write_text(PLAIN_APP, encoding="utf-8")
    if database is not None:
        (project / "shopapp.py").write_text(shop_app(database, base), encoding="utf-8")
    return project


def shop_app(database: str, base: Path) -> str:
    """The shop's source: both binds on the test's server database, or two SQLite files."""
    if database.startswith("sqlite"):
        main, audit = f"sqlite:///{base / 'shop.sqlite3'}", f"sqlite:///{base / 'audit.sqlite3'}"
    else:
        main = audit = database
    return SHOP_APP.format(database=main, audit=audit)


def write_script(project: Path, key: str, source: str) -> Path:
    path = project / "offline_script" / f"{key}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def env(**extra: str) -> dict[str, str]:
    """The test process's environment without settings that would change opsctl's choices."""
    out = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPSCTL_", "FLASK_")) and k not in ("FORCE_COLOR",)}
    out["OPSCTL_DEVELOPER"] = "alice"
    out["NO_COLOR"] = "1"
    out.update(extra)
    return out


def opsctl_argv(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "opsctl", "--project", str(project), *args]


def opsctl(project: Path, *args: str, timeout: float = 120, cwd: Path | None = None,
           input: str | None = None, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run opsctl in a real process; stdin is closed (no terminal) unless ``input``."""
    return subprocess.run(opsctl_argv(project, *args), cwd=cwd or project,
                          env=env(**extra_env), capture_output=True, text=True,
                          timeout=timeout, input=input,
                          stdin=subprocess.DEVNULL if input is None else None)


@contextmanager
def spawned(project: Path, *args: str, **extra_env: str) -> Iterator[subprocess.Popen[str]]:
    """opsctl in a background process, always reaped."""
    proc = subprocess.Popen(opsctl_argv(project, *args), cwd=project, env=env(**extra_env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def wait_for(condition: object, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def started_pids(folder: Path) -> list[int]:
    return [int(p.read_text()) for p in folder.glob("started-*") if p.read_text()]


@contextmanager
def ledger(url: str) -> Iterator[Ledger]:
    opened = Ledger.open(url)
    try:
        yield opened
    finally:
        opened.close()


@contextmanager
def engine_of(url: str) -> Iterator[Any]:
    """A plain engine on the ledger's database, for writing to it or looking at it as another
    program would, outside opsctl."""
    import sqlalchemy as sa

    from opsctl.ledger.engine import driver_url

    engine = sa.create_engine(driver_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


def python_in(project: Path, code: str) -> str:
    """Run Python code with the project importable; returns its stdout."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=project, env=env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout



@contextmanager
def project_module(project: Path, name: str = "shopapp") -> Iterator[ModuleType]:
    """The project's ``<name>.py``, imported in this process under a module name of its own,
    so the projects of other tests (each ``shopapp.py`` naming its own databases) never
    collide; for setting up and reading a test's databases with the app's own code, without
    a process of its own (importing Flask-SQLAlchemy costs a new interpreter most of a
    second). What a test runs as the app, it runs in a real process (``opsctl``)."""
    unique = f"{name}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(unique, project / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module  # Flask finds the app's folder through it
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[unique]


def seed_shop(project: Path) -> None:
    """``shopapp.seed()``, in this process: the shop's tables with three items and one audit
    entry."""
    with project_module(project) as shopapp:
        shopapp.seed()
