"""The lint's content rules: a docstring, no work on import, and source the parser can read.

Scripts are read as bytes and parsed with :mod:`ast`, never imported or run; what counts as
work on import is :mod:`opsctl.lint.effects`'.
:mod:`opsctl.lint.engine` loads this module (and ``ast``) only when a tree has scripts whose
content is checked, so a lint of names alone never pays for it.
"""

from __future__ import annotations

import ast
import os
import re
import stat
import warnings
from collections.abc import Iterable, Iterator

from ..filecache import Signature, digest, signature
from ..light import NamedTuple
from ..naming import Kind, normalise, parse_temporary
from ..similarity import DESCRIPTION_BYTES, describe
from .calls import WORK
from .effects import side_effects

#: PEP 263: an encoding declaration in the first two lines makes non-UTF-8 source legal.
_CODING_RE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)


class Item(NamedTuple):
    """One content finding of a script, before the lint turns it into a Finding."""

    code: str
    message: str
    fix: str | None = None
    line: int | None = None
    #: What was found (the statement of a side effect): its fingerprint in a baseline.
    found: str | None = None


def check_scripts(root: str | os.PathLike[str], scripts: Iterable[tuple[str, Kind]],
                  ) -> Iterator[tuple[str, str, str, str | None, int | None, str | None]]:
    """The content findings of each ``(rel, kind)`` under ``root``, as
    ``(rel, code, message, fix, line, found)``."""
    for rel, _kind, checked in check_files(os.fspath(root), list(scripts)):
        for item in checked[3]:
            yield (rel, *item)


#: What one script's content gives (:func:`check_file`): the signature of the bytes read (None
#: when nothing could be read), their digest, the description
#: (:func:`opsctl.similarity.describe`) and the findings as plain tuples.
Checked = tuple[Signature | None, bytes | None, str | None,
                tuple[tuple[str, str, str | None, int | None, str | None], ...]]


def check_files(root: str, scripts: list[tuple[str, Kind]]) -> list[tuple[str, Kind, Checked]]:
    """:func:`check_file` for each ``(rel, kind)``: what a worker process of
    :mod:`opsctl.lint.cache` runs on its share."""
    # Parsing legacy source can warn (invalid escape sequences); the lint reports what it is
    # asked to, and a warning filter set to "error" must not turn a parse into a crash.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [(rel, kind, check_file(root, rel, kind)) for rel, kind in scripts]


def check_file(root: str, rel: str, kind: Kind) -> Checked:
    """Read one script once: its signature, digest, description and content findings."""
    try:
        data, st = _read(os.path.join(root, rel))
    except NotAFile as exc:
        return None, None, None, (("OPS603", f"{exc}, not a script file, so its content cannot "
                                   "be read", "replace it with the script's source file, or "
                                   "remove it", None, None),)
    except OSError as exc:
        return None, None, None, (("OPS603", f"cannot be read ({exc.strerror})",
                                   "fix its permissions, or remove it", None, None),)
    items = tuple(tuple(item) for item in _check_source(data, rel, kind))
    return (signature(st), digest(data), describe(data[:DESCRIPTION_BYTES]),
            items)  # type: ignore[return-value]


def check_script(root: str | os.PathLike[str], rel: str, kind: Kind) -> Iterator[Item]:
    """The content findings of one script: ``(code, message, fix, line)``."""
    for item in check_file(os.fspath(root), rel, kind)[3]:
        yield Item(*item)


def _check_source(data: bytes, rel: str, kind: Kind) -> Iterator[Item]:
    """The content findings of a script's bytes."""
    if b"\0" in data:
        yield Item("OPS603", "a binary file (it holds NUL bytes), not Python source",
                   "replace it with the script's source, or move it out of the tree")
        return
    source: str | bytes
    # utf-8-sig without its codec module: a leading BOM is dropped, the rest is UTF-8.
    bom = len(_BOM) if data.startswith(_BOM) else 0
    try:
        source = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"an undecodable byte at offset {exc.start + bom}"
        if bom:  # a BOM says UTF-8 whatever a coding line says (Python refuses the pair too)
            yield Item("OPS603", f"not UTF-8 though it starts with a UTF-8 byte-order mark "
                       f"({where})", "save it as UTF-8")
            return
        head = b"\n".join(data.splitlines()[:2])
        if _CODING_RE.search(head) is None:
            yield Item("OPS603", f"not UTF-8 ({where}), and no coding declaration",
                       "save it as UTF-8")
            return
        source = data  # let the parser honour the declared encoding
    try:
        tree = ast.parse(source, filename=rel)
    except SyntaxError as exc:
        yield Item("OPS603", f"not valid Python: {exc.msg}",
                   "fix the syntax error ('python -m py_compile' shows it)", exc.lineno)
        return
    except (ValueError, MemoryError, RecursionError) as exc:
        yield Item("OPS603", f"not valid Python: {exc}",
                   "fix the source ('python -m py_compile' shows it)")
        return
    # clean=False: cleaning would import inspect (about 5 ms) to strip what is stripped here.
    doc = ast.get_docstring(tree, clean=False)
    if not doc or doc.isspace():
        where = "recycle/ and unrecycle/ scripts" if kind != "temporary" else "scripts"
        yield Item("OPS602",
                   f"no module docstring; {where} start with one whose first line says "
                   "what the script does (opsctl list shows it)",
                   f"add a first line such as \"\"\"{_first_line(rel)}\"\"\"", 1)
    for effect in side_effects(tree):
        what = f"{effect.what} `{effect.call}`" if effect.call else effect.what
        found = " ".join(ast.unparse(effect.node).split())
        if effect.level == WORK:
            yield Item("OPS601", f"{what} at module level runs whenever the script is imported "
                       "(opsctl run, --help, python script.py)",
                       "move it into main(), or under if __name__ == \"__main__\":",
                       effect.node.lineno, found)
        else:
            yield Item("OPS604", f"{what} at module level may do work whenever the script is "
                       "imported; the lint cannot tell what it does",
                       "if it touches data, files or the network, move it into main() (or "
                       "under if __name__ == \"__main__\":); if it only sets things up, leave it",
                       effect.node.lineno, found)


def _first_line(rel: str) -> str:
    """A docstring's first line to start from, in the words of the script's name:
    ``recycle/export_order_data.py`` -> ``Export order data.``"""
    stem = rel.rsplit("/", 1)[-1].removesuffix(".py")
    parsed = parse_temporary(stem)
    text = " ".join(normalise(parsed.what if parsed else stem).split("_"))
    return f"{text[:1].upper()}{text[1:]}." if text else "Say what the script does."


def _snippet(node: ast.expr, limit: int = 40) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class NotAFile(OSError):
    """A name in the tree that is a FIFO, socket or device, not a file of source."""


def _read(path: str) -> tuple[bytes, os.stat_result]:
    """A file's bytes and its status before they were read, through the os layer: a third of
    the cost of open() for small files.

    Opened without blocking, so a FIFO named ``x.py`` (which would wait for a writer forever)
    is refused like any other thing that is not a regular file: :class:`NotAFile`.
    """
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile(_file_type(st.st_mode))
        # One read of the size fstat gave, and one byte more: getting exactly that size is
        # the end (syscalls are what reading thirty small files costs). Short of it (a read
        # capped at 2 GiB, a file that shrank) or past it (a file that grew): read on.
        size = st.st_size
        chunks = [os.read(fd, size + 1)]
        total = len(chunks[0])
        while total != size:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BOM = b"\xef\xbb\xbf"


def _file_type(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return "not a regular file"
