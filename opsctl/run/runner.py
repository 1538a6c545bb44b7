"""Running one script inside the Flask application, on the record.

The order matters, and every refusal comes before the script starts:

1. compile the script (a syntax error runs nothing);
2. open the ledger (unreachable: refused, unless ``--no-ledger``);
3. load the app (not found, or its import raised: refused), push an app context;
4. import the script (if that raises, its code ran: recorded as failed) and parse its
   arguments (``--help``, usage errors and misplaced opsctl options record nothing);
5. run-once for ``unrecycle/``, the lock (held: refused at once, or ``--wait``), confirmation
   in a protected environment;
6. write the run's row and take the lock in one transaction;
7. run the entry point with output teed, signals handled, a dry run rolled back;
8. complete the row and release the lock, whatever happened.

:func:`run_script` returns the exit code: the script's own, or 130/143 after SIGINT/SIGTERM.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from .. import output
from ..errors import Declined, LockHeld, OpsctlError, RunOnceRefused
from ..gitops import GitProbe
from ..prompt import can_ask, confirm
from . import api
from .args import HELP_OPTIONS, own_option, redact
from .signals import EXIT_CODES, Interrupts, Terminated, signal_name

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..ledger.store import Ledger
    from ..ledger.values import Process, Run
    from ..project import Project
    from .app import LoadedApp
    from .script import EntryPoint

#: How often a waiting run looks at the lock again.
WAIT_POLL_SECONDS = 0.5


class RunOptions(NamedTuple):
    app: str | None = None
    dry_run: bool = False
    yes: bool = False
    force: bool = False
    #: Seconds to wait for a held lock (``inf``: as long as it takes); None: refuse at once.
    wait: float | None = None
    reason: str | None = None
    no_ledger: bool = False
    request_context: bool = False
    #: ``flask.cli.ScriptInfo`` when running as ``flask ops run``.
    script_info: Any = None
    #: How the operator called the command, for hints: ``opsctl run`` or ``flask ops run``.
    prog: str = "opsctl run"


class Outcome(NamedTuple):
    status: str
    exit_code: int
    error: str | None = None
    #: One line for the operator, on stderr; None when there is nothing to say.
    message: str | None = None


def run_script(project: Project, script: Script, args: Sequence[str],
               options: RunOptions) -> int:
    """Run ``script`` with ``args`` as the options say; returns the exit code."""
    from .script import compile_script

    entry = compile_script(script)
    arguments = list(args)
    if entry.kind == "module":
        # A legacy script has no options to parse: refuse opsctl's own, and answer --help,
        # before anything loads (running it to ask would run it).
        checked = _plain_args(entry, arguments, options)
        if checked is None:
            return 0
        arguments = checked
    git = GitProbe(project.dir)
    # Who runs may take a `git config` call; let it overlap with loading the app.
    lookup = threading.Thread(target=_identity_of, args=(project,), daemon=True)
    lookup.start()
    interrupts = Interrupts()
    interrupts.install()
    try:
        with ExitStack() as stack:
            stack.callback(git.close)
            ledger = None if options.no_ledger else _open_ledger(project)
            if ledger is not None:
                stack.callback(ledger.close)
            return _run(project, script, arguments, options, entry, git, ledger,
                        interrupts, stack, lookup)
    except (KeyboardInterrupt, Terminated):
        # Interrupted before the script started (loading the app, waiting, confirming).
        output.note(f"opsctl: interrupted by {signal_name(interrupts.received)}; "
                    f"{script.display} did not run")
        return interrupts.exit_code or 130
    finally:
        interrupts.restore()


def _identity_of(project: Project) -> None:
    with suppress(Exception):  # the main thread asks again and reports any error
        project.identity  # noqa: B018 - a cached property: this computes it


def _open_ledger(project: Project) -> Ledger:
    from ..errors import LedgerUnreachable
    from ..ledger.store import open_ledger

    try:
        return open_ledger(project.config)
    except LedgerUnreachable as exc:
        fix = ", or ".join(filter(None, [exc.fix, "pass --no-ledger to run without a record"]))
        raise exc.retold(fix) from None


def _run(project: Project, script: Script, args: list[str], options: RunOptions,
         entry: EntryPoint, git: GitProbe, ledger: Ledger | None, interrupts: Interrupts,
         stack: ExitStack, lookup: threading.Thread) -> int:
    from ..catalogue import printable
    from ..identity import first_guess_note
    from .app import environment_of, load_app
    from .script import import_entry, parse_args

    key = printable(script.key)
    loaded = load_app(project.config, options.app, script_info=options.script_info,
                      debug=project.debug)
    lookup.join()
    identity = project.identity
    note = first_guess_note(identity)
    if note:
        output.note(note)
    app = loaded.app
    stack.enter_context(app.app_context())
    if options.request_context:
        stack.enter_context(app.test_request_context())
    if str(project.dir) not in sys.path:
        sys.path.insert(0, str(project.dir))

    with _script_argv(script, args):
        try:
            import_entry(entry)
        except Exception as exc:  # the script's module-level code ran and raised
            return _import_failed(exc, project, script, args, options, entry, git, ledger,
                                  app, identity.name)
        if entry.kind == "function":
            plain = _plain_args(entry, args, options)
            if plain is None:
                return 0
            args = plain
        try:
            parse_args(entry, args, options.prog)
        except click.exceptions.Exit as exc:  # --help
            return exc.exit_code
        except click.ClickException as exc:  # the script's own usage error
            exc.show()
            found = own_option(args)
            if isinstance(exc, click.NoSuchOption) and found is not None and \
                    found[0] == exc.option_name:
                output.note(f"opsctl: {_put_before(found[1], script, options)}")
            return exc.exit_code

    environment = environment_of(app)
    secret = project.config.secret_options
    stored_args = redact(args, secret, entry.flags)

    once = ledger is not None and script.kind == "unrecycle" and not options.force
    if once:
        # Refused before waiting or asking; checked again with the lock held (_start).
        assert ledger is not None
        done = ledger.has_succeeded(key)
        if done is not None:
            raise _run_once(script, done)

    from ..ledger.values import Process

    process = Process.current(identity.name)
    protected = environment in project.config.protected_environments
    if ledger is None:
        stack.enter_context(_local_lock(project, key, options))
    elif (protected and not options.yes) or options.wait is not None:
        # Look before asking (nobody should confirm a run that cannot start) and before
        # waiting (to say who is waited for); otherwise taking the lock is the check.
        _wait_for_lock(ledger, key, script, options, interrupts)

    if protected:
        _confirm(script, stored_args, loaded, environment, options, identity.name)

    revision, dirty = git.result()
    run: Run | None = None
    if ledger is None:
        interrupts.hold()  # as _start does: _execute resumes
    else:
        run = _start(ledger, key, process, stored_args, entry, options, revision, dirty,
                     environment, script, interrupts, once)

    current = api.CurrentRun(id=run.id if run else None, script=key, operator=identity.name,
                             dry_run=options.dry_run, reason=options.reason,
                             environment=environment)
    heartbeat = Heartbeat(ledger, run) if ledger is not None and run is not None else None
    outcome, summary, tail = _execute(entry, script, args, app, current, options, interrupts,
                                      heartbeat)
    if ledger is not None and run is not None:
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
    _tell(outcome, run, script, options, project.debug)
    return outcome.exit_code


def _import_failed(exc: Exception, project: Project, script: Script, args: list[str],
                   options: RunOptions, entry: EntryPoint, git: GitProbe,
                   ledger: Ledger | None, app: Any, operator: str) -> int:
    """Record a script whose import raised as a failed run, like one whose main() raised:
    its module-level code did run."""
    from ..catalogue import printable
    from ..ledger.values import Process
    from .app import environment_of

    text = "".join(traceback.format_exception(type(exc), exc, _script_frames(exc)))
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
    _tell(outcome, run, script, options, project.debug)
    return outcome.exit_code


def _put_before(words: list[str], script: Script, options: RunOptions) -> str:
    import shlex

    return (f"{words[0].partition('=')[0]} is an option of {options.prog}: put it before the "
            f"script name ({options.prog} {shlex.join(words)} {script.display} ...)")


def _plain_args(entry: EntryPoint, args: list[str], options: RunOptions) -> list[str] | None:
    """The arguments of a plain ``main()`` or legacy script, checked before it runs.

    opsctl run's own options are refused (``opsctl run x --dry-run`` must never run for
    real), ``-h``/``--help`` prints the docstring (None: done), and a ``--`` right after the
    script name, which lets such arguments through, is dropped.
    """
    from .script import help_text

    if args[:1] == ["--"]:
        return args[1:]
    before = args[:args.index("--")] if "--" in args else args
    if any(a in HELP_OPTIONS for a in before):
        click.echo(help_text(entry, options.prog))
        return None
    found = own_option(args)
    if found is not None:
        raise click.UsageError(f"{_put_before(found[1], entry.script, options)}; to pass it "
                               f"to the script instead, put it after --")
    return args


def _start(ledger: Ledger, key: str, process: Process, stored_args: list[str],
           entry: EntryPoint, options: RunOptions, revision: str | None, dirty: bool | None,
           environment: str, script: Script, interrupts: Interrupts, once: bool) -> Run:
    from ..ledger.values import AlreadySucceeded, LockBusy

    deadline = _deadline(options.wait)
    while True:
        # Held from the row's start until the script is called (_execute resumes): a signal
        # in between is raised there, where it ends the run as interrupted.
        interrupts.hold()
        try:
            run = ledger.start(script=key, process=process, args=stored_args,
                               sha256=entry.sha256, dry_run=options.dry_run,
                               git_revision=revision, git_dirty=dirty,
                               environment=environment, reason=options.reason, once=once)
        except AlreadySucceeded as done:
            interrupts.resume()
            raise _run_once(script, done.run) from None
        except LockBusy as busy:
            interrupts.resume()
            if deadline is None or time.monotonic() >= deadline:
                raise _lock_held(script, busy.holder.describe(), options) from None
            time.sleep(WAIT_POLL_SECONDS)
            continue
        except BaseException:
            interrupts.resume()
            raise
        return run


def _run_once(script: Script, done: Run) -> RunOnceRefused:
    from ..output import local

    return RunOnceRefused(
        f"{script.display} already succeeded (run {done.id} by {done.operator}, "
        f"{local(done.started_at)}); unrecycle/ scripts are one-off fixes: pass --force to "
        "run it again")


def _wait_for_lock(ledger: Ledger, key: str, script: Script, options: RunOptions,
                   interrupts: Interrupts) -> None:
    """Refuse at once when a live run holds the lock, or wait for it with ``--wait``."""
    deadline = _deadline(options.wait)
    told = False
    while True:
        holder = ledger.holder(key)
        if holder is None:
            return
        if deadline is None or time.monotonic() >= deadline:
            raise _lock_held(script, holder.describe(), options)
        if not told:
            output.note(f"opsctl: {script.display} is locked by {holder.describe()}; waiting")
            told = True
        time.sleep(WAIT_POLL_SECONDS)


def _deadline(wait: float | None) -> float | None:
    if wait is None:
        return None
    return float("inf") if wait == float("inf") else time.monotonic() + wait


def _lock_held(script: Script, holder: str, options: RunOptions) -> LockHeld:
    hint = ("it is still running; try again later" if options.wait is not None
            else "wait for it with --wait [SECONDS], or try again later")
    waited = f" after waiting {options.wait:g} s" if options.wait not in (None, 0) else ""
    return LockHeld(f"{script.display} is locked by {holder}{waited}; {hint}")


def _execute(entry: EntryPoint, script: Script, args: list[str], app: Any,
             current: api.CurrentRun, options: RunOptions, interrupts: Interrupts,
             heartbeat: Heartbeat | None) -> tuple[Outcome, dict[str, Any], str]:
    from .dryrun import rolled_back
    from .script import call
    from .tee import Tail, teed

    tail = Tail()
    summary: dict[str, Any] = {}
    outcome: Outcome
    try:
        with ExitStack() as stack:
            if heartbeat is not None:
                stack.callback(heartbeat.stop)
                heartbeat.start()
            real_stderr = stack.enter_context(teed(tail))
            api._begin(current, real_stderr)
            stack.callback(lambda: summary.update(api._end()))
            stack.enter_context(_script_argv(script, args))
            if options.dry_run:
                has_session = stack.enter_context(rolled_back(app))
                if not has_session:
                    output.warn("the app has no Flask-SQLAlchemy extension: --dry-run only "
                                "sets current_run().dry_run; the script must honour it")
            try:
                interrupts.resume()  # a signal since the start is raised here
                code = call(entry)
            finally:
                # From here on signals are only noted: the row must be completed.
                interrupts.hold()
            outcome = _outcome_of_return(code)
    except BaseException as exc:  # everything a script can end with becomes an outcome
        outcome = _outcome_of(exc, script, interrupts)
    return outcome, summary, tail.text()


def _outcome_of_return(code: int) -> Outcome:
    return Outcome("succeeded" if code == 0 else "failed", code)


def _outcome_of(exc: BaseException, script: Script, interrupts: Interrupts) -> Outcome:
    if isinstance(exc, click.exceptions.Abort) and isinstance(exc.__context__,
                                                               KeyboardInterrupt):
        exc = exc.__context__
    if isinstance(exc, (KeyboardInterrupt, Terminated)):
        code = EXIT_CODES.get(interrupts.received) or (  # type: ignore[call-overload]
            143 if isinstance(exc, Terminated) else 130)
        name = signal_name(interrupts.received) if interrupts.received else "SIGINT"
        return Outcome("interrupted", code, f"interrupted by {name}",
                       f"{script.display} was interrupted by {name}")
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return Outcome("succeeded", 0)
        if isinstance(code, int):
            return _outcome_of_return(code)
        print(code, file=sys.stderr)  # sys.exit("message") prints it, as Python does
        return Outcome("failed", 1, str(code))
    if isinstance(exc, click.exceptions.Exit):
        return _outcome_of_return(exc.exit_code)
    # A usage error, or a refusal the script met through opsctl's API: its one line, no traceback.
    if isinstance(exc, (click.ClickException, OpsctlError)):
        exc.show()
        return Outcome("failed", exc.exit_code, exc.format_message())
    if isinstance(exc, click.exceptions.Abort):
        print("Aborted!", file=sys.stderr)
        return Outcome("failed", 1, "Aborted!")
    text = "".join(traceback.format_exception(type(exc), exc, _script_frames(exc)))
    first = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    return Outcome("failed", 1, text, f"{script.display} failed: {first}")


def _script_frames(exc: BaseException) -> Any:
    """The traceback from the script's first frame: opsctl's own frames say nothing."""
    tb = exc.__traceback__
    here = os.path.dirname(os.path.abspath(__file__))
    while tb is not None and tb.tb_next is not None and \
            os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == here:
        tb = tb.tb_next
    return tb


def _tell(outcome: Outcome, run: Run | None, script: Script, options: RunOptions,
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


def _confirm(script: Script, args: list[str], loaded: LoadedApp, environment: str,
             options: RunOptions, operator: str) -> None:
    from .app import databases_of

    if options.yes:
        return
    command = " ".join([script.display, *args])
    lines = [f"About to run {command}",
             f"  app:          {loaded.description}"]
    for url in databases_of(loaded.app) or ["(no Flask-SQLAlchemy database)"]:
        lines.append(f"  database:     {url}")
    lines += [f"  environment:  {environment} (protected)",
              f"  operator:     {operator}",
              f"  reason:       {options.reason or '(none given: --reason)'}",
              f"  dry run:      {'yes' if options.dry_run else 'no'}"]
    if not can_ask():
        raise Declined(f"{script.display} would run in the protected environment "
                       f"{environment!r}, and there is no terminal to confirm it; pass --yes "
                       "to run it non-interactively")
    click.echo("\n".join(lines), err=True)
    if not confirm("Run it?", otherwise=f"{script.display} did not run"):
        raise Declined(f"not confirmed: {script.display} did not run")


@contextmanager
def _script_argv(script: Script, args: list[str]) -> Iterator[None]:
    """``sys.argv`` as ``python script.py ARGS`` would set it (argparse reads it)."""
    before = sys.argv
    sys.argv = [str(script.path), *args]
    try:
        yield
    finally:
        sys.argv = before


# --------------------------------------------------------------------------- heartbeat, locks


class Heartbeat:
    """Refreshes the run's lock in the background, so other machines see it is alive."""

    def __init__(self, ledger: Ledger, run: Run) -> None:
        self._ledger = ledger
        self._run = run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="opsctl-heartbeat",
                                        daemon=True)
        self._warned = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        from ..ledger.locks import HEARTBEAT_SECONDS

        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                if not self._ledger.heartbeat(self._run) and not self._warned:
                    self._warn("another process took it over as stale")
            except Exception as exc:  # a passing database hiccup must not kill the script
                if not self._warned:
                    self._warn(f"{type(exc).__name__}: {exc}")

    def _warn(self, why: str) -> None:
        self._warned = True
        output.warn(f"could not refresh the lock of run {self._run.id} ({why})")


@contextmanager
def _local_lock(project: Project, key: str, options: RunOptions) -> Iterator[object]:
    """Without a ledger, still keep two runs on this machine apart (an OS file lock, released
    by the kernel when the process dies)."""
    import hashlib
    import tempfile

    try:
        import fcntl
    except ImportError:  # Windows: no flock; say so rather than pretend
        output.warn("--no-ledger: no lock on this platform; make sure the script is not "
                    "already running")
        yield None
        return
    # The real folder: one project reached two ways (a symlink, a relative --project) is one
    # lock.
    real = os.path.realpath(project.dir_path)
    digest = hashlib.sha256(f"{real}\0{key}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"opsctl-{digest}.lock"
    output.warn("--no-ledger: this run is not recorded, run-once is not checked, and the "
                "lock holds on this machine only")
    with open(path, "a+", encoding="utf-8") as fh:
        deadline = _deadline(options.wait)
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is None or time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    raise LockHeld(f"{key} is locked by {holder} on this machine (--no-ledger "
                                   "lock); wait for it with --wait, or try again later") \
                        from None
                time.sleep(WAIT_POLL_SECONDS)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
