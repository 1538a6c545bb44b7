"""How a run ends: the outcome of whatever the script returned or raised, its record in the
ledger (the end of a started run, or a failed import recorded whole), and the line that tells
the operator.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from .. import output
from ..errors import OpsctlError
from .args import redact
from .signals import EXIT_CODES, Terminated, signal_name

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..gitops import GitProbe
    from ..ledger.store import Ledger
    from ..ledger.values import Run
    from ..project import Project
    from .args import RunOptions
    from .script import EntryPoint
    from .signals import Interrupts


class Outcome(NamedTuple):
    status: str
    exit_code: int
    error: str | None = None
    #: One line for the operator, on stderr; None when there is nothing to say.
    message: str | None = None


def import_failed(exc: Exception, project: Project, script: Script, args: list[str],
                  options: RunOptions, entry: EntryPoint, git: GitProbe,
                  ledger: Ledger | None, app: Any, operator: str) -> int:
    """Record a script whose import raised as a failed run, like one whose main() raised:
    its module-level code did run."""
    from ..catalogue import printable
    from ..ledger.values import Process
    from .app import environment_of

    text = "".join(traceback.format_exception(type(exc), exc, script_frames(exc)))
    first = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    outcome = Outcome("failed", 1, text, f"importing {script.display} raised {first}")
    run = None
    if ledger is not None:
        revision, dirty = git.result()
        run = ledger.record(script=printable(script.key), process=Process.current(operator),
                            args=redact(args, project.config.secret_options),
                            status=outcome.status, exit_code=outcome.exit_code,
                            error=outcome.error, sha256=entry.sha256, dry_run=options.dry_run,
                            git_revision=revision, git_dirty=dirty,
                            environment=environment_of(app), reason=options.reason)
    tell(outcome, run, script, options, project.debug)
    return outcome.exit_code


def record_end(ledger: Ledger, run: Run, outcome: Outcome, summary: dict[str, Any], tail: str,
               interrupts: Interrupts) -> None:
    """Complete the run's row with its outcome and release its lock; a failure to record it
    is warned about, never raised: the script has run."""
    with interrupts.shielded():
        try:
            if not ledger.finish(run, status=outcome.status, exit_code=outcome.exit_code,
                                 error=outcome.error, output_tail=tail, summary=summary):
                output.warn(f"the lock of run {run.id} was taken over as stale while it "
                            "ran, so another run may have overlapped it; its outcome is "
                            "recorded with that note")
        except Exception as exc:  # the script ran; say so, the row will show as lost
            output.warn(f"could not record the end of run {run.id} in the ledger "
                        f"({type(exc).__name__}: {exc}); it will show as lost")


def outcome_of_return(code: int) -> Outcome:
    return Outcome("succeeded" if code == 0 else "failed", code)


def outcome_of(exc: BaseException, script: Script, interrupts: Interrupts) -> Outcome:
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
         debug: bool) -> None:
    where = f"run {run.id}" if run else "not recorded: --no-ledger"
    dry = ", dry run: database changes rolled back" if options.dry_run else ""
    if outcome.status == "succeeded":
        output.note(f"opsctl: {script.display} succeeded ({where}{dry})")
        return
    if outcome.status == "interrupted":
        output.note(f"opsctl: {outcome.message} ({where}); its lock is released")
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
    output.note(f"opsctl: {script.display} exited with {outcome.exit_code} ({where}{dry})")
