"""The naming convention, written once: what a good name is and what is wrong with a bad one.

``new``, ``promote``, ``demote``, ``list`` and ``lint`` all read names through :class:`Naming`,
so a name ``new`` accepts is a name ``lint`` passes. Only file and folder *names* are read here;
nothing touches file contents or the disk.

The codes of its findings (OPS1xx folders, OPS2xx temporary names, OPS3xx recycle/unrecycle
names) are stable; :mod:`opsctl.lint.rules` lists every rule with its level.

The lint (:mod:`opsctl.lint.walk`) applies these rules to a whole tree; its fast path
(:mod:`opsctl.lint.bulk`) proves most names good with one regex match each and hands only the
rest to these rules.
A name is a copy on evidence: its own marks (:mod:`opsctl.copies`) and the siblings the caller
can see (``original``). Dates inside names live in :mod:`opsctl.dates`, similar purposes in
:mod:`opsctl.similarity`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from .copies import DEFAULT_STATUS_SUFFIXES as DEFAULT_STATUS_SUFFIXES
from .copies import (
    DOUBT,
    CopyMarks,
    explain_given_copy,
    explain_script_copy,
    explain_temporary_copy,
    judge,
)
from .copies import STATUS_SUFFIXES_TYPE as STATUS_SUFFIXES_TYPE
from .copies import configured_status_suffixes as configured_status_suffixes
from .dates import DEFAULT_DATE_FLOOR, why_not_a_date
from .light import NamedTuple, pattern
from .light import datetime as _dt

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from typing import Literal

    Kind = Literal["recycle", "unrecycle", "temporary"]
else:
    Kind = str  # a script's kind, as mypy reads it above
KINDS: tuple[Kind, ...] = ("recycle", "unrecycle", "temporary")
SHARED_FOLDERS = ("recycle", "unrecycle")

#: Files and folders that may sit anywhere in the tree without being scripts.
IGNORED_NAMES = frozenset({"__init__.py", "README.md", "README", "README.rst", "__pycache__"})

#: Folder names that are no person's: a developer folder called so holds nobody's scripts.
NON_PERSON_WORDS = frozenset("""
    backup backups bak old tmp temp misc common scripts script shared share utils util lib libs
    tools tool test tests archive archived deprecated legacy data output outputs log logs doc
    docs notes other others public private team all everyone default general helpers helper sql
    config configs todo wip trash junk draft drafts playground sandbox scratch example examples
    sample samples src bin cron jobs job tasks task daily weekly monthly migration migrations
    fix fixes hotfix new unused offline online prod staging dev release admin root user users
    ops linshi beifen jiu gonggong ceshi jiaoben qita gongju shuju rizhi wendang zanshi
""".split())

DEFAULT_DEVELOPER_PATTERN = r"^[a-z][a-z0-9_]*$"


#: Compiled when first used: a lint of good names needs none of them.
_SNAKE = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
SNAKE_RE = pattern(rf"^{_SNAKE}$")
#: ``ts_YYYY_MM_DD_<what>``, strict: exactly what a good temporary name looks like.
TS_RE = pattern(rf"^ts_(\d{{4}})_(\d{{2}})_(\d{{2}})_({_SNAKE})$")
#: The same shape as a whole file name, with the date as one group (``2024_06_10``).
TS_FILE_RE = pattern(rf"^ts_(\d{{4}}_\d{{2}}_\d{{2}})_({_SNAKE})\.py$")
#: Anything that was meant to be a temporary name: used to explain and fix, never to accept.
_TS_LOOSE_RE = pattern(r"^ts[_\-. ]?(\d{2,4})[_\-. ](\d{1,2})[_\-. ](\d{1,2})(?:[_\-. ]+(.*))?$",
                       re.IGNORECASE)
_DATE_INSIDE_RE = pattern(r"(?:^|_)(\d{4})_(\d{1,2})_(\d{1,2})(?:_|$)|(?:^|_)(\d{8})(?:_|$)")
_CAMEL_RE = pattern(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS_RE = pattern(r"[\s\-.]+")
_UNDERSCORES_RE = pattern(r"_+")


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


#: Says which script a name would be a copy of: given a purpose name (a recycle stem, or a
#: temporary script's ``<what>``), the root-relative path of a sibling that has it, or None.
Original = Callable[[str], str | None]


class Naming:
    """The naming rules for one configuration, with every pattern compiled once."""

    def __init__(
        self,
        *,
        developer_pattern: str = DEFAULT_DEVELOPER_PATTERN,
        developers: Sequence[str] | None = None,
        status_suffixes: Iterable[str] = DEFAULT_STATUS_SUFFIXES,
        today: _dt.date | None = None,
        date_floor: _dt.date = DEFAULT_DATE_FLOOR,
    ) -> None:
        self.developer_pattern = developer_pattern
        self._developer_re = re.compile(developer_pattern)
        self.developers = frozenset(developers) if developers is not None else None
        self.today = today or _dt.date.today()
        self.date_floor = date_floor
        self.copies = CopyMarks(status_suffixes)
        self.status_suffixes = self.copies.status_suffixes

    # -- whole names -------------------------------------------------------------------------

    def check_developer_folder(self, folder: str) -> Problem | None:
        """Check a developer folder's name: the pattern, the allow-list, and a person's name
        rather than a word such as ``backup`` or ``old_scripts``."""
        if not self._developer_re.match(folder):
            fix = normalise(folder)
            return Problem(
                "OPS102",
                f"developer folder {folder!r} does not match {self.developer_pattern}",
                f"rename the folder to {fix!r}" if fix and self._developer_re.match(fix) else None,
            )
        if self.developers is not None:
            if folder in self.developers:
                return None
            return Problem(
                "OPS102",
                f"developer folder {folder!r} is not in the configured developers list",
                "add it to [tool.opsctl] developers, or move the scripts to a listed folder",
            )
        return _not_a_person(folder)

    def check_temporary(self, filename: str, *, original: Original | None = None,
                        folder: str | None = None) -> Problem | None:
        """Check a file name in a developer folder: ``ts_YYYY_MM_DD_<what>.py``; ``original``
        says which of the developer's other scripts has a given ``<what>``."""
        stem = filename.removesuffix(".py")
        m = TS_RE.match(stem)
        if m is None:
            return Problem(
                "OPS201",
                "temporary scripts are named ts_YYYY_MM_DD_<what>.py with <what> in snake_case",
                _fix_temporary(self, stem),
            )
        problem = self.check_date(m[1], m[2], m[3])
        if problem is not None:
            return problem
        # The developer's other scripts are asked only when the name alone cannot tell:
        # looking them up costs a dict of a folder of thousands.
        verdict = judge(self.copies, m[4], original, sure_alone=True)
        if verdict is None:
            return None
        return Problem(*explain_temporary_copy(verdict, f"{m[1]}_{m[2]}_{m[3]}", folder))

    def check_date(self, year: str, month: str, day: str) -> Problem | None:
        """A temporary script's date: a calendar date, not before the floor, not ahead."""
        fix = "use the date the script was written, as YYYY_MM_DD"
        try:
            date = _dt.date(int(year), int(month), int(day))
        except ValueError:
            return Problem("OPS202", f"{year}_{month}_{day} is not a calendar date "
                           f"({why_not_a_date(int(year), int(month), int(day))})", fix)
        if date > self.today:
            return Problem("OPS202", f"the date {date:%Y_%m_%d} is in the future", fix)
        if date < self.date_floor:
            return Problem("OPS202", f"the date {date:%Y_%m_%d} is before "
                           f"{self.date_floor:%Y-%m-%d}, the earliest a script here can carry "
                           "(date_floor in [tool.opsctl.lint])", fix)
        return None

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
                          exists: Callable[[str], bool] | None = None,
                          original: Original | None = None) -> Problem | None:
        """Check a file name in recycle/ or unrecycle/: a plain snake_case purpose name.

        ``exists`` says whether a root-relative path (``recycle/clear_cache.py``) is taken, so
        that a fix says "extend" an existing script of the plain name and "rename" otherwise;
        without it the fix says both. ``original`` is the evidence of a copy.
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
        verdict = judge(self.copies, stem, original)
        if verdict is not None:
            plain = self.plain_name(verdict.mark.base, kind)
            return Problem(*explain_script_copy(verdict, kind, SHARED_FOLDERS,
                                                _rename_or_extend(kind, plain, exists)
                                                if plain else None))
        if _DATE_INSIDE_RE.search(stem) is not None:
            return Problem(
                "OPS301",
                f"the name carries a date; {folder} scripts are reused, so their names say "
                "what they do, not when",
                "drop the date from the name",
            )
        return None

    def plain_name(self, text: str, kind: Kind) -> str | None:
        """The nearest name to ``text`` that passes the rules for ``kind`` (normalised, copy
        marks dropped), or None when there is none to suggest."""
        fixed = normalise(text)
        if fixed and SNAKE_RE.match(fixed):
            verdict = judge(self.copies, fixed)
            if verdict is not None:
                fixed = verdict.mark.base
        if not fixed or not SNAKE_RE.match(fixed) or self.validate(kind, fixed) is not None:
            return None
        return fixed

    def validate(self, kind: Kind, name: str, *,
                 exists: Callable[[str], bool] | None = None) -> Problem | None:
        """Check a purpose name given to ``new``/``promote --as`` (no ``ts_``, no ``.py``):
        refused exactly when the lint would report an error. ``exists`` says whether a
        sibling has a given purpose name (recycle/unrecycle, or the developer's folder)."""
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
        code = "OPS201" if kind == "temporary" else "OPS301"
        if not SNAKE_RE.match(name):
            return Problem(code, f"{name!r} is not snake_case (lowercase words joined by '_')",
                           _use(self, kind, name))
        verdict = judge(self.copies, name, (lambda base: base if exists(base) else None)
                                    if exists is not None else None)
        if verdict is not None and verdict.level > DOUBT:
            return Problem(code, explain_given_copy(verdict, name),
                           _use(self, kind, verdict.mark.base))
        if kind == "temporary":
            return None
        problem = self.check_script_name(f"{name}.py", kind)
        return None if problem is None or problem.code in MAYBE_COPY_CODES else problem


def _not_a_person(folder: str) -> Problem | None:
    if not all(w in NON_PERSON_WORDS for w in folder.split("_") if w):
        return None
    return Problem("OPS102", f"developer folder {folder!r} is not a person: developer folders "
                   "are named after the developer whose scripts they hold",
                   "move its scripts into their authors' folders (or recycle/ if they are "
                   "reused), and remove it; list the real ones in [tool.opsctl] developers")


#: The codes of a name that may be a copy: warnings, which ``new`` and ``promote`` accept.
MAYBE_COPY_CODES = frozenset({"OPS203", "OPS304"})


def folder_name_of(raw: str) -> str:
    """The developer folder for a name or an e-mail's local part, as ``new`` picks it:
    ``Zhang.San`` -> ``zhang_san``; leading digits and symbols dropped."""
    name = normalise(re.sub(r"[^0-9A-Za-z]+", "_", raw))
    return re.sub(r"^[^a-z]+", "", name)


def _fix_temporary(naming: Naming, stem: str) -> str | None:
    fixed = naming.fixed_temporary_stem(stem)
    if fixed:
        return f"rename to {fixed}.py"
    if _TS_LOOSE_RE.match(stem) is None:
        # No date at all (export_order.py in a developer folder): only a person knows it.
        what = normalise(stem)
        verdict = judge(naming.copies, what) if what and SNAKE_RE.match(what) else None
        if what and SNAKE_RE.match(what) and (verdict is None or verdict.level <= DOUBT) and \
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
