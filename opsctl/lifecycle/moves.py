"""Promote and demote: moving a script into ``recycle/`` or ``unrecycle/``, planned first and
performed all or nothing, and recorded in the ledger.

A temporary script that keeps being needed is *promoted* into ``recycle/``; a recycle script
that turned out to be needed once is *demoted* into ``unrecycle/``. A move is planned first (a
frozen :class:`Move`, checked against the naming rules and the disk) and performed second, so
a command can show the plan and ask before anything changes.

Moves are all-or-nothing: the file is moved (``git mv`` in a work tree, so history follows),
then the move is recorded in the ledger; if recording fails the file is moved back, so the
tree and the ledger are both as they were.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..catalogue import Catalogue, Script, printable
from ..errors import InvalidName, OpsctlError, TargetExists
from ..gitops import GitError, WorkTree, work_tree
from ..naming import Kind, Naming, parse_temporary
from ..scaffold import similar_recycle, template_folders
from .book import ledger
from .wording import promoted_text

if TYPE_CHECKING:
    from ..config import Config
    from ..ledger.values import Holder

#: ``rename`` keeps a script in its folder (:mod:`.renames` plans it); the others move it.
Verb = Literal["promote", "demote", "rename"]
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
    refuse_existing(script, target)
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
        siblings = Catalogue(script.root).purposes(("recycle", "unrecycle"))
        problem = naming.validate(folder, name, exists=siblings.__contains__)
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
    siblings = Catalogue(script.root).purposes(("recycle", "unrecycle"))
    problem = naming.validate(folder, default, exists=siblings.__contains__)
    if problem is not None:
        raise InvalidName(f"{default!r} (from {script.display}) is not a valid {folder}/ name: "
                          f"{problem.message}; choose one with --as NAME")
    return default


def refuse_existing(source: Script, target: Script, *,
                    choose: str = "choose another name with --as NAME") -> None:
    """Raise :class:`~opsctl.errors.TargetExists` when ``target`` is taken, or its name is in
    the other shared folder; ``choose`` says how to give another name."""
    if os.path.lexists(target.path):
        extend = " extend that script instead, or" if target.folder == "recycle" else ""
        raise TargetExists(f"{target.display}.py already exists; opsctl never overwrites:"
                           f"{extend} {choose}")
    # The same name in recycle/ and unrecycle/ is a duplicate the lint reports (OPS302); a
    # script coming back from the other shared folder is the one exception.
    other = "unrecycle" if target.folder == "recycle" else "recycle"
    twin = Script(source.root, other, target.filename)
    if twin.key != source.key and os.path.lexists(twin.path):
        raise TargetExists(f"{twin.display}.py already exists, and one name in both recycle/ and "
                           f"unrecycle/ is a duplicate (OPS302); {choose}")


# -- performing a move ----------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    """A completed move and how the file was moved (``git mv`` or ``rename``); ``reworded``
    when its text was changed too (a promoted script's template docstring)."""

    move: Move
    method: str
    reworded: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {**self.move.as_dict(), "method": self.method, "reworded": self.reworded}


class Holders(Protocol):
    """Who is running a script now, as the run ledger knows it."""

    def holder(self, key: str) -> Holder | None: ...


class MoveBook(Holders, Protocol):
    """What a move needs of the run ledger (:class:`~opsctl.ledger.store.Ledger` is one): who is
    running a script now, and a place to record where it went."""

    def record_move(self, old_key: str, new_key: str, operator: str) -> None: ...


def refuse_running(book: Holders, script: Script, doing: str) -> None:
    """Raise :class:`RunInProgress` when a live run holds ``script``'s lock (under any of its
    names): ``doing`` it now would pull the file from under the run."""
    holder = book.holder(script.key)
    if holder is not None:
        raise RunInProgress(f"{script.display} is running now ({holder.describe()}); "
                            f"{doing} it once the run has ended")


def perform(move: Move, *, book: MoveBook, operator: str,
            reword: Callable[[str], str | None] | None = None) -> Moved:
    """Move the file, then record the move in ``book`` (the ledger) as ``operator``; all or
    nothing. ``reword`` gives the moved file's new text from its text (None: unchanged).

    A script with a run in progress is refused (:class:`RunInProgress`). If the file is gone,
    the target appeared meanwhile, git refuses (a locked index), or recording raises, the
    tree is left exactly as it was — the file in place with its text, no folder created —
    and the error says so. Recording comes last so a ledger failure can be undone by moving
    the file back; the reverse (undoing a ledger row) is not possible.
    """
    source, target = move.source.path, move.target.path
    if not os.path.isfile(source):
        raise ScriptGone(f"{move.source.display} is gone: {move.source.rel} no longer exists "
                         "(moved or deleted since it was listed); nothing changed")
    refuse_running(book, move.source, move.verb)
    refuse_existing(move.source, move.target, **({"choose": "choose another name"}
                                                 if move.verb == "rename" else {}))
    created = _make_folders(target.parent)
    tree = work_tree(source.parent)
    try:
        method = _move_file(source, target, tree)
    except BaseException:
        _remove_folders(created)
        raise
    original = _reword(target, reword) if reword is not None else None
    try:
        book.record_move(move.source.key, move.target.key, operator)
    except BaseException as exc:
        try:
            if original is not None:
                _write(target, original)
            _move_file(target, source, tree)
        except Exception as undo:  # noqa: BLE001 - whatever it was, the user must know
            raise MoveFailed(f"the move of {move.source.display} could not be recorded "
                             f"({one_line(exc)}) and moving it back failed ({one_line(undo)});"
                             f" move {move.target.rel} back to {move.source.rel} by hand") \
                from exc
        _remove_folders(created)
        if isinstance(exc, Exception):
            message = one_line(exc)
            raise MoveFailed(f"could not record the move in the ledger ({message}); "
                             f"{move.source.display} was moved back, nothing changed") from exc
        raise  # Ctrl-C while recording: the file is back, let the interrupt through
    return Moved(move, method, original is not None)


_MOVE_REFUSAL = "nothing was moved, since history only follows a move the ledger records"


def apply_move(move: Move, *, config: Config, operator: str) -> Moved:
    """Perform ``move`` as ``operator`` and record it in the project's ledger; all or nothing.

    The ledger is opened before anything moves, so an unreachable ledger
    (:class:`~opsctl.errors.LedgerUnreachable`) refuses with the tree untouched.
    """
    reword = None
    if move.verb == "promote" and move.source.kind == "temporary":
        reword = partial(promoted_text, source=move.source, target=move.target,
                         project_dir=config.project_dir, templates=template_folders(config),
                         operator=operator)
    with ledger(config, refusal=_MOVE_REFUSAL) as book:
        return perform(move, book=book, operator=operator, reword=reword)


def _reword(path: Path, reword: Callable[[str], str | None]) -> bytes | None:
    """Give the file at ``path`` the text ``reword`` makes of it; its former bytes, or None
    when it kept them (nothing to change, not UTF-8, or it could not be written)."""
    data = path.read_bytes()
    try:
        new = reword(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if new is None or new.encode("utf-8") == data:
        return None
    try:
        _write(path, new.encode("utf-8"))
    except OSError:
        return None  # written whole or not at all: the script is as it was
    return data


def _write(path: Path, data: bytes) -> None:
    """Replace the file's bytes all at once (a new file renamed over it), keeping its mode."""
    spare = path.with_name(f".{path.name}.opsctl-{os.getpid()}")
    try:
        with open(spare, "xb") as fh:
            fh.write(data)
        os.chmod(spare, path.stat().st_mode & 0o7777)
        os.replace(spare, path)
    except BaseException:
        with contextlib.suppress(OSError):
            spare.unlink()
        raise


def one_line(exc: BaseException) -> str:
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
