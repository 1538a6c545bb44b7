"""Stale and clean: temporary scripts older than the limit, by the date in their names, and
deleting them.

Like a move, a clean is planned first (a :class:`Deletion` for each :class:`StaleScript`,
which says why a script is kept) and performed second, so a command can show the plan and ask
before anything is deleted. A script with a run in progress is never deleted, and in a git
work tree only committed, unchanged files are (``git rm``, so git keeps their history).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..catalogue import Script, printable
from ..errors import LedgerUnreachable
from ..gitops import work_tree
from ..ledger.facts import ledger_exists
from .book import holder_of, ledger, run_facts
from .moves import MoveFailed

if TYPE_CHECKING:
    from ..config import Config
    from ..ledger.values import Run


@dataclass(frozen=True)
class StaleScript:
    """A temporary script older than the limit, by the date in its name."""

    script: Script
    age_days: int
    last_run: Run | None = None
    running: bool = False

    def as_dict(self) -> dict[str, Any]:
        s = self.script
        return {
            "key": printable(s.key),
            "path": printable(s.rel),
            "owner": s.owner,
            "date": s.date.isoformat() if s.date else None,
            "age_days": self.age_days,
            "last_run": self.last_run.as_dict(output_tail=False) if self.last_run is not None
            else None,
            "running": self.running,
        }


def stale_scripts(scripts: Iterable[Script], *, older_than: int, owner: str | None = None,
                  today: _dt.date | None = None) -> list[StaleScript]:
    """Temporary scripts whose name's date is more than ``older_than`` days ago, oldest first.

    Recycle and unrecycle scripts are never stale: they have no date and are kept on purpose.
    """
    today = today or _dt.date.today()
    out = []
    for script in scripts:
        if script.kind != "temporary" or (owner is not None and script.owner != owner):
            continue
        day = script.date
        if day is None:
            continue  # a misnamed script has no date to age by; the lint reports it
        age = (today - day).days
        if age > older_than:
            out.append(StaleScript(script, age))
    out.sort(key=lambda s: (-s.age_days, s.script.key))
    return out


@dataclass(frozen=True)
class Deletion:
    """A stale script ``clean`` would delete, or ``keep`` with the reason it will not."""

    stale: StaleScript
    keep: str | None = None
    tracked: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {**self.stale.as_dict(), "delete": self.keep is None, "keep_reason": self.keep}


def plan_clean(stale: Sequence[StaleScript], *,
               include_uncommitted: bool = False) -> list[Deletion]:
    """Decide, for each stale script, whether ``clean`` deletes it.

    A running script is kept. In a git work tree, so that git really does keep the history,
    only committed, unchanged files are deleted unless ``include_uncommitted``.
    """
    if not stale:
        return []
    root = stale[0].script.root
    tree = work_tree(root)
    paths = [s.script.path for s in stale]
    tracked = tree.tracked(paths) if tree else set()
    changed = tree.changed(paths) if tree else set()
    out = []
    for s in stale:
        path = s.script.path
        keep = None
        if s.running:
            keep = "a run is in progress"
        elif tree is not None and not include_uncommitted:
            if path not in tracked:
                keep = "not committed to git (--include-uncommitted deletes it anyway)"
            elif path in changed:
                keep = "has uncommitted changes (--include-uncommitted deletes it anyway)"
        out.append(Deletion(s, keep, path in tracked))
    return out


@dataclass(frozen=True)
class CleanResult:
    deleted: tuple[Deletion, ...]
    kept: tuple[Deletion, ...]
    method: str  # "git rm", "delete", or "git rm + delete"


def clean(plan: Sequence[Deletion], *,
          running: Callable[[Script], bool] = lambda s: False) -> CleanResult:
    """Delete what ``plan`` says to, re-checking just before that no run has started.

    Tracked files go in one ``git rm`` (git refuses all or removes all); the rest are
    unlinked. Developer folders left empty are removed, as ``git rm`` does for tracked files.
    """
    kept = [d for d in plan if d.keep is not None]
    todo: list[Deletion] = []
    for d in plan:
        if d.keep is not None:
            continue
        if running(d.stale.script):
            kept.append(Deletion(d.stale, "a run started meanwhile", d.tracked))
        elif not os.path.lexists(d.stale.script.path):
            kept.append(Deletion(d.stale, "already gone", d.tracked))
        else:
            todo.append(d)
    tracked = [d for d in todo if d.tracked]
    untracked = [d for d in todo if not d.tracked]
    if tracked:
        tree = work_tree(tracked[0].stale.script.root)
        if tree is None:  # pragma: no cover - the plan said tracked a moment ago
            raise MoveFailed("the git work tree disappeared; nothing deleted")
        tree.remove([d.stale.script.path for d in tracked])
    for d in untracked:
        os.unlink(d.stale.script.path)
    for folder in {d.stale.script.path.parent for d in todo}:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            pass
    methods = [m for m, part in (("git rm", tracked), ("delete", untracked)) if part]
    return CleanResult(tuple(todo), tuple(kept), " + ".join(methods) or "nothing")


@dataclass(frozen=True)
class StaleList:
    """The stale scripts of a project, older than ``limit`` days. ``runs_unknown`` says why
    their last runs are not shown (the ledger could not be read), None when they are."""

    scripts: list[StaleScript]
    limit: int
    runs_unknown: str | None = None


_CLEAN_REFUSAL = "nothing was deleted, since clean must know which scripts are running"


def find_stale(config: Config, scripts: Iterable[Script], *, older_than: int | None = None,
               owner: str | None = None, need_runs: bool = False) -> StaleList:
    """The stale scripts (older than ``older_than``, default ``config.stale_days``) with their
    last runs and whether one is in progress.

    An unreachable ledger raises :class:`~opsctl.errors.LedgerUnreachable` when
    ``need_runs`` (clean must know what is running; it will not guess); otherwise the
    scripts come without runs and ``runs_unknown`` says why.
    """
    limit = config.stale_days if older_than is None else older_than
    found = stale_scripts(scripts, older_than=limit, owner=owner)
    try:
        runs, running = run_facts(
            config, [s.script for s in found],
            refusal=_CLEAN_REFUSAL if need_runs else "last runs are not shown")
    except LedgerUnreachable as exc:
        if need_runs:
            raise
        return StaleList(found, limit, exc.message)
    return StaleList([StaleScript(s.script, s.age_days, runs.get(s.script.key),
                                  s.script.key in running) for s in found], limit)


@dataclass(frozen=True)
class CleanPlan:
    """What ``clean`` would do: a :class:`Deletion` for each script older than ``limit``."""

    deletions: list[Deletion]
    limit: int

    @property
    def doomed(self) -> list[Deletion]:
        """The deletions that delete (the rest keep their script)."""
        return [d for d in self.deletions if d.keep is None]


def plan_clean_project(config: Config, scripts: Iterable[Script], *,
                       older_than: int | None = None, owner: str | None = None,
                       include_uncommitted: bool = False) -> CleanPlan:
    """:func:`find_stale` (the ledger must be readable) then :func:`plan_clean`."""
    found = find_stale(config, scripts, older_than=older_than, owner=owner, need_runs=True)
    return CleanPlan(plan_clean(found.scripts, include_uncommitted=include_uncommitted),
                     found.limit)


def clean_project(config: Config, plan: Sequence[Deletion]) -> CleanResult:
    """:func:`clean`, re-checking against the ledger's locks (when there is a ledger) that no
    run of a doomed script has started since it was planned."""
    if not ledger_exists(config):
        return clean(plan)
    with ledger(config, create=False, refusal=_CLEAN_REFUSAL) as book:
        return clean(plan, running=lambda s: holder_of(book, s) is not None)
