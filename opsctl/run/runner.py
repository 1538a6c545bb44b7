"""Running one script inside the Flask application, on the record.

The order matters, and every refusal comes before the script starts:

1. compile the script (a syntax error runs nothing);
2. open the ledger (unreachable: refused, unless ``--no-ledger``);
3. run-once for ``unrecycle/`` and the lock (held: refused at once), before the app loads, so
   that a refused run never imports Flask or the app; neither depends on the app (the ledger
   is configured outside it). Not when the script's help is asked (it is shown whatever the
   ledger holds) nor for a queued run on a worker: there they come with step 5;
4. load the app (not found, or its import raised: refused), push an app context;
5. import the script (if that raises, its code ran: recorded as failed) and parse its
   arguments (``--help``, usage errors and misplaced opsctl options record nothing);
   ``--wait`` for the lock (:mod:`.locks`), confirmation in a protected environment
   (:mod:`.confirmation`);
6. write the run's row and take the lock in one transaction, run-once checked again with it
   held (:mod:`.locks`);
7. run the entry point with output teed, signals handled, a dry run rolled back, the lock
   kept alive (:mod:`.heartbeat`);
8. complete the row and release the lock, whatever happened, and tell the operator how it
   ended (:mod:`.outcome`).

:func:`run_script` returns the exit code: the script's own, or 130/143/129/131 after
SIGINT/SIGTERM/SIGHUP/SIGQUIT.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import output
from ..gitops import GitProbe
from . import api, events
from .args import HELP_OPTIONS, own_option
from .collector import Collector
from .heartbeat import Heartbeat
from .locks import check_once, check_unchanged, local_lock, start_run, wait_for_lock
from .outcome import Outcome, import_failed, outcome_of, outcome_of_return, record_end, tell
from .sharing import warn_if_migrations_drop_ledger
from .signals import Interrupts, Terminated, signal_name

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..ledger.store import Ledger
    from ..ledger.values import Run
    from ..project import Project
    from .args import RunOptions
    from .course import Course
    from .dryrun import Plan
    from .resume import Resumed
    from .script import EntryPoint


def run_script(project: Project, script: Script | None, args: Sequence[str],
               options: RunOptions) -> int:
    """Run ``script`` with ``args`` as the options say; returns the exit code. With
    ``--resume``, the ledger names the script (when not given), its arguments and where its
    batches start (:mod:`.resume`)."""
    from .script import compile_script

    arguments = list(args)
    first: Ledger | None = None
    resumed: Resumed | None = None
    if options.resume is not None:
        first, resumed, options = _resumed(project, script, arguments, options)
        script, arguments = resumed.script, resumed.args
    assert script is not None
    try:
        entry = compile_script(script)
        check_unchanged(entry, options)
    except BaseException:
        if first is not None:
            first.close()
        raise
    if entry.kind == "module":
        # A legacy script has no options to parse: refuse opsctl's own, and answer --help,
        # before anything loads (running it to ask would run it).
        checked = _plain_args(entry, arguments, options)
        if checked is None:
            return 0
        arguments = checked
    # Loading opsctl's ledger and the app with the cycle collector paused (:mod:`.collector`).
    collector = Collector(keep_frozen=options.own_process)
    git = GitProbe(project.dir)
    # Who runs may take a `git config` call; let it overlap with loading the app.
    lookup = threading.Thread(target=_identity_of, args=(project,), daemon=True)
    lookup.start()
    interrupts = Interrupts()
    interrupts.install()
    try:
        with ExitStack() as stack:
            stack.callback(git.close)
            ledger = first or (None if options.no_ledger else _open_ledger(project))
            if ledger is not None:
                stack.callback(ledger.close)
            return _run(project, script, arguments, options, entry, git, ledger,
                        interrupts, stack, lookup, resumed, collector)
    except (KeyboardInterrupt, Terminated):
        # Interrupted before the script started (loading the app, waiting, confirming).
        output.note(f"opsctl: interrupted by {signal_name(interrupts.received)}; "
                    f"{script.display} did not run")
        return interrupts.exit_code or 130
    finally:
        interrupts.restore()
        collector.close()


def _resumed(project: Project, script: Script | None, args: list[str],
             options: RunOptions) -> tuple[Ledger, Resumed, RunOptions]:
    from .resume import resumed

    if options.no_ledger:
        raise click.UsageError("--resume continues a run recorded in the ledger: it cannot be "
                               "used with --no-ledger")
    ledger = _open_ledger(project)
    try:
        found, options = resumed(ledger, project.catalogue, script, args, options)
    except BaseException:
        ledger.close()
        raise
    return ledger, found, options


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
         stack: ExitStack, lookup: threading.Thread, resumed: Resumed | None,
         collector: Collector) -> int:
    from ..catalogue import printable
    from ..identity import first_guess_note
    from .app import announcement, environment_of, load_app, scrubber_for
    from .script import import_entry, parse_args, secret_values
    from .secrets import redact

    key = printable(script.key)
    sharded = options.queued is not None and options.queued.shard
    # A shard's run-once was its parent's, checked when it was asked for.
    once = ledger is not None and script.kind == "unrecycle" and not options.force and \
        not sharded
    resumed_run = resumed.run.id if resumed is not None else None
    early = ledger is not None and options.queued is None and not any(
        a in HELP_OPTIONS for a in args)
    if early:
        assert ledger is not None
        once = once and check_once(ledger, key, script, resumed_run)
        if options.wait is None:  # held: refused at once (--wait waits once loaded)
            wait_for_lock(ledger, key, script, options, interrupts)
    loaded = load_app(project.config, options.app, app_source=options.app_source,
                      script_info=options.script_info, debug=project.debug)
    environment = environment_of(loaded.app, project.config.protected_environments)
    lookup.join()
    identity = project.identity
    note = first_guess_note(identity)
    if note:
        output.note(note)
    app = loaded.app
    stack.enter_context(app.app_context())
    if ledger is not None:
        warn_if_migrations_drop_ledger(app, project.config)
    # Which app and database: the first line of a run that starts (a refusal is one line of
    # its own), and its first note in the ledger, in full.
    notes = [announcement(loaded), *([environment.conflict] if environment.conflict else [])]
    shown = announcement(loaded, Path.cwd())
    if options.request_context:
        stack.enter_context(app.test_request_context())
    if str(project.dir) not in sys.path:
        sys.path.insert(0, str(project.dir))
    secret = project.config.secret_options
    # The app's own secrets, scrubbed from everything stored (needs the app context).
    scrub = scrubber_for(app, secret, project.config.effective_ledger_url)

    collector.resume()  # the script's own code: collected as anywhere else
    with _script_argv(script, args):
        try:
            import_entry(entry, secret)
        except Exception as exc:  # the script's module-level code ran and raised
            output.note(f"opsctl: {shown}")
            return import_failed(exc, project, script, args, options, entry, git, ledger,
                                 environment, identity.name, scrub, notes)
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
            found = own_option(args, getattr(exc, "option_name", None))
            if isinstance(exc, click.NoSuchOption) and found is not None:
                output.note(f"opsctl: {_put_before(found[1], script, options)}")
            return exc.exit_code

    dry = None
    if options.dry_run:  # refused here (exit 2) when nothing can be rolled back
        from .dryrun import plan

        dry = plan(app, entry, keep=(ledger.engine,) if ledger is not None else ())

    scrub = scrub.adding(secret_values(entry))
    stored_args = scrub.args(redact(args, secret, entry.flags, entry.secret_opts))
    stored = options._replace(reason=scrub.text(options.reason))

    if once and not early:
        # Refused before waiting or asking; checked again with the lock held (start_run).
        assert ledger is not None
        once = check_once(ledger, key, script, resumed_run)

    from ..ledger.values import Process

    process = Process.current(identity.name)
    protected = environment.protected
    if ledger is None:
        stack.enter_context(local_lock(project, key, options))
    elif (protected and not options.yes) or options.wait is not None:
        # Look before asking (nobody should confirm a run that cannot start) and before
        # waiting (to say who is waited for); otherwise taking the lock is the check.
        wait_for_lock(ledger, key, script, options, interrupts)

    if protected:
        from .confirmation import confirm_run

        confirm_run(script, stored_args, loaded, environment, options, identity.name)
    elif environment.conflict:
        output.warn(environment.conflict)

    revision, dirty = git.result()
    run: Run | None = None
    if ledger is None:
        interrupts.hold()  # as start_run does: _execute resumes
    else:
        run = start_run(ledger, key, process, stored_args, entry, stored, revision, dirty,
                        environment.name, script, interrupts, once, notes=notes)
    with suppress(OSError):  # a terminal gone (EIO) must not leave the row running
        output.note(f"opsctl: {shown}")

    # Who asked: on a queue's worker, the operator of the queued row.
    current = api.CurrentRun(id=run.id if run else None, script=key,
                             operator=run.operator if run else identity.name,
                             dry_run=options.dry_run, reason=options.reason,
                             environment=environment.name)
    heartbeat = Heartbeat(ledger, run) if ledger is not None and run is not None else None
    course = _course_of(ledger, run, resumed, options)
    if events.run_checkpoint.receivers:
        course.on_checkpoint = partial(events.send, events.run_checkpoint, app, run=current)
    events.send(events.run_started, app, run=current)
    outcome, summary, tail = _execute(entry, script, args, app, current, interrupts,
                                      heartbeat, dry, course)
    if ledger is not None and run is not None:
        # What is stored is scrubbed; the terminal is told the error as it was.
        stored_end = record_end(ledger, run, outcome._replace(error=scrub.text(outcome.error)),
                                scrub.value(summary),
                                scrub.text(tail) if project.config.keep_output else None,
                                interrupts)
        outcome = stored_end._replace(error=outcome.error)
    events.send(events.run_finished, app, run=current, status=outcome.status,
                exit_code=outcome.exit_code, error=scrub.text(outcome.error),
                summary=scrub.value(summary))
    tell(outcome, run, script, options, project.debug)
    return outcome.exit_code


def _course_of(ledger: Ledger | None, run: Run | None, resumed: Resumed | None,
               options: RunOptions) -> Course:
    """The run's course through its batches: a resumed run starts (and is linked, in the
    ledger, before its first batch) where the run it resumes stopped."""
    from .course import Course, Shard, Start

    start = resumed.start if resumed is not None else Start()
    course = Course(ledger, run.id if run else None, start=start, limit=options.limit,
                    throttle=options.throttle, max_rate=options.max_rate,
                    dry_run=options.dry_run)
    if resumed is not None:
        course.begin(start.total, start.cursor)
    if ledger is not None and run is not None and options.queued is not None and \
            options.queued.shard:
        found = ledger.shard_of(run.id)
        if found is not None:
            course.shard = Shard(*found)
    return course


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


def _execute(entry: EntryPoint, script: Script, args: list[str], app: Any,
             current: api.CurrentRun, interrupts: Interrupts, heartbeat: Heartbeat | None,
             dry: Plan | None, course: Course) -> tuple[Outcome, dict[str, Any], str]:
    from . import course as courses
    from .script import call
    from .tee import Tail, teed

    tail = Tail()
    summary: dict[str, Any] = {}
    outcome: Outcome
    guard = None
    try:
        with ExitStack() as stack:
            if heartbeat is not None:
                stack.callback(heartbeat.stop)
                heartbeat.start()
            real_stderr = stack.enter_context(teed(tail))
            api._begin(current, real_stderr)
            stack.callback(lambda: summary.update(api._end()))
            courses.begin(course)
            stack.callback(courses.end)
            stack.enter_context(_script_argv(script, args))
            if dry is not None and dry.rollback:
                from .dryrun import rolled_back

                guard = stack.enter_context(rolled_back(app, dry.keep))
                from .dryguard import rewind

                course.rewind = partial(rewind, guard)
            try:
                interrupts.resume()  # a signal since the start is raised here
                code = call(entry)
            finally:
                # From here on signals are only noted: the row must be completed.
                interrupts.hold()
            outcome = outcome_of_return(code)
    except BaseException as exc:  # everything a script can end with becomes an outcome
        outcome = outcome_of(exc, script, interrupts)
    if dry is not None:
        from .dryrun import judged

        outcome = judged(outcome, dry, guard)
    return outcome, summary, tail.text()


@contextmanager
def _script_argv(script: Script, args: list[str]) -> Iterator[None]:
    """``sys.argv`` as ``python script.py ARGS`` would set it (argparse reads it)."""
    before = sys.argv
    sys.argv = [str(script.path), *args]
    try:
        yield
    finally:
        sys.argv = before
