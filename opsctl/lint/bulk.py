"""Proving names good in bulk: the lint's fast matches, and what a folder's names come to.

A large tree is mostly good names and stale ones. Each of them costs its share of a C-level
``filter`` or ``min`` here, never a call of its own; only the names left over reach the full
rules of :mod:`opsctl.naming` (:class:`opsctl.lint.names.NameRules`). Every match here is
stricter than those rules, so a miss only means "apply the full rules"; tests hold the walk
that uses them to the full rules name by name.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from itertools import accumulate, filterfalse, islice

from ..copies import unmarked
from ..dates import dates_between
from ..light import datetime as _dt
from ..naming import SHARED_FOLDERS

Match = Callable[[str], "re.Match[str] | None"]

#: A good ``<what>``: ``_SNAKE`` of :mod:`opsctl.naming` with ASCII classes, the same names
#: matched faster. Each repeat starts with ``_``, which nothing before it matches, so there is
#: nothing to backtrack into. No possessive repeats (``*+``): CPython 3.11 before 3.11.5
#: matches a possessive repeat of a group wrongly (a trailing ``_`` was taken as good).
_TS_GOOD_WHAT = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
_ANY_DATE = r"[0-9]{4}_[0-9]{2}_[0-9]{2}"
#: Any calendar date of any year but the 29th of February (a leap year's): the days every
#: year has, so a name it matches needs no calendar check of its own.
_CALENDAR_DATE = (r"[0-9]{4}_(?:(?:0[1-9]|1[0-2])_(?:0[1-9]|1[0-9]|2[0-8])|"
                  r"(?:0[13-9]|1[0-2])_(?:29|30)|(?:0[13578]|1[02])_31)")
#: A plain recycle/unrecycle stem: each word after the first holds a letter, so no number (a
#: copy's ``_2``) or date (``_2024_06_10``) stands alone in it, and no ``ts_``.
_SCRIPT_GOOD_NAME = r"(?!ts_)[a-z][a-z0-9]*(?:_[0-9]*[a-z][a-z0-9]*)*"


class FastMatches:
    """The fast matches of one set of copy-mark words (``status_suffixes``), compiled on
    first use: each a ``fullmatch`` that proves a file name good."""

    def __init__(self, mark_words: tuple[str, ...]) -> None:
        self.mark_words = mark_words

    @cached_property
    def temporary(self) -> Match:
        """A temporary file name good but for its date (``name[3:13]``, any of the shape):
        no backtracking, one fixed-width look-behind per length of mark word. It misses a
        name ending in a digit or in any word that may mark a copy, or starting with one."""
        return re.compile(good_temporary_pattern(self.mark_words, _ANY_DATE)).fullmatch

    @cached_property
    def dated(self) -> Match:
        """Like :attr:`temporary`, and the date a calendar date (any but the 29th of
        February): what is left to ask of a name it matches is whether its date is in range."""
        return re.compile(good_temporary_pattern(self.mark_words, _CALENDAR_DATE)).fullmatch

    def between(self, first: _dt.date, last: _dt.date) -> Match:
        """Like :attr:`temporary`, and the date a calendar date from ``first`` to ``last``:
        the lint's window of dates neither stale nor future."""
        return re.compile(good_temporary_pattern(self.mark_words,
                                                 dates_between(first, last))).fullmatch

    @cached_property
    def script(self) -> Match:
        """A recycle/unrecycle file name that is plain snake_case, with no ``ts_``, no word of
        digits alone and no word that may mark a copy at either end: the full rules have
        nothing to say about it, whatever the evidence."""
        no_prefix, no_mark = unmarked(self.mark_words)
        return re.compile(rf"{no_prefix}{_SCRIPT_GOOD_NAME}(?<![0-9]){no_mark}\.py").fullmatch


def good_temporary_pattern(mark_words: tuple[str, ...], dates: str) -> str:
    """A good shape, a date of ``dates``, and no word that may mark a copy at either end
    (:func:`opsctl.copies.unmarked`)."""
    no_prefix, no_mark = unmarked(mark_words)
    return rf"ts_{dates}_{no_prefix}{_TS_GOOD_WHAT}(?<![0-9]){no_mark}\.py"


_NAME = operator.attrgetter("name")
_IS_DIR = os.DirEntry.is_dir
_IS_LINK = os.DirEntry.is_symlink
_IS_PY = operator.methodcaller("endswith", ".py")
_STEM = operator.itemgetter(slice(None, -3))


def names_of(entries: list[os.DirEntry[str]]) -> tuple[list[str], list[str]]:
    """A folder listing as the names of what is not a folder, and the folders (rare)."""
    names: list[str] = list(map(_NAME, entries))
    if not any(map(_IS_DIR, entries)):
        return names, []
    folders = sorted(e.name for e in entries if e.is_dir())
    inside = set(folders)
    return [n for n in names if n not in inside], folders


def list_folder(path: str, chunk: int = 1024) -> tuple[list[str], list[str], int, bool]:
    """A folder's file names and its folders (:func:`names_of`), how many entries it has,
    and whether its signature may stand for them: it holds no symbolic link. The entries
    are read ``chunk`` at a time: a folder of 10,000 held as ``DirEntry`` objects (each with
    its name and whole path) was megabytes, for the names alone. OSError if it cannot be
    listed."""
    names: list[str] = []
    folders: list[str] = []
    whole, count = True, 0
    with os.scandir(path) as listing:
        while entries := list(islice(listing, chunk)):
            count += len(entries)
            some, inside = names_of(entries)
            names += some
            folders += inside
            whole = whole and not any(map(_IS_LINK, entries))
    folders.sort()
    return names, folders, count, whole


def split_stale(names: list[str], window: Match, dated: Match, before: str,
                floor: str) -> tuple[list[str], list[str]]:
    """A developer folder's file names as ``(stale, rest)``: the good names dated from
    ``floor`` up to ``before`` (each ``ts_YYYY_MM_DD``), and what is neither that nor good
    and dated in ``window``, for the full rules.

    Names sort as their dates: ``"ts_2020_01_02_x.py" < "ts_2024_06_10"`` says the date is
    before that day, so the range is two comparisons inside a ``filter``.
    """
    rest = list(filterfalse(window, names))
    if not rest:
        return [], []
    stale = list(filter(before.__gt__, filter(dated, rest)))
    if stale and min(stale) < floor:  # before the floor: OPS202, the full rules' to say
        stale = list(filterfalse(floor.__gt__, stale))
    if len(stale) != len(rest):
        rest = list(filterfalse(set(stale).__contains__, rest)) if stale else rest
    else:
        rest = []
    return stale, rest


def day_name(day: _dt.date) -> str:
    """``ts_YYYY_MM_DD``: what a temporary name of ``day`` starts with."""
    return f"ts_{day.year:04d}_{day.month:02d}_{day.day:02d}"


def duplicate_candidates(plain: Mapping[str, list[str]], marked: list[tuple[str, str]],
                         purpose_key: Callable[[str], str]) -> list[tuple[str, str]]:
    """The shared scripts the duplicate rule must see: the ``marked`` ones (which the full
    rules checked) and the ``plain`` ones (by folder) that may be in a group with another. A
    plain name is its own purpose (it has no mark to drop), so it is grouped only with the
    same name in the other folder or with a marked name that comes down to it (``purpose_key``
    of a marked stem); alone it is no finding."""
    names = list(plain.values())
    wanted = set(names[0]).intersection(names[1]) if len(names) == 2 else set()
    wanted.update(f"{purpose_key(name[:-3])}.py" for _, name in marked)
    return marked + [(folder, name) for folder, listed in plain.items()
                     for name in sorted(wanted.intersection(listed))]


class ListedStems:
    """``{stem: "folder/name.py"}`` of the file names of each shared folder, recycle/ first
    when a stem is in both, asked through :meth:`get`: each folder's ``.py`` names sorted and
    searched. A folder's names are held as one string and where each starts
    (:class:`SortedNames`), not a string each: the walk lets go of the listed names once the
    index is made, where twenty thousand strings were a megabyte and a half. Every ``.py``
    name is taken: a hidden one's stem or ``__init__`` is never a purpose name anyone asks
    about."""

    def __init__(self, listed: Mapping[str, Iterable[str]]) -> None:
        from bisect import bisect_left  # not on a warm lint's path: it never asks

        self.folders = [(folder, SortedNames(filter(_IS_PY, listed.get(folder, ()))))
                        for folder in SHARED_FOLDERS]
        self.search = bisect_left

    def get(self, stem: str) -> str | None:
        name = f"{stem}.py"
        for folder, names in self.folders:
            at = self.search(names, name)
            if at < len(names) and names[at] == name:
                return f"{folder}/{name}"
        return None


class SortedNames:
    """Names (none holding a NUL) sorted, as one string with a NUL between them and the
    offset each starts at: a sequence :func:`bisect.bisect_left` searches, a name cut out
    only when looked at."""

    __slots__ = ("text", "starts")

    def __init__(self, names: Iterable[str]) -> None:
        from array import array

        ordered = sorted(names)
        self.text = "\0".join(ordered) + "\0"
        self.starts = array("L", accumulate(map(len, ordered[:-1]), lambda at, n: at + n + 1,
                                            initial=0)) if ordered else array("L")

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> str:
        start = self.starts[i]
        return self.text[start:self.text.index("\0", start)]
