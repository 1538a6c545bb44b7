"""Shared fixtures: a CLI runner, throwaway projects, and ledger databases.

Ledger databases: ``ledger_url`` is parametrized over SQLite, PostgreSQL and MariaDB. Each test
gets a database of its own, created and dropped around it, on the server ``OPSCTL_TEST_PG`` /
``OPSCTL_TEST_MARIADB`` name (a SQLAlchemy URL without a database; README, Development).
Locally, a server that cannot be reached skips its tests with the URL tried and the reason;
under ``CI=true`` it fails them instead.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

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


def server_database(server_url: str, variable: str) -> Iterator[str]:
    """A fresh database on ``server_url``, dropped afterwards. The suite connects to the
    server's ``postgres`` (PostgreSQL) or ``test`` (MariaDB) database to create it."""
    import sqlalchemy as sa

    postgresql = "postgresql" in server_url
    what = "PostgreSQL" if postgresql else "MariaDB"
    name = f"opsctl_test_{uuid.uuid4().hex[:12]}"
    admin_url = server_url + ("/postgres" if postgresql else "/test")
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # any driver error means the server is not usable here
        unreachable(what, admin_url, variable, exc)
    try:
        yield f"{server_url}/{name}"
    finally:
        with admin.connect() as conn:
            if postgresql:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


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
