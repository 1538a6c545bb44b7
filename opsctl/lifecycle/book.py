"""The run ledger as the lifecycle reads and writes it, in one place: opened for one use and
closed afterwards, an unreachable ledger retold as what the command did not do; per-script
statistics, the newest runs and the live locks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import LedgerUnreachable
from ..ledger.facts import ledger_exists

if TYPE_CHECKING:
    from ..catalogue import Script
    from ..config import Config
    from ..ledger.store import Ledger
    from ..ledger.values import Holder, Run, ScriptStats


@contextmanager
def ledger(config: Config, *, create: bool = True,
           refusal: str = "nothing changed") -> Iterator[Ledger]:
    """The project's ledger, closed afterwards (its engine holds connections).

    With ``create`` (a move is about to be recorded) the default SQLite file and the tables
    are made on first use; without, a ledger with no tables reads empty. An unreachable
    ledger is an error that ends with ``refusal``: what the command did not do, and why.
    """
    from ..ledger.store import open_ledger

    try:
        book = open_ledger(config, create=create)
    except LedgerUnreachable as exc:
        # Its diagnosis, what this command did not do, then the ledger's own fix.
        raise exc.retold("; ".join(filter(None, [refusal, exc.fix]))) from None
    try:
        yield book
    finally:
        book.close()


def script_stats(config: Config, *, refusal: str = "nothing changed") -> dict[str, ScriptStats]:
    """Per-script run statistics, former names folded in; empty when there is no ledger."""
    if not ledger_exists(config):
        return {}
    with ledger(config, create=False, refusal=refusal) as book:
        return book.stats()


def run_facts(config: Config, scripts: Sequence[Script], *,
              refusal: str = "nothing changed") -> tuple[dict[str, Run], set[str]]:
    """The newest run of each script, and the keys with a run in progress (a live lock)."""
    if not ledger_exists(config) or not scripts:
        return {}, set()
    keys = {s.key for s in scripts}
    with ledger(config, create=False, refusal=refusal) as book:
        runs = book.last_runs(keys)
        # A run in progress is its script's newest run, still marked running: only those few
        # are checked against the small locks table (never every run row, as stats() reads).
        running = {k for k, run in runs.items()
                   if run.status == "running" and book.holder(k) is not None}
    return runs, running


def holder_of(book: Ledger, script: Script) -> Holder | None:
    """The run holding ``script``'s lock now (under any of its names), if one is alive."""
    return book.holder(script.key)
