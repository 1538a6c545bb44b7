"""A full disk under a SQLite ledger, for real: a tiny tmpfs mounted by the test, filled up
while a script runs.

Where mounting is not allowed (not root, a container without the right), these tests skip
with the reason; under ``CI=true`` (where the suite runs as root) they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import IN_CI
from runkit import (
    HOLD_SCRIPT,
    opsctl,
    spawned,
    started_pids,
    wait_for,
    write_project,
    write_script,
)

# Slow: a tmpfs mounted and filled mid-run.
pytestmark = pytest.mark.slow


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of the test's own, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs",
                              str(where)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        why = f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}"
        if IN_CI:
            pytest.fail(f"{why}; CI=true runs as root and needs this test")
        pytest.skip(why)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True, capture_output=True)


def fill(folder: Path) -> Path:
    """Write zeros into ``folder/filler`` until the disk is full; returns the file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == 28, exc  # ENOSPC
    try:
        while True:  # the last few bytes
            os.write(fd, b"\0")
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_under_the_ledger_keeps_the_end_in_the_journal(tmp_path: Path,
                                                                    disk: Path) -> None:
    project = write_project(tmp_path, f"sqlite:///{disk / 'ledger.sqlite3'}")
    signals = tmp_path / "signals"
    signals.mkdir()
    write_script(project, "recycle/hold", HOLD_SCRIPT.format(folder=str(signals)))
    with spawned(project, "run", "recycle/hold", OPSCTL_LEDGER_RETRY_SECONDS="1") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        filler = fill(disk)
        (signals / "release").touch()
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "database or disk is full" in err and "local journal" in err, err
    assert len(list((project / "instance" / "opsctl-journal").glob("*.json"))) == 1

    filler.unlink()
    shown = opsctl(project, "history", "--run", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    run = json.loads(shown.stdout)
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    assert "released" in run["output_tail"]
    assert run["notes"][-1].startswith("recorded late from the local journal")
    assert list((project / "instance" / "opsctl-journal").glob("*.json")) == []


def test_a_full_disk_under_ledger_and_journal_says_how_the_run_ended(tmp_path: Path,
                                                                      disk: Path) -> None:
    """Nowhere to keep the end: opsctl prints it, says the run will show as lost, exits 78;
    the one-off fix then counts as possibly applied."""
    project = write_project(disk, "sqlite:///instance/opsctl.sqlite3")
    signals = tmp_path / "signals"
    signals.mkdir()
    reporting = HOLD_SCRIPT.replace('    print("released")\n', '    print("released")\n'
                                    '    from opsctl import report\n'
                                    '    report(rows=3)\n')
    write_script(project, "unrecycle/fix", reporting.format(folder=str(signals)))
    with spawned(project, "run", "unrecycle/fix", OPSCTL_LEDGER_RETRY_SECONDS="1") as proc:
        wait_for(lambda: started_pids(signals) or proc.poll() is not None, what="the start")
        filler = fill(disk)
        (signals / "release").touch()
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 78, err
    assert "released" in out
    assert "could not record the end of run 1" in err and "nor keep it in the local journal" \
        in err, err
    assert 'it will show as lost; it ended succeeded, exit 0; summary: {"rows": 3}' in err
    assert "Traceback" not in err

    filler.unlink()
    again = opsctl(project, "run", "unrecycle/fix")
    assert again.returncode == 76, again.stderr
    assert "the outcome of run 1 of unrecycle/fix is unknown" in again.stderr
    assert "opsctl history --run 1" in again.stderr
    assert len(started_pids(signals)) == 1


#: A script whose import fills the disk, then raises.
FILL_AND_RAISE = '''\
"""Fill the disk, then fail."""
import os


def main():
    pass


fd = os.open({filler!r}, os.O_WRONLY | os.O_CREAT)
for size in (65536, 1):
    try:
        while True:
            os.write(fd, b"\\0" * size)
    except OSError:
        pass
os.close(fd)
raise ImportError("nope")
'''


def test_a_script_whose_import_raises_on_a_full_disk_is_journaled_whole(tmp_path: Path,
                                                                         disk: Path) -> None:
    project = write_project(tmp_path, f"sqlite:///{disk / 'ledger.sqlite3'}")
    write_script(project, "recycle/broken", FILL_AND_RAISE.format(filler=str(disk / "filler")))
    result = opsctl(project, "run", "recycle/broken", OPSCTL_LEDGER_RETRY_SECONDS="0")
    assert result.returncode == 1, result.stderr
    assert "could not record this run in the ledger" in result.stderr
    assert "database or disk is full" in result.stderr
    assert "Error: importing recycle/broken raised ImportError: nope (kept in the local " \
        "journal)" in result.stderr

    (disk / "filler").unlink()
    shown = opsctl(project, "history", "recycle/broken", "--json")
    assert shown.returncode == 0, shown.stderr
    (run,) = json.loads(shown.stdout)
    assert (run["status"], run["exit_code"]) == ("failed", 1)
    assert "ImportError: nope" in run["error"]
    # The run's first note names its app; the next, that the end came late from the journal.
    assert run["notes"][0].startswith("app plainapp:app "), run["notes"]
    assert run["notes"][1].startswith("recorded late from the local journal"), run["notes"]
