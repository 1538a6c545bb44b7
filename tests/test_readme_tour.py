"""The README's tour of the convention's own workflow (extend, rename, absorb), replayed.

The section's ``console`` blocks are run command by command in a fresh copy of the demo
project (this repository's ``offline_script/`` and ``pyproject.toml``, in a git work tree of
its own, with the demo database and the ledger inside it), and each command's output (stdout
and stderr as a terminal shows them, one after the other) must be what the README shows, once
dates, times and durations are set aside. Its ``diff`` block is the edit a person makes: it is
applied with ``git apply`` where it stands. Nothing the section shows goes unchecked.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Slow: the README's tour replayed command by command.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SECTION = "### Extend, rename, absorb: one script per purpose"
OPSCTL = str(Path(sys.executable).with_name("opsctl"))
#: Local times (history, messages) and durations (history's TOOK) differ from run to run.
_WHEN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?( [A-Z]{3,5})?")
_TOOK = re.compile(r"(?<= )\d+\.\d+s(?= )")


def section(text: str) -> str:
    start = text.index(SECTION)
    end = text.find("\n### ", start + len(SECTION))
    end = text.find("\n## ", start) if end == -1 else min(end, text.find("\n## ", start))
    return text[start:end]


def blocks(text: str) -> list[tuple[str, str]]:
    """The fenced blocks of ``text``, as ``(language, body)``."""
    return [(m[1], m[2]) for m in re.finditer(r"```(\w+)\n(.*?)```", text, re.DOTALL)]


def steps(body: str) -> list[tuple[str, list[str]]]:
    """A console block as ``(command, expected output lines)``."""
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            assert out, f"output before any command: {line!r}"
            out[-1][1].append(line)
    return out


def normal(lines: list[str]) -> list[str]:
    return [_TOOK.sub("0.0s", _WHEN.sub("<when>", line)).rstrip() for line in lines]


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the demo project in a git work tree of its own, and its environment."""
    project = tmp_path / "demo"
    shutil.copytree(REPO / "offline_script", project / "offline_script",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", project / "pyproject.toml")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPSCTL_", "FLASK_", "DEMO_", "GIT_"))}
    env.update(NO_COLOR="1", TZ="UTC", OPSCTL_DEVELOPER="yuzaoyah", COLUMNS="200",
               DEMO_DATABASE_URL=f"sqlite:///{project / 'instance' / 'demo.sqlite3'}",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="yuzaoyah", GIT_AUTHOR_EMAIL="yuzaoyah@example.com",
               GIT_COMMITTER_NAME="yuzaoyah", GIT_COMMITTER_EMAIL="yuzaoyah@example.com")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the demo project"]):
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
    return project, env


def test_the_readme_tour_replays(demo: tuple[Path, dict[str, str]]) -> None:
    project, env = demo
    tour = section((REPO / "README.md").read_text(encoding="utf-8"))
    found = blocks(tour)
    assert [lang for lang, _ in found].count("diff") == 1, "the tour's edit is one diff"
    last = 0
    replayed: list[str] = []
    for lang, body in found:
        if lang == "diff":
            # A diff's empty context lines lose their leading space in a Markdown editor.
            patch = "".join(f"{line}\n" if line else " \n" for line in body.splitlines())
            applied = subprocess.run(["git", "apply", "-"], cwd=project, env=env,
                                     input=patch, text=True, capture_output=True)
            assert applied.returncode == 0, applied.stderr
            continue
        assert lang == "console", lang
        for command, expected in steps(body):
            if command == "echo $?":
                shown = [str(last)]
            else:
                argv = shlex.split(command)
                assert argv[0] in ("opsctl", "git"), command
                program = OPSCTL if argv[0] == "opsctl" else "git"
                done = subprocess.run([program, *argv[1:]], cwd=project, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=120)
                last, shown = done.returncode, done.stdout.splitlines()
            replayed.append(f"$ {command}")
            replayed.extend(shown)
            assert normal(shown) == normal(expected), (
                f"$ {command} (exit {last}) showed:\n" + "\n".join(shown)
                + "\n\nthe tour so far, replayed:\n" + "\n".join(replayed))
    assert replayed, "the tour has no console block"
