"""``opsctl promote``, ``opsctl clean`` and ``opsctl new recycle`` at a real terminal: a
pseudo-terminal on stdin, stdout and stderr of a real opsctl process, as a person would have.
The question is asked, read from the screen, answered, and the answer is what happens."""

from __future__ import annotations

import datetime as _dt
import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
from runkit import env, ledger, opsctl, opsctl_argv, write_project, write_script

TEMPORARY = "alice/ts_2024_06_10_export_order_data"
OLD = "alice/ts_2020_01_01_fix_rows"
SCRIPT = '"""Export order data."""\n\n\ndef main():\n    pass\n'
#: Old enough for OLD, not for TEMPORARY, whatever today is.
OLDER_THAN = str((_dt.date.today() - _dt.date(2024, 6, 10)).days + 30)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A process on a pseudo-terminal, and what it has shown so far."""

    def __init__(self, master: int, proc: subprocess.Popen[bytes]) -> None:
        self.master = master
        self.proc = proc
        self.raw = b""

    @property
    def screen(self) -> str:
        text = self.raw.decode("utf-8", "replace").replace("\r\n", "\n")
        return ANSI.sub("", text)

    def read_until(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            left = deadline - time.monotonic()
            assert left > 0, f"never showed {text!r}; the screen:\n{self.screen}"
            if not self._read(left):
                raise AssertionError(f"ended before showing {text!r}; the screen:\n"
                                     f"{self.screen}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 60) -> int:
        """Read to the end of output; the exit status."""
        deadline = time.monotonic() + timeout
        while self._read(max(deadline - time.monotonic(), 0.01)):
            assert time.monotonic() < deadline, f"still running; the screen:\n{self.screen}"
        return self.proc.wait(timeout=timeout)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True  # nothing yet; the caller checks its deadline
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the other side is closed, the process has exited
            return False
        self.raw += chunk
        return bool(chunk)


@contextmanager
def terminal(project: Path, *args: str, columns: int = 120, stdout: IO[bytes] | None = None,
             **extra_env: str) -> Iterator[Terminal]:
    """opsctl with a pseudo-terminal (``columns`` wide) as its stdin, stdout and stderr, or
    with its stdout redirected to a file (``opsctl ... > file``)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    try:
        proc = subprocess.Popen(opsctl_argv(project, *args), cwd=project,
                                env=env(TERM="xterm", COLUMNS=str(columns), LINES="40",
                                        **extra_env),
                                stdin=slave, stdout=slave if stdout is None else stdout,
                                stderr=slave, start_new_session=True)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    term = Terminal(master, proc)
    try:
        yield term
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        os.close(master)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture
def proj(tmp_path: Path, url: str) -> Path:
    project = write_project(tmp_path, url)
    write_script(project, TEMPORARY, SCRIPT)
    write_script(project, "recycle/clear_cache", '"""Clear the cache."""\n')
    return project


def run_by(url: str, key: str, *operators: str) -> None:
    """A finished run of ``key`` by each operator."""
    from opsctl.ledger.values import Process

    with ledger(url) as book:
        for operator in operators:
            run = book.start(script=key, process=Process.current(operator), args=[])
            book.finish(run, status="succeeded", exit_code=0)


# --------------------------------------------------------------------------- promote


@pytest.mark.parametrize("answer", ["y", "n"])
def test_promote_offers_each_candidate_at_a_terminal(proj: Path, url: str, answer: str) -> None:
    run_by(url, TEMPORARY, "alice", "bob")  # two operators: needed again
    source = proj / "offline_script" / f"{TEMPORARY}.py"
    target = proj / "offline_script" / "recycle" / "export_order_data.py"

    with terminal(proj, "promote") as term:
        term.read_until("[y/N]")
        assert "Temporary scripts needed again" in term.screen
        assert TEMPORARY in term.screen and "alice, bob" in term.screen
        question = term.screen.rstrip().splitlines()[-1]
        assert question == f"Promote {TEMPORARY} to recycle/export_order_data? [y/N]:"
        assert source.exists() and not target.exists()  # nothing moved before the answer
        term.type(f"{answer}\r")
        code = term.finish()

    assert code == 0, term.screen
    if answer == "y":
        assert target.read_text() == SCRIPT and not source.exists()
        assert f"promoted {TEMPORARY} -> recycle/export_order_data.py" in term.screen
    else:
        assert source.read_text() == SCRIPT and not target.exists()
        assert "promoted" not in term.screen


def test_promote_without_a_terminal_lists_and_asks_nothing(proj: Path, url: str) -> None:
    run_by(url, TEMPORARY, "alice", "bob")
    result = opsctl(proj, "promote")
    assert result.returncode == 0, result.stderr
    assert TEMPORARY in result.stdout and "[y/N]" not in result.stdout + result.stderr
    assert "promote one with: opsctl promote <script>" in result.stderr
    assert (proj / "offline_script" / f"{TEMPORARY}.py").exists()


# --------------------------------------------------------------------------- clean


@pytest.mark.parametrize(("answer", "code"), [("y", 0), ("n", 77)])
def test_clean_asks_before_deleting_at_a_terminal(proj: Path, answer: str, code: int) -> None:
    old = write_script(proj, OLD, SCRIPT)
    recent = proj / "offline_script" / f"{TEMPORARY}.py"

    with terminal(proj, "clean", "--older-than", OLDER_THAN) as term:
        term.read_until("[y/N]")
        assert OLD in term.screen and "delete" in term.screen
        assert TEMPORARY not in term.screen  # not old enough
        assert term.screen.rstrip().splitlines()[-1] == "Delete 1 temporary script? [y/N]:"
        assert old.exists()
        term.type(f"{answer}\r")
        status = term.finish()

    assert status == code, term.screen
    assert recent.exists()
    if answer == "y":
        assert not old.exists()
        assert f"deleted {OLD}" in term.screen
    else:
        assert old.exists()
        assert "nothing deleted" in term.screen


def test_clean_without_a_terminal_refuses_without_yes(proj: Path) -> None:
    old = write_script(proj, OLD, SCRIPT)
    result = opsctl(proj, "clean", "--older-than", OLDER_THAN)
    assert result.returncode == 77, result.stderr
    assert "confirm in a terminal, or pass --yes" in result.stderr
    assert old.exists()


# --------------------------------------------------------------------------- new


@pytest.mark.parametrize(("answer", "code"), [("y", 0), ("n", 77)])
def test_new_recycle_asks_beside_a_similar_script(proj: Path, answer: str, code: int) -> None:
    write_script(proj, "recycle/export_order", '"""Export orders."""\n')
    target = proj / "offline_script" / "recycle" / "export_order_data.py"

    with terminal(proj, "new", "recycle", "export_order_data") as term:
        term.read_until("[y/N]")
        assert "similar purpose: recycle/export_order" in term.screen
        assert "$EDITOR offline_script/recycle/export_order.py" in term.screen
        assert term.screen.rstrip().splitlines()[-1] == (
            "Write recycle/export_order_data.py anyway? [y/N]:")
        assert not target.exists()  # nothing written before the answer
        term.type(f"{answer}\r")
        status = term.finish()

    assert status == code, term.screen
    if answer == "y":
        assert target.exists()
        assert "offline_script/recycle/export_order_data.py" in term.screen
    else:
        assert not target.exists()
        assert "not written; extend recycle/export_order instead" in term.screen
