"""The errors opsctl raises on purpose, each with its documented exit code.

Every refusal is an :class:`OpsctlError`: the command line prints its one-line message as
``Error: ...`` and exits with :attr:`~OpsctlError.exit_code`; anything else is a bug and keeps
its traceback under ``--debug``. The hierarchy does not depend on Click, so the lint's fast path
(:mod:`opsctl.cli.main`) can raise and show these without importing it; the Click group turns them
into Click's own exceptions (:func:`opsctl.cli.group.as_click`).

Exit codes (also in the README):

====  =====================================================================
1     an error: a target that exists, an invalid name, a failed move, ...
2     a usage or configuration error (bad option, broken ``[tool.opsctl]``)
74    no such script: an unknown name (one too long for the file system included), a name
      resolving outside the root, or (for ``run``) a script that cannot be read or compiled
      (no permission to read it, a syntax error, not Python source): nothing ran.
      A script whose import raises did run code: it is recorded as failed and exits 1
75    the script's lock is held by another run
76    run-once: an ``unrecycle/`` script that already succeeded (use ``--force``)
77    confirmation declined, or needed with no terminal and no ``--yes``
78    the run ledger is unreachable or refuses a change (use ``--no-ledger`` to run without
      it), or its schema is newer than this opsctl understands (upgrade opsctl); or the end
      of a run could be kept neither in the ledger nor in the local journal
79    no Flask application found, or importing it raised
80    paused at a batch boundary (``--limit`` reached, or ``opsctl pause``): resumable with
      ``opsctl run --resume``
81    cancelled at a batch boundary (``opsctl cancel``): not resumable
82    ``pause``/``cancel``: the run is not running (it ended; the message says how); with
      ``--wait``, it ended otherwise than asked
83    ``pause``/``cancel``: the run has recorded no batch, so it has no boundary to stop at
84    the queue of ``run --queue`` cannot be reached (its Redis or broker is down): nothing
      was queued (a row written just before it went away ends ``failed``)
129   ended by SIGHUP (the terminal went away: a dropped SSH session)
130   interrupted by Ctrl-C (SIGINT)
131   ended by SIGQUIT
143   ended by SIGTERM
====  =====================================================================

``opsctl run`` otherwise exits with the script's own exit code; one outside 0-255, which no
exit status holds, is exited and recorded as 1.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import IO

NO_SCRIPT = 74
LOCK_HELD = 75
RUN_ONCE = 76
DECLINED = 77
LEDGER_UNREACHABLE = 78
APP_NOT_FOUND = 79
PAUSED = 80
CANCELLED = 81
NOT_RUNNING = 82
NO_BATCHES = 83
QUEUE_UNREACHABLE = 84
SIGHUP_EXIT = 129
SIGINT_EXIT = 130
SIGQUIT_EXIT = 131
SIGTERM_EXIT = 143


def stopped_code(exc: BaseException) -> int:
    """The exit code recorded for a queued run that something unexpected stopped before it
    started (its dispatch, or the worker): 130 for Ctrl-C, as any interrupted opsctl exits,
    else 1."""
    return SIGINT_EXIT if isinstance(exc, KeyboardInterrupt) else 1


class OpsctlError(Exception):
    """A refusal with a one-line message; exit code 1 unless a subclass says otherwise."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def format_message(self) -> str:
        return self.message

    def show(self, file: IO[str] | None = None) -> None:
        """Print ``Error: <message>`` on stderr, as Click prints its own errors."""
        if file is not None:
            print(f"Error: {self.message}", file=file, flush=True)
            return
        from .output import write

        write(f"Error: {self.message}\n", err=True)


def unexpected(exc: Exception) -> OpsctlError:
    """A bug, told in one line; its traceback is one ``--debug`` (or ``OPSCTL_DEBUG=1``) away."""
    return OpsctlError(f"unexpected error: {type(exc).__name__}: {exc} (run with --debug to see "
                       "the traceback)")


class ConfigError(OpsctlError):
    """``[tool.opsctl]`` or an ``OPSCTL_*`` variable is broken or has a wrong type."""

    exit_code = 2


class ScriptNotFound(OpsctlError):
    """A ``<script>`` argument names no script under the root."""

    exit_code = NO_SCRIPT


class OutsideRoot(ScriptNotFound):
    """A ``<script>`` argument resolves outside the offline-script root."""


class TargetExists(OpsctlError):
    """A file would be overwritten; opsctl never does that."""


class InvalidName(OpsctlError):
    """A name breaks the naming rules."""


class LockHeld(OpsctlError):
    exit_code = LOCK_HELD


class RunOnceRefused(OpsctlError):
    exit_code = RUN_ONCE


class Declined(OpsctlError):
    exit_code = DECLINED


class ScriptNotLoadable(OpsctlError):
    """The script cannot be read or compiled (no permission, a syntax error, not Python
    source): nothing ran."""

    exit_code = NO_SCRIPT


class LedgerUnreachable(OpsctlError):
    """The ledger cannot be used. ``diagnosis`` says what is wrong, ``fix`` what to do about it;
    a command with its own way round adds it with :meth:`retold`."""

    exit_code = LEDGER_UNREACHABLE

    def __init__(self, diagnosis: str, fix: str = "") -> None:
        super().__init__(f"{diagnosis}; {fix}" if fix else diagnosis)
        self.diagnosis = diagnosis
        self.fix = fix

    def retold(self, fix: str) -> LedgerUnreachable:
        """The same diagnosis with another way out (``--no-ledger`` for ``run``)."""
        return type(self)(self.diagnosis, fix)


class LedgerTooNew(LedgerUnreachable):
    """The ledger's schema version is newer than this opsctl understands: a newer opsctl
    upgraded it. Nothing is read or written; upgrading opsctl is the way out."""


class AppNotFound(OpsctlError):
    exit_code = APP_NOT_FOUND


class RunNotFound(OpsctlError):
    """A run id the ledger does not have (``history --run``, ``pause``, ``cancel``)."""


class NotRunning(OpsctlError):
    """``pause``/``cancel`` of a run that has ended, or (``--wait``) that ended otherwise."""

    exit_code = NOT_RUNNING


class NoBatches(OpsctlError):
    """``pause``/``cancel`` of a run with no batch recorded: it has no boundary to stop at."""

    exit_code = NO_BATCHES


class QueueUnreachable(OpsctlError):
    """``run --queue``: the queue's Redis or broker cannot be reached; nothing was queued."""

    exit_code = QUEUE_UNREACHABLE


class ScriptChanged(OpsctlError):
    """A queued run's script changed between asking and starting (``--allow-changed``)."""


class Interrupted(OpsctlError):
    """Ctrl-C at a question: nothing was done."""

    exit_code = SIGINT_EXIT
