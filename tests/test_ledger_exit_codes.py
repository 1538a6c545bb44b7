"""A ledger that can be reached but not used gives exit 78 in one line, at once: a read-only
ledger (on each database), a PostgreSQL database or role that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PG_SERVER, PG_VARIABLE, unreachable
from runkit import ledger, opsctl, write_project, write_script

from opsctl.errors import LedgerUnreachable
from opsctl.ledger.engine import driver_url
from opsctl.ledger.store import Ledger

TOUCH = '''\
"""Leave a mark."""
from pathlib import Path


def main():
    Path({marker!r}).touch()
'''


@pytest.fixture
def read_only(ledger_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a ledger (tables made, one run recorded) that can be read, not written."""
    with ledger(ledger_url) as book:
        from opsctl.ledger.values import Process

        run = book.start(script="recycle/touch", process=Process.current("bob"), args=[])
        book.finish(run, status="succeeded", exit_code=0)
    url = sa.engine.make_url(ledger_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        yield f"sqlite:///file:{url.database}?mode=ro&uri=true"
        return
    admin = sa.create_engine(driver_url(ledger_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(sa.text(f"ALTER DATABASE {url.database} "
                                     "SET default_transaction_read_only = on"))
                yield ledger_url
                return
            user = f"ro_{uuid.uuid4().hex[:10]}"
            conn.execute(sa.text(f"CREATE USER '{user}'@'%'"))
            conn.execute(sa.text(f"GRANT SELECT ON {url.database}.* TO '{user}'@'%'"))
        try:
            yield url.set(username=user).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP USER '{user}'@'%'"))
    finally:
        admin.dispose()


def test_a_read_only_ledger_refuses_the_run_in_one_line(tmp_path: Path,
                                                        read_only: str) -> None:
    marker = tmp_path / "side-effect"
    project = write_project(tmp_path, read_only)
    write_script(project, "recycle/touch", TOUCH.format(marker=str(marker)))
    result = opsctl(project, "run", "recycle/touch")
    assert result.returncode == 78, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: the run ledger at ") and "cannot be written" in line, line
    assert not marker.exists()
    shown = opsctl(project, "history", "--json")  # reading it still works
    assert shown.returncode == 0, shown.stderr


#: On the suite's PostgreSQL server (OPSCTL_TEST_PG): a database, and a role, it lacks.
_PG = sa.engine.make_url(PG_SERVER)
MISSING = {
    "database": _PG.set(database="opsctl_no_such_database").render_as_string(False),
    "role": _PG.set(username="opsctl_no_such_role", password=None,
                    database="postgres").render_as_string(False),
}


@pytest.fixture
def connection_attempts() -> Iterator[list[object]]:
    """Every attempt of any engine in this process to open a database connection."""
    attempts: list[object] = []

    def count(*args: object) -> None:
        attempts.append(args)

    sa.event.listen(sa.engine.Engine, "do_connect", count)
    try:
        yield attempts
    finally:
        sa.event.remove(sa.engine.Engine, "do_connect", count)


@pytest.mark.slow
@pytest.mark.parametrize("missing", list(MISSING))
@pytest.mark.parametrize("create", [True, False], ids=["writing", "reading"])
def test_a_missing_postgresql_database_or_role_fails_at_the_first_attempt(
        missing: str, create: bool, connection_attempts: list[object]) -> None:
    """Never mistaken for a ledger without tables: no retry, and no empty read."""
    server = sa.create_engine(f"{PG_SERVER}/postgres")
    try:
        with server.connect():
            pass
    except sa.exc.OperationalError as exc:
        unreachable("PostgreSQL", f"{PG_SERVER}/postgres", PG_VARIABLE, exc)
    finally:
        server.dispose()
    connection_attempts.clear()
    with pytest.raises(LedgerUnreachable) as refused:
        Ledger.open(MISSING[missing], create=create)
    assert f'{missing} "opsctl_no_such_{missing}" does not exist' in refused.value.diagnosis
    assert len(connection_attempts) == 1


@pytest.mark.slow
@pytest.mark.parametrize("missing", list(MISSING))
@pytest.mark.parametrize("command", [("run", "recycle/touch"), ("history",)],
                         ids=["run", "history"])
def test_a_missing_postgresql_database_or_role_is_exit_78(tmp_path: Path, missing: str,
                                                          command: tuple[str, ...]) -> None:
    marker = tmp_path / "side-effect"
    project = write_project(tmp_path, MISSING[missing])
    write_script(project, "recycle/touch", TOUCH.format(marker=str(marker)))
    result = opsctl(project, *command)
    assert result.returncode == 78, (result.stdout, result.stderr)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: the run ledger at ") and "does not exist" in line
    assert not marker.exists()
