"""What ``opsctl list`` prints (:func:`execute`), as a table or JSON, with last runs from the
ledger."""

from __future__ import annotations

from .. import output
from ..light import NamedTuple
from .entries import Entry, as_dict, json_text, printable
from .folders import Listing

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Sequence
    from typing import Any

    from ..ledger.glance import Seen
    from ..project import Project


class ListOptions(NamedTuple):
    """The options of ``opsctl list``, as Click or :func:`opsctl.cli.list_fast.parse_fast`
    read them (``kind`` as given: ``ts`` is ``temporary``)."""

    kind: str | None = None
    owner: str | None = None
    stale: bool = False
    no_runs: bool = False
    as_json: bool = False


def list_scripts(project: Project, *, kind: str | None = None, owner: str | None = None,
                 stale: bool = False, with_runs: bool = True,
                 today: _dt.date | None = None, runs_later: bool = False) -> list[Entry]:
    """The scripts, filtered, with descriptions and (optionally) last runs (``runs_later``:
    the caller reads them itself, after)."""
    if (with_runs or runs_later) and _has_ledger(project):
        from ..ledger.lastruns import prepare

        prepare(project.config)  # the server starts its session while the tree is walked
    found = Listing(project, kind, owner, today)
    entries = [Entry._make((*row, None)) for row in found.rows(stale)]
    if with_runs:
        runs = _last_runs(project, entries)
        if runs:
            entries = [e._replace(last_run=runs.get(printable(e.key))) for e in entries]
    return entries


def _has_ledger(project: Project) -> bool:
    from ..ledger.facts import ledger_exists

    return ledger_exists(project.config)


_LASTRUNS = __name__.rsplit(".", 2)[0] + ".ledger.lastruns"


def _last_runs(project: Project, entries: Sequence[Entry], *, seen: bool = False,
               keys: list[str] | None = None) -> dict[str, Any]:
    """The last run of each listed script (``seen``: only what the table shows of it), by
    key (``keys``: the entries' printable keys, when known), when there is a ledger; an
    unreachable one is a warning (the scripts are still worth listing)."""
    if not entries or not _has_ledger(project):
        import sys

        begun = sys.modules.get(_LASTRUNS)  # loaded when execute began a connection
        if begun is not None:
            begun.forget()
        return {}
    from ..errors import LedgerUnreachable
    from ..ledger import lastruns

    read = lastruns.last_seen if seen else lastruns.last_runs
    try:
        return read(project.config, keys or [printable(e.key) for e in entries])
    except LedgerUnreachable as exc:
        # Say why the column is empty.
        fix = "; ".join(filter(None, [exc.fix, "--no-runs skips the ledger"]))
        output.warn(f"{exc.diagnosis}; listing without last runs ({fix})")
        return {}


#: How the table fits a terminal (:func:`opsctl.output.table`): the key whole; the owner and
#: the kind (both read in the key) go first when it is narrow, then the age and the last run;
#: the description is cut short before it goes.
FIT = output.Fit(cut=("description",), drop=("owner", "kind", "age", "last run", "description"),
                 statuses=("last run",))


def row_of(entry: Entry, seen: Seen | None = None, key: str | None = None) -> list[str]:
    """The table row of ``entry``: kind, script (``key``: its printable key, when known),
    owner, age, last run (``seen``, else the entry's), description."""
    if entry.date is not None:
        age = f"{entry.date.isoformat()} ({entry.age_days}d{', stale' if entry.stale else ''})"
    else:
        age = ""
    run = seen if seen is not None else entry.last_run
    last = ""
    if run is not None:
        # Local time with its zone, as the operator reads it; JSON keeps UTC.
        last = f"{output.local(run.started_at)} {run.operator} {run.status}"
        last += " (dry)" if run.dry_run else ""
    return [entry.kind, printable(entry.key) if key is None else key, entry.owner or "", age,
            last, entry.description]


def execute(project: Project, options: ListOptions) -> int:
    """List the project's scripts as ``options`` say, as a table or JSON; the exit status."""
    kind = "temporary" if options.kind == "ts" else options.kind
    if options.as_json and not options.stale and not output.is_terminal() and (
            options.no_runs or not _has_ledger(project)):
        # What tools ask for: each unchanged folder's JSON as printed before.
        output.print_json_bytes(Listing(project, kind, options.owner).json_pieces())
        return 0
    entries = list_scripts(project, kind=kind, owner=options.owner, stale=options.stale,
                           with_runs=options.as_json and not options.no_runs,
                           runs_later=not options.no_runs)
    if options.as_json:
        if output.is_terminal():  # indented, for a person
            output.print_json([as_dict(*e) for e in entries])
        else:
            output.print_json_bytes(json_text(entries).encode("utf-8", "replace") + b"\n")
        return 0
    columns = ["kind", "script", "owner", "age", "last run", "description"]
    if options.no_runs:
        rows = [row_of(e) for e in entries]
        del columns[4]
        for row in rows:
            del row[4]
    else:
        keys = [printable(e.key) for e in entries]
        runs = _last_runs(project, entries, seen=True, keys=keys)
        rows = [row_of(e, runs.get(key), key) for e, key in zip(entries, keys, strict=True)]
    output.table(columns, rows, empty="no scripts match", fit=FIT)
    return 0
