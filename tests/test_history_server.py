"""``history`` on a PostgreSQL or MariaDB ledger reads it through a server glance
(:mod:`opsctl.ledger.serverglance`) whenever that is the whole truth: no SQLAlchemy, no
psycopg, and the output the ledger gives, byte for byte; a run to reap (a dead holder on this
node, a heartbeat older than the lease by the server's clock, a running row without its lock)
sends it to the ledger, which marks the run ``lost`` first.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bench import fill_ledger
from click.testing import Result
from conftest import (
    MARIADB_SERVER,
    MARIADB_VARIABLE,
    PG_SERVER,
    PG_VARIABLE,
    server_database,
    write,
)
from test_ledger_glance import KEYS, PROBE

from opsctl.ledger import lastruns
from opsctl.ledger import serverglance as serverglance_module
from opsctl.ledger.facts import LEASE_SECONDS, journal_folder
from opsctl.ledger.serverglance import ServerGlance, server_glance
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process, Run

pytestmark = pytest.mark.slow

MOVED = "unrecycle/job_00"


@pytest.fixture(autouse=True)
def no_libpq_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq's variables send a read to the driver (:mod:`opsctl.ledger.pgwire`): none
    here."""
    for name in [k for k in os.environ if k.startswith("PG")]:
        monkeypatch.delenv(name)


class Served:
    """A project whose ledger is on a server: 1,200 runs over :data:`KEYS`, a move, an
    absorption, a run under the moved name, an interrupted run with progress and the run
    that resumed it, still running (its holder, this process, alive)."""

    def __init__(self, project: Path, url: str) -> None:
        self.project, self.url = project, url
        self.journal = journal_folder(str(project))
        fill_ledger(url, 1_200, KEYS, tail=50)
        with Ledger.open(url) as book:
            book.record_move(KEYS[0], MOVED, "alice")
            book.record_absorb(KEYS[1], MOVED, "bob")
            run = book.start(script=KEYS[0], process=Process.current("carol"), args=[])
            book.finish(run, status="succeeded", exit_code=0, output_tail="tail\n")
            first = book.start(script=KEYS[5], process=Process.current("dan"), args=["-n"])
            book.begin_progress(first.id, total=10)
            book.checkpoint(first.id, done=4, cursor=[4])
            book.finish(first, status="interrupted", exit_code=130)
            self.resumed = first.id
            self.live = book.start(script=KEYS[5], process=Process.current("dan"), args=[])
            book.begin_progress(self.live.id, total=10, done=4, cursor=[4],
                                resumed_from=first.id)
            book.checkpoint(self.live.id, done=7, cursor=[7])
        for key in [*KEYS[2:], MOVED]:
            write(project / "offline_script" / f"{key}.py", f'"""Run {key}."""\n')
        (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{url}"\n',
                                                encoding="utf-8")

    def glance(self, *, reaping: bool = True) -> ServerGlance | None:
        return server_glance(self.url, self.journal, reaping=reaping)


@pytest.fixture(params=["postgresql", "mariadb"])
def served(request: pytest.FixtureRequest, project: Path) -> Iterator[Served]:
    server = (PG_SERVER, PG_VARIABLE) if request.param == "postgresql" else \
        (MARIADB_SERVER, MARIADB_VARIABLE)
    for url in server_database(*server):
        yield Served(project, url)


def both_ways(invoke: Callable[..., Result], served: Served, monkeypatch: pytest.MonkeyPatch,
              *args: str) -> tuple[Result, Result]:
    """``opsctl *args`` read through the server glance (which it must be), then through
    the ledger (no glance offered)."""
    seen: list[Any] = []
    real = lastruns.reader

    def spy(config: Any, **kwargs: Any) -> Any:
        seen.append(real(config, **kwargs))
        return seen[-1]

    with monkeypatch.context() as patch:
        patch.setattr(lastruns, "reader", spy)
        glanced = invoke(served.project, *args)
    assert seen and all(isinstance(g, ServerGlance) for g in seen), seen
    with monkeypatch.context() as patch, warnings.catch_warnings():
        # The ledger's, about the connection of the stream an empty history's look for any
        # run leaves unread (PyMySQL's, a driver's when it is collected): not what is compared
        warnings.simplefilter("ignore")
        patch.setattr(lastruns, "reader", lambda config, **kwargs: None)
        ledger = invoke(served.project, *args)
        gc.collect()
    return glanced, ledger


CASES = [("history",), ("history", "--limit", "0", "--json"), ("history", "--limit", "0"),
         ("history", KEYS[3], "--status", "failed"), ("history", MOVED),
         ("history", MOVED, "--json"), ("history", KEYS[0]), ("history", KEYS[5]),
         ("history", "--status", "lost", "--limit", "7"), ("history", "--status", "paused")]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_history_prints_what_the_ledger_prints(invoke: Callable[..., Result], served: Served,
                                               monkeypatch: pytest.MonkeyPatch,
                                               args: tuple[str, ...]) -> None:
    glanced, ledger = both_ways(invoke, served, monkeypatch, *args)
    assert glanced.exit_code == ledger.exit_code == 0, glanced.output
    assert glanced.output == ledger.output
    assert glanced.output.strip()


def test_one_run_whole_is_what_the_ledger_says(invoke: Callable[..., Result], served: Served,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A resumed run, the run resuming it (progress, rate, what it carried), a plain run and
    none: as text and as JSON."""
    for run_id in (served.resumed, served.live.id, 7, 10**6):
        for extra in ((), ("--json",)):
            glanced, ledger = both_ways(invoke, served, monkeypatch, "history", "--run",
                                        str(run_id), *extra)
            assert (glanced.exit_code, glanced.output) == (ledger.exit_code, ledger.output)
    shown = json.loads(invoke(served.project, "history", "--run", str(served.resumed),
                              "--json").output)
    assert shown["resumed_by"] == [served.live.id]


@pytest.mark.parametrize("args", [("history",), ("history", "--limit", "0", "--json"),
                                  ("history", KEYS[3], "--status", "failed"),
                                  ("history", "--run", "7")], ids=" ".join)
def test_history_imports_no_sqlalchemy(served: Served, tmp_path: Path,
                                       args: tuple[str, ...]) -> None:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=served.project,
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "recycle/job_" in proc.stdout or "run 7:" in proc.stdout
    modules = json.loads(out.read_text(encoding="utf-8"))
    assert [m for m in modules if m.split(".")[0] == "sqlalchemy"] == []
    if served.url.startswith("postgres"):  # a server on this machine: no driver either
        assert "opsctl.ledger.pgwire" in modules
        assert [m for m in modules if m.split(".")[0] in ("psycopg", "psycopg2")] == []
    else:
        assert "pymysql" in modules


def _locks(served: Served, sql: str, *params: Any) -> None:
    with Ledger.open(served.url) as book, book.engine.begin() as conn:
        conn.exec_driver_sql(sql, params)


def test_a_dead_holder_is_reaped_by_the_ledger_and_shown_lost(
        invoke: Callable[..., Result], served: Served) -> None:
    glance = served.glance()  # the resuming run's holder, this process, is alive
    assert glance is not None
    glance.close()
    _locks(served, "UPDATE opsctl_locks SET pid = 999999999")
    assert served.glance() is None  # its holder is gone: the ledger reaps first
    listing = served.glance(reaping=False)  # list does not reap
    assert listing is not None
    listing.close()
    result = invoke(served.project, "history", "--limit", "3")
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines()
               if line.startswith(f"{served.live.id} "))
    assert " lost " in row, result.output
    glance = served.glance()  # reaped: nothing left to reap
    assert glance is not None
    glance.close()


def test_a_lease_is_judged_by_the_servers_clock(served: Served) -> None:
    """A holder on another node is stale when its heartbeat is older than the lease by the
    server's clock, as the ledger's reaper judges it; a running row without its lock is
    stale at once."""
    with Ledger.open(served.url) as book, book.engine.connect() as conn:
        import sqlalchemy as sa

        from opsctl.ledger.schema import server_utcnow

        now = conn.execute(sa.select(server_utcnow())).scalar()
    assert isinstance(now, dt.datetime)
    fresh = now - dt.timedelta(seconds=LEASE_SECONDS - 30)
    _locks(served, "UPDATE opsctl_locks SET node = 'elsewhere', heartbeat_at = %s", fresh)
    glance = served.glance()
    assert glance is not None
    glance.close()
    stale = now - dt.timedelta(seconds=LEASE_SECONDS + 30)
    _locks(served, "UPDATE opsctl_locks SET heartbeat_at = %s", stale)
    assert served.glance() is None
    _locks(served, "DELETE FROM opsctl_locks")
    assert served.glance() is None  # running, without its lock


@pytest.mark.parametrize("key", [None, MOVED, KEYS[3]])
def test_all_the_runs_come_a_page_at_a_time(served: Served, monkeypatch: pytest.MonkeyPatch,
                                            key: str | None) -> None:
    """``--limit 0``: every run, as the ledger streams them, read a page at a time after the
    last of the page before (a driver here reads a statement's rows whole)."""
    monkeypatch.setattr(serverglance_module, "CHUNK", 50)
    statements: list[str] = []
    glance = served.glance()
    assert glance is not None
    real = glance._execute

    def execute(sql: str, params: Any = ()) -> Any:
        statements.append(sql)
        return real(sql, params)

    monkeypatch.setattr(glance, "_execute", execute)
    try:
        with Ledger.open(served.url) as book:
            for status in (None, "failed"):
                found: list[Run] = list(glance.iter_runs(key, status=status,
                                                         all_under_key=key == MOVED))
                assert found == book.runs(key, status=status, all_under_key=key == MOVED)
                pages = [s for s in statements if s.endswith(" LIMIT 50")]
                assert len(pages) == len(found) // 50 + 1, len(found)
                statements.clear()
    finally:
        glance.close()
