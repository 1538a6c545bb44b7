"""Behaviour that a mutation pass found unguarded: each test here fails when its piece of the
run path, the ledger, the lint or the configuration is quietly broken.

* the output tail keeps the last 32,000 characters of a run's output;
* a run whose lock was taken over while it ran warns that another run may have overlapped it;
* ``lint --fix`` undoes a rename the ledger cannot record;
* ``secret_options`` decides which option values are redacted;
* ``history --limit 0`` lists every run;
* the heartbeat is well inside the lease, and a running process really refreshes its lock.

Each runs opsctl in a real process where it can, against a SQLite ledger.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import pkgutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from conftest import git
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

#: How much of a run's output the ledger keeps (README: "the last 32,000 characters").
TAIL = 32_000


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture
def proj(tmp_path: Path, url: str) -> Path:
    return write_project(tmp_path, url)


def history_json(project: Path, *args: str) -> object:
    result = opsctl(project, "history", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sql(url: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    """One statement on the SQLite ledger file, committed; its rows."""
    with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
        rows = conn.execute(statement, params).fetchall()
    conn.close()
    return rows


def ledger_modules() -> list[ModuleType]:
    """Every module of the ledger package (it may be split into several)."""
    import opsctl.ledger as package

    return [package, *(importlib.import_module(info.name) for info in
                       pkgutil.iter_modules(package.__path__, package.__name__ + "."))]


def ledger_constant(name: str) -> float:
    """A number the ledger defines, wherever it lives now; every copy must agree."""
    values = {float(getattr(m, name)) for m in ledger_modules() if hasattr(m, name)}
    assert len(values) == 1, f"{name}: {values or 'not found'}"
    return values.pop()


# --------------------------------------------------------------------------- the output tail


NOISY = '''\
"""Print {count} numbered lines of 50 characters."""


def main():
    for i in range({count}):
        print(f"{{i:08d}} " + "x" * 40)
'''


def noisy_output(count: int) -> str:
    return "".join(f"{i:08d} " + "x" * 40 + "\n" for i in range(count))


@pytest.mark.parametrize("count", [200, 2_000], ids=["10k chars", "100k chars"])
def test_the_tail_keeps_the_last_32000_characters(proj: Path, count: int) -> None:
    write_script(proj, "recycle/noisy", NOISY.format(count=count))
    result = opsctl(proj, "run", "recycle/noisy")
    assert result.returncode == 0, result.stderr
    printed = noisy_output(count)
    assert result.stdout == printed  # all of it reached the terminal

    (run,) = history_json(proj)  # type: ignore[misc]
    whole = history_json(proj, "--run", str(run["id"]))
    assert whole["output_tail"] == printed[-TAIL:]  # type: ignore[index]
    assert len(whole["output_tail"]) == min(len(printed), TAIL)  # type: ignore[index]

    shown = opsctl(proj, "history", "--run", str(run["id"]))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.split("output (tail):\n", 1)[1].splitlines()
    kept = printed[-TAIL:].splitlines()
    assert [line.removeprefix("  ") for line in lines] == kept
    assert lines[-1] == f"  {count - 1:08d} " + "x" * 40


# --------------------------------------------------------------------------- a takeover mid-run


def test_a_run_whose_lock_was_taken_over_warns_that_another_may_have_overlapped(
        proj: Path, url: str, tmp_path: Path) -> None:
    write_script(proj, "recycle/hold", HOLD_SCRIPT.format(folder=str(tmp_path)))
    with spawned(proj, "run", "recycle/hold") as proc:
        wait_for(lambda: started_pids(tmp_path) or proc.poll() is not None,
                 what="the script to start")
        assert proc.poll() is None
        (run_id,) = (row[0] for row in sql(url, "SELECT id FROM opsctl_runs"))
        # The holder now looks like a machine that stopped heartbeating long ago, so the
        # next reader takes its lock over (its heartbeat may land in between: try again).
        for _attempt in range(20):
            sql(url, "UPDATE opsctl_locks SET node = 'another-machine', "
                     "heartbeat_at = '2000-01-01 00:00:00' WHERE run_id = ?", run_id)
            opsctl(proj, "history")  # reading history reaps what looks dead
            if sql(url, "SELECT status FROM opsctl_runs WHERE id = ?", run_id) == [("lost",)]:
                break
        else:
            raise AssertionError("the lock was never taken over")
        assert sql(url, "SELECT script FROM opsctl_locks") == []
        (tmp_path / "release").touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "released" in out
    assert f"the lock of run {run_id} was taken over as stale while it ran, so another run " \
           "may have overlapped it" in " ".join(err.split())
    (run,) = history_json(proj)  # type: ignore[misc]
    assert run["status"] == "succeeded" and run["exit_code"] == 0
    assert run["error"].startswith("taken over: lost: no heartbeat for over 90 s")
    assert "the run went on and ended succeeded" in run["error"]


# --------------------------------------------------------------------------- lint --fix


REFUSE_MOVES = ("CREATE TRIGGER refuse_moves BEFORE INSERT ON opsctl_moves "
                "BEGIN SELECT RAISE(ABORT, 'moves are frozen'); END")


def fix_project(tmp_path: Path, url: str) -> Path:
    """A project whose ledger exists but refuses to record a move (a database trigger)."""
    project = write_project(tmp_path, url, extra="stale_days = 36500\n")
    write_script(project, "alice/ts_2024_6_1_export", '"""Export."""\n\n\ndef main():\n'
                 '    pass\n')
    with ledger(url):
        pass  # the schema, as after a first run
    sql(url, REFUSE_MOVES)
    return project


def tree_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("in_git", [False, True], ids=["plain folder", "git work tree"])
def test_fix_undoes_a_rename_the_ledger_cannot_record(tmp_path: Path, url: str, in_git: bool,
                                                      isolated_git: None) -> None:
    project = fix_project(tmp_path, url)
    root = project / "offline_script"
    if in_git:
        git(project, "init", "-q")
        git(project, "add", "offline_script")
        git(project, "commit", "-q", "-m", "scripts")
    before = tree_of(root)
    status_before = git(project, "status", "--porcelain") if in_git else ""

    result = opsctl(project, "lint", "--fix")

    assert result.returncode == 1, result.stderr  # the finding is still there
    said = " ".join(result.stderr.split())
    assert "not renamed: offline_script/alice/ts_2024_6_1_export.py -> " \
           "offline_script/alice/ts_2024_06_01_export.py: the ledger could not record the " \
           "rename (" in said
    assert "moves are frozen" in said and "left as it was" in said
    assert tree_of(root) == before
    assert (root / "alice" / "ts_2024_6_1_export.py").is_file()
    if in_git:
        assert git(project, "status", "--porcelain") == status_before
        assert "alice/ts_2024_6_1_export.py" in git(project, "ls-files", "offline_script")
    assert sql(url, "SELECT count(*) FROM opsctl_moves") == [(0,)]


# --------------------------------------------------------------------------- secret options


ANY_ARGS = '"""Take any arguments."""\n\n\ndef main():\n    pass\n'
RAISES_ON_IMPORT = '"""Fail on import."""\nraise RuntimeError("broken")\n'


def stored_args(url: str) -> list[list[str]]:
    return [json.loads(str(row[0])) for row in sql(url, "SELECT args FROM opsctl_runs "
                                                        "ORDER BY id")]


def test_the_default_secret_options_are_redacted(proj: Path, url: str) -> None:
    write_script(proj, "recycle/any", ANY_ARGS)
    # --pin is a secret word of its own since the default list grew (a whole word of an
    # option's name: --spinner is not).
    args = ["--password", "p1", "--db-passwd=p2", "--token", "t1", "--client_secret", "s1",
            "--api-key", "k1", "--api_key=k2", "--pin", "1234", "--spinner", "5678", "--name",
            "bob"]
    result = opsctl(proj, "run", "recycle/any", *args)
    assert result.returncode == 0, result.stderr
    assert stored_args(url) == [[
        "--password", "***", "--db-passwd=***", "--token", "***", "--client_secret", "***",
        "--api-key", "***", "--api_key=***", "--pin", "***", "--spinner", "5678", "--name",
        "bob"]]


@pytest.mark.parametrize("where", ["pyproject", "environment"])
def test_configured_secret_options_are_redacted(tmp_path: Path, url: str, where: str) -> None:
    extra = 'secret_options = ["pin", "otp"]\n' if where == "pyproject" else ""
    project = write_project(tmp_path, url, extra=extra)
    settings = {"OPSCTL_SECRET_OPTIONS": "pin,otp"} if where == "environment" else {}
    write_script(project, "recycle/any", ANY_ARGS)
    write_script(project, "recycle/broken", RAISES_ON_IMPORT)

    ran = opsctl(project, "run", "recycle/any", "--pin", "PIN-SECRET", "--otp=OTP-SECRET",
                 "--name", "bob", **settings)
    assert ran.returncode == 0, ran.stderr
    # A script whose import raises is recorded too, with the same redaction.
    failed = opsctl(project, "run", "recycle/broken", "--user-pin", "USER-PIN-SECRET",
                    **settings)
    assert failed.returncode == 1, failed.stderr

    assert stored_args(url) == [["--pin", "***", "--otp=***", "--name", "bob"],
                                ["--user-pin", "***"]]
    assert "SECRET" not in json.dumps(history_json(project))


# --------------------------------------------------------------------------- history --limit


def test_history_limit_zero_lists_every_run(proj: Path, url: str) -> None:
    from opsctl.ledger.values import Process

    count = 25  # more than the default limit of 20
    with ledger(url) as book:
        for i in range(count):
            run = book.start(script=f"recycle/job_{i % 3}", process=Process.current("alice"),
                             args=[str(i)])
            book.finish(run, status="succeeded", exit_code=0)

    every = history_json(proj, "--limit", "0")
    assert [r["args"] for r in every] == [[str(i)] for i in reversed(range(count))]  # type: ignore[attr-defined,index]
    assert len(history_json(proj)) == 20  # type: ignore[arg-type]
    assert len(history_json(proj, "--limit", "3")) == 3  # type: ignore[arg-type]
    assert len(history_json(proj, "recycle/job_0", "--limit", "0")) == 9  # type: ignore[arg-type]

    table = opsctl(proj, "history", "--limit", "0", COLUMNS="200")
    assert table.returncode == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if "recycle/job_" in line]
    assert len(rows) == count


# --------------------------------------------------------------------------- heartbeat


def test_the_heartbeat_is_well_inside_the_lease() -> None:
    """A holder on another machine is presumed dead after LEASE_SECONDS without a heartbeat;
    a live one beats every HEARTBEAT_SECONDS. Two missed beats (a slow database, a paused
    VM) must not make a live run look dead."""
    beat = ledger_constant("HEARTBEAT_SECONDS")
    lease = ledger_constant("LEASE_SECONDS")
    assert 0 < beat * 3 <= lease, (beat, lease)
    assert lease == 90  # README: "when its heartbeat is older than 90 s"


def test_a_remote_holder_is_live_within_the_lease_and_lost_beyond_it(proj: Path,
                                                                     url: str) -> None:
    from opsctl.ledger.values import Process

    beat = ledger_constant("HEARTBEAT_SECONDS")
    lease = ledger_constant("LEASE_SECONDS")
    with ledger(url) as book:
        live = book.start(script="recycle/live", process=Process.current("alice"), args=[])
        dead = book.start(script="recycle/dead", process=Process.current("bob"), args=[])
    # Both on another machine: the live one beat two intervals ago, the dead one just over
    # the lease ago (the database's clock, as the ledger reads it).
    (now,) = sql(url, "SELECT CURRENT_TIMESTAMP")[0]
    server_now = _dt.datetime.fromisoformat(str(now))
    for run, age in ((live, 2 * beat), (dead, lease + 5)):
        sql(url, "UPDATE opsctl_locks SET node = 'another-machine', heartbeat_at = ? "
                 "WHERE run_id = ?", str(server_now - _dt.timedelta(seconds=age)), run.id)

    opsctl(proj, "history")  # reaps what looks dead

    assert sql(url, "SELECT id, status FROM opsctl_runs ORDER BY id") == [
        (live.id, "running"), (dead.id, "lost")]
    assert [row[0] for row in sql(url, "SELECT run_id FROM opsctl_locks")] == [live.id]


#: ``python -m opsctl`` with the heartbeat interval shortened (opsctl has no setting for it:
#: the interval is a property of the ledger, the same for every machine sharing it).
QUICK_BEAT = '''\
import importlib, pkgutil, runpy, sys
import opsctl.ledger, opsctl.run
for package in (opsctl.ledger, opsctl.run):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        if hasattr(module, "HEARTBEAT_SECONDS"):
            module.HEARTBEAT_SECONDS = 0.2
sys.argv[0] = "opsctl"
runpy.run_module("opsctl", run_name="__main__", alter_sys=True)
'''


def test_a_running_process_refreshes_its_heartbeat(proj: Path, url: str,
                                                   tmp_path: Path) -> None:
    write_script(proj, "recycle/hold", HOLD_SCRIPT.format(folder=str(tmp_path)))
    argv = [sys.executable, "-c", QUICK_BEAT, *opsctl_argv(proj, "run", "recycle/hold")[3:]]
    proc = subprocess.Popen(argv, cwd=proj, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: started_pids(tmp_path) or proc.poll() is not None,
                 what="the script to start")
        assert proc.poll() is None
        seen = []
        for _ in range(3):  # every time the lock looks old, the next beat makes it new
            sql(url, "UPDATE opsctl_locks SET heartbeat_at = '2000-01-01 00:00:00'")
            deadline = time.monotonic() + 30
            while True:
                (beat,) = sql(url, "SELECT heartbeat_at FROM opsctl_locks")[0]
                if not str(beat).startswith("2000-"):
                    break
                assert time.monotonic() < deadline, "the heartbeat never came"
                time.sleep(0.05)
            seen.append(str(beat))
        (tmp_path / "release").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "could not refresh" not in err
    (now,) = sql(url, "SELECT CURRENT_TIMESTAMP")[0]
    for beat in seen:
        age = _dt.datetime.fromisoformat(str(now)) - _dt.datetime.fromisoformat(beat)
        assert abs(age.total_seconds()) < 120, (beat, now)
    assert sql(url, "SELECT status FROM opsctl_runs") == [("succeeded",)]
    assert sql(url, "SELECT * FROM opsctl_locks") == []
