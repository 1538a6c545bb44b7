"""Output a person reads at a real terminal, and the same output in a pipe or a file.

opsctl runs in a real process on a pseudo-terminal of a set size (60 and 120 columns), with
the long script names and descriptions real projects have: a script's ``print()`` under a
progress bar, the ``list`` and ``history`` tables, and the colours of a run's status.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from runkit import ledger, opsctl, write_project, write_script
from test_terminal import terminal

from opsctl.ledger.values import Process

LONG = "unrecycle/flush_order_data_for_the_2019_migration"
LONG_TS = "alice/ts_2024_06_10_export_order_data_with_customer_names"
SHORT = "recycle/clear_cache"
LONG_DESCRIPTION = ("Normalise dirty order statuses left by the 2019 migration: stray "
                    "whitespace, upper case, and canceled spelt two ways.")
TS_DESCRIPTION = "Export orders with their customer names and totals to a CSV file for finance."


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture
def proj(tmp_path: Path, url: str) -> Path:
    project = write_project(tmp_path, url)
    write_script(project, LONG, f'"""{LONG_DESCRIPTION}"""\n')
    write_script(project, LONG_TS, f'"""{TS_DESCRIPTION}"""\n')
    write_script(project, SHORT, '"""Clear the cache."""\n')
    return project


def record(url: str, key: str, status: str, operator: str = "alice", *, dry_run: bool = False,
           reason: str | None = None, summary: dict[str, object] | None = None) -> int:
    """A run of ``key`` ended with ``status`` (``running``: not ended, by this live process)."""
    with ledger(url) as book:
        run = book.start(script=key, process=Process.current(operator), args=[],
                         dry_run=dry_run, reason=reason)
        if status != "running":
            book.finish(run, status=status, exit_code=0 if status == "succeeded" else 1,
                        summary=summary)
        return run.id


def screen_of(project: Path, *args: str, columns: int, **extra_env: str) -> tuple[str, bytes]:
    """What opsctl shows on a terminal ``columns`` wide: the text, and the raw bytes."""
    with terminal(project, *args, columns=columns, **extra_env) as term:
        code = term.finish()
    assert code == 0, term.screen
    return term.screen, term.raw


# --------------------------------------------------------------------------- print under track()

TRACKED = '''\
"""Print a line per order under a progress bar."""
import sys
import time

from opsctl import track


def main():
    for number in track(range(3), description="orders"):
        print(f"order {number}", end=" ", flush=True)  # a line written in two parts
        print("done")
        print(f"order {number} warning", file=sys.stderr)
        if number == 2:
            print("all done", end="")  # a partial last line: written once the bar is gone
        time.sleep(0.15)
'''


def tail_of(url: str) -> str:
    with ledger(url) as book:
        (run,) = book.runs()
    assert run.status == "succeeded", run
    return run.output_tail or ""


def test_print_under_track_goes_to_stdout_redirected_to_a_file(proj: Path, url: str,
                                                                tmp_path: Path) -> None:
    """``opsctl run x > file`` at a terminal: the bar on the terminal, the lines in the file."""
    write_script(proj, "recycle/tracked", TRACKED)
    out = tmp_path / "out.txt"
    with out.open("wb") as file, terminal(proj, "run", "recycle/tracked", stdout=file) as term:
        assert term.finish() == 0, term.screen
    printed = out.read_text()
    assert printed == "order 0 done\norder 1 done\norder 2 done\nall done"
    assert "orders" in term.screen and "100%" in term.screen  # the bar drew on the terminal
    assert "order 1 done" not in term.screen  # stdout is the file, not the terminal
    assert "order 1 warning" in term.screen  # stderr stays the terminal
    tail = tail_of(url)
    for number in range(3):
        assert f"order {number} done\norder {number} warning\n" in tail
    assert tail.endswith("all done")
    assert "\x1b" not in tail and "orders" not in tail  # the bar is not the script's output


def test_print_under_track_on_one_terminal_is_shown_and_kept(proj: Path, url: str) -> None:
    write_script(proj, "recycle/tracked", TRACKED)
    screen, _ = screen_of(proj, "run", "recycle/tracked", columns=120)
    lines = screen.splitlines()
    for number in range(3):
        # Each line whole, on a line of its own, above the bar.
        assert f"order {number} done" in lines and f"order {number} warning" in lines
    assert "orders" in screen and "100%" in screen
    tail = tail_of(url)
    assert tail == "".join(f"order {n} done\norder {n} warning\n" for n in range(3)) + "all done"


def test_print_under_track_in_a_pipe(proj: Path, url: str) -> None:
    write_script(proj, "recycle/tracked", TRACKED)
    result = opsctl(proj, "run", "recycle/tracked")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "order 0 done\norder 1 done\norder 2 done\nall done"
    assert "\x1b" not in result.stdout + result.stderr
    assert "order 2 done\norder 2 warning\n" in tail_of(url)
