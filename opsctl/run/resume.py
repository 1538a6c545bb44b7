"""``opsctl run --resume [RUN_ID]``: which run is resumed, and what the new run takes from it.

Without an id, the newest unfinished run (``failed``, ``interrupted``, ``lost``, ``paused``) of
the script named is resumed. The new run is a run like any other (run-once and the lock
apply) of the same script with the same arguments (unless new ones are given after the script
name), the same reason (unless ``--reason``), dry when the run resumed was; its batches start
after the resumed run's last checkpoint, with its items done carried over. A run already
resumed by another is refused: resume the newest of the chain (a dry run that resumed a real
one, a preview, does not count for a real resume).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ..errors import OpsctlError
from ..ledger.facts import UNFINISHED
from .course import Start
from .secrets import MASK

if TYPE_CHECKING:
    from ..catalogue import Catalogue, Script
    from ..ledger.store import Ledger
    from ..ledger.values import Run
    from .args import RunOptions


class NothingToResume(OpsctlError):
    """``--resume`` names no run that can be resumed."""


class Resumed(NamedTuple):
    """The run resumed, the script and arguments the new run has, and where it starts."""

    run: Run
    script: Script
    args: list[str]
    start: Start


def resumed(ledger: Ledger, catalogue: Catalogue, script: Script | None, args: list[str],
            options: RunOptions, *, shards: bool = False) -> tuple[Resumed, RunOptions]:
    """The run ``options.resume`` names (``""``: the newest unfinished run of ``script``),
    and the options of the new run. A shard of a sharded run is resumed only with
    ``shards`` (on a queue, where the new run goes on as that shard)."""
    from ..catalogue import printable

    # A run that died without a word (kill -9, a crash) shows as running until its lock is
    # taken over: take over the locks of dead holders first, so that it is lost, and resumable.
    ledger.reap()
    wanted = options.resume or ""
    if wanted:
        if not wanted.isdigit():
            raise NothingToResume(f"--resume takes a run id, not {wanted!r}")
        run = ledger.run(int(wanted))
        if run is None:
            raise NothingToResume(f"--resume {wanted}: there is no run {wanted} in the ledger")
        if script is not None and run.script not in ledger.aliases(printable(script.key)):
            raise NothingToResume(f"--resume {wanted}: run {wanted} is a run of {run.script}, "
                                  f"not of {printable(script.key)}")
    else:
        if script is None:
            raise NothingToResume("--resume: name the script, or the run to resume "
                                  "(--resume RUN_ID)")
        key = printable(script.key)
        found = None
        for candidate in ledger.iter_runs(key):  # newest first; the stream ends at the break
            if candidate.status in UNFINISHED:
                found = candidate
                break
        if found is None:
            raise NothingToResume(f"--resume: {key} has no unfinished run to resume "
                                  f"({', '.join(UNFINISHED)})")
        run = found
    if run.status not in UNFINISHED:
        state = "is still running" if run.status == "running" else f"ended {run.status}"
        raise NothingToResume(f"--resume: run {run.id} of {run.script} {state}: only a "
                              f"{', '.join(UNFINISHED[:-1])} or {UNFINISHED[-1]} run "
                              "can be resumed")
    shard = ledger.shard_of(run.id)
    if shard is not None and not (shards or options.queued is not None and options.queued.shard):
        raise NothingToResume(f"--resume: run {run.id} is shard {shard[1]}/{shard[2]} of run "
                              f"{shard[0]}: resume it on a queue (opsctl run --queue NAME "
                              f"--resume {run.id}), where it goes on as that shard, in its "
                              "own part of the keys")
    children = ledger.children(run.id)
    if children:
        left = [str(c.id) for c in children if c.status in UNFINISHED
                and not ledger.resumed_by(c.id)]
        which = f"resume the shards that did not succeed (runs {', '.join(left)}) one by one" \
            if left else "each of its shards has ended or was resumed"
        raise NothingToResume(f"--resume: run {run.id} is a sharded run: {which}, with "
                              "opsctl run --queue NAME --resume CHILD_ID")
    dry = options.dry_run or run.dry_run
    later = [r for r in ledger.resumed_by(run.id) if dry or not _dry(ledger, r)]
    if later:
        raise NothingToResume(f"--resume: run {run.id} was already resumed by run {later[-1]}; "
                              f"resume that one (--resume {later[-1]})")
    if script is None:
        try:
            script = catalogue.resolve(run.script)
        except OpsctlError:
            raise NothingToResume(f"--resume {run.id}: run {run.id}'s script {run.script} is not "
                                  f"there any more; if it was moved, name it: --resume {run.id} "
                                  "NEW_NAME") from None
    if not args:
        if any(MASK in arg for arg in run.args):
            raise NothingToResume(
                f"--resume: run {run.id}'s arguments were recorded with secret values hidden "
                f"({MASK}); give the arguments again after the script name")
        args = list(run.args)
    progress = ledger.progress(run.id)
    # Progress without a cursor is a track() loop's (a batches() loop has one from its first
    # checkpoint on): nothing a resume goes on from, so nothing done is carried over either.
    start = Start(resumed_from=run.id) if progress is None or progress.cursor is None else \
        Start(done=progress.done, cursor=progress.cursor, total=progress.total,
              resumed_from=run.id)
    new = options._replace(reason=options.reason if options.reason is not None else run.reason,
                           dry_run=dry)
    return Resumed(run, script, args, start), new


def _dry(ledger: Ledger, run_id: int) -> bool:
    """Whether run ``run_id`` was a dry run: a dry resume of a real run (a preview) changed
    nothing, so the real run can still be resumed for real."""
    found = ledger.run(run_id)
    return found is not None and found.dry_run
