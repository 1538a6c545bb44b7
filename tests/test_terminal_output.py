"""Output a person reads at a real terminal, and the same output in a pipe or a file.

opsctl runs in a real process on a pseudo-terminal of a set size (60 and 120 columns), with
the long script names and descriptions real projects have: a script's ``print()`` under a
progress bar, the ``list`` and ``history`` tables, and the colours of a run's status.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from runkit import ledger, opsctl, write_project, write_script
from test_terminal import ANSI, terminal

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


# --------------------------------------------------------------------------- tables


def header_words(line: str) -> list[str]:
    return line.replace("LAST RUN", "LAST_RUN").split()


def test_list_keeps_keys_whole_at_120_columns(proj: Path, url: str) -> None:
    record(url, LONG, "failed", reason="OPS-118")
    record(url, SHORT, "succeeded", "bob")
    screen, _ = screen_of(proj, "list", columns=120)
    lines = screen.rstrip("\n").splitlines()
    assert all(len(line.rstrip()) <= 120 for line in lines), screen
    # owner and kind (both read in the key) go first, then the age.
    assert header_words(lines[0]) == ["SCRIPT", "LAST_RUN", "DESCRIPTION"]
    rows = lines[1:]
    assert len(rows) == 3  # one line a script: nothing folded onto a second line
    for key in (LONG, LONG_TS, SHORT):
        assert sum(row.split()[:1] == [key] for row in rows) == 1, screen
    long_row = next(row for row in rows if LONG in row)
    assert "alice failed" in long_row and long_row.rstrip().endswith("…")
    assert "Normalise dirty" in long_row
    short_row = next(row for row in rows if SHORT in row)
    assert short_row.rstrip().endswith("bob succeeded  Clear the cache.")


def test_list_at_60_columns_keeps_the_keys_over_everything(proj: Path, url: str) -> None:
    record(url, LONG, "failed")
    screen, _ = screen_of(proj, "list", columns=60)
    lines = screen.rstrip("\n").splitlines()
    assert [line.rstrip() for line in lines] == ["SCRIPT", SHORT, LONG, LONG_TS], screen


def test_list_at_60_columns_cuts_descriptions_short(proj: Path) -> None:
    for key in (LONG, LONG_TS):
        (proj / "offline_script" / f"{key}.py").unlink()
    write_script(proj, "recycle/flush_calendar", f'"""{LONG_DESCRIPTION}"""\n')
    screen, _ = screen_of(proj, "list", columns=60)
    lines = [line.rstrip() for line in screen.rstrip("\n").splitlines()]
    assert header_words(lines[0]) == ["KIND", "SCRIPT", "DESCRIPTION"]  # no header broken
    assert all(len(line) <= 60 for line in lines), screen
    assert lines[1].split() == ["recycle", SHORT, "Clear", "the", "cache."]
    assert lines[2].startswith("recycle  recycle/flush_calendar  Normalise dirty order")
    assert lines[2].endswith("…") and len(lines[2]) == 60
    assert len(lines) == 3


def test_history_keeps_keys_whole_at_120_columns(proj: Path, url: str) -> None:
    record(url, LONG, "failed", reason="OPS-118 check before the real run on production",
           summary={"fixed": 27, "unrepairable": 2})
    record(url, SHORT, "succeeded", "bob", summary={"deleted": 20})
    screen, _ = screen_of(proj, "history", columns=120)
    lines = screen.rstrip("\n").splitlines()
    assert all(len(line.rstrip()) <= 120 for line in lines), screen
    # exit (the status says it) goes first; the time taken still fits.
    assert header_words(lines[0]) == ["ID", "STARTED", "SCRIPT", "OPERATOR", "STATUS",
                                      "TOOK", "SUMMARY"]
    rows = lines[1:]
    assert len(rows) == 2
    assert rows[0].split()[4:7] == [SHORT, "bob", "succeeded"]
    assert rows[0].split()[-1] == "deleted=20"
    assert rows[1].split()[4:7] == [LONG, "alice", "failed"]
    assert "fixed=27, un" in rows[1] and rows[1].rstrip().endswith("…")


def test_history_at_60_columns(proj: Path, url: str) -> None:
    record(url, SHORT, "failed")
    record(url, SHORT, "succeeded", "bob")
    screen, _ = screen_of(proj, "history", columns=60)
    lines = screen.rstrip("\n").splitlines()
    assert header_words(lines[0]) == ["ID", "STARTED", "SCRIPT", "STATUS"]
    assert len(lines) == 3 and all(len(line.rstrip()) <= 60 for line in lines), screen
    assert lines[1].split()[4:] == [SHORT, "succeeded"]
    assert lines[2].split()[4:] == [SHORT, "failed"]
    record(url, LONG, "failed")
    screen, _ = screen_of(proj, "history", columns=60)
    lines = screen.rstrip("\n").splitlines()
    assert [line.split() for line in lines] == [["ID", "SCRIPT"], ["3", LONG], ["2", SHORT],
                                                ["1", SHORT]], screen


def test_history_with_progress_fits_60_and_120_columns(proj: Path, url: str) -> None:
    with ledger(url) as book:
        run = book.start(script=SHORT, process=Process.current("alice"), args=[])
        book.begin_progress(run.id, total=10_000, done=4_500)
    # At 60 the start time goes and the progress is cut short; at 120 beside a long key, the
    # progress is shown whole rather than the operator.
    for columns, header in ((60, ["ID", "SCRIPT", "STATUS", "PROGRESS"]),
                            (120, ["ID", "STARTED", "SCRIPT", "STATUS", "PROGRESS"])):
        screen, _ = screen_of(proj, "history", columns=columns)
        lines = screen.rstrip("\n").splitlines()
        assert all(len(line.rstrip()) <= columns for line in lines), screen
        assert header_words(lines[0]) == header, screen
        assert re.search(r"running +45% 4,500/10,000, ~", lines[-1]), screen
        assert lines[-1].rstrip().endswith("left" if columns == 120 else "…"), screen
        record(url, LONG, "succeeded", "bob", summary={"fixed": 27})


@pytest.mark.slow
def test_follow_shows_a_progress_bar_at_a_terminal(proj: Path, url: str) -> None:
    with ledger(url) as book:
        run = book.start(script=SHORT, process=Process.current("alice"), args=[])
        book.begin_progress(run.id, total=1_000)
        with terminal(proj, "history", "--run", str(run.id), "--follow", columns=80) as term:
            term.read_until("0% 0/1,000")
            book.checkpoint(run.id, done=450)
            term.read_until("45% 450/1,000, ~")
            assert f"run {run.id} {SHORT}" in term.screen and "━" in term.screen
            book.finish(run, status="paused", exit_code=80)
            assert term.finish() == 80
        assert f"run {run.id} paused (exit 80) at 45% 450/1,000; resume it" in term.screen


def test_a_key_wider_than_the_terminal_is_still_whole(proj: Path, url: str) -> None:
    record(url, LONG, "failed")
    screen, raw = screen_of(proj, "history", columns=40)
    # The terminal wraps the line; opsctl never cuts the key: its characters are consecutive.
    assert LONG in raw.decode().replace("\r\n", "\n"), screen


def test_tables_in_a_pipe_are_whole_plain_columns(proj: Path, url: str) -> None:
    record(url, LONG, "failed", reason="OPS-118")
    result = opsctl(proj, "history", COLUMNS="60")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["ID", "STARTED", "SCRIPT", "OPERATOR",
                                                     "STATUS", "EXIT", "TOOK", "SUMMARY"]
    assert LONG in result.stdout and "reason: OPS-118" in result.stdout  # nothing cut
    result = opsctl(proj, "list", COLUMNS="60")
    assert LONG_DESCRIPTION in result.stdout and "…" not in result.stdout


# --------------------------------------------------------------------------- empty history


def test_history_with_a_filter_matching_nothing_names_the_filter(proj: Path, url: str) -> None:
    record(url, SHORT, "succeeded")
    result = opsctl(proj, "history", "--status", "failed")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == "no runs match --status failed\n"
    result = opsctl(proj, "history", SHORT, "--status", "lost")
    assert result.stderr == f"no runs of {SHORT} match --status lost\n"


def test_history_of_an_empty_ledger_says_none_recorded(proj: Path, url: str) -> None:
    result = opsctl(proj, "history", "--status", "failed")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "no runs recorded yet\n"
    record(url, SHORT, "failed")
    result = opsctl(proj, "history", LONG, "--status", "failed")
    assert result.stderr == f"no runs of {LONG} recorded yet\n"
    result = opsctl(proj, "history", LONG)
    assert result.stderr == f"no runs of {LONG} recorded yet\n"


# --------------------------------------------------------------------------- status colours

#: SGR sequences right before a word: the word's colour.
SGR = r"\x1b\[([0-9;]*)m"


def colour_of(raw: bytes, word: str) -> set[str]:
    """The SGR parameters in force where ``word`` is written (each time it is)."""
    text = raw.decode()
    found = set()
    for match in re.finditer(rf"((?:{SGR})+){re.escape(word)}\b", text):
        found.add(";".join(re.findall(SGR, match[1])))
    return found


def statuses(url: str) -> None:
    for status in ("succeeded", "failed", "lost", "interrupted", "running"):
        record(url, SHORT, status)
    record(url, LONG, "succeeded", dry_run=True)


def test_history_colours_statuses_at_a_terminal(proj: Path, url: str) -> None:
    statuses(url)
    _, raw = screen_of(proj, "history", columns=120, NO_COLOR="")
    # red failed and lost, yellow interrupted, green succeeded, cyan running; a dry run dim.
    assert colour_of(raw, "failed") == {"31"} and colour_of(raw, "lost") == {"31"}
    assert colour_of(raw, "interrupted") == {"33"}
    assert colour_of(raw, "running") == {"36"}
    assert colour_of(raw, "succeeded") == {"32", "2;32"}
    line = next(ln for ln in ANSI.sub("", raw.decode()).splitlines() if LONG in ln)
    assert "succeeded (dry)" in line


def test_list_colours_the_last_runs_status(proj: Path, url: str) -> None:
    record(url, SHORT, "failed")
    _, raw = screen_of(proj, "list", columns=120, NO_COLOR="")
    assert colour_of(raw, "failed") == {"31"}


@pytest.mark.parametrize("command", ["history", "list"])
def test_no_colour_in_a_pipe_nor_with_no_color(proj: Path, url: str, command: str) -> None:
    statuses(url)
    result = opsctl(proj, command, NO_COLOR="")
    assert result.returncode == 0, result.stderr
    assert "succeeded (dry)" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr
    _, raw = screen_of(proj, command, columns=120, NO_COLOR="1")
    assert b"\x1b" not in raw and SHORT.encode() in raw
