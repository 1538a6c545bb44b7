"""How far a run with batches has got, as ``history`` tells it: ``45% 4,500/10,000, ~3 min
left``, the time left from the rate so far, the lines ``history --run ID`` adds (the cursor,
the run it resumed, the runs that resumed it, a stop asked of it) and the line a run's end
gets in ``history --follow`` and ``pause --wait``.

Pure functions of the ledger's values (:class:`~.ledger.values.Run`,
:class:`~.ledger.values.Progress`); importing this module loads nothing but the standard
library, so ``history`` stays as fast with progress as without.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .output import local

if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Callable, Iterable, Sequence

    from .ledger.values import Progress, Run

#: The runs whose progress the history table shows (``--json`` and ``--run`` show any run's).
WITH_PROGRESS = ("running", "paused")
#: What a running run shows while a stop asked of it waits for its next batch boundary.
STOPPING = {"pause": "pausing", "cancel": "cancelling"}


def rate_since_start(run: Run, progress: Progress, carried: int = 0) -> float | None:
    """Items per second since the run started, at its last checkpoint; ``carried`` is what
    the run it resumed had done (a resumed run's count starts there). None when unknown."""
    elapsed = (progress.updated_at - run.started_at).total_seconds()
    done = progress.done - carried
    return done / elapsed if elapsed > 0 and done > 0 else None


def rate_of(samples: Sequence[tuple[_dt.datetime, int]]) -> float | None:
    """Items per second between the first and the last of some checkpoints (when written,
    items done); None unless they span some time and some items."""
    if len(samples) < 2:
        return None
    (first_at, first), (last_at, last) = samples[0], samples[-1]
    elapsed = (last_at - first_at).total_seconds()
    return (last - first) / elapsed if elapsed > 0 and last > first else None


def seconds_left(progress: Progress, rate: float | None) -> float | None:
    """The time the items not done yet take at ``rate``; None without a total or a rate."""
    if rate is None or not progress.total or progress.done >= progress.total:
        return None
    return (progress.total - progress.done) / rate


def left_text(seconds: float) -> str:
    """``~40 s left``, ``~3 min left``, ``~2 h 10 min left``, ``~3 days left``."""
    if seconds < 60:
        return f"~{max(1, round(seconds))} s left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"~{minutes} min left"
    if minutes < 48 * 60:
        hours, minutes = divmod(minutes, 60)
        return f"~{hours} h {minutes} min left" if minutes else f"~{hours} h left"
    return f"~{round(minutes / 1440)} days left"


def amount(progress: Progress) -> str:
    """``45% 4,500/10,000``, or ``4,500 done`` when the total is not known. The percentage
    rounds down: a run is never shown 100% before its last item."""
    fraction = progress.fraction
    if fraction is None or progress.total is None:
        return f"{progress.done:,} done"
    return f"{int(fraction * 100)}% {progress.done:,}/{progress.total:,}"


def text(run: Run, progress: Progress, rate: float | None = None) -> str:
    """The progress cell of a run: :func:`amount`, and while it runs the time left at
    ``rate`` and a stop asked of it (``pausing``, ``cancelling``)."""
    parts = [amount(progress)]
    if run.status == "running":
        left = seconds_left(progress, rate)
        if left is not None:
            parts.append(left_text(left))
        if progress.request in STOPPING:
            parts.append(STOPPING[progress.request])
    return ", ".join(parts)


def as_json(progress: Progress) -> dict[str, Any]:
    """The ``progress`` object of a run in ``history --json``."""
    return {"done": progress.done, "total": progress.total, "cursor": progress.cursor,
            "updated_at": progress.updated_at.isoformat(),
            "resumed_from": progress.resumed_from, "request": progress.request,
            "requested_by": progress.requested_by}


def detail_lines(run: Run, progress: Progress | None, resumed_by: Sequence[int],
                 rate: float | None = None) -> list[str]:
    """What ``history --run ID`` adds for a run with batches: its progress and last
    checkpoint, the cursor its next batch starts from, the run it resumed, a stop asked of
    it, and the runs that resumed it."""
    lines = []
    if progress is not None:
        lines.append(f"  progress:     {text(run, progress, rate)} (last checkpoint "
                     f"{local(progress.updated_at, True)})")
        if progress.cursor is not None:
            lines.append(f"  cursor:       {json.dumps(progress.cursor, ensure_ascii=False)}")
        if progress.resumed_from is not None:
            lines.append(f"  resumed from: run {progress.resumed_from}")
        if progress.request:
            by = f" by {progress.requested_by}" if progress.requested_by else ""
            lines.append(f"  stop asked:   {progress.request}{by}")
    if resumed_by:
        lines.append(f"  resumed by:   {', '.join(f'run {n}' for n in resumed_by)}")
    return lines


def shard_lines(shard: tuple[int, str, Any] | None,
                shards: Sequence[tuple[Run, str, Progress | None]]) -> list[str]:
    """What ``history --run ID`` adds for a shard (its parent and key range) and for a
    sharded run (a line per child: its shard, status and progress)."""
    lines = []
    if shard is not None:
        parent, label, keys = shard
        where = f", keys {keys_words(keys)}" if keys is not None else ""
        lines.append(f"  shard:        {label} of run {parent}{where}")
    if shards:
        lines.append(f"  shards:       {shards[0][1].partition('/')[2]}")
    for child, label, progress in shards:
        done = f"  {text(child, progress)}" if progress is not None else ""
        lines.append(f"    run {child.id}  shard {label}  {child.status}{done}")
    return lines


def keys_words(keys: Sequence[Any] | None) -> str | None:
    """A shard's key range ``[lo, hi)`` in words, ``>= 100, < 200`` (``all`` with both ends
    open); None while it has none."""
    if keys is None:
        return None
    return ", ".join(f"{sign} {k}" for sign, k in zip((">=", "<"), keys, strict=True)
                     if k is not None) or "all"


def end_line(run: Run, progress: Progress | None) -> str:
    """A run's end in one line: ``run 12 paused (exit 80) at 45% 4,500/10,000; resume it
    with: opsctl run --resume 12``."""
    status = f"{run.status} (dry)" if run.dry_run else run.status
    code = "no exit code" if run.exit_code is None else f"exit {run.exit_code}"
    line = f"run {run.id} {status} ({code})"
    if progress is not None:
        line += f" at {amount(progress)}"
    if run.status == "paused":
        line += f"; resume it with: opsctl run --resume {run.id}"
    return line


def cells(progress_of: Callable[[Iterable[int]], dict[int, Progress]],
                   runs: list[Run]) -> dict[int, str]:
    """The progress cell of each running or paused run of ``runs`` that has batches; the
    time left from its rate since it started (a resumed run's from the items it did
    itself: one more query, for the runs they resumed, when some were)."""
    ids = [r.id for r in runs if r.status in WITH_PROGRESS]
    found = progress_of(ids) if ids else {}
    by_id = {r.id: r for r in runs}
    origins = [p.resumed_from for p in found.values()
               if p.resumed_from is not None and by_id[p.run_id].status == "running"]
    carried = {n: p.done for n, p in progress_of(origins).items()} if origins else {}
    out = {}
    for n, progress in found.items():
        origin = progress.resumed_from
        rate = rate_since_start(by_id[n], progress, carried.get(origin, 0) if origin else 0)
        out[n] = text(by_id[n], progress, rate)
    return out
