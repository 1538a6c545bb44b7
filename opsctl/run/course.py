"""A run's course through its items: where it starts (the checkpoint of the run it resumes),
how far it has got, its checkpoints in the ledger, and when it must stop or slow down.

The runner gives each run a :class:`Course` (:func:`begin`); :func:`~opsctl.run.batches.
batches` and :func:`~opsctl.run.api.track` report to it, and ``current_run().progress`` reads
it. At each batch boundary :meth:`Course.boundary` raises :class:`Stop` when the run must end
there: ``--limit`` reached (``paused``), or ``opsctl pause``/``opsctl cancel`` asked of it
through the ledger by any process (``paused``/``cancelled``). Then it sleeps as ``--throttle``,
``--max-rate`` and ``batches(..., pause=)`` say.

A checkpoint or a stop request that the ledger cannot take or tell is not a reason to stop
the script: it is said once on stderr, and the run goes on (a resume then starts from the last
checkpoint that was written, which skips nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import output
from ..errors import CANCELLED, PAUSED

if TYPE_CHECKING:
    from ..ledger.store import Ledger

#: A ``track()`` loop writes its progress at most this often (and once at its end).
TRACK_WRITE_SECONDS = 1.0
#: After the ledger failed a checkpoint, it is left alone this long: the batches go on at
#: their pace instead of each waiting out the outage (``ledger_retry_seconds``).
QUIET_SECONDS = 10.0


class Stop(BaseException):  # noqa: N818 - not an error: the run ends where it was asked to
    """The run ends at this batch boundary, ``paused`` (resumable) or ``cancelled``.

    A BaseException, as KeyboardInterrupt is: a script's ``except Exception`` does not keep
    it from ending the run.
    """

    def __init__(self, status: str, why: str, resumes: str = "goes on from there") -> None:
        super().__init__(why)
        self.status = status
        self.why = why
        #: What ``--resume`` then does (a track() loop keeps no cursor to go on from).
        self.resumes = resumes

    @property
    def exit_code(self) -> int:
        return PAUSED if self.status == "paused" else CANCELLED


class Start(NamedTuple):
    """Where a run's items start: the checkpoint of the run it resumes (nothing done else)."""

    done: int = 0
    cursor: Any = None
    total: int | None = None
    resumed_from: int | None = None


class Shard(NamedTuple):
    """The run is shard ``number/shards`` (from 1) of run ``parent_id``, a sharded run: its
    ``batches()`` loop pages only its ``key_range`` (``[lo, hi)``, None for an open end;
    None itself until the split is known) of the query's key (:mod:`.shards`)."""

    parent_id: int
    number: int
    shards: int
    key_range: Any = None


class RunProgress(NamedTuple):
    """``current_run().progress``: items done (those of the run resumed included), the
    total when counted, and the cursor the next batch starts from."""

    done: int = 0
    total: int | None = None
    cursor: Any = None


class Course:
    """One run's progress, checkpoints, stops and pace."""

    def __init__(self, ledger: Ledger | None, run_id: int | None, *, start: Start | None = None,
                 limit: int | None = None, throttle: float | None = None,
                 max_rate: float | None = None, dry_run: bool = False) -> None:
        self.ledger = ledger if run_id is not None else None
        self.run_id = run_id
        self.start = start = start or Start()
        self.limit = limit
        self.throttle = throttle
        self.max_rate = max_rate
        self.dry_run = dry_run
        self.done = start.done
        self.total = start.total
        self.cursor = start.cursor
        #: A batches() loop owns the progress row (a track() loop then records nothing).
        self.looping = False
        #: A shard of a sharded run: the part of the key space its batches() loop pages.
        self.shard: Shard | None = None
        #: In a dry run: rolls back what the batch before did (the dry-run guard's rewind).
        self.rewind: Any = None
        #: Told of each batch done, ``progress=``: the runner sends ``run_checkpoint``
        #: (:mod:`.events`).
        self.on_checkpoint: Any = None
        self._warned = False
        #: The ledger failed: checkpoints and stop requests wait until then (monotonic).
        self._quiet_until = 0.0
        self._track_written = 0.0
        #: The stop request read with the checkpoint just written (one round trip for both),
        #: which the boundary that follows uses instead of reading it again: a call that
        #: gives it (reading the answer to a checkpoint sent and not waited for); None: not
        #: read.
        self._told: Callable[[], str | None] | None = None
        #: The loop's count running apart until its total is known (:mod:`.counting`).
        self.counting: Any = None

    @property
    def progress(self) -> RunProgress:
        return RunProgress(self.done, self.total, self.cursor)

    # ------------------------------------------------------------------ batches()

    def claim(self) -> Start:
        """A batches() loop starts: where it starts from. One loop per run: a second one
        would move the one cursor a resume starts from."""
        if self.looping:
            raise RuntimeError(
                "opsctl.batches(): a run has one batches() loop (its checkpoint is the one "
                "cursor a resume starts from); run a second loop as a script of its own")
        self.looping = True
        return self.start

    def begin(self, total: int | None, cursor: Any) -> None:
        """The loop's first checkpoint, before its first batch: what it starts from."""
        self.total, self.cursor = total, cursor
        self._told = None
        if self.ledger is not None and self.run_id is not None:
            ledger, run_id = self.ledger, self.run_id
            self._quietly(lambda: ledger.begin_progress(
                run_id, total=total, done=self.done, cursor=cursor,
                resumed_from=self.start.resumed_from))

    def advanced(self, done: int, cursor: Any, *, written: bool = False) -> None:
        """A batch is done: remember it, roll it back in a dry run, and write its checkpoint
        unless ``written`` (in the script's own transaction, :mod:`.exactly`)."""
        self.done, self.cursor = done, cursor
        # A total to write: rows inserted during the run, or the count apart just known.
        retotal = self.total is not None and done > self.total
        if retotal:
            self.total = done
        retotal = (self.counting is not None and self._counted(wait=False)) or retotal
        if self.rewind is not None:
            self.rewind()
        if not written and self.ledger is not None and self.run_id is not None:
            ledger, run_id, total = self.ledger, self.run_id, self.total if retotal else None
            # Sent, and its answer read at the next boundary, after the next page is read.
            sent = self._quietly(lambda: ledger.send_checkpoint(
                run_id, done=done, cursor=cursor, total=total))
            self._told = sent if sent is not None else _nothing
        if self.on_checkpoint is not None:
            self.on_checkpoint(progress=self.progress)

    def settle(self, ended: bool = True) -> None:
        """The loop has ended: read the answer to the last checkpoint sent, if any (it is
        written; a failure is said as any checkpoint's). The total of a count running apart
        is written when known, waited for when the loop ``ended`` (no page left: the count
        had as long as the pages took); a stop or an error does not wait for it."""
        told, self._told = self._told, None
        if told is not None:
            self._quietly(told)
        if self.counting is not None and self._counted(wait=ended) and \
                self.ledger is not None and self.run_id is not None:
            ledger, run_id = self.ledger, self.run_id
            self._quietly(lambda: ledger.checkpoint(run_id, done=self.done, cursor=self.cursor,
                                                    total=self.total))
        self.counting = None

    def _counted(self, *, wait: bool) -> bool:
        """Whether the count running apart has just given the total (``wait``: wait for it)."""
        pending = self.counting
        if not (wait or pending.ready()):
            return False
        self.counting = None
        found = pending.total(self.done)
        if found is not None:
            self.total = found
        return found is not None

    def room(self) -> int | None:
        """Items this run may still take under ``--limit``; None without a limit."""
        if self.limit is None:
            return None
        return max(0, self.limit - (self.done - self.start.done))

    def boundary(self, more: Any) -> None:
        """At a batch boundary: raise :class:`Stop` when a stop was asked through the ledger,
        or when ``--limit`` is reached and ``more()`` says items remain."""
        self._asked()
        if self.room() == 0 and more():
            own = self.done - self.start.done  # --limit counts this run's items
            carried = f"; {self.done:,} done with the runs resumed" if self.start.done else ""
            raise Stop("paused", f"paused after {_items(own)} (--limit {self.limit:,}{carried})")

    def _asked(self, resumes: str = "goes on from there") -> None:
        """Raise :class:`Stop` when ``opsctl pause``/``cancel`` asked it through the ledger."""
        told, self._told = self._told, None
        if self.ledger is not None and self.run_id is not None:
            ledger, run_id = self.ledger, self.run_id
            asked = self._quietly(told) if told is not None else \
                self._quietly(lambda: ledger.requested(run_id))
            if asked in ("cancel", "pause"):
                status = "cancelled" if asked == "cancel" else "paused"
                found = self._quietly(lambda: ledger.progress(run_id))
                by = f", as {found.requested_by} asked" if found and found.requested_by else ""
                raise Stop(status, f"{status} after {_items(self.done)}{by}", resumes)

    def paced(self, pause: float | None) -> bool:
        """Whether a batch is followed by a sleep (so whether to look for a next one)."""
        return bool(pause or self.throttle or self.max_rate)

    def rest(self, items: int, began: float, pause: float | None) -> None:
        """Sleep between batches: ``pause`` (the loop's own) or ``--throttle`` seconds, and
        as long as ``--max-rate`` items per second needs after a batch of ``items`` begun at
        ``began`` (``time.monotonic()``)."""
        wait = max(pause or 0.0, self.throttle or 0.0)
        if self.max_rate:
            wait = max(wait, items / self.max_rate - (time.monotonic() - began))
        if wait > 0:
            time.sleep(wait)

    # ------------------------------------------------------------------ track()

    def tracked(self, done: int, total: int | None, *, first: bool = False,
                last: bool = False) -> None:
        """A track() loop's progress: recorded unless a batches() loop owns it; written at
        most every :data:`TRACK_WRITE_SECONDS`, and at the loop's end. A stop asked through the
        ledger is looked for at each write in the loop (a track() loop has no cursor: its
        resume starts again from its first item)."""
        if self.looping:
            return
        self.done, self.total = done, total
        if self.ledger is None or self.run_id is None:
            return
        now = time.monotonic()
        if not (first or last or now - self._track_written >= TRACK_WRITE_SECONDS):
            return
        self._track_written = now
        ledger, run_id = self.ledger, self.run_id
        if first:
            self._quietly(lambda: ledger.begin_progress(
                run_id, total=total, done=0, resumed_from=self.start.resumed_from))
        else:
            asked = self._quietly(lambda: ledger.checkpoint(run_id, done=done, total=total))
            if not last:
                self._told = lambda: asked
                self._asked("starts it again from its first item (track() keeps no cursor)")

    # ------------------------------------------------------------------

    def _quietly(self, work: Any) -> Any:
        """``work()`` on the ledger; when it fails, said once, and the ledger is left alone
        for :data:`QUIET_SECONDS` (each attempt may wait out an outage first)."""
        if time.monotonic() < self._quiet_until:
            return None
        try:
            return work()
        except Exception as exc:  # the ledger's trouble never stops the script
            self._quiet_until = time.monotonic() + QUIET_SECONDS
            if not self._warned:
                self._warned = True
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                output.warn(f"the run's progress could not be recorded in the ledger ({first}); "
                            "the run goes on, and a resume starts from the last checkpoint "
                            "recorded")
            return None


def _nothing() -> None:
    """What a checkpoint the ledger could not take read: no stop."""


def _items(count: int) -> str:
    return f"{count:,} item{'' if count == 1 else 's'}"


_current: Course | None = None


def current() -> Course | None:
    """The course of the run in progress in this process; None outside a run."""
    return _current


def begin(course: Course) -> None:
    global _current
    _current = course


def end() -> None:
    global _current
    _current = None
