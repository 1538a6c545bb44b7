"""The lifecycle of a script: promote, demote, stale and clean.

A temporary script that keeps being needed is *promoted* into ``recycle/``; a recycle script
that turned out to be needed once is *demoted* into ``unrecycle/``; old temporary scripts are
*cleaned* out. Each of these is planned first (a frozen :class:`Move` or :class:`StaleScript`,
checked against the naming rules and the disk) and performed second, so a command can show
the plan and ask before anything changes.

Moves are all-or-nothing: the file is moved (``git mv`` in a work tree, so history follows),
then the move is recorded in the ledger; if recording fails the file is moved back, so the
tree and the ledger are both as they were.

The suggestion lists (``promote``/``demote`` without a script) are pure functions of the
catalogue and the ledger's per-script statistics, so they are tested from plain values.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..catalogue import Catalogue, Script, printable
from ..errors import InvalidName, LedgerUnreachable, OpsctlError, TargetExists
from ..gitops import GitError, WorkTree, work_tree
from ..ledger.facts import ledger_exists as ledger_exists
from ..naming import Kind, Naming, parse_temporary
from ..scaffold import similar_recycle

if TYPE_CHECKING:
    from ..config import Config
    from ..ledger.store import Ledger
    from ..ledger.values import Holder, Run, ScriptStats

Verb = Literal["promote", "demote"]
#: The folder each verb moves a script into.
TARGET_FOLDER: dict[Verb, Kind] = {"promote": "recycle", "demote": "unrecycle"}


class MoveRefused(OpsctlError):
    """The convention does not allow this move (wrong kind of script, no name to give it)."""


class ScriptGone(OpsctlError):
    """The script was listed but its file is no longer there."""


class MoveFailed(OpsctlError):
    """A move that could not be completed; unless the message says otherwise it was undone."""


class RunInProgress(OpsctlError):
    """The script is running right now; moving or deleting it would pull it from under a run."""


# -- planning a move ------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One planned move: ``source`` becomes ``target``. ``similar`` lists recycle scripts of a
    similar purpose (promote only), which the convention says to extend instead."""

    verb: Verb
    source: Script
    target: Script
    similar: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"verb": self.verb, "from": printable(self.source.key),
                "to": printable(self.target.key), "similar": list(self.similar)}


def plan_move(verb: Verb, script: Script, *, naming: Naming, name: str | None = None,
              catalogue: Catalogue | None = None) -> Move:
    """Check that ``script`` may be promoted/demoted (to ``name`` if given) and say where to.

    Raises :class:`MoveRefused`, :class:`~opsctl.errors.InvalidName` or
    :class:`~opsctl.errors.TargetExists`; reads the disk only to see what exists.
    """
    folder = TARGET_FOLDER[verb]
    if script.folder == folder:
        raise MoveRefused(_already_there(verb, script))
    new_name = _target_name(verb, script, naming, name)
    target = Script(script.root, folder, new_name + ".py")
    _refuse_existing(script, target)
    similar: tuple[str, ...] = ()
    if verb == "promote":
        catalogue = catalogue or Catalogue(script.root)
        similar = tuple(k for k in similar_recycle(new_name, catalogue) if k != target.key)
    return Move(verb, script, target, similar)


def _already_there(verb: Verb, script: Script) -> str:
    if verb == "promote":
        return (f"{script.display} is already a recycle script; promote moves a temporary "
                "script into recycle/ (demote it if it turned out to be needed once)")
    return (f"{script.display} is already in unrecycle/; demote moves a recycle or temporary "
            "script there (promote it to bring it back into recycle/)")


def _target_name(verb: Verb, script: Script, naming: Naming, name: str | None) -> str:
    folder = TARGET_FOLDER[verb]
    if name is not None:
        if "/" in name or os.sep in name:
            raise InvalidName(f"invalid name {name!r} for --as: give the name only, without a "
                              f"folder; opsctl puts it in {folder}/")
        name = name.removesuffix(".py")
        problem = naming.validate(folder, name)
        if problem is not None:
            hint = f" ({problem.fix})" if problem.fix else ""
            raise InvalidName(f"invalid name {name!r} for {folder}/: {problem.message}{hint}")
        return name
    if script.kind == "temporary":
        parsed = parse_temporary(script.stem)
        if parsed is None:
            raise MoveRefused(f"{script.display} is not named ts_YYYY_MM_DD_<what>, so there is "
                              f"no name to keep; give one with --as NAME")
        default = parsed.what
    else:
        default = script.stem
    problem = naming.validate(folder, default)
    if problem is not None:
        raise InvalidName(f"{default!r} (from {script.display}) is not a valid {folder}/ name: "
                          f"{problem.message}; choose one with --as NAME")
    return default


def _refuse_existing(source: Script, target: Script) -> None:
    if os.path.lexists(target.path):
        extend = " extend that script instead, or" if target.folder == "recycle" else ""
        raise TargetExists(f"{target.display}.py already exists; opsctl never overwrites:"
                           f"{extend} choose another name with --as NAME")
    # The same name in recycle/ and unrecycle/ is a duplicate the lint reports (OPS302); a
    # script coming back from the other shared folder is the one exception.
    other = "unrecycle" if target.folder == "recycle" else "recycle"
    twin = Script(source.root, other, target.filename)
    if twin.key != source.key and os.path.lexists(twin.path):
        raise TargetExists(f"{twin.display}.py already exists, and one name in both recycle/ and "
                           f"unrecycle/ is a duplicate (OPS302); choose another name with "
                           "--as NAME")


# -- performing a move ----------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    """A completed move and how the file was moved (``git mv`` or ``rename``)."""

    move: Move
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.move.as_dict(), "method": self.method}


class MoveBook(Protocol):
    """What a move needs of the run ledger (:class:`~opsctl.ledger.store.Ledger` is one): who is
    running a script now, and a place to record where it went."""

    def holder(self, key: str) -> Holder | None: ...

    def record_move(self, old_key: str, new_key: str, operator: str) -> None: ...


def refuse_running(book: MoveBook, script: Script, doing: str) -> None:
    """Raise :class:`RunInProgress` when a live run holds ``script``'s lock (under any of its
    names): ``doing`` it now would pull the file from under the run."""
    holder = book.holder(script.key)
    if holder is not None:
        raise RunInProgress(f"{script.display} is running now ({holder.describe()}); "
                            f"{doing} it once the run has ended")


def perform(move: Move, *, book: MoveBook, operator: str) -> Moved:
    """Move the file, then record the move in ``book`` (the ledger) as ``operator``; all or
    nothing.

    A script with a run in progress is refused (:class:`RunInProgress`). If the file is gone,
    the target appeared meanwhile, git refuses (a locked index), or recording raises, the
    tree is left exactly as it was — the file in place, no folder created — and the error
    says so. Recording comes last so a ledger failure can be undone by moving the file back;
    the reverse (undoing a ledger row) is not possible.
    """
    source, target = move.source.path, move.target.path
    if not os.path.isfile(source):
        raise ScriptGone(f"{move.source.display} is gone: {move.source.rel} no longer exists "
                         "(moved or deleted since it was listed); nothing changed")
    refuse_running(book, move.source, move.verb)
    _refuse_existing(move.source, move.target)
    created = _make_folders(target.parent)
    tree = work_tree(source.parent)
    try:
        method = _move_file(source, target, tree)
    except BaseException:
        _remove_folders(created)
        raise
    try:
        book.record_move(move.source.key, move.target.key, operator)
    except BaseException as exc:
        try:
            _move_file(target, source, tree)
        except Exception as undo:  # noqa: BLE001 - whatever it was, the user must know
            raise MoveFailed(f"the move of {move.source.display} could not be recorded "
                             f"({_one_line(exc)}) and moving it back failed ({_one_line(undo)});"
                             f" move {move.target.rel} back to {move.source.rel} by hand") \
                from exc
        _remove_folders(created)
        if isinstance(exc, Exception):
            message = _one_line(exc)
            raise MoveFailed(f"could not record the move in the ledger ({message}); "
                             f"{move.source.display} was moved back, nothing changed") from exc
        raise  # Ctrl-C while recording: the file is back, let the interrupt through
    return Moved(move, method)


_MOVE_REFUSAL = "nothing was moved, since history only follows a move the ledger records"


def apply_move(move: Move, *, config: Config, operator: str) -> Moved:
    """Perform ``move`` as ``operator`` and record it in the project's ledger; all or nothing.

    The ledger is opened before anything moves, so an unreachable ledger
    (:class:`~opsctl.errors.LedgerUnreachable`) refuses with the tree untouched.
    """
    with ledger(config, refusal=_MOVE_REFUSAL) as book:
        return perform(move, book=book, operator=operator)


def _one_line(exc: BaseException) -> str:
    """An error's first line: database errors go on with the SQL and a documentation link."""
    text = exc.message if isinstance(exc, OpsctlError) else str(exc)
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _move_file(source: Path, target: Path, tree: WorkTree | None) -> str:
    """``git mv`` a tracked file so its history follows; rename anything else."""
    if tree is not None and tree.tracked([source]):
        try:
            tree.move(source, target)
        except GitError as exc:
            raise MoveFailed(f"{exc.message}; nothing changed") from exc
        return "git mv"
    _rename_no_replace(source, target)
    return "rename"


def _rename_no_replace(source: Path, target: Path) -> None:
    """Rename without ever replacing a file that appeared at ``target`` meanwhile.

    A hard link fails when the target exists, which a plain rename would silently replace;
    where hard links are not supported the existence check just before renaming must do.
    """
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise TargetExists(f"{target} already exists; opsctl never overwrites") from None
    except OSError:
        if os.path.lexists(target):
            raise TargetExists(f"{target} already exists; opsctl never overwrites") from None
        os.rename(source, target)
        return
    try:
        os.unlink(source)
    except OSError:
        os.unlink(target)
        raise


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return what was created, deepest first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return missing


def _remove_folders(created: Sequence[Path]) -> None:
    for path in created:
        try:
            path.rmdir()
        except OSError:
            pass


# -- suggestions: what the ledger says should move -------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A script the ledger suggests moving, with the evidence (``why`` says it in words)."""

    verb: Verb
    script: Script
    target: str | None  # the key it would get, None when its name gives none (use --as)
    why: str
    runs: int
    days: int
    operators: tuple[str, ...]
    last_at: _dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "key": printable(self.script.key),
            "to": printable(self.target) if self.target else None,
            "why": self.why,
            "runs": self.runs,
            "days": self.days,
            "operators": list(self.operators),
            "last_run_at": self.last_at.isoformat() if self.last_at else None,
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def promote_candidates(scripts: Iterable[Script],
                       stats: Mapping[str, ScriptStats]) -> list[Candidate]:
    """Temporary scripts that were needed again: run on two or more distinct days, or by two
    or more operators. The most-needed first."""
    out = []
    for script in scripts:
        if script.kind != "temporary":
            continue
        s = stats.get(script.key)
        if s is None or (len(s.days) < 2 and len(s.operators) < 2):
            continue
        reasons = []
        if len(s.days) >= 2:
            reasons.append(f"run on {_plural(len(s.days), 'day')}")
        if len(s.operators) >= 2:
            reasons.append(f"by {_plural(len(s.operators), 'operator')}")
        parsed = parse_temporary(script.stem)
        out.append(Candidate("promote", script, f"recycle/{parsed.what}" if parsed else None,
                             " ".join(reasons), s.runs, len(s.days), tuple(sorted(s.operators)),
                             s.last_at))
    out.sort(key=lambda c: (-c.days, -len(c.operators), -c.runs, c.script.key))
    return out


def demote_candidates(scripts: Iterable[Script], stats: Mapping[str, ScriptStats], *,
                      stale_days: int, now: _dt.datetime) -> list[Candidate]:
    """Recycle scripts that look one-off: run exactly once, or not run for ``stale_days``.

    A recycle script never run at all counts as not run once its file has been unchanged
    for ``stale_days`` (a fresh clone makes every file new, which errs on keeping it).
    """
    out = []
    for script in scripts:
        if script.kind != "recycle":
            continue
        s = stats.get(script.key)
        runs = s.runs if s else 0
        last = s.last_at if s else None
        idle = _days_between(last, now) if last is not None else None
        if runs == 1 and idle is not None:
            why = f"run exactly once, {_ago(idle)}"
        elif idle is not None and idle > stale_days:
            why = f"not run for {idle} days"
        elif runs == 0:
            try:
                mtime = _dt.datetime.fromtimestamp(script.path.stat().st_mtime, _dt.UTC)
            except OSError:
                continue
            age = _days_between(mtime, now)
            if age <= stale_days:
                continue
            why = f"never run; unchanged for {age} days"
        else:
            continue
        out.append(Candidate("demote", script, f"unrecycle/{script.stem}", why, runs,
                             len(s.days) if s else 0,
                             tuple(sorted(s.operators)) if s else (), last))
    out.sort(key=lambda c: (c.runs, c.last_at or _dt.datetime.min.replace(tzinfo=_dt.UTC),
                            c.script.key))
    return out


def _days_between(earlier: _dt.datetime, later: _dt.datetime) -> int:
    """Calendar days, in local time like the ledger's ``days``: yesterday 23:00 is 1 day."""
    return (later.astimezone().date() - earlier.astimezone().date()).days


def _ago(days: int) -> str:
    return "today" if days <= 0 else ("yesterday" if days == 1 else f"{days} days ago")


def suggest(verb: Verb, config: Config, scripts: Iterable[Script], *,
            now: _dt.datetime | None = None) -> list[Candidate]:
    """The scripts the ledger's runs suggest to ``verb``: :func:`promote_candidates` or
    :func:`demote_candidates` (idle for ``config.stale_days``, counted up to ``now``)."""
    stats = script_stats(config, refusal=f"the {verb} candidates come from its runs")
    if verb == "promote":
        return promote_candidates(scripts, stats)
    return demote_candidates(scripts, stats, stale_days=config.stale_days,
                             now=now or _dt.datetime.now(_dt.UTC))


@dataclass(frozen=True)
class Offer:
    """What became of one candidate :func:`offer_moves` offered: ``refused`` when its move
    could not be planned, else ``moved`` when done, ``failed`` when doing it failed, or
    neither when it was declined."""

    candidate: Candidate
    move: Move | None = None
    moved: Moved | None = None
    refused: OpsctlError | None = None
    failed: OpsctlError | None = None


def offer_moves(candidates: Iterable[Candidate], *, naming: Naming,
                accept: Callable[[Move], bool],
                carry_out: Callable[[Move], Moved]) -> Iterator[Offer]:
    """Plan each candidate's move, offer it to ``accept`` and ``carry_out`` the accepted ones,
    one at a time; yield what became of each as it happens.

    Each move is planned just before it is offered, against the disk as the moves before it
    left it. A move that cannot be planned or carried out (an :class:`OpsctlError`) does not
    stop the others; whatever ``accept`` raises (a refusal to answer) stops them all.
    """
    for candidate in candidates:
        try:
            move = plan_move(candidate.verb, candidate.script, naming=naming)
        except OpsctlError as exc:
            yield Offer(candidate, refused=exc)
            continue
        if not accept(move):
            yield Offer(candidate, move)
            continue
        try:
            moved = carry_out(move)
        except OpsctlError as exc:
            yield Offer(candidate, move, failed=exc)
            continue
        yield Offer(candidate, move, moved)


# -- stale and clean ------------------------------------------------------------------------


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
            "last_run": self.last_run.as_dict() if self.last_run is not None else None,
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


# -- the ledger, in one place ----------------------------------------------------------------


@contextmanager
def ledger(config: Config, *, create: bool = True,
           refusal: str = "nothing changed") -> Iterator[Ledger]:
    """The project's ledger, closed afterwards (its engine holds connections).

    With ``create`` (a move is about to be recorded) the default SQLite file and the tables
    are made on first use; without, a ledger with no tables reads empty. An unreachable
    ledger is an error that ends with ``refusal``: what the command did not do, and why.
    """
    from ..ledger.store import Ledger, open_ledger

    try:
        book = open_ledger(config) if create else Ledger.open(config.effective_ledger_url,
                                                              create=False)
    except LedgerUnreachable as exc:
        # Its diagnosis, what this command did not do, then the ledger's own fix.
        raise exc.retold("; ".join(filter(None, [refusal, exc.fix]))) from None
    try:
        yield book
    finally:
        book.close()


def script_stats(config: Config, *, refusal: str = "nothing changed") -> dict[str, ScriptStats]:
    """Per-script run statistics, former names folded in; empty when there is no ledger."""
    if not ledger_exists(config):
        return {}
    with ledger(config, create=False, refusal=refusal) as book:
        return book.stats()


def run_facts(config: Config, scripts: Sequence[Script], *,
              refusal: str = "nothing changed") -> tuple[dict[str, Run], set[str]]:
    """The newest run of each script, and the keys with a run in progress (a live lock)."""
    if not ledger_exists(config) or not scripts:
        return {}, set()
    keys = {s.key for s in scripts}
    with ledger(config, create=False, refusal=refusal) as book:
        runs = book.last_runs(keys)
        # A run in progress is its script's newest run, still marked running: only those few
        # are checked against the small locks table (never every run row, as stats() reads).
        running = {k for k, run in runs.items()
                   if run.status == "running" and book.holder(k) is not None}
    return runs, running


def holder_of(book: Ledger, script: Script) -> Holder | None:
    """The run holding ``script``'s lock now (under any of its names), if one is alive."""
    return book.holder(script.key)
