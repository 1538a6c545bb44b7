"""Shared fixtures: a CLI runner, throwaway projects, and ledger databases.

Ledger databases: ``ledger_url`` is parametrized over SQLite, PostgreSQL and MariaDB. Each test
gets a database of its own on the server ``OPSCTL_TEST_PG`` / ``OPSCTL_TEST_MARIADB`` name (a
SQLAlchemy URL without a database; README, Development): made by its pytest process for an
earlier test and emptied since, or made for it (:func:`server_database`).
Locally, a server that cannot be reached skips its tests with the URL tried and the reason;
under ``CI=true`` it fails them instead.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from opsctl.cli.group import cli

PG_VARIABLE, MARIADB_VARIABLE = "OPSCTL_TEST_PG", "OPSCTL_TEST_MARIADB"
PG_SERVER = os.environ.get(PG_VARIABLE, "postgresql+psycopg://postgres@127.0.0.1:5432")
MARIADB_SERVER = os.environ.get(MARIADB_VARIABLE, "mysql+pymysql://root@127.0.0.1:3306")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent


# Click before 8.2 mixes stderr into stdout in CliRunner unless told not to; the suite also
# runs on the lowest Click opsctl supports (.ci/run, the floors step).
if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
    CliRunner.__init__ = functools.partialmethod(  # type: ignore[method-assign]
        CliRunner.__init__, mix_stderr=False)



def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the cores. Much of the suite waits (on the database
    servers, on the ``opsctl`` processes it starts, on lock and progress polls), so a third
    worker on two cores keeps them busy: 318 s instead of 340 s for the whole suite on the
    2-core CI machine."""
    return len(os.sched_getaffinity(0)) + 1


def pytest_configure(config: pytest.Config) -> None:
    """Write opsctl's bytecode once, before any test starts a process, as an installed copy
    has it (pip compiles what it installs); an editable install has none, and under
    ``PYTHONDONTWRITEBYTECODE`` every ``opsctl`` process the suite starts would compile opsctl
    from source again (about a fifth of a short run's CPU time). Once, in the controller:
    xdist's workers find it written."""
    if hasattr(config, "workerinput"):
        return
    import compileall

    import opsctl

    compileall.compile_dir(Path(opsctl.__file__).parent, quiet=2)

def runner_ends_input() -> bool:
    """Whether CliRunner ends a question at the end of its input, as a terminal's Ctrl-D
    does; an older Click's answers it with an empty line instead."""
    import click

    @click.command()
    def ask() -> None:
        click.confirm("?", default=False)

    return CliRunner().invoke(ask, input="").exit_code == 1


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner) -> Callable[..., Result]:
    """``invoke(project_dir, "list", "--json")``: run opsctl on a project, never chdir."""

    def _invoke(project_dir: Path, *args: str, input: str | None = None,
                env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, ["--project", str(project_dir), *args], input=input,
                             env=env, catch_exceptions=False)

    return _invoke


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty opsctl project: pyproject.toml with [tool.opsctl] and the layout."""
    proj = tmp_path / "proj"
    for folder in ("offline_script/recycle", "offline_script/unrecycle"):
        (proj / folder).mkdir(parents=True)
    (proj / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    return proj


def write(path: Path, text: str = '"""A script."""\n') -> Path:
    """Create a file and its folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` as a fixed test identity; its stdout."""
    import subprocess

    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own git configuration (signing, hooks, default branch) and any
    GIT_DIR-style variables out of a test's git repositories."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def unreachable(what: str, url: str, variable: str, exc: BaseException) -> None:
    """Skip (fail under CI) a test whose server cannot be used, naming the URL tried (its
    password hidden) and the variable that points the suite at another server."""
    import sqlalchemy as sa

    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    first = " ".join(str(exc).split())[:300]
    message = (f"{what} at {shown} is not reachable ({type(exc).__name__}: {first}); set "
               f"{variable} to the URL of a server where the suite may create databases")
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it (.ci/run starts it)")
    pytest.skip(message)


#: Databases this process made on each server and emptied again, ready for the next test:
#: admin URL -> names. ``CREATE DATABASE`` and ``DROP DATABASE`` cost PostgreSQL a tenth of a
#: second or more each (a copy of the template, files to fsync); emptying one costs a few
#: milliseconds. Each xdist worker keeps its own, so no two tests ever share a database at
#: once; the session's end drops them (:func:`pytest_sessionfinish`).
_EMPTY: dict[str, list[str]] = {}
#: Every database this process made and has not dropped: admin URL -> names.
_MADE: dict[str, set[str]] = {}
#: One administrative engine per server, kept for the session.
_ADMINS: dict[str, Any] = {}


def _admin(admin_url: str) -> Any:
    import sqlalchemy as sa

    if admin_url not in _ADMINS:
        _ADMINS[admin_url] = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    return _ADMINS[admin_url]


def _drop(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    force = " WITH (FORCE)" if "postgresql" in admin_url else ""
    with _admin(admin_url).connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
    _MADE[admin_url].discard(name)


def _emptied(admin_url: str, url: str, name: str) -> bool:
    """Put database ``name`` back as ``CREATE DATABASE`` made it, every other connection to
    it ended first (as ``DROP DATABASE ... WITH (FORCE)`` ends them). PostgreSQL: its settings
    reset and every schema dropped, ``public`` made again (cheaper than a new database);
    MariaDB: dropped and made again (cheap there), through the kept administrative
    connection. False, leaving it to be dropped, when any of that fails."""
    import sqlalchemy as sa

    try:
        with _admin(admin_url).connect() as conn:
            if "postgresql" not in admin_url:
                for (pid,) in conn.execute(sa.text(
                        "SELECT id FROM information_schema.processlist WHERE db = :name "
                        "AND id <> CONNECTION_ID()"), {"name": name}).all():
                    with contextlib.suppress(sa.exc.DBAPIError):  # ended meanwhile
                        conn.execute(sa.text(f"KILL CONNECTION {int(pid)}"))
                conn.execute(sa.text(f"DROP DATABASE {name}"))
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
                return True
            conn.execute(sa.text(f"ALTER DATABASE {name} RESET ALL"))
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": name})
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                # A backend ended above may hold its locks a moment longer: wait for it.
                conn.execute(sa.text("SET lock_timeout = '20s'"))
                schemas = conn.execute(sa.text(
                    "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                    "AND nspname <> 'information_schema'")).scalars().all()
                if schemas:
                    conn.execute(sa.text(
                        "DROP SCHEMA " + ", ".join(f'"{s}"' for s in schemas) + " CASCADE"))
                # public as PostgreSQL (15 on) makes it in a new database.
                conn.execute(sa.text("CREATE SCHEMA public AUTHORIZATION pg_database_owner"))
                conn.execute(sa.text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
        finally:
            engine.dispose()
    except Exception:  # noqa: BLE001 - whatever went wrong, dropping it is the way out
        return False
    return True


def server_database(server_url: str, variable: str) -> Iterator[str]:
    """A fresh database on ``server_url``: one this process made for an earlier test and
    emptied, or a new one. The suite connects to the server's ``postgres`` (PostgreSQL) or
    ``test`` (MariaDB) database to make it."""
    import sqlalchemy as sa

    postgresql = "postgresql" in server_url
    what = "PostgreSQL" if postgresql else "MariaDB"
    admin_url = server_url + ("/postgres" if postgresql else "/test")
    free = _EMPTY.setdefault(admin_url, [])
    made = _MADE.setdefault(admin_url, set())
    if free:
        name = free.pop()
    else:
        name = f"opsctl_test_{uuid.uuid4().hex[:12]}"
        try:
            with _admin(admin_url).connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
        except Exception as exc:  # any driver error means the server is not usable here
            with contextlib.suppress(Exception):
                _ADMINS.pop(admin_url).dispose()
            unreachable(what, admin_url, variable, exc)
        made.add(name)
    url = f"{server_url}/{name}"
    try:
        yield url
    finally:
        if _emptied(admin_url, url, name):
            free.append(name)
        else:
            _drop(admin_url, name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the databases this process made (each xdist worker, and the controller)."""
    for admin_url, names in _MADE.items():
        for name in sorted(names):
            with contextlib.suppress(Exception):  # a server gone: nothing more to do
                _drop(admin_url, name)
    _EMPTY.clear()
    for engine in _ADMINS.values():
        engine.dispose()
    _ADMINS.clear()


#: The server databases make a test slow: the quick subset (-m "not slow") runs on SQLite alone.
LEDGER_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow),
                    pytest.param("mariadb", marks=pytest.mark.slow)]


@pytest.fixture(params=LEDGER_DATABASES)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL for a ledger, on each of the three databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    elif request.param == "postgresql":
        yield from server_database(PG_SERVER, PG_VARIABLE)
    else:
        yield from server_database(MARIADB_SERVER, MARIADB_VARIABLE)


@pytest.fixture
def python() -> str:
    """The interpreter running the tests, for real subprocesses."""
    return sys.executable
