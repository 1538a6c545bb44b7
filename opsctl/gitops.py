"""The few git operations opsctl needs: find the work tree, ``git mv`` and ``git rm`` for the
lifecycle (and putting back what ``git rm`` removed), the tracked lines that still mention a
renamed script, when a file was added and last committed (the lint's near-twin rule), the
revision (and whether it is modified) that a run records, and what ``.gitignore`` keeps out
(``init`` keeps the run ledger out of git).

opsctl shells out to ``git`` itself rather than touching ``.git``: git owns its index and
its lock, and a user's hooks, config and future git versions keep working. Every call runs
with literal pathspecs, so a script named ``*.py`` or ``:x.py`` means that file only.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from contextlib import suppress
from fnmatch import fnmatchcase
from pathlib import Path
from typing import NamedTuple

from .errors import OpsctlError


class GitError(OpsctlError):
    """A git command failed; the message is git's own first line, prefixed with the command."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Literal pathspecs: a file name is a file name, never a glob or pathspec magic.
    env["GIT_LITERAL_PATHSPECS"] = "1"
    # Never wait for a credential or editor prompt behind a command that is not meant to ask.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.pop("GIT_INDEX_FILE", None)
    return env


def _run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=_env(),
                          check=False)


def _first_error(stderr: bytes) -> str:
    """The line of git's stderr that says what went wrong, without the ``fatal:`` prefix."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    for ln in lines:
        for prefix in ("fatal:", "error:"):
            if ln.startswith(prefix):
                return ln[len(prefix):].strip()
    return lines[0] if lines else "no message"


class Mention(NamedTuple):
    """A line of a tracked file: its path from the top of the work tree, number and text."""

    path: str
    line: int
    text: str


class WorkTree(NamedTuple):
    """A git work tree, named by its top folder (as ``git rev-parse --show-toplevel`` says)."""

    top: Path

    def relative(self, path: Path) -> str:
        """``path`` relative to the top, resolving symlinked folders but not the file itself."""
        parent = Path(os.path.realpath(path.parent))
        return (parent / path.name).relative_to(self.top).as_posix()

    def tracked(self, paths: Iterable[Path]) -> set[Path]:
        """The ones among ``paths`` that git tracks (in the index)."""
        wanted = {self.relative(p): p for p in paths}
        if not wanted:
            return set()
        result = _run(["ls-files", "-z", "--", *wanted], self.top)
        if result.returncode != 0:
            raise GitError(f"git ls-files failed: {_first_error(result.stderr)}")
        found = {name for name in result.stdout.decode("utf-8", "surrogateescape").split("\0")
                 if name}
        return {p for rel, p in wanted.items() if rel in found}

    def changed(self, paths: Iterable[Path]) -> set[Path]:
        """The ones among ``paths`` with changes git has not committed (staged, unstaged or
        untracked); ignored files count as untracked."""
        wanted = {self.relative(p): p for p in paths}
        if not wanted:
            return set()
        result = _run(["status", "--porcelain=v1", "-z", "--untracked-files=all",
                       "--ignored=matching", "--", *wanted], self.top)
        if result.returncode != 0:
            raise GitError(f"git status failed: {_first_error(result.stderr)}")
        found: set[str] = set()
        fields = result.stdout.decode("utf-8", "surrogateescape").split("\0")
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if len(entry) < 4:
                continue
            found.add(entry[3:])
            if entry[0] in "RC":  # a rename or copy is followed by its source path
                found.add(fields[i])
                i += 1
        return {p for rel, p in wanted.items() if rel in found}

    def move(self, source: Path, target: Path) -> None:
        """``git mv`` a tracked file; the target's folder must exist."""
        result = _run(["mv", "--", self.relative(source), self.relative(target)], self.top)
        if result.returncode != 0:
            raise GitError(f"git mv failed: {_first_error(result.stderr)}")

    def remove(self, paths: Sequence[Path]) -> None:
        """``git rm`` tracked files in one call, so git refuses all of them or removes all."""
        if not paths:
            return
        result = _run(["rm", "-q", "--", *(self.relative(p) for p in paths)], self.top)
        if result.returncode != 0:
            raise GitError(f"git rm failed: {_first_error(result.stderr)}")


    def restore(self, path: Path) -> None:
        """Put back a file ``git rm`` removed: its committed content, in the index and on
        disk."""
        result = _run(["checkout", "-q", "HEAD", "--", self.relative(path)], self.top)
        if result.returncode != 0:
            raise GitError(f"git checkout failed: {_first_error(result.stderr)}")

    def mentions(self, words: Sequence[str]) -> list[Mention]:
        """The lines of tracked text files that hold one of ``words`` as a whole (so
        ``recycle/x`` matches ``recycle/x.py`` but not ``recycle/x_2``), in path order."""
        args = ["grep", "-n", "-I", "-F", "-w", "-z", "--full-name", "--no-color"]
        for word in words:
            args += ["-e", word]
        result = _run(args, self.top)
        if result.returncode == 1:
            return []  # nothing found
        if result.returncode != 0:
            raise GitError(f"git grep failed: {_first_error(result.stderr)}")
        found = []
        for entry in result.stdout.decode("utf-8", "replace").splitlines():
            path, number, text = entry.split("\0", 2)
            found.append(Mention(path, int(number), text))
        return found

    def commit_times(self, path: Path) -> tuple[int, int] | None:
        """When the file got its path (the oldest commit adding it) and when a commit last
        changed it, as Unix times; None when no commit holds it."""
        rel = self.relative(path)
        last = _run(["log", "-1", "--format=%ct", "--", rel], self.top)
        added = _run(["log", "--diff-filter=A", "--format=%ct", "--", rel], self.top)
        if last.returncode != 0 or added.returncode != 0:
            return None
        changed, created = last.stdout.split(), added.stdout.split()
        if not changed:
            return None
        return int(created[-1]) if created else int(changed[0]), int(changed[0])


def work_tree(path: Path) -> WorkTree | None:
    """The git work tree holding ``path`` (a folder), or None outside one or without git."""
    try:
        result = _run(["rev-parse", "--show-toplevel"], path)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        # No git installed, or the folder is gone: a plain rename is all there is.
        return None
    if result.returncode != 0:
        return None
    top = result.stdout.decode("utf-8", "surrogateescape").strip()
    return WorkTree(Path(os.path.realpath(top))) if top else None


# -- what git keeps out -----------------------------------------------------------------------

class Ignored(NamedTuple):
    """What :func:`ignore` added to a ``.gitignore``, and whether it made the file."""

    path: Path
    entries: list[str]
    created: bool


def _probes(entry: str) -> list[str]:
    """The paths that show whether git ignores ``entry``: a trailing ``*`` also stands for
    the files named after it (SQLite's ``-wal``)."""
    return [entry[:-1], entry[:-1] + "-wal"] if entry.endswith("*") else [entry]


def ignored_entries(folder: Path, entries: Iterable[str]) -> set[str]:
    """The ones among ``entries`` (paths relative to ``folder``; a folder ends in ``/``) that
    git ignores already: asked of git in a work tree (which reads every ``.gitignore`` above
    and the repository's excludes), else read from ``folder/.gitignore`` alone."""
    wanted = {entry: _probes(entry) for entry in entries}
    paths = [p for probes in wanted.values() for p in probes]
    found: set[str] | None = None
    env = _env()
    env.pop("GIT_LITERAL_PATHSPECS")  # check-ignore takes paths, and refuses the setting
    try:
        result = subprocess.run(["git", "check-ignore", "--no-index", "-z", "--stdin"],
                                cwd=folder, input="".join(f"{p}\0" for p in paths).encode(),
                                env=env, capture_output=True, check=False)
        if result.returncode in (0, 1):  # 1: none of them; 128: no work tree, or no git
            found = set(result.stdout.decode("utf-8", "surrogateescape").split("\0"))
    except OSError:
        pass
    if found is None:
        found = {p for p in paths if _gitignore_ignores(folder / ".gitignore", p)}
    return {entry for entry, probes in wanted.items() if all(p in found for p in probes)}


def _gitignore_ignores(gitignore: Path, path: str) -> bool:
    """Whether the rules of one ``.gitignore`` ignore ``path`` (relative to its folder), as
    git reads them: the last matching rule wins, and nothing inside an ignored folder can be
    taken back."""
    try:
        rules = gitignore.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    parts = path.rstrip("/").split("/")
    for depth in range(1, len(parts) + 1):
        here = "/".join(parts[:depth])
        is_dir = depth < len(parts) or path.endswith("/")
        verdict = False
        for rule in rules:
            rule = rule.strip()
            if not rule or rule.startswith("#"):
                continue
            negated = rule.startswith("!")
            pattern = rule[1:] if negated else rule
            if pattern.endswith("/") and not is_dir:
                continue
            pattern = pattern.rstrip("/")
            if pattern.startswith("**/"):
                pattern = pattern[3:]  # in any folder: as if it had no slash
            anchored = "/" in pattern
            if fnmatchcase(here if anchored else parts[depth - 1], pattern.lstrip("/")):
                verdict = not negated
        if verdict:
            return True
    return False


def ignore(folder: Path, entries: Sequence[str], *, comment: str) -> Ignored | None:
    """Add to ``folder/.gitignore`` the ones among ``entries`` git does not ignore yet,
    anchored to the folder, under ``# comment``; None when there is none to add."""
    known = ignored_entries(folder, entries)
    missing = [entry for entry in entries if entry not in known]
    if not missing:
        return None
    path = folder / ".gitignore"
    existed = path.is_file()
    text = path.read_text(encoding="utf-8") if existed else ""
    sep = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(sep + f"# {comment}\n" + "".join(f"/{entry}\n" for entry in missing))
    return Ignored(path, missing, created=not existed)


# -- what a run records ----------------------------------------------------------------------

class GitProbe:
    """The project's git revision and whether its tracked files are modified, asked of one
    ``git status`` in the background while the app loads."""

    def __init__(self, cwd: Path) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._result: tuple[str | None, bool | None] | None = None
        try:
            # porcelain v2 with --branch gives the HEAD commit and the changes in one process.
            self._proc = subprocess.Popen(
                ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
                cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL)
        except OSError:
            self._result = (None, None)

    def result(self) -> tuple[str | None, bool | None]:
        if self._result is None:
            assert self._proc is not None
            try:
                out, _ = self._proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.close()
                self._result = (None, None)
                return self._result
            self._result = parse_git_status(out.decode("utf-8", "replace")) \
                if self._proc.returncode == 0 else (None, None)
        return self._result

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            with suppress(Exception):
                self._proc.communicate()


def parse_git_status(text: str) -> tuple[str | None, bool | None]:
    """``(revision, dirty)`` from ``git status --porcelain=v2 --branch``; no revision before
    the first commit."""
    revision = None
    dirty = False
    for line in text.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            revision = None if oid == "(initial)" else oid
        elif line and not line.startswith("#"):
            dirty = True
    return (revision, dirty) if revision else (None, None)
