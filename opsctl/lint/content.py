"""The lint's content rules: a docstring, no work on import, and source the parser can read.

Scripts are read as bytes and parsed with :mod:`ast`, never imported or run.
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
from typing import NamedTuple

from ..naming import Kind, normalise, parse_temporary

#: PEP 263: an encoding declaration in the first two lines makes non-UTF-8 source legal.
_CODING_RE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)


class Item(NamedTuple):
    """One content finding of a script, before the lint turns it into a Finding."""

    code: str
    message: str
    fix: str | None = None
    line: int | None = None


def check_scripts(root: str | os.PathLike[str], scripts: Iterable[tuple[str, Kind]],
                  ) -> Iterator[tuple[str, str, str, str | None, int | None]]:
    """The content findings of each ``(rel, kind)`` under ``root``, as
    ``(rel, code, message, fix, line)``."""
    # Parsing legacy source can warn (invalid escape sequences); the lint reports what it is
    # asked to, and a warning filter set to "error" must not turn a parse into a crash.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rel, kind in scripts:
            for item in check_script(root, rel, kind):
                yield (rel, *item)


def check_script(root: str | os.PathLike[str], rel: str, kind: Kind) -> Iterator[Item]:
    """The content findings of one script: ``(code, message, fix, line)``."""
    try:
        data = _read(os.path.join(root, rel))
    except NotAFile as exc:
        yield Item("OPS603", f"{exc}, not a script file, so its content cannot be read",
                   "replace it with the script's source file, or remove it")
        return
    except OSError as exc:
        yield Item("OPS603", f"cannot be read ({exc.strerror})",
                   "fix its permissions, or remove it")
        return
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
    for node, what in _side_effects(tree.body):
        yield Item("OPS601",
                   f"{what} at module level runs whenever the script is imported (opsctl "
                   "run, --help, python script.py)",
                   "move it into main(), or under if __name__ == \"__main__\":",
                   node.lineno)


def _side_effects(body: list[ast.stmt],
                  scope: _Scope | None = None) -> Iterable[tuple[ast.stmt, str]]:
    """Module-level statements that do work on import, with a short description of each."""
    scope = scope if scope is not None else _Scope.of(body)
    for node in body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            # A plain assignment (log = logging.getLogger(__name__)) is what a module is for;
            # one whose value does the work (rows = db.session.execute(...)) is not.
            call = scope.working_call(node.value) if node.value is not None else None
            if call is not None:
                yield node, f"an assignment that calls `{_snippet(call)}`"
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef, ast.Pass, ast.Delete, ast.Global, ast.Nonlocal,
                             ast.Assert)) \
                or type(node).__name__ == "TypeAlias":
            # Definitions are what a module is for; a decorator's call is part of its
            # definition.
            continue
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                continue  # a docstring, or a bare ``...``
            what = "a call" if isinstance(node.value, (ast.Call, ast.Await)) else "an expression"
            yield node, f"{what} `{_snippet(node.value)}`"
        elif isinstance(node, ast.If):
            if _is_main_guard(node.test):
                yield from _side_effects(node.orelse, scope)  # an else: runs on import
            else:
                yield from _side_effects(node.body, scope)
                yield from _side_effects(node.orelse, scope)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            # try: import orjson as json / except ImportError: import json is a definition.
            tried: ast.Try = node  # type: ignore[assignment]  # TryStar has the same fields
            yield from _side_effects(tried.body, scope)
            for handler in tried.handlers:
                yield from _side_effects(handler.body, scope)
            yield from _side_effects(tried.orelse, scope)
            yield from _side_effects(tried.finalbody, scope)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            yield node, "a for loop"
        elif isinstance(node, ast.While):
            yield node, "a while loop"
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield node, "a with block"
        elif isinstance(node, ast.Raise):
            yield node, "a raise"
        else:
            yield node, f"a {type(node).__name__.lower()} statement"


#: Calls that only build a value, whatever the rules below would say of their names. Names are
#: as imported (``from re import compile`` counts as ``re.compile``); ``.*`` covers a module.
_PURE_CALLS = frozenset({
    "logging.getLogger", "typing.TypeVar", "typing.NewType", "typing.NamedTuple",
    "typing.ParamSpec", "typing.TypeVarTuple", "typing.cast", "collections.namedtuple",
    "dataclasses.field", "re.compile", "pathlib.Path", "pathlib.PurePath", "os.environ.get",
    "os.getenv", "functools.partial", "datetime.timedelta", "datetime.date",
    "datetime.datetime", "decimal.Decimal", "enum.auto", "frozenset", "set", "dict", "list",
    "tuple", "int", "str", "float", "bool", "range", "sorted", "len", "object", "shutil.which",
    "socket.gethostname",
})
_PURE_MODULES = ("click.", "os.path.", "string.", "typing.", "sqlalchemy.")
#: Calls that do the work of a script: open files, print, run processes, talk to the network.
_WORK_CALLS = frozenset({"open", "print", "input", "exec", "eval", "breakpoint", "asyncio.run",
                         "os.system", "os.popen", "os.remove", "os.unlink", "os.rename",
                         "os.replace", "os.rmdir", "os.removedirs", "os.makedirs", "os.mkdir",
                         "io.open", "time.sleep", "urllib.request.urlopen"})
_WORK_MODULES = ("requests.", "subprocess.", "httpx.", "shutil.", "socket.", "smtplib.",
                 "urllib.request.")
#: Methods that query or change a database whatever their object; a call through ``session`` or
#: ``query`` (``db.session.get(...)``, ``Order.query.all()``) does too.
_WORK_METHODS = frozenset({"execute", "executemany", "executescript", "query", "commit",
                           "rollback", "flush", "delete", "scalar", "scalars", "add_all",
                           "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings",
                           "merge", "invoke", "run_until_complete"})


class _Scope:
    """What a module defines, for telling a value from work: its functions, and the names its
    imports bind (``import subprocess as sp``: ``sp`` is ``subprocess``)."""

    def __init__(self, functions: set[str], imported: dict[str, str]) -> None:
        self.functions = functions
        self.imported = imported

    @classmethod
    def of(cls, body: list[ast.stmt]) -> _Scope:
        functions: set[str] = set()
        imported: dict[str, str] = {}
        todo = list(body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.add(node.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imported[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.If):
                todo += node.body + node.orelse
            elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
                tried: ast.Try = node  # type: ignore[assignment]
                todo += tried.body + tried.orelse + tried.finalbody
                for handler in tried.handlers:
                    todo += handler.body
        return cls(functions, imported)

    def working_call(self, value: ast.expr) -> ast.Call | None:
        """The first call inside ``value`` that does work when evaluated, if any.

        Lambdas are skipped (their body runs only when called); comprehensions are not.
        """
        todo: list[ast.AST] = [value]
        while todo:
            node = todo.pop(0)
            if isinstance(node, ast.Lambda):
                continue
            if isinstance(node, ast.Call) and self.does_work(node):
                return node
            todo.extend(ast.iter_child_nodes(node))
        return None

    def does_work(self, call: ast.Call) -> bool:
        parts: list[str] = []
        func = call.func
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name):
            if not parts and func.id in self.functions:
                return True  # one of the module's own functions: main(), run(), ...
            parts.append(self.imported.get(func.id, func.id))
        else:
            # A call on a call's result (db.session.query(X).delete()): judged by its methods.
            parts.append("")
        parts.reverse()
        name = ".".join(parts)
        if name in _PURE_CALLS or name.startswith(_PURE_MODULES):
            return False
        if name in _WORK_CALLS or name.startswith(_WORK_MODULES):
            return True
        dotted = name.split(".")
        # *.session.* / *.query.* (db.session.execute), and the database verbs on any object.
        return any(p in ("session", "query") for p in dotted[1:-1]) or \
            (len(dotted) > 1 and dotted[-1] in _WORK_METHODS)


def _is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or \
            not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


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


def _read(path: str) -> bytes:
    """A file's bytes, through the os layer: a third of the cost of open() for small files.

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
        return b"".join(chunks)
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
