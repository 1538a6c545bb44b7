"""What each page of the dashboard shows, read through opsctl's own domain code: the scripts
(:func:`opsctl.listing.list_scripts`, the lifecycle's :func:`~opsctl.lifecycle.candidates.
suggest`), a page of runs (:func:`opsctl.ledger.paging.page`, by keyset) with the progress of
those running, and one run whole, its arguments and texts scrubbed again before they are
shown (:mod:`opsctl.run.secrets`).

No Flask here: the views (:mod:`.views`) render what these return.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import OpsctlError

if TYPE_CHECKING:
    from ..ledger.paging import Filters, Position
    from ..ledger.store import Ledger
    from ..ledger.values import Progress, Run
    from ..lifecycle.candidates import Candidate
    from ..listing.entries import Entry
    from ..project import Project


#: How often the dashboard marks dead runs ``lost``.
REAP_SECONDS = 5.0


@dataclass
class Source:
    """Where the dashboard reads from: the project folder (read again for each page, so a
    script added since shows) and its ledger, opened once and shared by the requests. Runs
    whose process died are marked ``lost`` (as ``history`` does) at most every
    :data:`REAP_SECONDS`, so a dead run does not show as running."""

    project_dir: str | None = None
    _ledger: Ledger | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reaped: float = 0.0

    def project(self) -> Project:
        from ..project import Project

        return Project(self.project_dir)

    def ledger(self, project: Project) -> Ledger | None:
        """The project's ledger; None while it has none."""
        from ..ledger.facts import ledger_exists

        with self._lock:
            if self._ledger is None:
                if not ledger_exists(project.config):
                    return None
                from ..ledger.store import open_ledger

                self._ledger = open_ledger(project.config, create=False)
            if time.monotonic() - self._reaped > REAP_SECONDS and self._ledger.has_schema:
                self._ledger.reap()
                self._reaped = time.monotonic()
            return self._ledger

    def close(self) -> None:
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None


class ScriptsPage(NamedTuple):
    entries: list[Entry]
    kinds: list[str]
    owners: list[str]
    promote: list[Candidate]
    demote: list[Candidate]
    #: Why the suggestions are missing, when they are.
    no_suggestions: str | None


def scripts_page(project: Project, *, kind: str | None, owner: str | None,
                 search: str | None) -> ScriptsPage:
    """The scripts, filtered by kind and owner and searched by name, with the lifecycle's
    suggestions."""
    from ..catalogue import printable
    from ..lifecycle.candidates import suggest
    from ..listing.show import list_scripts

    everything = project.catalogue.scripts
    kinds: list[str] = sorted({s.kind for s in everything})
    owners = sorted({s.owner for s in everything if s.owner})
    entries = list_scripts(project, kind=kind or None, owner=owner or None)
    if search:
        wanted = search.lower()
        entries = [e for e in entries if wanted in printable(e.key).lower()]
    promote: list[Candidate] = []
    demote: list[Candidate] = []
    why = None
    try:
        promote = suggest("promote", project.config, everything)
        demote = suggest("demote", project.config, everything)
    except OpsctlError as exc:
        why = exc.format_message()
    return ScriptsPage(entries, kinds, owners, promote, demote, why)


@dataclass(frozen=True)
class Live:
    """A running run's progress as shown: the fraction done and the time left (None when
    it cannot be told)."""

    done: int
    total: int | None
    fraction: float | None
    left: str | None
    request: str | None
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "fraction": self.fraction,
                "percent": None if self.fraction is None else round(self.fraction * 100, 1),
                "left": self.left, "request": self.request, "text": self.text}


def live(run: Run, progress: Progress, carried: int = 0) -> Live:
    """``progress`` of ``run`` as ``history`` tells it (:mod:`opsctl.progress`), with the
    time left at the pace so far; ``carried``: what the run it resumed had done."""
    from .. import progress as headway

    rate = headway.rate_since_start(run, progress, carried)
    seconds = headway.seconds_left(progress, rate) if run.status == "running" else None
    return Live(progress.done, progress.total, progress.fraction,
                None if seconds is None else headway.left_text(seconds), progress.request,
                headway.text(run, progress, rate))


class RunsPage(NamedTuple):
    runs: list[Run]
    live: dict[int, Live]
    next: Position | None


def runs_page(ledger: Ledger | None, filters: Filters, before: Position | None,
              size: int = 50) -> RunsPage:
    """A page of runs and the progress of those of them running."""
    from ..ledger.paging import page

    if ledger is None:
        return RunsPage([], {}, None)
    found, after = page(ledger, filters, before=before, size=size)
    return RunsPage(found, progress_of(ledger, found), after)


def progress_of(ledger: Ledger, runs: list[Run], *,
                statuses: tuple[str, ...] | None = ("running", "paused")) -> dict[int, Live]:
    """The progress of those of ``runs`` with one of ``statuses`` (None: any)."""
    wanted = {r.id: r for r in runs if statuses is None or r.status in statuses}
    if not wanted:
        return {}
    found = ledger.progress_of(wanted)
    done = carried(ledger, found.values())
    return {run_id: live(wanted[run_id], p, done.get(p.resumed_from or 0, 0))
            for run_id, p in found.items()}


def carried(ledger: Ledger, among: Iterable[Progress]) -> dict[int, int]:
    """What each run resumed by one of ``among`` had done (a resumed run's count starts
    there), by its id: one query."""
    earlier = {p.resumed_from for p in among if p.resumed_from}
    return {k: p.done for k, p in ledger.progress_of(earlier).items()} if earlier else {}


class RunPage(NamedTuple):
    run: Run
    args: list[str]
    texts: dict[str, str | None]
    live: Live | None
    resumed_from: int | None
    resumed_by: list[int]
    #: A shard: ``(parent id, "i/N", its keys in words)``.
    shard: tuple[int, str, str] | None = None
    #: A sharded run's shards: ``(child, "i/N", its progress)``, by run id.
    shards: list[tuple[Run, str, Live | None]] = []


def run_page(project: Project, ledger: Ledger | None, run_id: int) -> RunPage | None:
    """One run whole, scrubbed again; None when the ledger has no such run."""
    from ..run.secrets import Scrubber, redact

    run = ledger.run(run_id) if ledger is not None else None
    if ledger is None or run is None:
        return None
    names = project.config.secret_options
    scrub = Scrubber(secret_names=names)
    texts = {"reason": scrub.text(run.reason), "error": scrub.text(run.error),
             "output": scrub.text(run.output_tail)}
    progress = ledger.progress_of([run_id]).get(run_id)  # a sharded run's: summed
    shown = None
    if progress is not None:
        done = carried(ledger, [progress]).get(progress.resumed_from or 0, 0)
        shown = live(run, progress, done)
    shard, shards = shards_of(ledger, run_id)
    return RunPage(run, scrub.args(redact(run.args, names)), texts, shown,
                   progress.resumed_from if progress is not None else None,
                   ledger.resumed_by(run_id), shard, shards)


def shards_of(ledger: Ledger, run_id: int) -> tuple[tuple[int, str, str] | None,
                                                    list[tuple[Run, str, Live | None]]]:
    """Which shard run ``run_id`` is (its parent, ``"i/N"``, its keys in words), and the
    shards of it, with their progress: the dashboard's view of a sharded run, read as
    ``history --run`` reads it (:func:`~opsctl.history.shard_links`)."""
    from ..history import shard_links
    from ..progress import keys_words

    found, children = shard_links(ledger, run_id)
    shard = None if found is None else (found[0], found[1], keys_words(found[2]) or "")
    each = progress_of(ledger, [c for c, _ in children], statuses=None)
    return shard, [(c, label, each.get(c.id)) for c, label in children]
