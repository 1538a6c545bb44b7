"""What ``opsctl list`` shows, and how it prints it: each script with its age, description and
last run.

Both roads to ``opsctl list`` end in :func:`execute`: the Click command
(:mod:`opsctl.cli.list`) and the Click-free fast path (:mod:`opsctl.cli.list_fast`) that the
``opsctl`` program takes for the everyday shapes, so the two cannot print different things.
A listing of 10,000 scripts must stay within 2x of a bare ``os.scandir`` walk of them, so this
module is light to import (no :mod:`typing`, :mod:`pathlib`, :mod:`dataclasses`, nor the
catalogue's :class:`~opsctl.catalogue.Script` objects): it walks the root as the catalogue
does (a test holds the two to the same scripts, in the same order), and builds each script's
JSON object or table row in one pass.
"""

from __future__ import annotations

import os

from . import output
from .light import NamedTuple
from .naming import SHARED_FOLDERS, TS_RE

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Sequence
    from typing import Any

    from .ledger.values import Run
    from .project import Project


class ListOptions(NamedTuple):
    """The options of ``opsctl list``, as Click or :func:`opsctl.cli.list_fast.parse_fast`
    read them (``kind`` as given: ``ts`` is ``temporary``)."""

    kind: str | None = None
    owner: str | None = None
    stale: bool = False
    no_runs: bool = False
    as_json: bool = False


class Entry(NamedTuple):
    """One listed script: its folder and file name, the date in its name (temporary scripts
    with a real date), its age and staleness, its description and its last run."""

    folder: str
    filename: str
    date: _dt.date | None
    age_days: int | None
    stale: bool
    description: str
    last_run: Run | None = None  # a ledger run summary (opsctl.ledger.glance.last_runs)

    @property
    def rel(self) -> str:
        """The path relative to the root, with ``.py``."""
        return f"{self.folder}/{self.filename}"

    @property
    def key(self) -> str:
        """``<folder>/<stem>``: how the ledger, ``history`` and messages name the script."""
        return f"{self.folder}/{self.filename[:-3]}"

    @property
    def kind(self) -> str:
        return _kind(self.folder)

    @property
    def owner(self) -> str | None:
        return None if self.folder in SHARED_FOLDERS else self.folder

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(*self)


def _kind(folder: str) -> str:
    return folder if folder in SHARED_FOLDERS else "temporary"


def _printable(text: str) -> str:
    """:func:`opsctl.catalogue.printable`, without importing the catalogue for the usual
    name (an ASCII name holds no undecodable byte)."""
    if text.isascii():
        return text
    from .catalogue import printable

    return printable(text)


def _as_dict(folder: str, filename: str, date: _dt.date | None, age_days: int | None,
             stale: bool, description: str, last_run: Run | None) -> dict[str, Any]:
    shared = folder in SHARED_FOLDERS
    return {
        "key": _printable(f"{folder}/{filename[:-3]}"),
        "path": _printable(f"{folder}/{filename}"),
        "kind": folder if shared else "temporary",
        "owner": None if shared else folder,
        "date": date.isoformat() if date else None,
        "age_days": age_days,
        "stale": stale,
        "description": description,
        "last_run": last_run.as_dict(output_tail=False) if last_run is not None else None,
    }


def scripts_of(root: str) -> list[tuple[str, list[str]]]:
    """The scripts under ``root`` as the catalogue finds them, in its order: each folder
    (recycle/, unrecycle/, then the developer folders by name) with its script file names,
    sorted."""
    try:
        folders = [e.name for e in os.scandir(root) if e.is_dir() and
                   not e.name.startswith((".", "__"))]
    except FileNotFoundError:
        return []
    folders.sort(key=lambda name: (_RANK.get(name, 2), name))
    found = []
    for folder in folders:
        try:
            entries = list(os.scandir(os.path.join(root, folder)))
        except OSError:
            continue
        names = [e.name for e in entries if e.name.endswith(".py") and
                 e.name != "__init__.py" and not e.name.startswith(".") and e.is_file()]
        names.sort()
        found.append((folder, names))
    return found


_RANK = {"recycle": 0, "unrecycle": 1}


def list_scripts(project: Project, *, kind: str | None = None, owner: str | None = None,
                 stale: bool = False, with_runs: bool = True,
                 today: _dt.date | None = None) -> list[Entry]:
    """The scripts, filtered, with descriptions and (optionally) last runs."""
    entries = [Entry(*row) for row in _rows(project, kind, owner, stale, today)]
    if with_runs:
        runs = _last_runs(project, entries)
        if runs:
            entries = [e._replace(last_run=runs.get(_printable(e.key))) for e in entries]
    return entries


def _rows(project: Project, kind: str | None, owner: str | None, stale: bool,
          today: _dt.date | None) -> list[tuple[Any, ...]]:
    """``(folder, filename, date, age_days, stale, description)`` of each script listed."""
    import datetime as _dt

    from .similarity import read_descriptions

    config = project.config
    day = (today or _dt.date.today()).toordinal()
    stale_days = config.stale_days
    dates: dict[str, tuple[_dt.date | None, int | None, bool]] = {}
    no_date = (None, None, False)
    kept: list[tuple[Any, ...]] = []
    total = 0
    for folder, names in scripts_of(config.root_path):
        total += len(names)
        if (kind is not None and _kind(folder) != kind) or (owner is not None and (
                folder != owner or folder in SHARED_FOLDERS)):
            continue  # a shared script has no owner
        if folder in SHARED_FOLDERS:
            if not stale:
                kept += [(folder, name, None, None, False) for name in names]
            continue
        for name in names:
            stem = name[:-3]
            found = dates.get(stem[:14])
            if found is None or not TS_RE.match(stem):
                found = _dated(stem, day, stale_days, dates) if found is None else no_date
            if found[2] or not stale:
                kept.append((folder, name, *found))
    # Through the cache of descriptions: a script unchanged since the last list is not read.
    descriptions = read_descriptions(config.root_path, [f"{r[0]}/{r[1]}" for r in kept],
                                     config.cache_path, every=len(kept) == total)
    return [(*row, description) for row, description in zip(kept, descriptions, strict=True)]


def _dated(stem: str, day: int, stale_days: int,
           dates: dict[str, tuple[Any, ...]]) -> tuple[Any, ...]:
    """The date, age and staleness of a temporary script's stem, kept by the stem's date part
    for the next name of that day."""
    import datetime as _dt

    match = TS_RE.match(stem)
    if match is None:
        return (None, None, False)
    try:
        date: _dt.date | None = _dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        date = None
    found = (date, day - date.toordinal(), day - date.toordinal() > stale_days) \
        if date is not None else (None, None, False)
    dates[stem[:14]] = found
    return found


def _last_runs(project: Project, entries: Sequence[Entry]) -> dict[str, Run]:
    """The last run of each listed script, when there is a ledger; an unreachable one is a
    warning (the scripts are still worth listing)."""
    from .ledger.facts import ledger_exists

    if not entries or not ledger_exists(project.config):
        return {}
    from .errors import LedgerUnreachable
    from .ledger.glance import last_runs

    try:
        return last_runs(project.config, [_printable(e.key) for e in entries])
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


def row_of(entry: Entry) -> list[str]:
    """The table row of ``entry``: kind, script, owner, age, last run, description."""
    if entry.date is not None:
        age = f"{entry.date.isoformat()} ({entry.age_days}d{', stale' if entry.stale else ''})"
    else:
        age = ""
    run = entry.last_run
    last = ""
    if run is not None:
        # Local time with its zone, as the operator reads it; JSON keeps UTC.
        last = f"{output.local(run.started_at)} {run.operator} {run.status}"
        last += " (dry)" if run.dry_run else ""
    return [entry.kind, _printable(entry.key), entry.owner or "", age, last, entry.description]


def execute(project: Project, options: ListOptions) -> int:
    """List the project's scripts as ``options`` say, as a table or JSON; the exit status."""
    kind = "temporary" if options.kind == "ts" else options.kind
    entries = list_scripts(project, kind=kind, owner=options.owner, stale=options.stale,
                           with_runs=not options.no_runs)
    if options.as_json:
        output.print_json([_as_dict(*e) for e in entries])
        return 0
    columns = ["kind", "script", "owner", "age", "last run", "description"]
    rows = [row_of(e) for e in entries]
    if options.no_runs:
        del columns[4]
        for row in rows:
            del row[4]
    output.table(columns, rows, empty="no scripts match", fit=FIT)
    return 0
