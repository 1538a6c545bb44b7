"""A listed script (:class:`Entry`), its JSON (:func:`json_text`, made a string a script
rather than through dicts), and the scripts under the root as the catalogue finds them
(:func:`scripts_of`)."""

from __future__ import annotations

import os
import re
from operator import attrgetter, methodcaller

from ..light import NamedTuple
from ..naming import SHARED_FOLDERS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Sequence
    from typing import Any

    from ..ledger.values import Run


class Entry(NamedTuple):
    """One listed script: its folder and file name, the date in its name (temporary scripts
    with a real date), its age and staleness, its description and its last run."""

    folder: str
    filename: str
    date: _dt.date | None
    age_days: int | None
    stale: bool
    description: str
    last_run: Run | None = None  # a ledger run summary (opsctl.ledger.lastruns.last_runs)

    @property
    def rel(self) -> str:
        """The path relative to the root, with ``.py``."""
        return f"{self.folder}/{self.filename}"

    @property
    def key(self) -> str:
        """``<folder>/<stem>``: how the ledger, ``history`` and messages name the script."""
        return f"{self.folder}/{self.filename[:-3]}"

    @property
    def kind(self) -> str:
        return kind_of(self.folder)

    @property
    def owner(self) -> str | None:
        return None if self.folder in SHARED_FOLDERS else self.folder

    def as_dict(self) -> dict[str, Any]:
        return as_dict(*self)


def kind_of(folder: str) -> str:
    return folder if folder in SHARED_FOLDERS else "temporary"


def printable(text: str) -> str:
    """:func:`opsctl.catalogue.printable` (a test holds them alike): undecodable bytes
    (surrogate escapes from ``os`` names) as U+FFFD, without importing the catalogue."""
    if text.isascii():  # the usual name: an ASCII one holds no undecodable byte
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def as_dict(folder: str, filename: str, date: _dt.date | None, age_days: int | None,
            stale: bool, description: str, last_run: Run | None) -> dict[str, Any]:
    shared = folder in SHARED_FOLDERS
    return {
        "key": printable(f"{folder}/{filename[:-3]}"),
        "path": printable(f"{folder}/{filename}"),
        "kind": folder if shared else "temporary",
        "owner": None if shared else folder,
        "date": date.isoformat() if date else None,
        "age_days": age_days,
        "stale": stale,
        "description": description,
        "last_run": last_run.as_dict(output_tail=False) if last_run is not None else None,
    }


def json_text(rows: Sequence[Sequence[Any]]) -> str:
    """The compact JSON of the ``(folder, filename, date, age_days, stale, description,
    last_run)`` rows: the text ``json.dumps([as_dict(*row) for row in rows],
    ensure_ascii=False, default=str)`` gives (a test holds them equal), made without the
    dicts, a string a script, with what a folder and a day have in common made once."""
    try:
        from _json import encode_basestring as quote  # json's own C quoting, without json
    except ImportError:  # pragma: no cover - a Python without the C module
        from json.encoder import py_encode_basestring as quote
    folders: dict[str, tuple[str, str]] = {}
    days: dict[tuple[Any, ...], str] = {}
    parts = []
    for folder, filename, date, age_days, stale, description, run in rows:
        known = folders.get(folder)
        if known is None:
            known = folders[folder] = (
                f"{folder}/" if folder.isascii() else "",
                f'"kind": "{folder}", "owner": null' if folder in SHARED_FOLDERS else
                f'"kind": "temporary", "owner": {quote(printable(folder))}')
        prefix, kind_owner = known
        if prefix and filename.isascii():
            key, path = quote(f"{prefix}{filename[:-3]}"), quote(prefix + filename)
        else:
            key = quote(printable(f"{folder}/{filename[:-3]}"))
            path = quote(printable(f"{folder}/{filename}"))
        day = days.get((date, age_days, stale))
        if day is None:
            iso = f'"{date.isoformat()}"' if date else "null"
            age = "null" if age_days is None else int(age_days)
            day = days[(date, age_days, stale)] = \
                f'"date": {iso}, "age_days": {age}, "stale": {"true" if stale else "false"}'
        last = "null" if run is None else _json_value(run.as_dict(output_tail=False))
        parts.append(f'{{"key": {key}, "path": {path}, {kind_owner}, {day}, '
                     f'"description": {quote(description)}, "last_run": {last}}}')
    return f"[{', '.join(parts)}]"


def _json_value(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def scripts_of(root: str, ordered: bool = True) -> list[tuple[str, list[str]]]:
    """The scripts under ``root`` as the catalogue finds them, in its order: each folder
    (recycle/, unrecycle/, then the developer folders by name) with its script file names,
    sorted (``ordered`` false: in the order the folder gives them, for a caller that knows
    their sorted order from before)."""
    try:
        folders = [e.name for e in os.scandir(root) if e.is_dir() and
                   not e.name.startswith((".", "__"))]
    except FileNotFoundError:
        return []
    folders.sort(key=lambda name: (_RANK.get(name, 2), name))
    found = []
    for folder in folders:
        try:
            entries = list(os.scandir(os.path.join(root, folder)))
        except OSError:
            continue
        # One C loop a folder (no Python frame a file): files, their names, the script ones.
        names = list(filter(_SCRIPT_NAME, map(_NAME, filter(_IS_FILE, entries))))
        if ordered:
            names.sort()
        found.append((folder, names))
    return found


_RANK = {"recycle": 0, "unrecycle": 1}
_IS_FILE = methodcaller("is_file")
_NAME = attrgetter("name")
#: A script's file name: ``.py``, not hidden, not ``__init__.py`` (``\Z``: a name may hold a
#: newline).
_SCRIPT_NAME = re.compile(r"(?!\.|__init__\.py\Z).*\.py\Z", re.DOTALL).match


