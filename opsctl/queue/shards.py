"""``opsctl run --queue NAME --shards N``: one run cut into N child runs that the queue's
workers run side by side, each paging its own range of the script's ``batches()`` key.

Asking writes the parent run ``queued`` with the script's lock taken (a live run of the
script refuses it, and it refuses any other run of the script until it ends: see
:mod:`opsctl.ledger.sharded` for how its lock stays alive once the asking process has
exited), then N child runs ``queued``, linked to it as shards ``1/N`` .. ``N/N``, and puts a
job on the queue for each. A child is a queued run like any (its own row, heartbeat,
checkpoints, ``lost`` when its worker dies, resumable with ``--resume``); the parent ends
with its last child, ``succeeded`` only if every child did.

A shard resumed (``opsctl run --queue NAME --resume CHILD``) goes on as the same shard of
the same parent, from its checkpoint and in its range; a parent that had ended meanwhile
runs again until it does (:meth:`~opsctl.ledger.sharded.Sharded.relink`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dispatch import engine_of, importable, payload_of, queued_note
from .targets import target
from .worker import job_id

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import CodeType

    from ..catalogue import Script
    from ..ledger.store import Ledger
    from ..ledger.values import Run
    from ..project import Project
    from ..run.args import RunOptions
    from .targets import Engine, Target



def dispatch_sharded(project: Project, script: Script, args: Sequence[str],
                     options: RunOptions, queue: str, shards: int, *,
                     allow_changed: bool = False) -> tuple[Run, list[Run]]:
    """Record a sharded run of ``script`` (its parent, with the lock, and ``shards`` child
    runs, all ``queued``) and put a job on ``queue`` for each child; the parent and the
    children."""
    from ..catalogue import printable
    from ..errors import LockHeld
    from ..gitops import GitProbe
    from ..ledger.store import open_ledger
    from ..ledger.values import AlreadySucceeded, LockBusy, Process
    from ..run.locks import run_once_refused
    from ..run.script import compile_script
    from ..run.secrets import redact

    found = target(project.config.queues, queue)
    engine = engine_of(found)
    importable(project)
    git = GitProbe(project.dir)
    try:
        engine.reachable(found)
        entry = compile_script(script)
        if "batches" not in _names(entry.code):
            import click

            raise click.UsageError(f"{script.display} has no batches() loop: a sharded run "
                                   "cuts the keys of its batches() loop into ranges, one a "
                                   "shard (each shard would run it whole); run it unsharded")
        with open_ledger(project.config) as ledger:
            key = printable(script.key)
            revision, dirty = git.result()
            process = Process.current(project.identity.name)
            stored = redact(args, project.config.secret_options)
            try:
                parent = ledger.open_parent(
                    script=key, process=process, args=stored, sha256=entry.sha256,
                    dry_run=options.dry_run, git_revision=revision, git_dirty=dirty,
                    reason=options.reason, once=script.kind == "unrecycle" and not options.force,
                    notes=[f"sharded: {shards} shards on queue {found.name}"])
            except AlreadySucceeded as done:
                raise run_once_refused(script, done.run) from None
            except LockBusy as busy:
                raise LockHeld(f"{script.display} is locked by {busy.holder.describe()}; a "
                               "sharded run takes the script's lock as any run does: try "
                               "again once it has ended") from None
            children: list[tuple[Run, str]] = []
            pending: Run | None = None  # written, not linked yet
            try:
                for index in range(1, shards + 1):
                    job = job_id()
                    child = pending = ledger.enqueue(script=key, process=process, args=stored,
                                           sha256=entry.sha256, dry_run=options.dry_run,
                                           git_revision=revision, git_dirty=dirty,
                                           reason=options.reason,
                                           notes=[queued_note(found.name, job, process)])
                    ledger.link_shard(child.id, parent_id=parent.id, index=index,
                                      count=shards)
                    children.append((child, job))
                    pending = None
            except BaseException as exc:  # Ctrl-C, the ledger gone: nothing left queued
                from ..errors import stopped_code

                why = f"not queued: stopped ({type(exc).__name__}) before its shards were"
                code = stopped_code(exc)
                if pending is not None:
                    ledger.drop_queued(pending.id, exit_code=code, error=why)
                for child, _ in children:  # the last of them ends the parent
                    ledger.drop_queued(child.id, exit_code=code, error=why)
                if not children:  # its lock, its asker gone, is taken over by the next look
                    ledger.drop_queued(parent.id, exit_code=code, error=why)
                raise
            _enqueue_all(ledger, engine, found, children, [
                {**payload_of(project, key, args, options, child, allow_changed),
                 "shard": True} for child, _ in children])
    finally:
        git.close()
    return parent, [child for child, _ in children]


def _names(code: CodeType) -> set[str]:
    """The global and attribute names ``code`` and the functions in it use."""
    from types import CodeType

    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            found |= _names(const)
    return found


def _enqueue_all(ledger: Ledger, engine: Engine, found: Target,
                 children: list[tuple[Run, str]], payloads: list[dict[str, Any]]) -> None:
    """A job per child; a child whose job could not be queued ends ``failed`` (never left
    ``queued``), and with the last of them the parent."""
    from ..errors import QueueUnreachable, stopped_code

    sent = 0
    try:
        for (_, job), payload in zip(children, payloads, strict=True):
            engine.enqueue(found, payload, job)
            sent += 1
    except BaseException as exc:
        code = exc.exit_code if isinstance(exc, QueueUnreachable) else stopped_code(exc)
        why = exc.message if isinstance(exc, QueueUnreachable) else \
            f"interrupted ({type(exc).__name__}) before its job was queued"
        for child, _ in children[sent:]:
            ledger.drop_queued(child.id, exit_code=code, error=f"not queued: {why}")
        raise


def asked_sharded(project: Project, script: Script | None, args: Sequence[str],
                  options: RunOptions, queue: str, shards: int, *, wait_result: bool = False,
                  allow_changed: bool = False) -> int:
    """``opsctl run --queue NAME --shards N``: dispatch, print the parent's id on stdout
    (and its children's on stderr), and with ``wait_result`` follow the parent; the exit
    code."""
    import click

    from .. import output
    from ..ledger.store import open_ledger
    from .dispatch import follow

    if script is None or options.resume is not None:
        raise click.UsageError("--shards starts a new sharded run: name its script; to resume "
                               "one shard, give --resume CHILD_ID without --shards")
    parent, children = dispatch_sharded(project, script, args, options, queue, shards,
                                        allow_changed=allow_changed)
    click.echo(str(parent.id))
    ids = ", ".join(str(c.id) for c in children)
    output.note(f"opsctl: run {parent.id} of {parent.script} queued on {queue} as {shards} "
                f"shards (runs {ids}); opsctl history --run {parent.id} shows them")
    if not wait_result:
        return 0
    with open_ledger(project.config) as ledger:
        return follow(project, ledger, parent)


def stop_sharded(project: Project, ledger: Ledger, run_id: int, action: str,
                 operator: str) -> list[str] | None:
    """``opsctl pause``/``cancel`` of a sharded run: asked of each of its shards that has not
    ended (a queued one is ended at once, ``paused`` or ``cancelled``, and taken off its
    queue; a running one stops at its next batch boundary), and the parent ends with the
    last of them. What happened, a line each; None when run ``run_id`` is not a sharded
    run."""
    from ..errors import OpsctlError
    from ..ledger.values import newest_shards
    from ..stops import ask
    from .dispatch import cancel_queued

    children = [(n, label) for n, parent, label, _ in ledger.shards(run_id) if parent == run_id]
    if not children:
        return None
    lines = [f"run {run_id} is a sharded run: {action} asked of its shards"]
    asked, refused = 0, None
    for n, label in sorted(newest_shards(children), key=lambda c: int(c[0])):
        child = ledger.run(n)
        if child is None or child.status not in ("queued", "running"):
            continue
        if child.status == "queued":
            child = cancel_queued(project, ledger, n, operator, pause=action == "pause")
            if child is not None and child.status in ("paused", "cancelled"):
                lines.append(f"  shard {label}: run {n} is {child.status}: it had not started")
                asked += 1
                continue
        try:
            lines.append(f"  shard {label}: {ask(ledger, n, action, operator=operator).describe()}")
            asked += 1
        except OpsctlError as exc:
            refused = refused or exc
            lines.append(f"  shard {label}: {exc.format_message()}")
    if not asked:  # refused as an unsharded run is, with its exit code
        if refused is not None:
            raise refused
        # No shard left to ask: the parent's own answer (not running: 82).
        return [ask(ledger, run_id, action, operator=operator).describe()]
    return lines
