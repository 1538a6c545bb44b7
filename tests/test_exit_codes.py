"""Exit codes automation can trust: a name the file system cannot hold and an unreadable script
are 74 (nothing ran) in one line, and a script's exit code outside 0-255 is exited and recorded
as one and the same code, in real processes against a SQLite ledger.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runkit import env, ledger, opsctl, opsctl_argv, write_project, write_script

from opsctl.errors import NO_SCRIPT


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture
def proj(tmp_path: Path, url: str) -> Path:
    project = write_project(tmp_path, url)
    write_script(project, "recycle/greet", '"""Greet."""\n\n\ndef main():\n    print("hi")\n')
    return project


def runs_of(url: str) -> list:  # type: ignore[type-arg]
    with ledger(url) as book:
        return book.runs(None)


@pytest.mark.parametrize("name", ["a" * 5000, "recycle/" + "a" * 5000,
                                  "recycle/" + "a" * 300 + ".py"],
                         ids=["bare", "in-recycle", "one-long-part"])
def test_a_name_too_long_for_the_file_system_is_no_such_script(proj: Path, url: str,
                                                               name: str) -> None:
    result = opsctl(proj, "run", name)
    assert result.returncode == NO_SCRIPT, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "no script" in result.stderr and "characters" in result.stderr
    assert len(result.stderr) < 400  # the name is not echoed whole
    assert "OSError" not in result.stderr and "unexpected" not in result.stderr
    assert runs_of(url) == []
    history = opsctl(proj, "history", name)
    assert history.returncode == NO_SCRIPT, history.stderr
    assert history.stderr.count("\n") == 1 and len(history.stderr) < 400


def _without_dac_override() -> list[str]:
    """Root reads any file through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: drop them, so a
    file's mode holds for uid 0 too (setpriv, util-linux)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) is needed to test this as root"
    dropped = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={dropped}", f"--inh-caps={dropped}"]


def test_an_unreadable_script_is_no_such_script_and_nothing_runs(proj: Path, url: str) -> None:
    script = write_script(proj, "recycle/locked_out", '"""Locked out."""\n\n\ndef main():\n'
                                                       '    print("ran")\n')
    script.chmod(0)
    try:
        result = subprocess.run([*_without_dac_override(),
                                 *opsctl_argv(proj, "run", "recycle/locked_out")],
                                cwd=proj, env=env(), capture_output=True, text=True,
                                timeout=120, stdin=subprocess.DEVNULL)
    finally:
        script.chmod(0o644)
    assert result.returncode == NO_SCRIPT, result.stderr
    assert result.stderr == ("Error: cannot read recycle/locked_out (Permission denied); fix "
                             "its permissions and run again (nothing ran)\n")
    assert "ran" not in result.stdout
    assert runs_of(url) == []


@pytest.mark.parametrize(("how", "code"), [
    ("sys.exit({})", 300), ("sys.exit({})", 256), ("sys.exit({})", -1),
    ("return {}", 300), ("raise click.exceptions.Exit({})", 1000),
], ids=["exit-300", "exit-256", "exit-minus-1", "return-300", "click-exit-1000"])
def test_an_exit_code_outside_0_255_is_exited_and_recorded_as_1(proj: Path, url: str, how: str,
                                                                code: int) -> None:
    write_script(proj, "recycle/odd_exit", f'''\
"""Exit with an odd code."""
import sys

import click


def main():
    print("working")
    {how.format(code)}
''')
    result = opsctl(proj, "run", "recycle/odd_exit")
    (run,) = runs_of(url)
    assert result.returncode == 1, result.stderr
    assert (run.status, run.exit_code) == ("failed", 1)
    assert run.notes[1:] == (f"the script exited with {code}, outside the 0-255 an exit status "
                         f"can hold: exited and recorded as 1",)
    assert result.stderr.strip().splitlines()[1:] == [
        f"opsctl: recycle/odd_exit exited with {code}, outside 0-255: exits 1 "
        f"(run {run.id})"]


@pytest.mark.parametrize("code", [0, 3, 255])
def test_an_exit_code_inside_0_255_is_the_script_s_own(proj: Path, url: str, code: int) -> None:
    write_script(proj, "recycle/exit_n", f'"""Exit."""\nimport sys\n\n\ndef main():\n'
                                         f'    sys.exit({code})\n')
    result = opsctl(proj, "run", "recycle/exit_n")
    (run,) = runs_of(url)
    assert result.returncode == code == run.exit_code, result.stderr
    assert len(run.notes) == 1 and run.notes[0].startswith("app plainapp:app ")


def test_python_itself_would_exit_44_for_300() -> None:
    """Why 300 cannot be passed through: the kernel keeps the low 8 bits of a status."""
    done = subprocess.run([sys.executable, "-c", "import sys; sys.exit(300)"])
    assert done.returncode == 300 & 0xFF == 44
