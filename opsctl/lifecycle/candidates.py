"""Promotion and demotion suggestions (``promote``/``demote`` without a script), each with
its evidence, and offering their moves one at a time.

The suggestion lists are pure functions of the catalogue and the ledger's per-script
statistics, so they are tested from plain values.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..catalogue import Script, printable
from ..errors import OpsctlError
from ..naming import Naming, parse_temporary
from .book import script_stats
from .moves import Move, Moved, Verb, plan_move

if TYPE_CHECKING:
    from ..config import Config
    from ..ledger.values import ScriptStats


@dataclass(frozen=True)
class Candidate:
    """A script the ledger suggests moving, with the evidence (``why`` says it in words).

    ``runs``, ``days`` and ``operators`` count its uses only: runs that succeeded and were
    not dry. ``other_runs`` counts the rest by what they were (``dry``, ``failed``,
    ``interrupted``, ``lost``, ``running``). ``last_at`` is its last use (promote) or its
    last run that was not dry (demote: what "not run for" counts from).
    """

    verb: Verb
    script: Script
    target: str | None  # the key it would get, None when its name gives none (use --as)
    why: str
    runs: int
    days: int
    operators: tuple[str, ...]
    last_at: _dt.datetime | None
    other_runs: tuple[tuple[str, int], ...] = ()

    @property
    def others(self) -> str:
        """The runs that were no use, in words: ``2 dry, 1 failed``."""
        return ", ".join(f"{n} {what}" for what, n in self.other_runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verb": self.verb,
            "key": printable(self.script.key),
            "to": printable(self.target) if self.target else None,
            "why": self.why,
            "runs": self.runs,
            "days": self.days,
            "operators": list(self.operators),
            "last_run_at": self.last_at.isoformat() if self.last_at else None,
            "other_runs": dict(self.other_runs),
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def promote_candidates(scripts: Iterable[Script],
                       stats: Mapping[str, ScriptStats]) -> list[Candidate]:
    """Temporary scripts that were needed again: used on two or more distinct days, or by two
    or more operators. The most-needed first.

    A use is a run that succeeded and was not dry: a script that only ever failed, or was
    only rehearsed with ``--dry-run``, has not shown it is needed, however often it ran.
    """
    out = []
    for script in scripts:
        if script.kind != "temporary":
            continue
        s = stats.get(script.key)
        if s is None or (len(s.used_days) < 2 and len(s.used_by) < 2):
            continue
        reasons = []
        if len(s.used_days) >= 2:
            reasons.append(f"run on {_plural(len(s.used_days), 'day')}")
        if len(s.used_by) >= 2:
            reasons.append(f"by {_plural(len(s.used_by), 'operator')}")
        parsed = parse_temporary(script.stem)
        out.append(Candidate("promote", script, f"recycle/{parsed.what}" if parsed else None,
                             " ".join(reasons), s.succeeded, len(s.used_days),
                             tuple(sorted(s.used_by)), s.last_used_at, s.other_runs))
    out.sort(key=lambda c: (-c.days, -len(c.operators), -c.runs, c.script.key))
    return out


def demote_candidates(scripts: Iterable[Script], stats: Mapping[str, ScriptStats], *,
                      stale_days: int, now: _dt.datetime) -> list[Candidate]:
    """Recycle scripts that look one-off: run exactly once, or not run for ``stale_days``.

    Dry runs never count: a rehearsal is not a use. *Run exactly once* is one use (a run that
    succeeded, not dry) with no run after it that was not dry: failed attempts before the
    one success were getting that one job done, while any real run after it means someone
    reached for the script again. *Not run* counts from the last run that was not dry,
    whatever its outcome. A recycle script never run for real counts as not run once its
    file has been unchanged for ``stale_days`` (a fresh clone makes every file new, which
    errs on keeping it).
    """
    out = []
    for script in scripts:
        if script.kind != "recycle":
            continue
        s = stats.get(script.key)
        last = s.last_real_at if s else None
        idle = _days_between(last, now) if last is not None else None
        if s is not None and idle is not None and s.succeeded == 1 and \
                s.last_used_at == last:
            why = f"run exactly once, {_ago(idle)}"
        elif idle is not None and idle > stale_days:
            why = f"not run for {idle} days"
        elif last is None:
            try:
                mtime = _dt.datetime.fromtimestamp(script.path.stat().st_mtime, _dt.UTC)
            except OSError:
                continue
            age = _days_between(mtime, now)
            if age <= stale_days:
                continue
            never = "never run for real" if s is not None else "never run"
            why = f"{never}; unchanged for {age} days"
        else:
            continue
        out.append(Candidate("demote", script, f"unrecycle/{script.stem}", why,
                             s.succeeded if s else 0, len(s.used_days) if s else 0,
                             tuple(sorted(s.used_by)) if s else (), last,
                             s.other_runs if s else ()))
    out.sort(key=lambda c: (c.runs, c.last_at or _dt.datetime.min.replace(tzinfo=_dt.UTC),
                            c.script.key))
    return out


def _days_between(earlier: _dt.datetime, later: _dt.datetime) -> int:
    """Calendar days, in local time like the ledger's ``days``: yesterday 23:00 is 1 day."""
    return (later.astimezone().date() - earlier.astimezone().date()).days


def _ago(days: int) -> str:
    return "today" if days <= 0 else ("yesterday" if days == 1 else f"{days} days ago")


def suggest(verb: Verb, config: Config, scripts: Iterable[Script], *,
            now: _dt.datetime | None = None) -> list[Candidate]:
    """The scripts the ledger's runs suggest to ``verb``: :func:`promote_candidates` or
    :func:`demote_candidates` (idle for ``config.stale_days``, counted up to ``now``)."""
    stats = script_stats(config, refusal=f"the {verb} candidates come from its runs")
    if verb == "promote":
        return promote_candidates(scripts, stats)
    return demote_candidates(scripts, stats, stale_days=config.stale_days,
                             now=now or _dt.datetime.now(_dt.UTC))


@dataclass(frozen=True)
class Offer:
    """What became of one candidate :func:`offer_moves` offered: ``refused`` when its move
    could not be planned, else ``moved`` when done, ``failed`` when doing it failed, or
    neither when it was declined."""

    candidate: Candidate
    move: Move | None = None
    moved: Moved | None = None
    refused: OpsctlError | None = None
    failed: OpsctlError | None = None


def offer_moves(candidates: Iterable[Candidate], *, naming: Naming,
                accept: Callable[[Move], bool],
                carry_out: Callable[[Move], Moved]) -> Iterator[Offer]:
    """Plan each candidate's move, offer it to ``accept`` and ``carry_out`` the accepted ones,
    one at a time; yield what became of each as it happens.

    Each move is planned just before it is offered, against the disk as the moves before it
    left it. A move that cannot be planned or carried out (an :class:`OpsctlError`) does not
    stop the others; whatever ``accept`` raises (a refusal to answer) stops them all.
    """
    for candidate in candidates:
        try:
            move = plan_move(candidate.verb, candidate.script, naming=naming)
        except OpsctlError as exc:
            yield Offer(candidate, refused=exc)
            continue
        if not accept(move):
            yield Offer(candidate, move)
            continue
        try:
            moved = carry_out(move)
        except OpsctlError as exc:
            yield Offer(candidate, move, failed=exc)
            continue
        yield Offer(candidate, move, moved)
