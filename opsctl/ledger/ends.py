"""The end of a run is never lost: written to the ledger, waiting out an outage for
``ledger_retry_seconds``; else kept in the local journal (:mod:`.journal`) and recorded from
there by the next command that opens the ledger.

Recording from the journal is idempotent, so a replay cut short anywhere is simply done
again: the end of a started run is written only over a row still ``running`` or ``lost`` (a
row already ended has it), and a run written whole is inserted only when no row of the same
process, script and start exists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from . import rows
from .core import guarded
from .schema import LOCKS, RUNS
from .values import Ended, Process, Replayed, Run
from .writes import OnRetry, Writes, end_values, whole_values

#: The note a run recorded from the journal carries (the rest says why).
LATE = "recorded late from the local journal"


class Ends(Writes):
    """A run's end, and a run written whole, kept whatever the ledger does."""

    def end(self, run: Run, *, status: str, exit_code: int | None, error: str | None = None,
            output_tail: str | None = None, summary: dict[str, Any] | None = None,
            notes: Sequence[str] | None = None, on_retry: OnRetry | None = None,
            give_up: Callable[[], bool] | None = None) -> Ended:
        """Complete the run's row and release its lock (:meth:`~.writes.Writes.finish`),
        waiting out an outage for :attr:`retry_seconds` (``on_retry`` is told when it starts
        waiting, ``give_up`` ends the wait early); failing that, keep the end in the local
        journal. Never raises for the ledger's sake."""
        values = end_values(status, exit_code, error, output_tail, summary, notes)
        try:
            mine = self._finish(run, values, on_retry=on_retry, give_up=give_up)
        except Exception as exc:  # whatever stopped it, the end must be kept
            entry = {"kind": "end", "run": run.id, "script": run.script, "pid": run.pid,
                     "host": run.host, "values": values}
            return self._keep(entry, f"run-{run.id}", exc)
        return Ended("recorded" if mine else "taken over")

    def record(self, *, script: str, process: Process, args: Sequence[str], status: str,
               exit_code: int | None, error: str | None = None, sha256: str | None = None,
               dry_run: bool = False, git_revision: str | None = None,
               git_dirty: bool | None = None, environment: str | None = None,
               reason: str | None = None, notes: Sequence[str] = (),
               on_retry: OnRetry | None = None) -> tuple[Run | None, Ended]:
        """Write a run that ended before it could start properly (its import raised): one
        row, already complete, and no lock. The run, and where it went; no run when it went
        to the journal instead (its id is given when it is recorded from there)."""
        values = whole_values(script=script, process=process, args=args, status=status,
                              exit_code=exit_code, error=error, sha256=sha256,
                              dry_run=dry_run, git_revision=git_revision, git_dirty=git_dirty,
                              environment=environment, reason=reason, notes=notes)
        try:
            run_id, _ = self.persist(lambda conn: self._insert_whole(conn, values),
                                     on_retry=on_retry)
        except Exception as exc:  # whatever stopped it, the run must be kept
            import uuid

            return None, self._keep({"kind": "run", "values": values},
                                    f"whole-{uuid.uuid4().hex[:12]}", exc)
        row = SimpleNamespace(**values, id=run_id, output_tail=None)
        return rows.run_of(row), Ended("recorded")

    def _keep(self, entry: dict[str, Any], name: str, exc: BaseException) -> Ended:
        problem = _first_line(exc)
        if self.journal is None:
            return Ended("not kept", problem=problem, journal_problem="no local journal")
        try:
            path = self.journal.keep({**entry, "problem": problem}, name=name)
        except OSError as failed:
            where = failed.filename or self.journal.folder
            return Ended("not kept", problem=problem,
                         journal_problem=f"{where}: {failed.strerror or failed}")
        return Ended("journaled", path=path, problem=problem)

    @guarded("written")
    def replay_journal(self) -> list[Replayed]:
        """Record what the local journal holds for this ledger, deleting each entry once the
        ledger has it. Entries it cannot use are kept, and said so."""
        if self.journal is None or not self.has_schema:
            return []
        done: list[Replayed] = []
        for path, entry in self.journal.entries():
            replayed = None
            if entry is not None:
                try:
                    replayed = self._replay(path, entry)
                except (KeyError, TypeError, ValueError, AttributeError):
                    replayed = None  # not an entry this opsctl wrote
            if replayed is None:
                replayed = Replayed(path, "unreadable")
            elif replayed.what in ("recorded", "already"):
                self.journal.remove(path)
            done.append(replayed)
        return done

    def _replay(self, path: str, entry: dict[str, Any]) -> Replayed:
        values = dict(entry["values"])
        why = f"{LATE}: when the run ended, the ledger could not take it ({entry['problem']})"
        if entry["kind"] == "run":
            values["notes"] = rows.json_text([*rows.json_load(values.get("notes"), []), why])
            run_id, inserted = self.persist(lambda conn: self._insert_whole(conn, values))
            return Replayed(path, "recorded" if inserted else "already", run_id,
                            values["script"], values["status"], whole=True)
        run_id = int(entry["run"])

        def work(conn: sa.engine.Connection) -> str:
            row = conn.execute(sa.select(RUNS.c.status, RUNS.c.script, RUNS.c.pid,
                                         RUNS.c.host, RUNS.c.error, RUNS.c.notes)
                               .where(RUNS.c.id == run_id)).first()
            if row is None or (row.script, row.pid, row.host) != \
                    (entry["script"], entry["pid"], entry["host"]):
                return "unknown run"
            if row.status not in ("running", "lost"):
                return "already"
            notes = rows.json_load(values["notes"], []) if "notes" in values else \
                rows.json_load(row.notes, [])
            note = why if row.status == "running" else \
                f"{why}; it showed as lost until then ({row.error})"
            updated = conn.execute(RUNS.update()
                                   .where(RUNS.c.id == run_id, RUNS.c.status == row.status)
                                   .values(**{**values, "notes": rows.json_text([*notes,
                                                                                 note])}))
            if not updated.rowcount:
                return "already"  # another process recorded it a moment ago
            conn.execute(LOCKS.delete().where(LOCKS.c.run_id == run_id))
            return "recorded"

        return Replayed(path, self.persist(work), run_id, entry["script"], values["status"])


def _first_line(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0].strip() if detail else ""
    name = type(getattr(exc, "orig", None) or exc).__name__
    return f"{name}: {first}" if first else name
