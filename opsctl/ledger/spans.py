"""The lineage of a script through moves and absorptions, as plain values: which keys it had
and when (its *spans*), where a run's script lives now, whether a run falls in a span.

Pure functions of the moves and absorptions, each ``(old_key, new_key, at)``, oldest first;
:mod:`.lineage` reads them from the ledger. Importing this module loads no SQLAlchemy, so a
reader without it (:mod:`.glance`) follows moves the same way.
"""

from __future__ import annotations

from ..light import datetime as _dt

#: A move or an absorption: ``(old_key, new_key, at)``.
Move = tuple[str, str, _dt.datetime]
#: A key the script had, from when until when (None where unbounded).
Span = tuple[str, "_dt.datetime | None", "_dt.datetime | None"]


def lineage_of(key: str, moves: list[Move], absorbed: list[Move] | None = None,
               until: _dt.datetime | None = None) -> list[Span]:
    """Follow moves backwards from the script at ``key`` (as it was just before ``until``).

    The script had ``key`` since the last move into it, unless the name was freed after that
    (moved on, or absorbed into another script): then it had it since then, and whatever had
    the name before is another script. Before the move into it, it had the move's old key,
    and so on; each step only looks at what happened before the time it reached.
    """
    spans: list[Span] = []
    current: str | None = key
    seen: set[tuple[str, _dt.datetime | None]] = set()
    while current is not None and (current, until) not in seen:
        seen.add((current, until))
        into, freed = _last_into(current, moves, until), _last_out(current, moves, absorbed,
                                                                    until)
        if into is not None and (freed is None or into[2] >= freed):
            spans.append((current, into[2], until))
            current, until = into[0], into[2]
            continue
        spans.append((current, freed, until))
        current = None
    return spans


def _last_into(key: str, moves: list[Move], until: _dt.datetime | None) -> Move | None:
    found = None
    for move in moves:
        if until is not None and move[2] >= until:
            break  # oldest first: the rest are later still
        if move[1] == key and move[0] != key:
            found = move
    return found


def _last_out(key: str, moves: list[Move], absorbed: list[Move] | None,
              until: _dt.datetime | None) -> _dt.datetime | None:
    times = [when for old, new, when in [*moves, *(absorbed or ())]
             if old == key and new != key and (until is None or when < until)]
    return max(times) if times else None


def absorbed_of(key: str, moves: list[Move], absorbed: list[Move],
                until: _dt.datetime | None = None) -> list[Span]:
    """The spans of the scripts absorbed into the one at ``key`` while it had each of its
    keys, each up to its absorption, and of those absorbed into them before that."""
    out: list[Span] = []
    for k, since, end in lineage_of(key, moves, absorbed, until):
        for other, keep, when in absorbed:
            if keep == k and (since is None or when >= since) and (end is None or when < end):
                # Earlier times only, each step: the recursion ends.
                out.extend(lineage_of(other, moves, absorbed, when))
                out.extend(absorbed_of(other, moves, absorbed, when))
    return out


def within(spans: list[Span], script: str, started: _dt.datetime) -> bool:
    """Whether a run of ``script`` started at ``started`` falls in one of ``spans``."""
    return any(key == script and (since is None or started >= since) and
               (until is None or started < until) for key, since, until in spans)


def current_key(script: str, started: _dt.datetime, moves: list[Move]) -> str:
    """Where the script that ran as ``script`` at ``started`` lives now: ``moves`` holds the
    moves and absorptions, oldest first."""
    key, when = script, started
    for _ in range(len(moves) + 1):
        nxt = next((m for m in moves if m[0] == key and m[2] > when), None)
        if nxt is None:
            break
        key, when = nxt[1], nxt[2]
    return key
