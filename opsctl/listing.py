"""What ``opsctl list`` shows: each script with its age, description and last run."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .catalogue import Script, printable
from .ledger.facts import ledger_exists
from .output import Fit
from .similarity import read_descriptions

if TYPE_CHECKING:
    from .project import Project


@dataclass(frozen=True)
class Entry:
    script: Script
    description: str
    age_days: int | None
    stale: bool
    last_run: Any = None  # a ledger run summary (see opsctl.ledger.glance.last_runs), or None

    def as_dict(self) -> dict[str, Any]:
        s = self.script
        return {
            "key": printable(s.key),
            "path": printable(s.rel),
            "kind": s.kind,
            "owner": s.owner,
            "date": s.date.isoformat() if s.date else None,
            "age_days": self.age_days,
            "stale": self.stale,
            "description": self.description,
            "last_run": self.last_run.as_dict(output_tail=False) if self.last_run is not None
            else None,
        }


def list_scripts(project: Project, *, kind: str | None = None, owner: str | None = None,
                 stale: bool = False, with_runs: bool = True,
                 today: _dt.date | None = None) -> list[Entry]:
    """The catalogue's scripts, filtered, with descriptions and (optionally) last runs."""
    today = today or _dt.date.today()
    stale_days = project.config.stale_days
    scripts = [s for s in project.catalogue.scripts
               if (kind is None or s.kind == kind) and (owner is None or s.owner == owner)]
    kept = []
    for s in scripts:
        age = (today - s.date).days if s.date else None
        is_stale = age is not None and age > stale_days
        if stale and not is_stale:
            continue
        kept.append((s, age, is_stale))
    # Through the cache of descriptions: a script unchanged since the last list is not read.
    descriptions = read_descriptions(project.config.root_path, [s.rel for s, _, _ in kept],
                                     project.config.cache_path, every=len(kept) == len(
                                         project.catalogue.scripts))
    entries = [Entry(s, description, age, is_stale)
               for (s, age, is_stale), description in zip(kept, descriptions, strict=True)]
    if with_runs and entries and ledger_exists(project.config):
        from .errors import LedgerUnreachable
        from .ledger.glance import last_runs
        from .output import warn

        try:
            runs = last_runs(project.config, [printable(e.script.key) for e in entries])
        except LedgerUnreachable as exc:
            # The scripts are still worth listing; say why the column is empty.
            fix = "; ".join(filter(None, [exc.fix, "--no-runs skips the ledger"]))
            warn(f"{exc.diagnosis}; listing without last runs ({fix})")
            runs = {}
        entries = [Entry(e.script, e.description, e.age_days, e.stale,
                         runs.get(printable(e.script.key))) for e in entries]
    return entries


#: How the table fits a terminal (:func:`opsctl.output.table`): the key whole; the owner and
#: the kind (both read in the key) go first when it is narrow, then the age and the last run;
#: the description is cut short before it goes.
FIT = Fit(cut=("description",), drop=("owner", "kind", "age", "last run", "description"),
          statuses=("last run",))


def row_of(entry: Entry) -> list[str]:
    s = entry.script
    if s.date is not None:
        age = f"{s.date.isoformat()} ({entry.age_days}d{', stale' if entry.stale else ''})"
    else:
        age = ""
    run = entry.last_run
    last = ""
    if run is not None:
        from .output import local

        # Local time with its zone, as the operator reads it; JSON keeps UTC.
        last = f"{local(run.started_at)} {run.operator} {run.status}"
        last += " (dry)" if run.dry_run else ""
    return [s.kind, s.display, s.owner or "", age, last, entry.description]
