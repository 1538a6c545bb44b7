"""All terminal output: rich in a terminal, plain text in pipes and CI logs.

stdout carries data (tables, lists, findings, JSON); stderr carries notes, warnings and
errors. ``NO_COLOR`` turns colour off; ``FORCE_COLOR`` / a terminal turn rich on. rich is
imported only when a terminal will show it, so piped output and ``--help`` stay fast. Neither
is Click: this module is on the lint's fast path (:mod:`opsctl.cli.main`), where Click's import
alone would cost more than linting 10,000 names, so lines go straight to ``sys.stdout`` /
``sys.stderr`` (looked up on each call, so Click's test runner still captures them) and the
few styles used are written as ANSI codes here.
"""

from __future__ import annotations

import os
import sys

from .light import datetime as _datetime

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime
    from typing import Any

    from rich.console import Console
    from rich.text import Text

#: SGR codes of the styles opsctl uses (the codes click.style writes for them).
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}


def style(text: str, *styles: str) -> str:
    """``text`` in the given styles (``"bold"``, ``"red"``, ...), reset after it."""
    return "".join(f"\x1b[{_SGR[s]}m" for s in styles) + text + "\x1b[0m"


def write(text: str, *, err: bool = False) -> None:
    """``text`` as it is (no newline added) on stdout, or stderr; flushed, as a log wants.

    A stream set to ASCII (``PYTHONIOENCODING=ascii``, an old locale) gets UTF-8 bytes, with
    anything unencodable replaced, as Click writes to one: never a crash on a file name.
    """
    stream = sys.stderr if err else sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None and _is_ascii(stream):
        stream.flush()
        buffer.write(text.encode("utf-8", "replace"))
    else:
        stream.write(text)
    stream.flush()


def _is_ascii(stream: object) -> bool:
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name == "ascii"
    except LookupError:
        return False


def is_terminal(err: bool = False) -> bool:
    stream = sys.stderr if err else sys.stdout
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_color(err: bool = False) -> bool:
    return is_terminal(err) and not os.environ.get("NO_COLOR") and \
        os.environ.get("TERM") != "dumb"


_consoles: dict[bool, Console] = {}


def console(err: bool = False) -> Console:
    """The rich console for stdout (or stderr), made once."""
    if err not in _consoles:
        from rich.console import Console

        _consoles[err] = Console(stderr=err, highlight=False,
                                 no_color=not use_color(err) or None)
    return _consoles[err]


def echo(message: str = "", *, err: bool = False) -> None:
    write(message + "\n", err=err)


def note(message: str) -> None:
    """A diagnostic line on stderr."""
    echo(style(message, "dim") if use_color(True) else message, err=True)


def warn(message: str) -> None:
    prefix = style("warning:", "yellow", "bold") if use_color(True) else "warning:"
    echo(f"{prefix} {message}", err=True)


def success(message: str) -> None:
    echo(style(message, "green") if use_color(False) else message)


def print_json(data: Any) -> None:
    """JSON on stdout: indented for a person at a terminal, compact (and fast: the C encoder)
    for a pipe."""
    import json

    text = json.dumps(data, indent=2 if is_terminal() else None, ensure_ascii=False,
                      default=str)
    echo(text.encode("utf-8", "replace").decode("utf-8"))


def print_json_bytes(data: bytes | Sequence[bytes | memoryview]) -> None:
    """Compact JSON made elsewhere, printed as :func:`print_json` prints its own for a pipe:
    ``data`` is that text and its newline (or its pieces, in order), UTF-8 encoded with a
    lone surrogate (an undecodable file name) as ``?``. A UTF-8 (or ASCII) stream gets the
    bytes straight, never decoded to text to be encoded again."""
    pieces = [data] if isinstance(data, bytes) else data
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None and _is_utf8_or_ascii(stream):
        stream.flush()
        buffer.writelines(pieces)
        stream.flush()
    else:
        write(b"".join(pieces).decode("utf-8"))


def _is_utf8_or_ascii(stream: object) -> bool:
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name in (
            "utf-8", "ascii")
    except LookupError:
        return False


def print_json_items(items: Iterable[Any]) -> None:
    """A JSON array on stdout, written as the items come, 64 KiB at a time (so memory stays
    flat however many there are): the same text :func:`print_json` prints for their list."""
    import json

    pretty = is_terminal()
    first, between, end = ("[\n  ", ",\n  ", "\n]\n") if pretty else ("[", ", ", "]\n")
    pending: list[str] = []
    size = count = 0
    for item in items:
        text = json.dumps(item, indent=2 if pretty else None, ensure_ascii=False, default=str)
        pending += [between if count else first, text.replace("\n", "\n  ") if pretty else text]
        count += 1
        size += len(text)
        if size >= 65536:
            write("".join(pending).encode("utf-8", "replace").decode("utf-8"))
            pending, size = [], 0
    pending.append(end if count else "[]\n")
    write("".join(pending).encode("utf-8", "replace").decode("utf-8"))


#: How a run's status shows at a terminal (a dry run is dim besides).
STATUS_STYLES = {"failed": "red", "lost": "red", "interrupted": "yellow",
                 "succeeded": "green", "running": "cyan", "paused": "yellow",
                 "cancelled": "magenta", "queued": "blue"}
#: The narrowest a column cut short with an ellipsis gets, where its text is wider.
CUT_WIDTH = 16


class Fit:
    """How a table fits a terminal's width, by column name.

    The ``keys`` columns (what people copy) are never split nor dropped; ``cut`` ones stay on
    one line, cut short with an ellipsis; the others in ``drop`` are shown whole or not at all,
    and go, first named first, while the table is too wide; the rest wrap between words. The
    last word of a cell in a ``statuses`` column is a run's status, coloured (dim: a dry run).
    A ``whole`` column (also in ``cut`` and ``drop``) that would be cut short is shown whole
    instead when leaving out the ``drop`` columns named before it makes room for it.
    """

    __slots__ = ("cut", "drop", "keys", "statuses", "whole")

    def __init__(self, *, keys: Sequence[str] = ("script",), cut: Sequence[str] = (),
                 drop: Sequence[str] = (), statuses: Sequence[str] = (),
                 whole: Sequence[str] = ()) -> None:
        self.keys, self.cut, self.drop, self.statuses = keys, cut, drop, statuses
        self.whole = whole


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None,
          empty: str = "nothing to show", fit: Fit | None = None) -> None:
    """Print rows as a rich table fitting a terminal (see :class:`Fit`; a column empty in
    every row is left out there), as whole, aligned plain columns otherwise."""
    table_pages(columns, [rows], title=title, empty=empty, fit=fit)


def table_pages(columns: Sequence[str], pages: Iterable[Sequence[Sequence[str]]], *,
                title: str | None = None, empty: str = "nothing to show",
                fit: Fit | None = None) -> None:
    """:func:`table` for rows that come a page at a time (``history --limit 0``): each page
    is printed as it comes, under one header, its columns at least as wide as the pages'
    before, so memory holds one page however many there are."""
    widths: dict[int, int] = {}
    shown = False
    for rows in pages:
        if not rows:
            continue
        if is_terminal():
            widths = _rich_table(columns, rows, None if shown else title, fit or Fit(),
                                 header=not shown, floor=widths)
        else:
            widths = _plain_table(columns, rows, None if shown else title, header=not shown,
                                  floor=widths)
        shown = True
    if not shown:
        note(empty)


def _plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None, *,
                 header: bool, floor: dict[int, int]) -> dict[int, int]:
    widths = {i: max(len(c), floor.get(i, 0)) for i, c in enumerate(columns[:-1])}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = [title] if title else []
    heads = [[c.upper() for c in columns]] if header else []
    for row in (*heads, *rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    echo("\n".join(lines))
    return widths


def _rich_table(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None,
                fit: Fit, *, header: bool = True,
                floor: dict[int, int] | None = None) -> dict[int, int]:
    from rich.console import Console
    from rich.table import Table

    out = console()
    widths = _widths(columns, rows, out.width, fit)
    for i in widths:
        widths[i] = max(widths[i], (floor or {}).get(i, 0))
    needed = sum(widths.values()) + 2 * (len(widths) - 1)
    if needed > out.width:
        # Keys whole even when they alone are wider than the terminal: it wraps the lines.
        out = Console(highlight=False, no_color=not use_color() or None, width=needed)
    color = use_color()
    t = Table(title=title, title_justify="left", header_style="bold" if color else "",
              box=None, pad_edge=False, show_header=header)
    for i, width in widths.items():
        name = columns[i]
        t.add_column(name.upper(), width=width, no_wrap=name in fit.keys or name in fit.cut or
                     name in fit.drop, overflow="ellipsis" if name in fit.cut else "fold")
    for row in rows:
        t.add_row(*(_cell(row[i], color and columns[i] in fit.statuses) for i in widths))
    out.print(t)
    return widths


def _widths(columns: Sequence[str], rows: Sequence[Sequence[str]], room: int,
            fit: Fit) -> dict[int, int]:
    """The width of each column shown (by index) in ``room`` terminal columns."""
    from rich.cells import cell_len

    keys, cut, drop = fit.keys, fit.cut, fit.drop
    widest: dict[int, int] = {}
    least: dict[int, int] = {}
    for i, name in enumerate(columns):
        cells = [row[i] for row in rows]
        if name not in keys and not any(cells):
            continue
        header = cell_len(name)
        widest[i] = max(header, *(cell_len(cell) for cell in cells))
        if name in cut:
            least[i] = min(widest[i], max(header, CUT_WIDTH))
        elif name in keys or name in drop:
            least[i] = widest[i]
        else:  # wraps between words, never inside one
            least[i] = max(header, *(cell_len(w) for cell in cells for w in cell.split()))

    def needed() -> int:
        return sum(least.values()) + 2 * (len(least) - 1)

    for name in drop:
        if needed() <= room:
            break
        for i in [i for i in least if columns[i] == name and name not in keys]:
            del least[i]
    for i in [i for i in least if columns[i] in fit.whole]:
        earlier = [j for name in drop[:drop.index(columns[i])] for j in least
                   if columns[j] == name and name not in keys]
        room_made = sum(least[j] + 2 for j in earlier)
        if widest[i] - least[i] > room - needed() and \
                widest[i] - least[i] <= room - needed() + room_made:
            for j in earlier:
                if widest[i] - least[i] <= room - needed():
                    break
                del least[j]
    spare = room - needed()
    widths = dict(least)
    # What wraps is widened first, then what is cut short.
    for i in sorted(widths, key=lambda i: columns[i] in cut):
        more = max(0, min(spare, widest[i] - widths[i]))
        widths[i] += more
        spare -= more
    return widths


def _cell(text: str, status: bool) -> Text:
    from rich.text import Text

    cell = Text(text)
    if status:
        word = text.removesuffix(" (dry)")
        start = word.rfind(" ") + 1
        style = STATUS_STYLES.get(word[start:])
        if style is not None:
            if word != text:
                cell.stylize("dim")
            cell.stylize(style, start, len(word))
    return cell


#: The text of each day :func:`local` wrote in a zone that is only UTC, by ordinal; and the
#: two digits of each hour, minute and second.
_DAYS: dict[int, str] = {}
_TWO = [f"{n:02d}" for n in range(60)]
_UTC = _datetime.UTC


def local(when: datetime | None, seconds: bool = False) -> str:
    """Local time with its zone, as every table and message shows a time:
    ``2026-11-25 16:10 +08:00``, or ``UTC`` where the local zone is UTC."""
    if when is None:
        return ""
    import time

    if when.tzinfo is _UTC and time.tzname == ("UTC", "UTC") and not time.timezone and \
            when.year >= 1000:
        # A time in UTC, as the ledger's are, here too (a server's usual zone, which never
        # had another offset): the day's text once, the time of day from its fields, several
        # times quicker than asking the system for each of list's thousand rows.
        day = when.toordinal()
        text = _DAYS.get(day)
        if text is None:
            text = _DAYS[day] = f"{when:%Y-%m-%d} "
        if seconds:
            return f"{text}{_TWO[when.hour]}:{_TWO[when.minute]}:{_TWO[when.second]} UTC"
        return f"{text}{_TWO[when.hour]}:{_TWO[when.minute]} UTC"
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    if when.tzinfo is not None and not when.utcoffset():  # UTC, as the ledger's times are
        # What astimezone() asks the system too (the local time and offset at that second),
        # without building a timezone and a datetime for each of list's thousand rows.
        here = time.localtime(when.timestamp())
        if here.tm_year >= 1000:
            return _with_zone(time.strftime(shape, here), here.tm_gmtoff)
    there = when.astimezone()
    offset = there.utcoffset()
    return _with_zone(there.strftime(shape), int(offset.total_seconds()) if offset else 0)


def _with_zone(text: str, offset: int) -> str:
    """``text`` and the zone ``offset`` seconds east of UTC (``UTC`` for none)."""
    if not offset:
        return f"{text} UTC"
    minutes = offset // 60
    sign, minutes = ("-", -minutes) if minutes < 0 else ("+", minutes)
    return f"{text} {sign}{minutes // 60:02d}:{minutes % 60:02d}"
