"""The files a change touches, so that ``--format github`` annotates them first.

GitHub shows only the first ten error and ten warning annotations of a step: on a legacy tree
those would be old findings, not the pull request's. The changed files come from
``--changed-files FILE`` (one path a line, as ``git diff --name-only`` prints them from the
repository's top, or relative to the current folder; ``-`` reads them from standard input),
or, in a pull request on GitHub Actions (``GITHUB_BASE_REF`` set), from git: the diff against
``origin/<base>`` (``fetch-depth: 0``), else against the first parent of the merge commit
GitHub checks out (``fetch-depth: 2``). Without either, nothing is reordered but errors first.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping


def changed_paths(root: str, listed: str | None, cwd: str,
                  environ: Mapping[str, str]) -> frozenset[str] | None:
    """Root-relative paths of the changed files, or None when no change is known."""
    if listed is not None:
        if listed == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(listed, encoding="utf-8", errors="surrogateescape") as fh:
                lines = fh.read().splitlines()
        top = _top(cwd)
        bases = [cwd] + ([top] if top is not None and top != cwd else [])
        found: set[str] = set()
        for line in filter(None, (x.strip() for x in lines)):
            for base in bases:
                rel = _under(root, os.path.join(base, line))
                if rel is not None:
                    found.add(rel)
                    break
        return frozenset(found)
    target = environ.get("GITHUB_BASE_REF")
    if target:
        for spec in (f"origin/{target}...HEAD", "HEAD^1"):
            names = _git_diff(root, spec)
            if names is not None:
                return frozenset(names)
    return None


def _under(root: str, path: str) -> str | None:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return None if rel == "." or rel.startswith("..") else rel.replace(os.sep, "/")


def _top(cwd: str) -> str | None:
    from .authors import repository_top

    found = repository_top(cwd)
    return found[0] if found else None


def _git_diff(root: str, spec: str) -> Iterable[str] | None:
    import subprocess

    try:
        proc = subprocess.run(["git", "diff", "--name-only", "-z", "--relative", spec, "--"],
                              cwd=root, capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return [n for n in os.fsdecode(proc.stdout).split("\0") if n]
