"""Absorb: once a person has folded one script's purpose into another of the same kind, the
other goes and the ledger records that its history now belongs to the one kept.

``opsctl absorb KEEP OTHER`` removes OTHER (``git rm`` when git tracks it, so git keeps what
it held) and records an absorption (:meth:`~opsctl.ledger.lineage.Lineage.record_absorb`):
``history KEEP`` then shows OTHER's runs, marked as absorbed, an ``unrecycle/`` OTHER's
succeeded run counts for KEEP's run-once, and a lock under OTHER's name still counts for
KEEP. All or nothing, as a move: the file goes first and is put back if the ledger cannot
record it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..catalogue import Script
from ..errors import OpsctlError
from ..gitops import GitError, WorkTree, work_tree
from ..ledger.facts import ledger_exists
from .book import ledger
from .moves import Holders, MoveFailed, ScriptGone, one_line, refuse_running

if TYPE_CHECKING:
    from ..config import Config
    from ..ledger.values import Run


class AbsorbRefused(OpsctlError):
    """The two scripts cannot be one: the same file, different kinds, uncommitted changes."""


@dataclass(frozen=True)
class Absorb:
    """One planned absorption: ``other`` goes, its history becomes ``keep``'s."""

    keep: Script
    other: Script

    def as_dict(self) -> dict[str, Any]:
        return {"keep": self.keep.display, "other": self.other.display}


_ARTICLE = {"recycle": "a recycle", "unrecycle": "an unrecycle", "temporary": "a temporary"}


def plan_absorb(keep: Script, other: Script) -> Absorb:
    """Check that ``other`` may be absorbed into ``keep``; raises :class:`AbsorbRefused`."""
    if keep.key == other.key or _same_file(keep.path, other.path):
        raise AbsorbRefused(f"{keep.display} and {other.display} are the same script; absorb "
                            "folds one script into another")
    if keep.kind != other.kind:
        raise AbsorbRefused(f"{other.display} is {_ARTICLE[other.kind]} script and "
                            f"{keep.display} {_ARTICLE[keep.kind]} one: absorb folds "
                            "a script into one of the same kind; promote or demote it first")
    return Absorb(keep, other)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class AbsorbBook(Holders, Protocol):
    """What an absorption needs of the run ledger (:class:`~opsctl.ledger.store.Ledger` is
    one): who runs OTHER now, its runs, and a place to record the absorption."""

    def runs(self, key: str | None = None, *, status: str | None = None,
             limit: int | None = None, follow_moves: bool = True) -> list[Run]: ...

    def record_absorb(self, other_key: str, keep_key: str, operator: str) -> None: ...


@dataclass(frozen=True)
class Absorbed:
    """What an absorption did (or, checked, would do): how ``other`` is removed (``git rm``
    or ``delete``), how many runs it hands over, and whether one of them succeeded for real
    (an ``unrecycle/`` script's run-once)."""

    absorb: Absorb
    method: str
    runs: int
    succeeded: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.absorb.as_dict(), "method": self.method, "runs": self.runs,
                "succeeded": self.succeeded}


def _ready(absorb: Absorb, book: AbsorbBook | None) -> tuple[WorkTree | None, str]:
    """Everything that must hold before anything changes; the work tree and the method."""
    for script in (absorb.other, absorb.keep):
        if not os.path.isfile(script.path):
            raise ScriptGone(f"{script.display} is gone: {script.rel} no longer exists (moved "
                             "or deleted since it was named); nothing changed")
    if book is not None:
        refuse_running(book, absorb.other, "absorb")
    path = absorb.other.path
    tree = work_tree(path.parent)
    if tree is None or not tree.tracked([path]):
        return None, "delete"
    if tree.changed([path]):
        raise AbsorbRefused(f"{absorb.other.display} has changes git has not committed; "
                            "commit or discard them first, so that git keeps what it held; "
                            "nothing changed")
    return tree, "git rm"


def _handed_over(absorb: Absorb, book: AbsorbBook | None) -> tuple[int, bool]:
    if book is None:
        return 0, False
    runs = book.runs(absorb.other.key)
    return len(runs), any(r.status == "succeeded" and not r.dry_run for r in runs)


def check_absorb(absorb: Absorb, *, config: Config) -> Absorbed:
    """What :func:`apply_absorb` would do, refusing as it would; changes nothing (and creates
    no ledger)."""
    if not ledger_exists(config):
        return Absorbed(absorb, _ready(absorb, None)[1], 0, False)
    with ledger(config, create=False) as book:
        _, method = _ready(absorb, book)
        return Absorbed(absorb, method, *_handed_over(absorb, book))


def perform_absorb(absorb: Absorb, *, book: AbsorbBook, operator: str) -> Absorbed:
    """Remove ``other``, then record the absorption in ``book`` as ``operator``; all or
    nothing: if recording fails, ``other`` is put back as it was (in git's index too)."""
    tree, method = _ready(absorb, book)
    runs, succeeded = _handed_over(absorb, book)
    path = absorb.other.path
    saved = path.read_bytes(), os.stat(path)
    try:
        if tree is not None:
            tree.remove([path])
        else:
            path.unlink()
    except GitError as exc:
        raise MoveFailed(f"{exc.message}; nothing changed") from exc
    try:
        book.record_absorb(absorb.other.key, absorb.keep.key, operator)
    except BaseException as exc:
        try:
            _put_back(path, saved, tree)
        except Exception as undo:  # noqa: BLE001 - whatever it was, the user must know
            raise MoveFailed(f"the absorb of {absorb.other.display} could not be recorded "
                             f"({one_line(exc)}) and putting it back failed "
                             f"({one_line(undo)}); restore {absorb.other.rel} by hand"
                             + (" (git checkout HEAD -- <path>)" if tree else "")) from exc
        if isinstance(exc, Exception):
            raise MoveFailed(f"could not record the absorb in the ledger ({one_line(exc)}); "
                             f"{absorb.other.display} was put back, nothing changed") from exc
        raise  # Ctrl-C while recording: the file is back, let the interrupt through
    return Absorbed(absorb, method, runs, succeeded)


def _put_back(path: Path, saved: tuple[bytes, os.stat_result], tree: WorkTree | None) -> None:
    if tree is not None:
        tree.restore(path)
        return
    data, stat = saved
    with path.open("xb") as fh:
        fh.write(data)
    os.chmod(path, stat.st_mode & 0o7777)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


_ABSORB_REFUSAL = "nothing was absorbed, since history only follows what the ledger records"


def apply_absorb(absorb: Absorb, *, config: Config, operator: str) -> Absorbed:
    """Perform ``absorb`` as ``operator`` in the project's ledger; all or nothing.

    What can be refused without the ledger is refused before it is opened (and, the first
    time, created); then the ledger is opened before anything changes, so an unreachable
    ledger refuses with the tree untouched.
    """
    _ready(absorb, None)
    with ledger(config, refusal=_ABSORB_REFUSAL) as book:
        return perform_absorb(absorb, book=book, operator=operator)
