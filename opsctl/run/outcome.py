"""How a run ends: the outcome of whatever the script returned or raised, its record in the
ledger (the end of a started run, or a failed import recorded whole), and the line that tells
the operator.

The record is never given up: the ledger waits out an outage for ``ledger_retry_seconds``,
then keeps the end in the local journal (:mod:`opsctl.ledger.ends`), and the operator is told
which. Only when neither can take it does the exit code become 78, after saying how the run
ended.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from .. import output
from ..errors import LEDGER_UNREACHABLE, OpsctlError
from .signals import EXIT_CODES, Terminated, signal_name

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..gitops import GitProbe
    from ..ledger.store import Ledger
    from ..ledger.values import Ended, Run
    from ..project import Project
    from .args import RunOptions
    from .environment import Environment
    from .script import EntryPoint
    from .secrets import Scrubber
    from .signals import Interrupts


class Outcome(NamedTuple):
    status: str
    exit_code: int
    error: str | None = None
    #: One line for the operator, on stderr; None when there is nothing to say.
    message: str | None = None
    #: False when the ledger could not take the end (so the lock it holds is not released).
    recorded: bool = True
    #: What opsctl observed about the end, added to the run's notes.
    notes: tuple[str, ...] = ()
    #: The code the script asked for, when it is not the one exited with (outside 0-255).
    asked: int | None = None
    #: What a dry run did, for the final line (:mod:`.dryrun`); None in a real run.
    dry: str | None = None
    #: What ``--resume`` does after a pause, for the final line.
    resumes: str = "goes on from there"


def import_failed(exc: Exception, project: Project, script: Script, args: list[str],
                  options: RunOptions, entry: EntryPoint, git: GitProbe,
                  ledger: Ledger | None, environment: Environment, operator: str,
                  scrub: Scrubber, notes: list[str]) -> int:
    """Record a script whose import raised as a failed run, like one whose main() raised:
    its module-level code did run. What is stored is scrubbed of secrets first; ``notes``
    are the run's (its app and database, a conflict of environment names)."""
    from ..catalogue import printable
    from ..ledger.values import Process
    from .secrets import redact

    text = "".join(traceback.format_exception(type(exc), exc, script_frames(exc)))
    first = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    outcome = Outcome("failed", 1, text, f"importing {script.display} raised {first}")
    run = None
    where = None
    if ledger is not None:
        revision, dirty = git.result()
        run, ended = ledger.record(
            script=printable(script.key), process=Process.current(operator),
            args=scrub.args(redact(args, project.config.secret_options)),
            status=outcome.status, exit_code=outcome.exit_code,
            error=scrub.text(outcome.error), sha256=entry.sha256, dry_run=options.dry_run,
            git_revision=revision, git_dirty=dirty, environment=environment.name,
            reason=scrub.text(options.reason),
            notes=notes, on_retry=lambda exc, seconds: _retrying(ledger, "this run", exc, seconds))
        if run is None:
            where = "kept in the local journal" if ended.how == "journaled" else "not recorded"
            outcome = _not_recorded(ledger, "this run", outcome, ended)
    tell(outcome, run, script, options, project.debug, where=where)
    return outcome.exit_code


def record_end(ledger: Ledger, run: Run, outcome: Outcome, summary: dict[str, Any],
               tail: str | None, interrupts: Interrupts) -> Outcome:
    """Complete the run's row with its outcome and release its lock; the outcome to tell.

    The ledger waits out an outage (a further signal ends the wait), then keeps the end in
    the local journal; each is said on stderr. When neither can take it, the outcome is
    printed and its exit code becomes 78. Never raises: the script has run.
    """
    with interrupts.shielded():
        before = interrupts.count
        notes = [*run.notes, *outcome.notes] if outcome.notes else None
        ended = ledger.end(run, status=outcome.status, exit_code=outcome.exit_code,
                           error=outcome.error, output_tail=tail, summary=summary,
                           notes=notes, on_retry=lambda exc, seconds: _retrying(
                               ledger, f"the end of run {run.id}", exc, seconds),
                           give_up=lambda: interrupts.count > before)
    if ended.how == "taken over":
        _say(output.warn, f"the lock of run {run.id} was taken over as stale while it ran, so "
             "another run may have overlapped it; its outcome is recorded with that note")
    elif ended.how != "recorded":
        ending = f"it ended {outcome.status}, exit {outcome.exit_code}"
        if summary:
            import json

            ending += "; summary: " + json.dumps(summary, default=str, ensure_ascii=False)
        return _not_recorded(ledger, f"the end of run {run.id}", outcome, ended, ending)
    return outcome


def _retrying(ledger: Ledger, what: str, exc: BaseException, seconds: float) -> None:
    from ..ledger.engine import display_url

    _say(output.note, f"opsctl: the run ledger at {display_url(ledger.url)} cannot be reached "
         f"({_first_line(exc)}); retrying for up to {seconds:g} s to record {what}")


def _not_recorded(ledger: Ledger, what: str, outcome: Outcome, ended: Ended,
                  ending: str = "") -> Outcome:
    from ..ledger.engine import display_url

    failed = f"could not record {what} in the ledger at {display_url(ledger.url)} " \
             f"({ended.problem})"
    if ended.how == "journaled":
        _say(output.warn, f"{failed}; it is kept in the local journal ({ended.path}): the next "
             "opsctl command that reaches the ledger records it")
        return outcome._replace(recorded=False)
    shown = f"; {ending}" if ending else ""
    _say(output.warn, f"{failed} nor keep it in the local journal ({ended.journal_problem}): "
         f"it will show as lost{shown}")
    return outcome._replace(exit_code=LEDGER_UNREACHABLE, recorded=False)


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _say(show: Any, message: str) -> None:
    """A line on stderr that must not end the run's telling when the terminal is gone (a
    dropped session: writes fail with EIO): further output then goes nowhere."""
    try:
        show(message)
    except OSError:
        _detach_terminal()


def _detach_terminal() -> None:
    """Point stdout and stderr at the null device, so nothing opsctl or Python still writes
    (its buffers at exit) fails again and changes the exit code."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in (1, 2):
        try:
            os.dup2(null, fd)
        except OSError:
            pass
    os.close(null)


def outcome_of_return(code: int) -> Outcome:
    """The outcome of an exit code the script gave. An exit status holds 0-255 (the kernel
    keeps the low 8 bits: 256 would read as success, 330 as opsctl's own 74), so a code
    outside that range is exited and recorded as 1, with a note of the code asked for."""
    code = int(code)  # sys.exit(True) is 1
    if not 0 <= code <= 255:
        note = (f"the script exited with {code}, outside the 0-255 an exit status can hold: "
                "exited and recorded as 1")
        return Outcome("failed", 1, notes=(note,), asked=code)
    return Outcome("succeeded" if code == 0 else "failed", code)


def outcome_of(exc: BaseException, script: Script, interrupts: Interrupts) -> Outcome:
    from .course import Stop

    if isinstance(exc, Stop):  # at a batch boundary: --limit, opsctl pause or cancel
        return Outcome(exc.status, exc.exit_code, message=exc.why, resumes=exc.resumes)
    if isinstance(exc, click.exceptions.Abort) and isinstance(exc.__context__,
                                                               KeyboardInterrupt):
        exc = exc.__context__
    if isinstance(exc, (KeyboardInterrupt, Terminated)):
        received = interrupts.received
        ended = (EXIT_CODES.get(received) if received is not None else None) or (
            143 if isinstance(exc, Terminated) else 130)
        name = signal_name(received) if received else "SIGINT"
        return Outcome("interrupted", ended, f"interrupted by {name}",
                       f"{script.display} was interrupted by {name}")
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return Outcome("succeeded", 0)
        if isinstance(code, int):
            return outcome_of_return(code)
        print(code, file=sys.stderr)  # sys.exit("message") prints it, as Python does
        return Outcome("failed", 1, str(code))
    if isinstance(exc, click.exceptions.Exit):
        return outcome_of_return(exc.exit_code)
    # A usage error, or a refusal the script met through opsctl's API: its one line, no traceback.
    if isinstance(exc, (click.ClickException, OpsctlError)):
        exc.show()
        return Outcome("failed", exc.exit_code, exc.format_message())
    if isinstance(exc, click.exceptions.Abort):
        print("Aborted!", file=sys.stderr)
        return Outcome("failed", 1, "Aborted!")
    text = "".join(traceback.format_exception(type(exc), exc, script_frames(exc)))
    first = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return Outcome("failed", 1, text, f"{script.display} failed: {first}")


def script_frames(exc: BaseException) -> Any:
    """The traceback from the script's first frame: opsctl's own frames say nothing."""
    tb = exc.__traceback__
    here = os.path.dirname(os.path.abspath(__file__))
    while tb is not None and tb.tb_next is not None and \
            os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == here:
        tb = tb.tb_next
    return tb


def tell(outcome: Outcome, run: Run | None, script: Script, options: RunOptions,
         debug: bool, *, where: str | None = None) -> None:
    """Tell the operator how the run ended, on stderr (nowhere, when the terminal is gone)."""
    try:
        _tell(outcome, run, script, options, debug, where)
    except OSError:
        _detach_terminal()


def _tell(outcome: Outcome, run: Run | None, script: Script, options: RunOptions,
          debug: bool, where: str | None) -> None:
    where = where or (f"run {run.id}" if run else "not recorded: --no-ledger")
    dry = f", {outcome.dry}" if outcome.dry else ""
    if outcome.status == "succeeded":
        output.note(f"opsctl: {script.display} succeeded ({where}{dry})")
        return
    if outcome.status in ("paused", "cancelled"):
        again = f"; {options.prog} --resume {run.id} {outcome.resumes}" if \
            run is not None and outcome.status == "paused" else ""
        output.note(f"opsctl: {script.display} {outcome.message} ({where}{dry}){again}")
        return
    if outcome.status == "interrupted":
        released = "; its lock is released" if outcome.recorded else ""
        output.note(f"opsctl: {outcome.message} ({where}){released}")
        return
    if outcome.message is not None:  # raised
        if debug or run is None:
            # Under --debug, or when no ledger keeps it, the traceback is shown here.
            click.echo((outcome.error or "").rstrip(), err=True)
        hint = f"; opsctl history --run {run.id} shows the traceback" if run else ""
        click.echo(f"Error: {outcome.message} ({where}{hint})", err=True)
        if "outside of request context" in outcome.message and not options.request_context:
            output.note(f"opsctl: the script reads flask.request: run it with "
                        f"{options.prog} --request-context {script.display}")
        return
    if outcome.asked is not None:
        output.note(f"opsctl: {script.display} exited with {outcome.asked}, outside 0-255: "
                    f"exits {outcome.exit_code} ({where}{dry})")
        return
    output.note(f"opsctl: {script.display} exited with {outcome.exit_code} ({where}{dry})")
