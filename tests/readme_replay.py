"""Replaying the README's ``console`` blocks as transcripts: each ``$ command`` is run, and what
it prints (stdout and stderr as a terminal shows them, one after the other) must be the lines
the README shows under it.

**The README day.** The README is written as of one day, :data:`README_DAY`: the dates it
shows in names (``ts_2026_11_25_...``), runs and ages are that day's. A replay runs on a later
day, so every date near the README day is moved by the days between (:class:`Shift`): forward
in the commands (the names the replay created today), back in what they print. Ages
(``268d``, ``61 days ago``) then read as the README says. Dates far from it (the demo's
``ts_2024_06_10_...``, ``--since 2024-06-01``) are facts of the files and stay; an age printed
beside one (``2024-06-10 (898d, stale)``) is taken back by the same days.

**Set aside** (:func:`normal`): times of day and run durations. The folder the replay runs in
is shown as the README's reader's home, :data:`HOME_SHOWN`. Run ids are not set aside: each
story starts from an empty ledger, so they are what the README says.

**A question** (a ``[y/N]: y`` line in the README) is answered as a person would: the command
gets a terminal on stdin (its output still goes to a pipe, as in a log), the README's answers
are typed into it, and each answer is shown after its question as the terminal echoes it.

**Updating.** With ``OPSCTL_README_UPDATE=1`` a mismatch does not fail: the block's output
lines are rewritten in README.md with what the commands print now (lines that differ only in
what is set aside are kept as they are; commands are never touched). Review the diff.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import fcntl
import os
import pty
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
OPSCTL = str(Path(sys.executable).with_name("opsctl"))
#: The day the README's transcripts are written as of.
README_DAY = _dt.date(2026, 11, 25)
#: Dates this close to the README day (before it, after it) are moved; others are facts.
WINDOW = (_dt.timedelta(days=400), _dt.timedelta(days=30))
#: Where the README's reader works: the replay's home folder is shown as this one.
HOME_SHOWN = "/home/yuzaoyah"
UPDATE = os.environ.get("OPSCTL_README_UPDATE") == "1"
PROMPT = "[y/N]: "

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#{1,3} ", re.MULTILINE)
_DATE = re.compile(r"(?<!\d)(\d{4})([-_])(\d{2})\2(\d{2})(?!\d)(?P<age> \(\d+d\b)?")
_TIME = re.compile(r"(?<=\d{4}-\d{2}-\d{2}[ T])\d{2}:\d{2}(:\d{2})?")
_TOOK = re.compile(r"(?<= )\d+\.\d+s(?= |$)")


# -- the README's blocks ------------------------------------------------------------------------


def section(text: str, heading: str) -> tuple[int, str]:
    """Where the section under the ``heading`` line starts, and its text up to the next
    heading of any level."""
    start = text.index(f"\n{heading}\n") + 1
    nxt = _HEADING.search(text, start + len(heading))
    return start, text[start:nxt.start() if nxt else len(text)]


def subsections(text: str, heading: str) -> list[str]:
    """The ``###`` headings under the ``##`` ``heading``."""
    start = text.index(f"\n{heading}\n") + 1
    nxt = re.compile(r"^## ", re.MULTILINE).search(text, start + len(heading))
    part = text[start:nxt.start() if nxt else len(text)]
    return re.findall(r"^### .*$", part, re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """A fenced block of the README: the ``index``-th of its section."""

    heading: str
    index: int
    lang: str
    body: str


def blocks(heading: str, text: str | None = None) -> list[Block]:
    _, part = section(README.read_text(encoding="utf-8") if text is None else text, heading)
    return [Block(heading, i, m[1], m[2]) for i, m in enumerate(_FENCE.finditer(part))]


@dataclass(frozen=True)
class Step:
    command: str
    expected: list[str]

    @property
    def answers(self) -> list[str]:
        """What the README types at the command's questions, in order."""
        return [line.split(PROMPT, 1)[1] for line in self.expected if PROMPT in line]


def steps(body: str) -> list[Step]:
    """A console block as its commands, each with the lines shown under it."""
    out: list[Step] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append(Step(line[2:], []))
        else:
            assert out, f"output before any command: {line!r}"
            out[-1].expected.append(line)
    return out


# -- what is set aside ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    """The days between the README day and the day of the replay."""

    days: int

    @classmethod
    def today(cls) -> Shift:
        return cls((_dt.date.today() - README_DAY).days)

    def forward(self, text: str) -> str:
        """The README's text (a command) as of today."""
        return self._move(text, README_DAY, self.days)

    def back(self, text: str) -> str:
        """Today's text (what a command printed) as of the README day."""
        return self._move(text, README_DAY + _dt.timedelta(days=self.days), -self.days)

    @staticmethod
    def _move(text: str, anchor: _dt.date, days: int) -> str:
        def move(m: re.Match[str]) -> str:
            try:
                day = _dt.date(int(m[1]), int(m[3]), int(m[4]))
            except ValueError:
                return m[0]  # not a calendar date (ts_2024_13_01_x): a name, kept
            if anchor - WINDOW[0] <= day <= anchor + WINDOW[1]:
                moved = day + _dt.timedelta(days=days)
                sep = m[2]
                return f"{moved:%Y}{sep}{moved:%m}{sep}{moved:%d}" + (m["age"] or "")
            if m["age"] is None:
                return m[0]
            # A fact's date stays; the age printed beside it counts the replay's days.
            age = int(m["age"][2:-1])
            return m[0][:m.start("age") - m.start()] + f" ({age + days}d"

        return _DATE.sub(move, text)


def normal(lines: list[str]) -> list[str]:
    """The lines with times of day and run durations set aside."""
    return [_TOOK.sub("0.0s", _TIME.sub("HH:MM", line)).rstrip() for line in lines]


def merged(expected: list[str], shown: list[str]) -> list[str]:
    """``shown``, keeping the README's own line wherever only what is set aside differs."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=normal(expected), b=normal(shown), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(expected[i1:i2])
        elif tag == "replace" and i2 - i1 == j2 - j1:
            out.extend(_aside_kept(old, new) for old, new in zip(expected[i1:i2], shown[j1:j2],
                                                                   strict=True))
        else:
            out.extend(shown[j1:j2])
    return [line.rstrip() for line in out]


def _aside_kept(old: str, new: str) -> str:
    """``new`` with the times and durations ``old`` shows in the same places, so an update
    changes what changed, not the clock."""
    for pattern in (_TIME, _TOOK):
        kept = [m[0] for m in pattern.finditer(old)]
        spans = [m.span() for m in pattern.finditer(new)]
        if len(kept) == len(spans):
            for (start, end), value in reversed(list(zip(spans, kept, strict=True))):
                new = new[:start] + value + new[end:]
    return new


# -- running commands -------------------------------------------------------------------------


@dataclass
class Shell:
    """Where a story's commands run: a folder, an environment, and what has been shown."""

    cwd: Path
    env: dict[str, str]
    home: Path
    shift: Shift = field(default_factory=Shift.today)
    last: int = 0
    transcript: list[str] = field(default_factory=list)

    def shown(self, text: str) -> str:
        """What a command printed, as the README shows it."""
        return self.shift.back(text.replace(str(self.home), HOME_SHOWN))

    def run(self, command: str, answers: list[str]) -> list[str]:
        """Run one README command; what it printed, as the README would show it."""
        if command == "echo $?":
            return [str(self.last)]
        argv = shlex.split(self.shift.forward(command).replace(HOME_SHOWN, str(self.home)))
        assert argv[0] in ("opsctl", "git"), f"the replay runs opsctl and git only: {command}"
        argv[0] = OPSCTL if argv[0] == "opsctl" else "git"
        if answers:
            code, text = _answered(argv, self.cwd, self.env, answers)
        else:
            done = subprocess.run(argv, cwd=self.cwd, env=self.env, text=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=120)
            code, text = done.returncode, done.stdout
        self.last = code
        return self.shown(text).splitlines()

    def replay(self, block: Block) -> None:
        """Replay one block of the README here; fail at the first output that differs (or,
        updating, rewrite the block's output lines)."""
        if block.lang == "diff":
            self.apply(block.body)
            return
        assert block.lang == "console", f"{block.heading}: a {block.lang!r} block is not replayed"
        rewritten: list[str] = []
        for step in steps(block.body):
            shown = self.run(step.command, step.answers)
            self.transcript += [f"$ {step.command}", *shown]
            rewritten += [f"$ {step.command}", *merged(step.expected, shown)]
            if normal(shown) == normal(step.expected) or UPDATE:
                continue
            pytest.fail(
                f"{block.heading}, block {block.index + 1}: $ {step.command} (exit {self.last}) "
                "printed, as the README would show it:\n\n" + "\n".join(shown)
                + "\n\nthe README shows:\n\n" + "\n".join(step.expected)
                + "\n\nthe story so far, replayed:\n\n" + "\n".join(self.transcript)
                + "\n\n(OPSCTL_README_UPDATE=1 rewrites the README's output lines)",
                pytrace=False)
        body = "\n".join(rewritten) + "\n"
        if body != block.body:
            rewrite(block, body)

    def apply(self, body: str) -> None:
        """A diff block: the edit a person makes, applied where it stands."""
        # A diff's empty context lines lose their leading space in a Markdown editor.
        patch = "".join(f"{line}\n" if line else " \n" for line in body.splitlines())
        applied = subprocess.run(["git", "apply", "-"], cwd=self.cwd, env=self.env,
                                 input=patch, text=True, capture_output=True)
        assert applied.returncode == 0, applied.stderr
        self.transcript.append("(the diff above, applied)")


def _answered(argv: list[str], cwd: Path, env: dict[str, str],
              answers: list[str]) -> tuple[int, str]:
    """Run with a terminal on stdin, typing ``answers``; stdout and stderr go to a pipe. The
    terminal's echo of each answer is put after its question, as a person sees it."""
    typist, terminal = pty.openpty()
    try:
        os.write(typist, "".join(f"{a}\n" for a in answers).encode())
        done = subprocess.run(argv, cwd=cwd, env=env, text=True, stdin=terminal,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    finally:
        os.close(terminal)
        os.close(typist)
    text, at = done.stdout, 0
    for answer in answers:
        found = text.find(PROMPT, at)
        if found == -1:
            break
        at = found + len(PROMPT)
        text = f"{text[:at]}{answer}\n{text[at:]}"
        at += len(answer) + 1
    return done.returncode, text


def rewrite(block: Block, body: str) -> None:
    """Put ``body`` in place of ``block``'s in README.md (locked: replays may run side by
    side)."""
    with README.open("r+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        text = fh.read()
        start, part = section(text, block.heading)
        found = list(_FENCE.finditer(part))[block.index]
        assert found[2] == block.body, f"{block.heading} changed while it was replayed"
        text = text[:start + found.start(2)] + body + text[start + found.end(2):]
        fh.seek(0)
        fh.write(text)
        fh.truncate()


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a person at ``home``: git knows them as yuzaoyah; nothing of the
    machine's own opsctl, Flask or git settings leaks in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPSCTL_", "FLASK_", "DEMO_", "GIT_", "XDG_"))}
    env.update(HOME=str(home), NO_COLOR="1", TZ="UTC", COLUMNS="200", GIT_CONFIG_NOSYSTEM="1",
               **extra)
    return env


def make_home(home: Path, *, noted: bool) -> None:
    """A home folder whose git configuration names yuzaoyah. ``noted``: opsctl has already said
    where it took the developer name from (a person's first command did)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = yuzaoyah\n\temail = yuzaoyah@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n", encoding="utf-8")
    if noted:
        state = home / ".local" / "state" / "opsctl"
        state.mkdir(parents=True)
        (state / "identity-noted").write_text("yuzaoyah\n", encoding="utf-8")


def git(cwd: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
