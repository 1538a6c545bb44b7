"""Locks and signals with real processes, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from runkit import (
    HOLD_SCRIPT,
    env,
    ledger,
    opsctl,
    opsctl_argv,
    spawned,
    started_pids,
    wait_for,
    write_project,
    write_script,
)

# Slow: real processes racing for locks, and signals.
pytestmark = pytest.mark.slow

#: Contenders started at once: enough that they meet the lock together (each one's start
#: overlaps the others'), few enough to start quickly on a small machine.
CONCURRENT = 8


@pytest.fixture
def held(tmp_path: Path, ledger_url: str) -> tuple[Path, Path]:
    """A project whose recycle/hold script holds its lock until ``<signals>/release``."""
    project = write_project(tmp_path, ledger_url)
    signals = tmp_path / "signals"
    signals.mkdir()
    write_script(project, "recycle/hold", HOLD_SCRIPT.format(folder=str(signals)))
    return project, signals


def test_eight_at_once_one_runs_seven_are_refused(held: tuple[Path, Path],
                                                  ledger_url: str) -> None:
    project, signals = held
    procs = [subprocess.Popen(opsctl_argv(project, "run", "recycle/hold"), cwd=project,
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, stdin=subprocess.DEVNULL)
             for _ in range(CONCURRENT)]
    try:
        # The holder waits for the release, so every other one has met its lock by then.
        wait_for(lambda: sum(p.poll() is not None for p in procs) >= CONCURRENT - 1,
                 timeout=240, what="seven refusals")
        done = [p for p in procs if p.poll() is not None]
        outs = {p.pid: p.communicate() for p in done}
        assert len(done) == CONCURRENT - 1
        for p in done:
            _, err = outs[p.pid]
            assert p.returncode == 75, err
            assert "recycle/hold is locked by run" in err and "alice" in err, err
            assert "Traceback" not in err
        (holder,) = [p for p in procs if p.poll() is None]
        assert started_pids(signals) == [holder.pid]
        (signals / "release").touch()
        out, err = holder.communicate(timeout=60)
        assert holder.returncode == 0, err
        assert "released" in out
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
    with ledger(ledger_url) as book:
        runs = book.runs("recycle/hold")
        assert [(r.status, r.exit_code) for r in runs] == [("succeeded", 0)]
        assert runs[0].pid == holder.pid
        assert book.holder("recycle/hold") is None
        assert not book.stats()["recycle/hold"].running


#: Flask alone, noting the pid of every process that imports it (a line in ``imports``).
NOTED_APP = '''\
"""Flask alone, noting who imports it."""
import os

from flask import Flask

with open({imports!r}, "a", encoding="utf-8") as out:
    out.write(f"{{os.getpid()}}\\n")

app = Flask(__name__)
'''

#: A one-off fix with options of its own: its --help needs it imported, so the app loaded.
CLICK_FIX = '''\
"""Fix the totals."""
import click


@click.command()
@click.option("--day", help="The day whose totals are fixed.")
def main(day):
    print("fixed", day)
'''


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)  # the order is the
# runner's, the same on every database (whose refusals the other tests here check)
def test_a_refused_run_never_loads_the_app(held: tuple[Path, Path], ledger_url: str,
                                           tmp_path: Path) -> None:
    """The lock and run-once are checked before the app loads: a run either refuses never
    imports it. The script's help is still shown for a one-off fix already done."""
    project, signals = held
    imports = tmp_path / "imports"
    (project / "notedapp.py").write_text(NOTED_APP.format(imports=str(imports)),
                                         encoding="utf-8")
    write_script(project, "unrecycle/fix_totals", CLICK_FIX)

    def importers() -> list[int]:
        return [int(pid) for pid in imports.read_text(encoding="utf-8").split()]

    with spawned(project, "run", "--app", "notedapp:app", "recycle/hold") as holder:
        wait_for(lambda: started_pids(signals) or holder.poll() is not None, what="the start")
        assert importers() == [holder.pid]
        refused = opsctl(project, "run", "--app", "notedapp:app", "recycle/hold")
        assert refused.returncode == 75, refused.stderr
        assert "recycle/hold is locked by run" in refused.stderr
        assert importers() == [holder.pid]
        (signals / "release").touch()
        holder.communicate(timeout=60)
    assert holder.returncode == 0

    done = opsctl(project, "run", "--app", "notedapp:app", "unrecycle/fix_totals")
    assert done.returncode == 0, done.stderr
    assert len(importers()) == 2
    again = opsctl(project, "run", "--app", "notedapp:app", "unrecycle/fix_totals")
    assert again.returncode == 76, again.stderr
    assert "unrecycle/fix_totals already succeeded" in again.stderr
    assert len(importers()) == 2
    helped = opsctl(project, "run", "--app", "notedapp:app", "unrecycle/fix_totals", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "The day whose totals are fixed." in helped.stdout
    with ledger(ledger_url) as book:
        assert [r.status for r in book.runs("unrecycle/fix_totals")] == ["succeeded"]


def test_kill_9_leaves_a_lost_run_and_the_next_run_proceeds(held: tuple[Path, Path],
                                                            ledger_url: str) -> None:
    project, signals = held
    with spawned(project, "run", "recycle/hold") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        assert started_pids(signals) == [proc.pid], proc.communicate()
        proc.kill()  # SIGKILL: no handler runs, the row stays "running"
        proc.wait(timeout=30)
    with ledger(ledger_url) as book:
        assert [r.status for r in book.runs("recycle/hold")] == ["running"]
    (signals / "release").touch()
    result = opsctl(project, "run", "recycle/hold")
    assert result.returncode == 0, result.stderr
    with ledger(ledger_url) as book:
        runs = book.runs("recycle/hold")
        assert [r.status for r in runs] == ["succeeded", "lost"]
        assert runs[1].pid == proc.pid and runs[1].ended_at is not None
        assert "gone" in (runs[1].error or "")
        assert book.holder("recycle/hold") is None


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                           (signal.SIGHUP, 129), (signal.SIGQUIT, 131)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"])
def test_a_signal_mid_run_is_interrupted_and_releases_the_lock(
        held: tuple[Path, Path], ledger_url: str, sig: int, code: int) -> None:
    project, signals = held
    with spawned(project, "run", "recycle/hold") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        assert started_pids(signals) == [proc.pid]
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/hold")
        assert (run.status, run.exit_code) == ("interrupted", code)
        assert signal.Signals(sig).name in (run.error or "")
        assert book.holder("recycle/hold") is None
    (signals / "release").touch()
    again = opsctl(project, "run", "recycle/hold")
    assert again.returncode == 0, again.stderr


def test_wait_waits_for_the_holder(held: tuple[Path, Path], ledger_url: str) -> None:
    project, signals = held
    with spawned(project, "run", "recycle/hold") as first:
        wait_for(lambda: started_pids(signals) or first.poll() is not None, what="the start")
        refused = opsctl(project, "run", "--wait", "0.5", "recycle/hold")
        assert refused.returncode == 75
        assert "after waiting 0.5 s" in refused.stderr
        with spawned(project, "run", "--wait", "recycle/hold") as waiting:
            wait_for(lambda: "waiting" in _peek_stderr(waiting) or waiting.poll() is not None,
                     what="the waiting note")
            (signals / "release").touch()
            out, err = waiting.communicate(timeout=60)
            assert waiting.returncode == 0, err
        first.communicate(timeout=60)
    with ledger(ledger_url) as book:
        assert [r.status for r in book.runs("recycle/hold")] == ["succeeded", "succeeded"]


def _peek_stderr(proc: subprocess.Popen[str]) -> str:
    """Whether the process said it waits: read what it wrote so far without blocking."""
    import select

    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], 0)
    if not ready:
        return ""
    return os.read(proc.stderr.fileno(), 4096).decode("utf-8", "replace")


def test_wait_for_a_one_off_fix_then_refuses_it_as_already_done(tmp_path: Path,
                                                                 ledger_url: str) -> None:
    """Run-once is checked again once the lock is held: the run waited for has succeeded."""
    project = write_project(tmp_path, ledger_url)
    signals = tmp_path / "signals"
    signals.mkdir()
    write_script(project, "unrecycle/fix", HOLD_SCRIPT.format(folder=str(signals)))
    with spawned(project, "run", "unrecycle/fix") as first:
        wait_for(lambda: started_pids(signals) or first.poll() is not None, what="the start")
        with spawned(project, "run", "--wait", "unrecycle/fix") as waiting:
            wait_for(lambda: "waiting" in _peek_stderr(waiting) or waiting.poll() is not None,
                     what="the waiting note")
            (signals / "release").touch()
            _, err = waiting.communicate(timeout=60)
            assert waiting.returncode == 76, err
            assert "unrecycle/fix already succeeded" in err and "--force" in err
        first.communicate(timeout=60)
    assert first.returncode == 0
    assert len(started_pids(signals)) == 1  # the fix ran once
    with ledger(ledger_url) as book:
        assert [r.status for r in book.runs("unrecycle/fix")] == ["succeeded"]
        assert book.holder("unrecycle/fix") is None


def test_a_signal_between_the_start_and_the_script_ends_the_run_as_interrupted(
        tmp_path: Path, ledger_url: str) -> None:
    """SIGINT right after the row and lock are written: recorded, released, exit 130."""
    project = write_project(tmp_path, ledger_url)
    write_script(project, "recycle/never", '"""Must not run."""\n\ndef main():\n'
                 '    print("script ran")\n')
    code = ("import os, signal, sys\n"
            "import opsctl.run.heartbeat as heartbeat\n"
            "real = heartbeat.Heartbeat.__init__\n"
            "def init(self, *args):\n"
            "    os.kill(os.getpid(), signal.SIGINT)  # the row exists, the script not yet\n"
            "    real(self, *args)\n"
            "heartbeat.Heartbeat.__init__ = init\n"
            "from opsctl.cli.main import main\n"
            "sys.argv = ['opsctl', '--project', sys.argv[1], 'run', 'recycle/never']\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code, str(project)], cwd=project, env=env(),
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 130, proc.stderr
    assert "script ran" not in proc.stdout
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/never")
        assert run.status == "interrupted"
        assert book.holder("recycle/never") is None


def test_a_dropped_terminal_ends_the_run_as_interrupted(held: tuple[Path, Path],
                                                        ledger_url: str) -> None:
    """A dropped SSH session: the run's controlling terminal hangs up (SIGHUP, and writes to
    it fail from then on). Recorded as interrupted, lock released, exit 129."""
    import fcntl
    import termios

    project, signals = held
    master, slave = os.openpty()

    def controlling_terminal() -> None:  # a login shell's: the terminal is the session's
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(opsctl_argv(project, "run", "recycle/hold"), cwd=project,
                                env=env(), stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True, preexec_fn=controlling_terminal)
    finally:
        os.close(slave)
    try:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        os.close(master)  # the session drops: the kernel hangs the terminal up
        master = -1
        assert proc.wait(timeout=60) == 129
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    with ledger(ledger_url) as book:
        (run,) = book.runs("recycle/hold")
        assert (run.status, run.exit_code) == ("interrupted", 129)
        assert "SIGHUP" in (run.error or "")
        assert book.holder("recycle/hold") is None


def test_a_one_off_fix_whose_last_run_died_is_refused_as_unknown(tmp_path: Path,
                                                                  ledger_url: str) -> None:
    """kill -9 mid-fix: whether it applied its change is unknown, so it is not run again
    without --force, neither while its row still says running nor once it is marked lost."""
    project = write_project(tmp_path, ledger_url)
    signals = tmp_path / "signals"
    signals.mkdir()
    write_script(project, "unrecycle/fix", HOLD_SCRIPT.format(folder=str(signals)))
    with spawned(project, "run", "unrecycle/fix") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        proc.kill()
        proc.wait(timeout=30)
    (signals / "release").touch()
    for marked in ("running", "lost"):
        with ledger(ledger_url) as book:
            assert [r.status for r in book.runs("unrecycle/fix")] == [marked]
        refused = opsctl(project, "run", "unrecycle/fix")
        assert refused.returncode == 76, refused.stderr
        assert "Error: the outcome of run 1 of unrecycle/fix is unknown" in refused.stderr
        assert "opsctl history --run 1" in refused.stderr and "--force" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert len(started_pids(signals)) == 1
        assert opsctl(project, "history").returncode == 0  # marks the dead run lost
    forced = opsctl(project, "run", "--force", "unrecycle/fix")
    assert forced.returncode == 0, forced.stderr
    assert len(started_pids(signals)) == 2


#: Bytes of another encoding, a lone surrogate, NUL: what a script may print and report.
AWKWARD_SCRIPT = '''\
"""Print and report awkward text."""
import sys
from opsctl import report


def main():
    text = b"caf\\xe9".decode("utf-8", "surrogateescape") + " \\ud800 a\\x00b na\\u00efve"
    print(text, file=sys.stderr)
    report(text=text, arg=sys.argv[1])
    if sys.argv[2:] == ["raise"]:
        raise ValueError(text)
'''
STORED = "caf\\xe9 \\ud800 a\\x00b na\u00efve"


@pytest.mark.parametrize("ends", ["succeeded", "failed"])
def test_any_text_a_script_produces_is_stored_safely(tmp_path: Path, ledger_url: str,
                                                     ends: str) -> None:
    project = write_project(tmp_path, ledger_url)
    write_script(project, "recycle/awkward", AWKWARD_SCRIPT)
    arg = os.fsdecode(b"ol\xe9")  # a non-UTF-8 argument, as the shell passes it
    extra = ["raise"] if ends == "failed" else []
    result = opsctl(project, "run", "--reason", "caf\u00e9", "recycle/awkward", arg, *extra)
    assert result.returncode == (0 if ends == "succeeded" else 1), result.stderr
    assert "could not record" not in result.stderr, result.stderr
    shown = opsctl(project, "history", "--run", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout)
    assert (run["status"], run["args"], run["reason"]) == (ends, ["ol\\xe9", *extra],
                                                            "caf\u00e9")
    assert run["summary"] == {"text": STORED, "arg": "ol\\xe9"}
    assert STORED in run["output_tail"]
    if ends == "failed":
        assert STORED in run["error"]
    text = opsctl(project, "history", "--run", "1")
    assert text.returncode == 0 and STORED in text.stdout, text.stderr
