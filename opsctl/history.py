"""What ``opsctl history`` shows: recorded runs, newest first, streamed, and one run whole.

Reading history never creates the default ledger file; it does record what the local journal
kept (the end of a run the ledger could not take) and mark ``lost`` the runs whose process
died, so what it shows is true. When there is nothing to record or mark, a ledger is read
without SQLAlchemy (:mod:`opsctl.ledger.glance`, :mod:`opsctl.ledger.serverglance`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from . import progress as headway
from .errors import RunNotFound, ScriptNotFound
from .output import Fit, local

if TYPE_CHECKING:
    from .ledger.glance import Glance
    from .ledger.spans import Span
    from .ledger.store import Ledger
    from .ledger.values import Progress, Run
    from .project import Project


def open_for_reading(project: Project) -> Ledger | None:
    """The project's ledger, or None when none was ever written (its SQLite file does not
    exist yet)."""
    from .ledger.facts import ledger_exists

    config = project.config
    if not ledger_exists(config):
        return None
    from .ledger.store import open_ledger

    ledger = open_ledger(config, create=False)
    if ledger.has_schema:
        ledger.reap()
    return ledger


def open_reader(project: Project) -> Glance | Ledger | None:
    """A reader of the project's ledger for a history: a :class:`~.ledger.glance.Glance`
    (no SQLAlchemy; SQLite's or a server's) when it reads all there is, else the ledger
    opened for reading (which records the journal and reaps first); None when there is no
    ledger."""
    from .ledger.facts import ledger_exists

    if not ledger_exists(project.config):
        return None
    from .ledger.lastruns import reader

    found = reader(project.config, reaping=True)
    return found if found is not None else open_for_reading(project)


def script_key(project: Project, text: str) -> str:
    """The key of a ``<script>`` argument; a script that no longer exists is named by its key
    (``recycle/old_name``) when the ledger has runs or moves under exactly that key, or by its
    bare name when no script has that name now and exactly one key the ledger knows does.
    Anything else is :class:`ScriptNotFound`, with the catalogue's suggestions (a typo must
    not read as "no runs yet")."""
    from .catalogue import printable

    try:
        return printable(project.catalogue.resolve(text).key)
    except ScriptNotFound:
        key = text.removesuffix(".py").strip("/")
        if ".." in key.split("/"):
            raise
        if key.count("/") == 1 and _recorded(project, key):
            return key
        if "/" not in key and not any(s.stem == key for s in project.catalogue.scripts):
            named = _named(project, key)
            if len(named) == 1:
                return named[0]
            if named:
                raise ScriptNotFound(f"no script is named {key!r} now, and the ledger knows "
                                     f"{', '.join(named)} by that name; give the folder "
                                     "too") from None
        raise


def _recorded(project: Project, key: str) -> bool:
    ledger = open_for_reading(project)
    if ledger is None:
        return False
    try:
        return ledger.knows(key)
    finally:
        ledger.close()


def _named(project: Project, name: str) -> list[str]:
    ledger = open_for_reading(project)
    if ledger is None:
        return []
    try:
        return ledger.keys_named(name)
    finally:
        ledger.close()


def _no_progress(run_ids: Iterable[int]) -> dict[int, Progress]:
    return {}


class Shown(NamedTuple):
    """What a history shows: the runs, newest first, streamed (read them before the
    :func:`shown` block ends); the spans of the scripts absorbed into the script shown
    (``opsctl absorb``), whose runs are marked; in words, where the runs recorded under
    its name belong when not to the script that has the name now; and the reader's
    ``progress_of`` (one query for a page of runs, never one per run)."""

    runs: Iterator[Run]
    absorbed: list[Span]
    elsewhere: list[str]
    progress_of: Callable[[Iterable[int]], dict[int, Progress]] = _no_progress

    def is_absorbed(self, run: Run) -> bool:
        """Whether ``run`` came to the script from a script absorbed into it."""
        from .ledger.spans import within

        return bool(self.absorbed) and within(self.absorbed, run.script, run.started_at)


@contextmanager
def shown(project: Project, key: str | None, *, status: str | None,
          limit: int | None) -> Iterator[Shown]:
    """The runs of the ledger, or of ``key``, read while the block lasts.

    Those of ``key`` are its script's, under every name it had. When no script has ``key``
    now, they are every run recorded under exactly that name too, and ``elsewhere`` says
    where the script went; when a script has it that is not the one those runs were of
    (the name was freed by a move and taken again), it says where they went instead.
    """
    reader = open_reader(project)
    if reader is None:
        yield Shown(iter(()), [], [])
        return
    try:
        if key is None:
            yield Shown(reader.iter_runs(status=status, limit=limit), [], [],
                        reader.progress_of)
            return
        gone = not any(s.key == key for s in project.catalogue.scripts)
        found = reader.iter_runs(key, status=status, limit=limit, all_under_key=gone)
        owners = reader.owners(key)
        spans = reader.absorbed_spans(key)
        if gone:
            notes = [f"no script is called {key} now; its runs belong to {owner}: "
                     f"'opsctl history {owner}' shows them with the runs since"
                     for owner, _ in owners]
        else:
            notes = [f"{n} earlier run{'s' if n != 1 else ''} recorded as {key} "
                     f"{'belong' if n != 1 else 'belongs'} to {owner}: 'opsctl history "
                     f"{owner}' shows {'them' if n != 1 else 'it'}" for owner, n in owners]
        yield Shown(found, spans, notes, reader.progress_of)
    finally:
        reader.close()


def _chunks(runs: Iterator[Run], size: int) -> Iterator[list[Run]]:
    chunk: list[Run] = []
    for run in runs:
        chunk.append(run)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Table(NamedTuple):
    """The history table: its columns, and its rows a page at a time, as the runs come."""

    columns: list[str]
    pages: Iterator[list[list[str]]]


def table(found: Shown, size: int = 1_000) -> Table | None:
    """The history table of ``found``, ``size`` rows a page; None when it has no run.

    The progress of a page's running and paused runs is read in one query (none when it has
    none). The ``progress`` column is there when a run of the first page has some (always,
    with the default ``--limit``); a run further down a longer listing that has progress
    when the column is not there shows it in its summary, so none is ever left out.
    """
    chunks = _chunks(found.runs, size)
    first = next(chunks, None)
    if first is None:
        return None
    cells = headway.cells(found.progress_of, first)
    at = COLUMNS.index("progress")
    column = bool(cells)

    def rows(chunk: list[Run], cells: dict[int, str]) -> list[list[str]]:
        out = []
        for run in chunk:
            row = row_of(run, found.is_absorbed(run), cells.get(run.id, ""))
            if not column:
                cell = row.pop(at)
                if cell:
                    row[-1] = f"progress: {cell}; {row[-1]}" if row[-1] else \
                        f"progress: {cell}"
            out.append(row)
        return out

    def pages() -> Iterator[list[list[str]]]:
        yield rows(first, cells)
        for chunk in chunks:
            yield rows(chunk, headway.cells(found.progress_of, chunk))

    return Table(COLUMNS if column else [c for c in COLUMNS if c != "progress"], pages())


def json_items(found: Shown, *, absorbed: bool, size: int = 500) -> Iterator[dict[str, Any]]:
    """The runs as ``--json`` gives them, as they come: with a ``progress`` object where
    there is one (one query per ``size`` runs), and with ``absorbed`` when ``absorbed``."""
    for chunk in _chunks(found.runs, size):
        progress = found.progress_of(r.id for r in chunk)
        for run in chunk:
            item = run.as_dict()
            if absorbed:
                item["absorbed"] = found.is_absorbed(run)
            if run.id in progress:
                item["progress"] = headway.as_json(progress[run.id])
            yield item


def nothing_shown(project: Project, key: str | None, status: str | None,
                  elsewhere: list[str]) -> str:
    """What an empty history says: that no run matches ``--status`` when some were recorded;
    never "no runs of ``key``" when runs were recorded under that name for a script that has
    another now."""
    if key is None:
        what = ""
    else:
        what = f" of the script now at {key}" if elsewhere else f" of {key}"
    if status is not None:
        with shown(project, key, status=None, limit=1) as any_run:
            if next(any_run.runs, None) is not None:
                return f"no runs{what} match --status {status}"
    return f"no runs{what} recorded yet"


class Whole(NamedTuple):
    """One run whole: the run, its batches' progress (None without batches), the runs that
    resumed it, and what the run it resumed had done (where its own count started)."""

    run: Run
    progress: Progress | None = None
    resumed_by: tuple[int, ...] = ()
    carried: int = 0
    #: A shard: ``(parent id, "i/N", key range)``; None for any other run.
    shard: tuple[int, str, Any] | None = None
    #: A sharded run's children: ``(child, "i/N", its progress)``, by run id.
    shards: tuple[tuple[Run, str, Progress | None], ...] = ()

    def rate(self) -> float | None:
        """Items per second since the run started, at its last checkpoint."""
        if self.progress is None:
            return None
        return headway.rate_since_start(self.run, self.progress, self.carried)

    def as_dict(self) -> dict[str, Any]:
        """``history --run ID --json``: the run, with ``progress`` and ``resumed_by`` when
        it has batches or was resumed."""
        whole = self.run.as_dict()
        if self.progress is not None:
            whole["progress"] = headway.as_json(self.progress)
        if self.resumed_by:
            whole["resumed_by"] = list(self.resumed_by)
        if self.shard is not None:
            whole["shard"] = {"parent_id": self.shard[0], "shard": self.shard[1],
                              "key_range": self.shard[2]}
        if self.shards:
            whole["shards"] = [{"run_id": c.id, "shard": label, "status": c.status,
                                "progress": headway.as_json(p) if p else None}
                               for c, label, p in self.shards]
        return whole


def look_at(reader: Glance | Ledger | None, run_id: int) -> Whole:
    """Run ``run_id`` whole, read with ``reader``; :class:`RunNotFound` when there is no
    such run."""
    if reader is None or (found := reader.run(run_id)) is None:
        raise RunNotFound(f"no run {run_id} in the ledger; 'opsctl history' lists the runs")
    progress = reader.progress_of([run_id]).get(run_id)  # a sharded run's: summed
    carried = 0
    if progress is not None and progress.resumed_from is not None:
        origin = reader.progress(progress.resumed_from)
        carried = origin.done if origin is not None else 0
    shard, children = shard_links(reader, run_id)
    each = reader.progress_of(c.id for c, _ in children) if children else {}
    return Whole(found, progress, tuple(reader.resumed_by(run_id)), carried, shard,
                 tuple((c, label, each.get(c.id)) for c, label in children))


def shard_links(reader: Glance | Ledger,
                run_id: int) -> tuple[tuple[int, str, Any] | None, list[tuple[Run, str]]]:
    """Which shard run ``run_id`` is (``(parent id, "i/N", key range)``) and its own shards
    (``(child, "i/N")`` by run id), as ``history --run`` and the dashboard show them."""
    links = reader.shards(run_id)
    shard = next(((p, label, json.loads(k) if k else None) for n, p, label, k in links
                  if n == run_id and p is not None), None)
    return shard, [(r, label) for n, p, label, _ in links
                   if p == run_id and (r := reader.run(n)) is not None]


def one_run(project: Project, run_id: int) -> Whole:
    """Run ``run_id`` whole (:func:`look_at`) from the project's ledger."""
    reader = open_reader(project)
    try:
        return look_at(reader, run_id)
    finally:
        if reader is not None:
            reader.close()


def took(run: Run) -> str:
    seconds = run.duration
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def status_text(run: Run) -> str:
    return f"{run.status} (dry)" if run.dry_run else run.status


def summary_text(summary: dict[str, object]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in summary.items())


def _value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str,
                                                           ensure_ascii=False)


def row_of(run: Run, absorbed: bool = False, progress: str = "") -> list[str]:
    """A run as a row of the history table; a run of a script since absorbed into the one
    shown is marked ``(absorbed)``; ``progress`` is its progress cell."""
    note = summary_text(run.summary)
    if run.reason:
        note = f"{note}; reason: {run.reason}" if note else f"reason: {run.reason}"
    exit_code = "" if run.exit_code is None else str(run.exit_code)
    script = f"{run.script} (absorbed)" if absorbed else run.script
    return [str(run.id), local(run.started_at), script, run.operator, status_text(run),
            progress, exit_code, took(run), note]


COLUMNS = ["id", "started", "script", "operator", "status", "progress", "exit", "took",
           "summary"]
#: How the table fits a terminal (:class:`opsctl.output.Fit`): the run's id and script whole;
#: the exit code (the status says it) and the time taken go first when it is narrow, and the
#: summary is cut short before it goes; a run's progress is shown whole rather than its
#: operator and start time, and cut short rather than left out.
FIT = Fit(keys=("id", "script"), cut=("summary", "progress"), statuses=("status",),
          drop=("exit", "took", "summary", "operator", "started", "progress", "status"),
          whole=("progress",))


def details(whole: Whole) -> str:
    """One run whole, as text."""
    import shlex

    run = whole.run
    exit_code = "" if run.exit_code is None else f", exit {run.exit_code}"
    ended = f"{local(run.ended_at, True)} ({took(run)})" if run.ended_at else "(not ended)"
    git = run.git_revision or "(not a git work tree)"
    if run.git_revision and run.git_dirty:
        git += " (uncommitted changes)"
    lines = [
        f"run {run.id}: {run.script} {status_text(run)}{exit_code}",
        f"  args:         {shlex.join(run.args) or '(none)'}",
        f"  operator:     {run.operator} on {run.host} (pid {run.pid})",
        f"  started:      {local(run.started_at, True)}",
        f"  ended:        {ended}",
        f"  environment:  {run.environment or ''}",
        f"  dry run:      {'yes' if run.dry_run else 'no'}",
        f"  reason:       {run.reason or '(none)'}",
        f"  git:          {git}",
        f"  sha256:       {run.sha256 or ''}",
        f"  summary:      {summary_text(run.summary) or '(none)'}",
    ]
    lines.extend(headway.detail_lines(run, whole.progress, whole.resumed_by, whole.rate()))
    lines.extend(headway.shard_lines(whole.shard, whole.shards))
    lines.extend(f"  note:         {note}" for note in run.notes)
    for title, text in (("error", run.error), ("output (tail)", run.output_tail)):
        if text:
            lines.append(f"{title}:")
            lines.extend("  " + line for line in text.rstrip("\n").splitlines())
    return "\n".join(lines)
