"""Similar purposes: which existing scripts a new name probably duplicates.

The convention says to extend a recycle script of the same purpose before adding another, so
``new`` and ``promote`` name the similar ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from .naming import words


def similar(name: str, candidates: Iterable[str], *, exclude: str | None = None) -> list[str]:
    """Candidates of similar purpose: sharing words with ``name`` or close in spelling.

    ``export_order`` is similar to ``export_order_data``; ``clear_cache`` is not.
    """
    import difflib

    mine = set(words(name))
    if not mine:
        return []
    out: list[str] = []
    for other in candidates:
        if other == exclude:
            continue
        theirs = set(words(other))
        if not theirs:
            continue
        shared = mine & theirs
        # The same verb and one more word in common, or one name's words all inside the other's
        # (export_order / export_order_data), mean the same purpose; flush_order_data and
        # export_order_data share words but not a purpose.
        same_verb = words(name)[0] == words(other)[0] and len(shared) >= 2
        contained = len(shared) >= 2 and (shared == theirs or shared == mine)
        close = difflib.SequenceMatcher(None, "_".join(mine), "_".join(theirs)).ratio() > 0.85
        if same_verb or contained or close:
            out.append(other)
    return out
