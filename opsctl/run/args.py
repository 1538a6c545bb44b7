"""A run's command line: ``opsctl run``'s own options (:class:`RunOptions`, as the command
read them; found among a script's arguments). What of the arguments is recorded, secrets
redacted, is :mod:`.secrets`' part.

Light on purpose: the ``run`` command's argument pre-parse uses it too.
"""

# No postponed annotations: typing.NamedTuple would compile each field's, on every run.
from collections.abc import Sequence
from typing import Any, NamedTuple

#: opsctl run's own options. After the script name they belong to a Click ``main`` that
#: declares them; a plain ``main()`` or legacy script only gets them after ``--``.
OWN_OPTIONS = ("--app", "--dry-run", "--reason", "-y", "--yes", "--force", "--wait",
               "--request-context", "--no-ledger", "--resume", "--limit", "--throttle",
               "--max-rate", "--queue", "--shards", "--wait-result", "--allow-changed")
#: Those of them that take a value (``--wait``'s is optional: a number of seconds;
#: ``--resume``'s too: a run id).
VALUE_OPTIONS = ("--app", "--reason", "--wait", "--resume", "--limit", "--throttle",
                 "--max-rate", "--queue", "--shards")
HELP_OPTIONS = ("-h", "--help")
#: ``--shards`` takes 2 up to this many: each shard is a job, a row and a worker's time.
MAX_SHARDS = 64


class QueuedStart(NamedTuple):
    """A queued run a worker starts (:mod:`opsctl.queue`): its row, and the script's sha256
    when it was asked for."""

    run_id: int
    sha256: str
    #: Run the script even if it changed since it was asked for.
    allow_changed: bool = False
    #: The run is a shard of a sharded run: it starts without the script's lock (its parent
    #: holds it) and pages its own part of the key space (:mod:`.shards`).
    shard: bool = False


class RunOptions(NamedTuple):
    #: An explicit app, from ``--app`` or (inside ``flask ops``) ``flask --app``.
    app: str | None = None
    #: Which of them: ``--app`` or ``flask --app``.
    app_source: str = "--app"
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
    #: ``--resume``: a run id, ``""`` for the script's newest unfinished run; None: a new run.
    resume: str | None = None
    #: ``--limit``: stop (paused) at the first batch boundary after this many items.
    limit: int | None = None
    #: ``--throttle``: seconds to sleep between batches.
    throttle: float | None = None
    #: ``--max-rate``: at most this many items per second, by sleeping between batches.
    max_rate: float | None = None
    #: The process ends with this run (the ``opsctl`` program itself, not a test calling it
    #: in process): what loading made may stay frozen (:mod:`.collector`).
    own_process: bool = False
    #: On a queue's worker: the queued run this run starts (its row becomes running).
    queued: QueuedStart | None = None


def own_option(args: Sequence[str], only: str | None = None) -> tuple[str, list[str]] | None:
    """The first of opsctl run's own options (or the option ``only``) among a script's
    arguments (before any ``--``), with its value when it takes one: ``("--wait", ["--wait",
    "60"])``."""
    for i, arg in enumerate(args):
        if arg == "--":
            return None
        name = arg.partition("=")[0] if arg.startswith("--") else arg
        if name not in OWN_OPTIONS or only is not None and name != only:
            continue
        words = [arg]
        if "=" not in arg and name in VALUE_OPTIONS and i + 1 < len(args):
            value = args[i + 1]
            if name == "--resume" and not value.isdigit():
                pass
            elif name != "--wait" or is_seconds(value):
                words.append(value)
        return name, words
    return None


def is_seconds(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
