"""``opsctl lint --fix``: the renames that are safe, done with ``git mv`` where the file is
tracked, and recorded in the run ledger when the project has one, so history follows.

Only case, separators and the zero padding of dates are fixed; anything that changes what a
name means (a suffix, a date, a ``ts_`` prefix in recycle/) is left for a person.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..naming import SHARED_FOLDERS, SNAKE_RE, Kind, Naming, normalise
from .rules import Finding, _safe

if TYPE_CHECKING:
    from ..config import Config
    from ..gitops import WorkTree
    from ..lifecycle.moves import MoveBook

class Rename(NamedTuple):
    """A safe rename: ``source`` and ``target`` relative to the root; ``git`` once done with
    ``git mv`` (a tracked file), rather than a plain rename."""

    source: str
    target: str
    git: bool = False


class FixPlan(NamedTuple):
    """What ``--fix`` means to do: ``renames``, and the renames it will not do, with why."""

    renames: tuple[Rename, ...]
    refused: tuple[tuple[Rename, str], ...] = ()


class FixOutcome(NamedTuple):
    """What ``--fix`` did."""

    renamed: tuple[Rename, ...]
    #: Renames planned but not done, with the reason.
    refused: tuple[tuple[Rename, str], ...]
    #: True when ``git mv`` was used (the root is in a git work tree).
    git: bool = False
    #: True when the renames were recorded in the run ledger, so history follows them.
    recorded: bool = False


def plan_fixes(findings: Iterable[Finding], naming: Naming) -> FixPlan:
    """The renames that are safe and unambiguous: case, separators and zero padding only.

    Dropping a suffix or a date, or a ``ts_`` prefix in recycle/, changes what a name means or
    needs a merge; those stay for a person. Two names that would become one are refused
    both, each naming the other.
    """
    planned: dict[str, str] = {}
    for f in findings:
        folder, _, name = f.path.partition("/")
        if not name or "/" in name or not name.endswith(".py"):
            continue
        stem = name[:-3]
        target: str | None = None
        if f.code == "OPS201":
            fixed = naming.fixed_temporary_stem(stem)
            target = f"{fixed}.py" if fixed else None
        elif f.code == "OPS301" and folder in SHARED_FOLDERS and \
                not stem.lower().startswith("ts_"):
            fixed = normalise(stem)
            kind: Kind = "recycle" if folder == "recycle" else "unrecycle"
            if fixed and SNAKE_RE.match(fixed) and "." not in stem and \
                    naming.check_script_name(f"{fixed}.py", kind) is None:
                target = f"{fixed}.py"
        if target is not None and target != name:
            planned[f.path] = f"{folder}/{target}"
    # Two names that would become one: neither is renamed, a person picks.
    sources: dict[str, list[str]] = {}
    for source, target in sorted(planned.items()):
        sources.setdefault(target, []).append(source)
    renames: list[Rename] = []
    refused: list[tuple[Rename, str]] = []
    for source, target in sorted(planned.items()):
        others = [o for o in sources[target] if o != source]
        if not others:
            renames.append(Rename(source, target))
            continue
        refused.append((Rename(source, target),
                        f"would collide with {_safe(', '.join(others))}, which --fix would also "
                        f"rename to {_safe(target)}; rename one of them by hand"))
    return FixPlan(tuple(renames), tuple(refused))


def apply_fixes(root: Path, plan: FixPlan | Sequence[Rename], *, book: MoveBook | None = None,
                operator: str = "") -> FixOutcome:
    """Perform the planned renames with ``git mv`` for tracked files, a plain rename otherwise.

    Never into an existing file, never touching content. A rename that fails is reported and
    the rest go on; each one is whole or not done. What the plan refused is reported too.
    With ``book`` (the run ledger), a script with a run in progress is not renamed, and each
    rename is recorded as a move by ``operator``; one that cannot be recorded is undone.
    """
    from ..gitops import GitError, work_tree

    if not isinstance(plan, FixPlan):
        plan = FixPlan(tuple(plan))
    renames = plan.renames
    tree = work_tree(root) if renames else None
    tracked = tree.tracked([root / r.source for r in renames]) if tree is not None else set()
    renamed: list[Rename] = []
    refused: list[tuple[Rename, str]] = list(plan.refused)
    for r in renames:
        source, target = root / r.source, root / r.target
        if not os.path.lexists(source):
            refused.append((r, "it is gone"))
            continue
        # On a case-insensitive file system Export.py and export.py are one file: a case-only
        # rename is still safe, through a temporary name.
        case_only = os.path.lexists(target) and _same_file(source, target)
        if os.path.lexists(target) and not case_only:
            refused.append((r, f"{_safe(r.target)} already exists"))
            continue
        if book is not None and (busy := _running(book, root, r)) is not None:
            refused.append((r, busy))
            continue
        git = tree if tree is not None and source in tracked else None
        try:
            _move(source, target, git, case_only)
        except (GitError, OSError) as exc:
            refused.append((r, str(exc) if isinstance(exc, GitError) else
                            exc.strerror or str(exc)))
            continue
        if book is not None and (failed := _record(book, r, operator)) is not None:
            try:
                _move(target, source, git, case_only)
            except (GitError, OSError) as exc:
                refused.append((r, f"renamed, but the ledger could not record it ({failed}) "
                                   f"and renaming it back failed ({exc}); rename "
                                   f"{_safe(r.target)} back to {_safe(r.source)} by hand"))
                continue
            refused.append((r, f"the ledger could not record the rename ({failed}); left as "
                               "it was"))
            continue
        renamed.append(r._replace(git=git is not None))
    return FixOutcome(tuple(renamed), tuple(refused), git=tree is not None,
                      recorded=book is not None and bool(renamed))


def _move(source: Path, target: Path, git: WorkTree | None, case_only: bool) -> None:
    """``git mv`` (``git`` given: the file is tracked) or a plain rename."""
    if git is None:
        _rename(source, target, case_only)
    elif case_only:
        step = source.with_name(f".{source.name}.opsctl-rename")
        git.move(source, step)
        git.move(step, target)
    else:
        git.move(source, target)


def _key(rel: str) -> str:
    """A root-relative script path as the ledger names it: ``recycle/clear_cache``."""
    return rel.removesuffix(".py")


def _running(book: MoveBook, root: Path, r: Rename) -> str | None:
    """Why ``r`` must wait (a run of the script is in progress), or None."""
    from ..catalogue import Script
    from ..lifecycle.moves import RunInProgress, refuse_running

    folder, _, filename = r.source.partition("/")
    try:
        refuse_running(book, Script(root, folder, filename), "rename")
    except RunInProgress as exc:
        return exc.message
    return None


def _record(book: MoveBook, r: Rename, operator: str) -> str | None:
    """Record ``r`` in the ledger; the first line of the error when that fails."""
    try:
        book.record_move(_key(r.source), _key(r.target), operator)
    except Exception as exc:  # noqa: BLE001 - whatever the database said, the rename is undone
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return None


def fix_findings(root: Path, findings: Iterable[Finding], naming: Naming,
                 project_config: Config | None, operator: Callable[[], str] | None,
                 ) -> FixOutcome:
    """Plan the safe renames of ``findings`` and apply them, through the run ledger when the
    project has one (SPEC §4: a move is recorded so history follows). Only here does the lint
    touch the ledger, and SQLAlchemy."""
    plan = plan_fixes(findings, naming)
    if not plan.renames or project_config is None:
        return apply_fixes(root, plan)
    from ..ledger.facts import ledger_exists
    from ..lifecycle.book import ledger

    if not ledger_exists(project_config):
        return apply_fixes(root, plan)  # no runs recorded anywhere: none to follow a rename
    with ledger(project_config, refusal="nothing was renamed, since history only follows a "
                                        "rename the ledger records") as book:
        who = operator() if operator is not None else "opsctl lint --fix"
        return apply_fixes(root, plan, book=book, operator=who)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _rename(source: Path, target: Path, case_only: bool) -> None:
    if case_only:
        step = source.with_name(f".{source.name}.opsctl-rename")
        os.rename(source, step)
        os.rename(step, target)
        return
    # A hard link fails if the target appeared meanwhile, so nothing is ever overwritten;
    # where links are not supported, a rename right after the existence check does.
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(target):
            raise FileExistsError(17, "target exists", str(target)) from None
        os.rename(source, target)
        return
    try:
        os.unlink(source)
    except OSError:
        os.unlink(target)  # leave the tree as it was: one name, the old one
        raise


def paths_after(renamed: Iterable[Rename], root: Path,
                paths: Sequence[str | os.PathLike[str]], cwd: Path) -> list[str]:
    """``paths`` (file-list mode) with the renamed files under their new names."""
    moved = {os.path.abspath(root / r.source): os.path.abspath(root / r.target)
             for r in renamed}
    out: list[str] = []
    for p in paths:
        absolute = os.path.abspath(os.path.join(cwd, os.fspath(p)))
        out.append(moved.get(absolute, absolute))
    return out
