"""A ledger server that goes away while a script runs, on a PostgreSQL server of the test's
own (:mod:`pgserver`), stopped and started again by the test.

The end of a run is never lost: a restarted server is met with a fresh connection, an outage
shorter than ``ledger_retry_seconds`` is waited out, a longer one leaves the end in the local
journal, and the next opsctl command that opens the ledger records it from there. A ledger
lost before the script starts is exit 78, in one line.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import PgServer
from runkit import (
    HOLD_SCRIPT,
    ledger,
    opsctl,
    spawned,
    started_pids,
    wait_for,
    write_project,
    write_script,
)

pytestmark = pytest.mark.slow

#: HOLD_SCRIPT, and what a finished run leaves behind: output, a summary, and a count of the
#: times its change was applied (a one-off fix must apply it once).
FIX_SCRIPT = HOLD_SCRIPT.replace('    print("released")\n', '''\
    print("released")
    from opsctl import report

    applied = here / "applied"
    applied.write_text(str(int(applied.read_text()) + 1 if applied.exists() else 1))
    report(rows=3)
''')


@pytest.fixture
def server() -> Iterator[PgServer]:
    pg = PgServer()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


@pytest.fixture
def held(tmp_path: Path, server: PgServer) -> tuple[Path, Path]:
    """A project on the test's own server with ``recycle/hold`` and ``unrecycle/fix``, both
    holding their lock until ``<signals>/release``."""
    project = write_project(tmp_path, server.url)
    signals = tmp_path / "signals"
    signals.mkdir()
    write_script(project, "recycle/hold", FIX_SCRIPT.format(folder=str(signals)))
    write_script(project, "unrecycle/fix", FIX_SCRIPT.format(folder=str(signals)))
    return project, signals


class Stderr:
    """What a running process has written to stderr so far, read without blocking."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.text = ""

    def shows(self, text: str) -> bool:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.text += chunk.decode("utf-8", "replace")
        return text in self.text

    def rest(self, timeout: float = 120) -> str:
        _, err = self.proc.communicate(timeout=timeout)
        return self.text + err


def journal_files(project: Path) -> list[Path]:
    folder = project / "instance" / "opsctl-journal"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def test_a_server_restarted_mid_run_takes_the_end_on_a_fresh_connection(
        held: tuple[Path, Path], server: PgServer) -> None:
    """The pool's connection died with the server; the end is written on a new one."""
    project, signals = held
    with spawned(project, "run", "recycle/hold") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        server.stop()
        server.start()
        (signals / "release").touch()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "warning" not in err, err
    with ledger(server.url) as book:
        (run,) = book.runs("recycle/hold")
        assert (run.status, run.exit_code, run.summary) == ("succeeded", 0, {"rows": 3})
        assert book.holder("recycle/hold") is None
    assert journal_files(project) == []


def test_an_outage_within_the_retry_window_is_waited_out(held: tuple[Path, Path],
                                                         server: PgServer) -> None:
    project, signals = held
    with spawned(project, "run", "recycle/hold", OPSCTL_LEDGER_RETRY_SECONDS="300") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        server.stop()
        (signals / "release").touch()
        stderr = Stderr(proc)
        # The script has ended and opsctl has met the outage: it says it keeps trying.
        wait_for(lambda: stderr.shows("retrying") or proc.poll() is not None,
                 what="the retry note")
        assert proc.poll() is None, stderr.rest()
        server.start()
        err = stderr.rest()
    assert proc.returncode == 0, err
    assert "the run ledger at postgresql+psycopg://postgres@127.0.0.1" in err
    assert "retrying for up to 300 s to record the end of run 1" in err
    assert "journal" not in err and "lost" not in err, err
    with ledger(server.url) as book:
        (run,) = book.runs("recycle/hold")
        assert (run.status, run.exit_code, run.summary) == ("succeeded", 0, {"rows": 3})
        assert len(run.notes) == 1 and run.notes[0].startswith("app ")  # no outage note
        assert book.holder("recycle/hold") is None
    assert journal_files(project) == []


def test_an_outage_past_the_retry_window_is_journaled_then_recorded(
        held: tuple[Path, Path], server: PgServer) -> None:
    """The end goes to the local journal; the next command that opens the ledger (here a run
    of the same one-off fix) records it first, so the fix is refused as done, not run twice."""
    project, signals = held
    with spawned(project, "run", "--reason", "TICKET-9", "unrecycle/fix",
                 OPSCTL_LEDGER_RETRY_SECONDS="1") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        server.stop()
        (signals / "release").touch()
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # the script's own exit code: its outcome is kept
    assert "released" in out
    (kept,) = journal_files(project)
    assert f"could not record the end of run 1 in the ledger at {server.url}" in err, err
    assert str(kept) in err and "the next opsctl command" in err
    assert "will show as lost" not in err
    assert "opsctl: unrecycle/fix succeeded (run 1)" in err
    assert (signals / "applied").read_text() == "1"

    server.start()
    with ledger(server.url) as book:  # not replayed yet: the ledger alone knows no end
        assert book.run(1).status == "running"  # type: ignore[union-attr]
    again = opsctl(project, "run", "unrecycle/fix")
    assert again.returncode == 76, again.stderr
    assert "recorded the end of run 1 (unrecycle/fix, succeeded) from the local journal" \
        in again.stderr
    assert "unrecycle/fix already succeeded (run 1 by alice" in again.stderr
    assert (signals / "applied").read_text() == "1"  # applied once
    assert journal_files(project) == []

    shown = opsctl(project, "history", "--run", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout)
    assert (run["status"], run["exit_code"], run["summary"]) == ("succeeded", 0, {"rows": 3})
    assert run["reason"] == "TICKET-9" and "released" in run["output_tail"]
    assert run["error"] is None
    (app, note) = run["notes"]
    assert app.startswith("app ")
    assert note.startswith("recorded late from the local journal")
    with ledger(server.url) as book:
        assert book.holder("unrecycle/fix") is None
        assert [r.status for r in book.runs("unrecycle/fix")] == ["succeeded"]


def test_a_signal_while_waiting_for_the_ledger_keeps_the_end_in_the_journal_at_once(
        held: tuple[Path, Path], server: PgServer) -> None:
    """An operator who will not wait (Ctrl-C, SIGTERM) ends the waiting, not the record."""
    project, signals = held
    with spawned(project, "run", "recycle/hold", OPSCTL_LEDGER_RETRY_SECONDS="300") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        server.stop()
        (signals / "release").touch()
        stderr = Stderr(proc)
        wait_for(lambda: stderr.shows("retrying") or proc.poll() is not None,
                 what="the retry note")
        os.kill(proc.pid, signal.SIGTERM)
        err = stderr.rest(timeout=60)
    assert proc.returncode == 0, err  # the script had succeeded: that is its outcome
    (kept,) = journal_files(project)
    assert str(kept) in err
    server.start()
    shown = opsctl(project, "history", "--run", "1", "--json")
    assert json.loads(shown.stdout)["status"] == "succeeded", shown.stderr


def test_a_ledger_lost_before_the_script_starts_is_exit_78_in_one_line(
        held: tuple[Path, Path], server: PgServer) -> None:
    """Waiting for a lock, the server goes away: one line, exit 78, and nothing ran."""
    project, signals = held
    with spawned(project, "run", "recycle/hold", OPSCTL_LEDGER_RETRY_SECONDS="1") as first:
        wait_for(lambda: started_pids(signals) or first.poll() is not None, what="the start")
        with spawned(project, "run", "--wait", "recycle/hold") as waiting:
            stderr = Stderr(waiting)
            wait_for(lambda: stderr.shows("waiting") or waiting.poll() is not None,
                     what="the waiting note")
            server.stop()
            err = stderr.rest()
        assert waiting.returncode == 78, err
        (line,) = [line for line in err.splitlines() if "waiting" not in line]
        assert line.startswith("Error: the run ledger at postgresql+psycopg://postgres@")
        assert "Traceback" not in err and "sqlalche.me" not in err
        (signals / "release").touch()
        first.communicate(timeout=120)
    assert first.returncode == 0
    assert len(started_pids(signals)) == 1
