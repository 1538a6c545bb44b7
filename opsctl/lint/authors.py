"""What the git repository knows about people and time: its authors, as developer folders,
and the date of its first commit.

Asked only when the lint needs it (a developer folder with no ``developers`` list to vouch
for it, in a whole-tree lint; ``date_floor = "first-commit"``): finding the repository reads
a few small files, and only then is one ``git log`` run. A shallow clone (CI's usual
``fetch-depth: 1``) knows too few authors to judge anyone by, so it is not asked at all.
"""

from __future__ import annotations

import os

from ..light import datetime as _dt
from ..naming import folder_name_of


def repository_top(start: str) -> tuple[str, str] | None:
    """The work tree's top folder holding ``start`` and its git folder (the common one of a
    linked work tree), or None outside a repository."""
    folder = os.path.abspath(start)
    while True:
        dot_git = os.path.join(folder, ".git")
        if os.path.isdir(dot_git):
            return folder, dot_git
        if os.path.isfile(dot_git):
            return folder, _linked_git_dir(dot_git)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _linked_git_dir(dot_git: str) -> str:
    """The common git folder of a linked work tree (``.git`` is a file: ``gitdir: ...``)."""
    try:
        with open(dot_git, encoding="utf-8") as fh:
            text = fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return dot_git
    git_dir = text.removeprefix("gitdir:").strip()
    git_dir = os.path.join(os.path.dirname(dot_git), git_dir)
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as fh:
            return os.path.normpath(os.path.join(git_dir, fh.read().strip()))
    except (OSError, UnicodeDecodeError):
        return git_dir


def _git_log(top: str, fmt: str, *extra: str) -> list[str] | None:
    import subprocess

    try:
        proc = subprocess.run(["git", "-c", "log.showSignature=false", "log", f"--format={fmt}",
                               *extra, "HEAD", "--"], cwd=top, capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace").splitlines()


#: How far back the authors are read: git reads about 100,000 commits a second here, so a
#: long history would cost the lint more than the walk of a large tree. A developer with no
#: commit among the latest 10,000 is not known by the lint (their scripts are likely stale).
AUTHOR_COMMITS = 10_000


def known_developers(root: str) -> frozenset[str] | None:
    """The developer folders the repository's recent authors go by (the latest
    :data:`AUTHOR_COMMITS` commits): the folder ``new`` would pick from each author's e-mail
    (its local part) and from each author's name, with and without underscores. None
    outside a repository, in a shallow clone, or without git."""
    found = repository_top(root)
    if found is None:
        return None
    top, git_dir = found
    if os.path.exists(os.path.join(git_dir, "shallow")):
        return None
    lines = _git_log(top, "%ae%x00%an", f"--max-count={AUTHOR_COMMITS}")
    if lines is None:
        return None
    names: set[str] = set()
    for line in set(lines):
        email, _, author = line.partition("\0")
        for raw in (email.split("@", 1)[0], author):
            name = folder_name_of(raw)
            if name:
                names.update((name, name.replace("_", "")))
    return frozenset(names)


def first_commit_date(root: str) -> _dt.date | None:
    """The author date of the repository's first commit, or None when there is none to ask."""
    found = repository_top(root)
    if found is None or os.path.exists(os.path.join(found[1], "shallow")):
        return None  # a shallow clone's oldest commit is only where the clone stops
    lines = _git_log(found[0], "%at", "--max-parents=0")
    stamps = [int(x) for x in lines or () if x.strip().isdigit()]
    if not stamps:
        return None
    return _dt.date.fromtimestamp(min(stamps))  # the local day, as names are dated


def goes_by(folder: str, known: frozenset[str]) -> bool:
    """Whether a developer folder is one of the ``known`` names (underscores aside)."""
    return folder in known or folder.replace("_", "") in known
