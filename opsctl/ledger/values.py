"""The values the ledger hands out: a recorded :class:`Run`, a script's :class:`ScriptStats`,
the :class:`Process` that runs and the :class:`Holder` of a lock, and the two refusals of
:meth:`~opsctl.ledger.store.Ledger.start`. Rows never leave the ledger; these frozen values do.

Importing this module loads no SQLAlchemy, nor :mod:`typing` (its NamedTuple is
:mod:`opsctl.light`'s): ``list`` reads a thousand runs at a time.
"""

from __future__ import annotations

import datetime as _dt
import os

from ..light import NamedTuple

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


class Run(NamedTuple):
    """One recorded run. ``script`` is the key the script had when it ran."""

    id: int
    script: str
    sha256: str | None
    args: list[str]
    operator: str
    host: str
    pid: int
    started_at: _dt.datetime
    ended_at: _dt.datetime | None
    status: str
    exit_code: int | None
    dry_run: bool
    error: str | None
    output_tail: str | None
    git_revision: str | None
    git_dirty: bool | None
    environment: str | None
    reason: str | None
    summary: dict[str, Any]
    #: What opsctl itself observed about the run (schema 3), one sentence each.
    notes: tuple[str, ...] = ()

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, None while running."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def as_dict(self, *, output_tail: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 with ``+00:00``); without the output tail
        when ``output_tail`` is false (a summary of runs, such as ``list``'s)."""
        whole = {
            "id": self.id,
            "script": self.script,
            "sha256": self.sha256,
            "args": list(self.args),
            "operator": self.operator,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration": self.duration,
            "status": self.status,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "error": self.error,
            "output_tail": self.output_tail,
            "git_revision": self.git_revision,
            "git_dirty": self.git_dirty,
            "environment": self.environment,
            "reason": self.reason,
            "summary": dict(self.summary),
            "notes": list(self.notes),
        }
        if not output_tail:
            del whole["output_tail"]
        return whole


class Progress(NamedTuple):
    """A run's batches (schema 6, :mod:`.progress`): ``done`` items of ``total`` (None when
    not counted), the ``cursor`` its next batch starts from (JSON-ready: a keyset position, a
    row number, a count), when it was last written, the run it resumed, and a stop asked of
    it (``"pause"`` or ``"cancel"``, by ``requested_by``)."""

    run_id: int
    done: int
    total: int | None
    cursor: Any
    updated_at: _dt.datetime
    resumed_from: int | None = None
    request: str | None = None
    requested_by: str | None = None

    @property
    def fraction(self) -> float | None:
        """``done / total`` within 0..1; None when the total is unknown or zero."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


def newest_shards(children: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """Of a sharded run's children, each ``(run_id, shard, ...)``, the newest run of each
    shard: a shard resumed by another run is that run now (which carries its count)."""
    newest: dict[Any, Sequence[Any]] = {}
    for child in children:
        if child[1] not in newest or child[0] > newest[child[1]][0]:
            newest[child[1]] = child
    return list(newest.values())


def shards_summed(parent_id: int, children: Sequence[Sequence[Any]],
                  own: Progress | None = None) -> Progress:
    """A sharded run's progress: its children's, each ``(run_id, shard, done, total,
    updated_at)``, summed over the newest run of each shard (``total`` None unless each
    counted its own); the stop asked of the parent is its ``own``'s."""
    kept = newest_shards(children)
    totals = [c[3] for c in kept]
    return Progress(parent_id, sum(int(c[2]) for c in kept),
                    None if None in totals else sum(int(t) for t in totals), None,
                    max(c[4] for c in kept), None, own.request if own else None,
                    own.requested_by if own else None)


class ScriptStats(NamedTuple):
    """What the ledger knows about one script under its current key.

    ``runs`` counts every recorded run, dry runs included, and ``days``, ``operators``,
    ``first_at`` and ``last_at`` are theirs; ``succeeded`` counts the *uses*: succeeded runs
    that were not dry (those did the job), and ``used_days``, ``used_by`` and
    ``last_used_at`` are theirs. ``last_real_at`` is when the newest run that was not dry
    started, whatever its outcome. ``other_runs`` counts the runs that were no use by what
    they were: ``dry`` (any outcome), else their status (``failed``, ``interrupted``,
    ``lost``, ``running``). Days are local calendar dates of the machine asking.
    ``running`` is true while a run holds a live lock.
    """

    key: str
    runs: int
    succeeded: int
    days: frozenset[_dt.date]
    operators: frozenset[str]
    first_at: _dt.datetime | None
    last_at: _dt.datetime | None
    running: bool
    used_days: frozenset[_dt.date] = frozenset()
    used_by: frozenset[str] = frozenset()
    last_used_at: _dt.datetime | None = None
    last_real_at: _dt.datetime | None = None
    other_runs: tuple[tuple[str, int], ...] = ()


class Process(NamedTuple):
    """Who is running: written into a run row and its lock."""

    operator: str
    host: str
    pid: int
    node: str
    pid_started: str | None

    @classmethod
    def current(cls, operator: str) -> Process:
        pid = os.getpid()
        import socket  # on use: a reader of runs never needs it

        from .processes import node_id, process_start

        return cls(operator, socket.gethostname(), pid, node_id(), process_start(pid))


class Holder(NamedTuple):
    """The run holding a script's lock."""

    script: str
    run_id: int
    operator: str
    host: str
    node: str
    pid: int
    pid_started: str | None
    since: _dt.datetime
    heartbeat_at: _dt.datetime
    #: A sharded run's parent: its lock lives through its shards, not its (exited) process.
    sharded: bool = False

    def describe(self) -> str:
        from ..output import local

        since = local(self.since, seconds=True)
        if self.sharded:
            return (f"run {self.run_id} by {self.operator}, sharded: its shards hold it, "
                    f"since {since}")
        return (f"run {self.run_id} by {self.operator} on {self.host} (pid {self.pid}) "
                f"since {since}")


class Ended(NamedTuple):
    """Where the end of a run went (:meth:`~opsctl.ledger.ends.Ends.end`).

    ``how``: ``"recorded"`` in the ledger; ``"taken over"``, recorded, but its lock had been
    taken over as stale meanwhile; ``"journaled"``, kept in the local journal at ``path``
    because the ledger could not take it (``problem`` says why), to be recorded by the next
    command that opens the ledger; ``"not kept"``, neither (``journal_problem`` says why the
    journal could not take it either).
    """

    how: str
    path: str | None = None
    problem: str | None = None
    journal_problem: str | None = None


class Replayed(NamedTuple):
    """An entry of the local journal, looked at when the ledger was opened.

    ``what``: ``"recorded"`` (now in the ledger), ``"already"`` (it was: a replay cut short
    before deleting the file), ``"unknown run"`` (the ledger has no such run: kept), or
    ``"unreadable"`` (not an entry opsctl can read: kept).
    """

    path: str
    what: str
    run_id: int | None = None
    script: str | None = None
    status: str | None = None
    #: True for a run written whole (its import raised), False for the end of a started run.
    whole: bool = False


class AlreadySucceeded(Exception):
    """Raised by :meth:`~opsctl.ledger.store.Ledger.start` with ``once=True`` when the
    script already succeeded, or may have: ``run.status`` is then ``lost`` or ``running``
    (its last run's outcome is unknown)."""

    def __init__(self, run: Run) -> None:
        super().__init__(f"run {run.id} succeeded")
        self.run = run


class LockBusy(Exception):
    """Raised by :meth:`~opsctl.ledger.store.Ledger.start` when a live run holds the
    script's lock."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(holder.describe())
        self.holder = holder
