"""The naming convention, written once: what a good name is and what is wrong with a bad one.

``new``, ``promote``, ``demote``, ``list`` and ``lint`` all read names through :class:`Naming`,
so a name ``new`` accepts is a name ``lint`` passes. Only file and folder *names* are read here;
nothing touches file contents or the disk.

Rule codes are stable (they appear in lint output, baselines and ignore settings):

=======  ====================  =========================================================
code     rule                  finding
=======  ====================  =========================================================
OPS101   layout                a file directly in the root, or a nested folder
OPS102   developer-folder      a developer folder whose name breaks the pattern/allow-list
OPS201   temporary-name        not ``ts_YYYY_MM_DD_<snake_case>.py``, or a suffix on <what>
OPS202   temporary-date        not a real calendar date, or a date in the future
OPS301   script-name           a recycle/unrecycle name that is not a plain snake_case name
OPS302   duplicate             one name in recycle/ and unrecycle/, or names differing only
                               by a suffix or by case
OPS401   stale                 a temporary script older than ``stale_days``
OPS501   not-a-script          a non-``.py`` file where scripts live
OPS601   import-side-effects   module-level work outside ``if __name__ == "__main__":``
OPS602   docstring             a recycle/unrecycle script without a module docstring
OPS603   unparsable            a recycle/unrecycle script that is binary, not UTF-8, or
                               not valid Python, so the content rules cannot read it
=======  ====================  =========================================================

The lint (:mod:`opsctl.lint.walk`) applies these rules to a whole tree; its fast path for a
good temporary name is one match of :attr:`Naming.good_temporary_file` and a cached date check.
Copy suffixes live in :mod:`opsctl.copies`, dates inside names in :mod:`opsctl.dates`, similar
purposes in :mod:`opsctl.similarity`.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, Literal, NamedTuple

from .copies import CopyMarks
from .dates import dates_between, why_not_a_date

Kind = Literal["recycle", "unrecycle", "temporary"]
KINDS: tuple[Kind, ...] = ("recycle", "unrecycle", "temporary")
SHARED_FOLDERS = ("recycle", "unrecycle")

#: Files and folders that may sit anywhere in the tree without being scripts.
IGNORED_NAMES = frozenset({"__init__.py", "README.md", "README", "README.rst", "__pycache__"})

#: Words that mark a copy or a state rather than a purpose (``…_old``, ``…_bak``).
DEFAULT_STATUS_SUFFIXES: tuple[str, ...] = (
    "error", "err", "bak", "backup", "old", "tmp", "temp", "copy", "fixed", "fix", "final",
    "new", "test", "draft", "wip", "orig", "v1", "v2", "v3",
)

DEFAULT_DEVELOPER_PATTERN = r"^[a-z][a-z0-9_]*$"

#: What ``status_suffixes`` of ``[tool.opsctl.lint]`` must be; its errors say so.
STATUS_SUFFIXES_TYPE = "a list of lowercase words"

_SNAKE = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
SNAKE_RE = re.compile(rf"^{_SNAKE}$")
#: ``ts_YYYY_MM_DD_<what>``, strict: exactly what a good temporary name looks like.
TS_RE = re.compile(rf"^ts_(\d{{4}})_(\d{{2}})_(\d{{2}})_({_SNAKE})$")
#: The same shape as a whole file name, with the date as one group (``2024_06_10``).
TS_FILE_RE = re.compile(rf"^ts_(\d{{4}}_\d{{2}}_\d{{2}})_({_SNAKE})\.py$")
#: For :attr:`Naming.good_temporary_file`: ``_SNAKE`` with possessive repeats (nothing to
#: backtrack into) and ASCII classes, the same names matched faster; any date of the shape.
_TS_GOOD_WHAT = r"[a-z][a-z0-9]*+(?:_[a-z0-9]++)*+"
_ANY_DATE = r"[0-9]{4}_[0-9]{2}_[0-9]{2}"
#: Anything that was meant to be a temporary name: used to explain and fix, never to accept.
_TS_LOOSE_RE = re.compile(r"^ts[_\-. ]?(\d{2,4})[_\-. ](\d{1,2})[_\-. ](\d{1,2})(?:[_\-. ]+(.*))?$",
                          re.IGNORECASE)
_DATE_INSIDE_RE = re.compile(r"(?:^|_)(\d{4})_(\d{1,2})_(\d{1,2})(?:_|$)|(?:^|_)(\d{8})(?:_|$)")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS_RE = re.compile(r"[\s\-.]+")
_UNDERSCORES_RE = re.compile(r"_+")


# Value types are NamedTuples, not dataclasses: the dataclasses module (and inspect, which it
# imports) would cost the lint more than a tenth of its whole run on 10,000 names.
class Problem(NamedTuple):
    """What is wrong with one name: a rule code, a one-line message, and a fix if one exists."""

    code: str
    message: str
    fix: str | None = None


class TemporaryName(NamedTuple):
    """A parsed good temporary-script stem: ``ts_2024_06_10_export_custom_s``."""

    date: _dt.date
    what: str

    @property
    def stem(self) -> str:
        return f"ts_{self.date:%Y_%m_%d}_{self.what}"


def parse_temporary(stem: str) -> TemporaryName | None:
    """Parse a well-formed temporary stem, or return None (bad dates included)."""
    m = TS_RE.match(stem)
    if m is None:
        return None
    try:
        day = _dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return TemporaryName(day, m[4])


def temporary_stem(what: str, day: _dt.date) -> str:
    """Build the stem ``ts_<day>_<what>``."""
    return f"ts_{day:%Y_%m_%d}_{what}"


def normalise(text: str) -> str:
    """Turn ``Export-Order``, ``exportOrder`` or ``export order`` into ``export_order``."""
    if SNAKE_RE.match(text):  # already normal: the common case when explaining a bad name
        return text
    text = _CAMEL_RE.sub("_", text.strip())
    text = _SEPARATORS_RE.sub("_", text).lower()
    return _UNDERSCORES_RE.sub("_", text).strip("_")


def words(name: str) -> list[str]:
    """The purpose words of a name: ``ts_2024_06_10_export_order_2`` → ``[export, order]``."""
    parsed = parse_temporary(name)
    if parsed is not None:
        name = parsed.what
    return [w for w in name.lower().split("_") if w and not w.isdigit()]


class Naming:
    """The naming rules for one configuration, with every pattern compiled once."""

    def __init__(
        self,
        *,
        developer_pattern: str = DEFAULT_DEVELOPER_PATTERN,
        developers: Sequence[str] | None = None,
        status_suffixes: Iterable[str] = DEFAULT_STATUS_SUFFIXES,
        today: _dt.date | None = None,
    ) -> None:
        self.developer_pattern = developer_pattern
        self._developer_re = re.compile(developer_pattern)
        self.developers = frozenset(developers) if developers is not None else None
        self.today = today or _dt.date.today()
        self.copies = CopyMarks(status_suffixes)
        self.status_suffixes = self.copies.status_suffixes
        #: The kind and text of a name's trailing copy suffix (:meth:`CopyMarks.suffix_of`).
        self.suffix_of = self.copies.suffix_of
        #: A name without its copy suffixes (:meth:`CopyMarks.strip_suffixes`).
        self.strip_suffixes = self.copies.strip_suffixes

    @cached_property
    def good_temporary_file(self) -> Callable[[str], re.Match[str] | None]:
        """A match that proves a temporary file name good but for its date (``name[3:13]``).

        The lint's fast path over a large tree, so it is built for speed: no groups, no
        backtracking, one fixed-width look-behind per length of status word. It is stricter
        than :meth:`check_temporary`: it misses a name ending in a digit, or one whose only
        word is a status word (``ts_2024_06_10_old.py``), so a miss only means "apply the full
        rules".
        """
        return re.compile(_good_temporary_pattern(self.status_suffixes, _ANY_DATE)).fullmatch

    def good_temporary_file_between(self, first: _dt.date,
                                    last: _dt.date) -> Callable[[str], re.Match[str] | None]:
        """Like :attr:`good_temporary_file`, and proves the date good too: a calendar date
        from ``first`` to ``last``. The lint's window of dates neither stale nor future."""
        pattern = _good_temporary_pattern(self.status_suffixes, dates_between(first, last))
        return re.compile(pattern).fullmatch

    # -- whole names -------------------------------------------------------------------------

    def check_developer_folder(self, folder: str) -> Problem | None:
        """Check a developer folder's name against the pattern and the allow-list."""
        if not self._developer_re.match(folder):
            fix = normalise(folder)
            return Problem(
                "OPS102",
                f"developer folder {folder!r} does not match {self.developer_pattern}",
                f"rename the folder to {fix!r}" if fix and self._developer_re.match(fix) else None,
            )
        if self.developers is not None and folder not in self.developers:
            return Problem(
                "OPS102",
                f"developer folder {folder!r} is not in the configured developers list",
                "add it to [tool.opsctl] developers, or move the scripts to a listed folder",
            )
        return None

    def check_temporary(self, filename: str) -> Problem | None:
        """Check a file name in a developer folder: ``ts_YYYY_MM_DD_<what>.py``."""
        stem = filename.removesuffix(".py")
        m = TS_RE.match(stem)
        if m is not None:
            try:
                day = _dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return Problem("OPS202", f"{m[1]}_{m[2]}_{m[3]} is not a calendar date "
                               f"({why_not_a_date(int(m[1]), int(m[2]), int(m[3]))})",
                               "use the date the script was written, as YYYY_MM_DD")
            if day > self.today:
                return Problem("OPS202", f"the date {day:%Y_%m_%d} is in the future",
                               "use the date the script was written, as YYYY_MM_DD")
            what = m[4]
            suffix = self.suffix_of(what)
            if suffix is not None:
                kind, text = suffix
                base = what[: -len(text) - 1]
                return Problem(
                    "OPS201",
                    f"the name ends in a {kind} suffix '_{text}'; temporary names say what the "
                    "script does, not which copy it is",
                    f"rename to ts_{m[1]}_{m[2]}_{m[3]}_{base}.py, or write a new dated script",
                )
            return None
        return Problem(
            "OPS201",
            "temporary scripts are named ts_YYYY_MM_DD_<what>.py with <what> in snake_case",
            _fix_temporary(self, stem),
        )

    def fixed_temporary_stem(self, stem: str) -> str | None:
        """The safe rename of a nearly-right temporary stem (case, separators, zero padding)."""
        # Stray separators around the name (-ts_2024_06_10_x, ts_2024_06_10_x_) go too.
        m = _TS_LOOSE_RE.match(stem.strip("_-. "))
        if m is None or not m[4]:
            return None
        year, month, day = m[1], m[2], m[3]
        if len(year) != 4:
            return None
        what = normalise(m[4])
        candidate = f"ts_{year}_{int(month):02d}_{int(day):02d}_{what}"
        if candidate == stem or self.check_temporary(candidate + ".py") is not None:
            return None
        return candidate

    def check_script_name(self, filename: str, kind: Kind = "recycle", *,
                          exists: Callable[[str], bool] | None = None) -> Problem | None:
        """Check a file name in recycle/ or unrecycle/: a plain snake_case purpose name.

        ``exists`` says whether a root-relative path (``recycle/clear_cache.py``) is taken, so
        that a fix says "extend" an existing script of the plain name and "rename" otherwise;
        without it the fix says both.
        """
        stem = filename.removesuffix(".py")
        folder = f"{kind}/"
        if stem.lower().startswith("ts_") or TS_RE.match(stem):
            parsed = _TS_LOOSE_RE.match(stem)
            plain = self.plain_name(parsed[4], kind) if parsed and parsed[4] else None
            return Problem(
                "OPS301",
                f"{folder} scripts have plain names; 'ts_' marks a temporary script",
                _rename_or_extend(kind, plain, exists) if plain else None,
            )
        if not SNAKE_RE.match(stem):
            fixed = normalise(stem)
            dotted = "." in stem and not stem.startswith(".")
            return Problem(
                "OPS301",
                f"{folder} script names are snake_case (lowercase words joined by '_')"
                + ("; a dot inside the name is not allowed" if dotted else ""),
                f"rename to {folder}{fixed}.py" if fixed and SNAKE_RE.match(fixed)
                and self.check_script_name(f"{fixed}.py", kind) is None else None,
            )
        date = _DATE_INSIDE_RE.search(stem)
        suffix = self.suffix_of(stem)
        if suffix is not None:
            kind_of, text = suffix
            base = stem[: -len(text) - 1]
            plain = self.plain_name(base, kind)
            return Problem(
                "OPS301",
                f"the name carries a {kind_of} suffix '_{text}'; {folder} holds one script per "
                "purpose",
                f"drop the {kind_of} suffix: {_rename_or_extend(kind, plain, exists)}"
                if plain else f"drop the {kind_of} suffix",
            )
        if date is not None:
            return Problem(
                "OPS301",
                f"the name carries a date; {folder} scripts are reused, so their names say "
                "what they do, not when",
                "drop the date from the name",
            )
        return None

    def plain_name(self, text: str, kind: Kind) -> str | None:
        """The nearest name to ``text`` that passes the rules for ``kind`` (normalised, copy
        suffixes dropped), or None when there is none to suggest."""
        fixed = normalise(text)
        if fixed and SNAKE_RE.match(fixed) and self.suffix_of(fixed) is not None:
            fixed = self.strip_suffixes(fixed)[0]
        if not fixed or not SNAKE_RE.match(fixed) or self.validate(kind, fixed) is not None:
            return None
        return fixed

    def validate(self, kind: Kind, name: str) -> Problem | None:
        """Check a purpose name given to ``new``/``promote --as`` (no ``ts_``, no ``.py``)."""
        if not name:
            return Problem("OPS301", "the name is empty", "give a snake_case name such as "
                                                          "export_order_data")
        name = name.removesuffix(".py")
        if name.lower().startswith("ts_") or _DATE_INSIDE_RE.search(name) and \
                _TS_LOOSE_RE.match(name):
            bare = _TS_LOOSE_RE.match(name)
            return Problem(
                "OPS301",
                "give the purpose only, without 'ts_' or a date: opsctl adds those"
                + ("" if kind == "temporary" else " to temporary scripts only"),
                _use(self, kind, bare[4] if bare and bare[4] else ""),
            )
        if not SNAKE_RE.match(name):
            return Problem("OPS201" if kind == "temporary" else "OPS301",
                           f"{name!r} is not snake_case (lowercase words joined by '_')",
                           _use(self, kind, name))
        suffix = self.suffix_of(name)
        if suffix is not None:
            kind_of, text = suffix
            return Problem("OPS201" if kind == "temporary" else "OPS301",
                           f"{name!r} ends in a {kind_of} suffix '_{text}'; a name says what "
                           "the script does, not which copy it is",
                           _use(self, kind, name[: -len(text) - 1]))
        if kind == "temporary":
            return None
        return self.check_script_name(f"{name}.py", kind)


def _good_temporary_pattern(status_suffixes: Iterable[str], dates: str) -> str:
    by_length: dict[int, list[str]] = {}
    for word in status_suffixes:
        by_length.setdefault(len(word), []).append(re.escape(word))
    no_status = "".join(f"(?<!_(?:{'|'.join(words)}))" for words in by_length.values())
    return rf"ts_{dates}_{_TS_GOOD_WHAT}(?<![0-9]){no_status}\.py"


def _fix_temporary(naming: Naming, stem: str) -> str | None:
    fixed = naming.fixed_temporary_stem(stem)
    if fixed:
        return f"rename to {fixed}.py"
    if _TS_LOOSE_RE.match(stem) is None:
        # No date at all (export_order.py in a developer folder): only a person knows it.
        what = normalise(stem)
        if what and SNAKE_RE.match(what) and naming.suffix_of(what) is None and \
                not what.startswith("ts_"):
            return f"rename to ts_YYYY_MM_DD_{what}.py with the date it was written"
    return None


def _use(naming: Naming, kind: Kind, text: str) -> str | None:
    fixed = naming.plain_name(text, kind)
    return f"use {fixed!r}" if fixed else None


def _rename_or_extend(kind: Kind, plain: str, exists: Callable[[str], bool] | None) -> str:
    """The fix for a script whose right name is ``plain``: extend the script that has it
    already (one per purpose), or take the name when no script has it."""
    others = [f"{kind}/{plain}.py"] + [f"{f}/{plain}.py" for f in SHARED_FOLDERS if f != kind]
    if exists is None:
        return f"extend {others[0]} if it exists, else rename to it"
    taken = next((rel for rel in others if exists(rel)), None)
    return f"extend {taken} instead" if taken else f"rename to {others[0]}"


def configured_status_suffixes(table: Mapping[str, Any], source: str) -> tuple[str, ...]:
    """The ``status_suffixes`` of a raw ``[tool.opsctl.lint]`` table, validated: the words
    ``new``, ``promote`` and the lint all reject as a name's last part."""
    from .errors import ConfigError

    if "status_suffixes" not in table:
        return DEFAULT_STATUS_SUFFIXES
    words = table["status_suffixes"]
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ConfigError(f"{source}: [tool.opsctl.lint] status_suffixes must be "
                          f"{STATUS_SUFFIXES_TYPE}, not {type(words).__name__} {words!r}")
    for word in words:
        if not SNAKE_RE.match(word) and not word.isdigit():
            raise ConfigError(f"{source}: [tool.opsctl.lint] status_suffixes entry "
                              f"{word!r} must be a lowercase word such as \"old\"")
    return tuple(words)
