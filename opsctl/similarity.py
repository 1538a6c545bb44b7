"""Similar purposes: which existing scripts a new name probably duplicates, and which recycle
scripts are near-twins.

The convention says to extend a recycle script of the same purpose before adding another, so
``new`` and ``promote`` name the similar ones (:func:`similar`: a loose match, sharing words).
Two scripts whose names or descriptions are nearly identical are *near-twins*
(:func:`one_word_apart`: a strict match), which the lint reports (OPS303). A description is
the first line of a script's docstring (:func:`read_description`, read without importing or
parsing the script, and without :mod:`pathlib`, so the lint can afford it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

from .light import pattern
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


def one_word_apart(word_lists: Mapping[str, Sequence[str]],
                   minimum: int) -> list[tuple[str, str]]:
    """The pairs of keys whose word lists are nearly identical, each pair sorted: the same
    first two words (the verb and what it acts on), at most one word after them changed,
    added or dropped, and at least ``minimum`` words in common. So
    ``export_order_id_and_custom_name`` and ``export_order_id_and_custom_id`` are, while
    ``export_order`` and ``export_order_data`` (two words in common), ``flush_order_data`` and
    ``export_order_data`` (another verb) and ``export_order_ids_to_csv`` and
    ``export_customer_ids_to_csv`` (another object) are not.

    Linear in the number of lists: each is indexed whole and with each word after the first
    two left out, so two lists one word apart meet under one index key (a word changed: both
    without it; a word added: the shorter whole, the longer without it), and only those are
    compared. A key holds the words the two would have in common, so none shorter than
    ``minimum`` is made.
    """
    # Near-twins share their first two words, so the lists are indexed a group of the same
    # first two words at a time: the index of one group held at once, not of ten thousand.
    # An index key met once (most are) holds its one key itself, not a list of it; so does a
    # group of one (most of ten thousand names are: a list each was a megabyte).
    groups: dict[tuple[str, ...], str | list[str]] = {}
    for key, found in word_lists.items():
        if len(found) >= max(minimum, _FIXED):
            first = groups.setdefault(tuple(found[:_FIXED]), key)
            if first is key:
                continue
            if type(first) is list:
                first.append(key)
            else:
                groups[tuple(found[:_FIXED])] = [first, key]  # type: ignore[list-item]
    pairs: set[tuple[str, str]] = set()
    for group in groups.values():
        if type(group) is not list:
            continue
        index: dict[tuple[str, ...], str | list[str]] = {}
        for key in group:
            seq = tuple(word_lists[key])
            variants = [seq]
            if len(seq) > max(minimum, _FIXED):
                variants += (seq[:i] + seq[i + 1:] for i in range(_FIXED, len(seq)))
            for variant in variants:
                held = index.setdefault(variant, key)
                if held is key:
                    continue
                if type(held) is list:
                    held.append(key)
                else:
                    index[variant] = [held, key]  # type: ignore[list-item]
        for keys in index.values():
            if type(keys) is not list:
                continue
            for i, a in enumerate(keys):
                for b in keys[i + 1:]:
                    if a != b and _near(word_lists[a], word_lists[b], minimum):
                        pairs.add((a, b) if a < b else (b, a))
    return sorted(pairs)


#: Words two near-twins have the same, first: the verb and what it acts on.
_FIXED = 2


def _near(x: Sequence[str], y: Sequence[str], minimum: int) -> bool:
    if list(x[:_FIXED]) != list(y[:_FIXED]) or len(x) < _FIXED:
        return False
    if len(x) == len(y):
        differ = sum(a != b for a, b in zip(x, y, strict=True))
        return differ <= 1 and len(x) - differ >= minimum
    short, long = (x, y) if len(x) < len(y) else (y, x)
    if len(long) - len(short) != 1 or len(short) < minimum:
        return False
    return any(list(long[:i]) + list(long[i + 1:]) == list(short)
               for i in range(_FIXED, len(long)))


_WORD_RE = pattern(r"[a-z0-9]+")
#: Words that join a description's words without saying what the script does.
_FILLER = frozenset({"a", "an", "the", "of", "to", "for", "with", "and", "or", "in", "on",
                     "by", "from", "at", "as", "into", "its", "their", "all", "every", "each"})


def description_words(text: str) -> list[str]:
    """The words of a description that say something: lowercase, without punctuation and
    without filler (``the``, ``of``, ``to``...)."""
    return [w for w in _WORD_RE.findall(text.lower()) if w not in _FILLER]


_DOCSTRING_START = ('"""', "'''", '"', "'")
#: How much of a script :func:`read_description` reads.
DESCRIPTION_BYTES = 4096


def read_description(path: str | os.PathLike[str], limit: int = DESCRIPTION_BYTES) -> str:
    """The first line of a script's module docstring, read without importing or parsing it.

    Reads at most ``limit`` bytes; a binary or undecodable file gives a short marker instead.
    """
    try:
        # os.open/os.read, not open(): no buffered file object per script, and a FIFO or
        # device named like a script does not block the listing.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            head = os.read(fd, limit)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"
    return describe(head)


def describe(head: bytes) -> str:
    """The description in the first bytes of a script (:func:`read_description`)."""
    if b"\0" in head:
        return "(binary file)"
    text = head.decode("utf-8", "replace")
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        body = stripped.lstrip("rRuU")
        for quote in _DOCSTRING_START:
            if body.startswith(quote):
                rest = body[len(quote):]
                if rest.strip():
                    return rest.split(quote)[0].strip()
                # The text starts on the next line: """\nExport order data.
                after = text.split(line, 1)[1].lstrip("\r\n")
                first = after.splitlines()[0].strip() if after.strip() else ""
                return first.split(quote)[0].strip()
        return ""
    return ""
