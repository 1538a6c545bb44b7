"""A script's entry point, in the order ``opsctl run`` tries them:

1. a Click command named ``main``: its options and ``--help`` come for free;
2. a plain callable ``main()`` (its ``int`` return value is the exit code);
3. otherwise the file runs as ``__main__``, for legacy scripts with an
   ``if __name__ == "__main__":`` block.

Whether ``main`` exists is read from the syntax tree, so a legacy script's module-level code
runs exactly once. A Click command's arguments are parsed before the run is recorded: a
``--help`` or a usage error runs nothing and records nothing.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
import runpy
import sys
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any, Literal

from ..errors import OpsctlError, ScriptNotLoadable

if TYPE_CHECKING:
    from collections.abc import Sequence

    import click

    from ..catalogue import Script


#: The module-level marker of a script that honours ``current_run().dry_run`` itself, so
#: ``--dry-run`` may run it on an app with nothing opsctl can roll back (:mod:`.dryrun`).
DRY_RUN_MARKER = "OPSCTL_DRY_RUN"
DRY_RUN_HONOURED = "honoured"


@dataclass
class EntryPoint:
    script: Script
    code: CodeType
    sha256: str
    kind: Literal["click", "function", "module"]
    module: ModuleType | None = None
    function: Any = None
    context: click.Context | None = None
    #: Names of the Click command's flag options (they take no value), for redaction.
    flags: frozenset[str] = field(default_factory=frozenset)
    #: Every option string of the Click command's secret options (``-p`` as well as
    #: ``--password``), and the names of its secret parameters (:func:`secret_params`).
    secret_opts: frozenset[str] = field(default_factory=frozenset)
    secret_names: tuple[str, ...] = ()
    #: The module docstring: the ``--help`` of a script that is not a Click command.
    doc: str | None = None
    #: Whether it declares ``OPSCTL_DRY_RUN = "honoured"`` (:mod:`.dryrun`).
    honours_dry_run: bool = False


def compile_script(script: Script) -> EntryPoint:
    """Read and compile the script (nothing runs); a syntax error is a one-line refusal."""
    try:
        source = script.path.read_bytes()
    except OSError as exc:
        raise ScriptNotLoadable(_unreadable(script, exc)) from None
    digest = hashlib.sha256(source).hexdigest()
    try:
        tree = ast.parse(source, filename=str(script.path))
        code = compile(tree, str(script.path), "exec")
    except (SyntaxError, ValueError) as exc:
        raise ScriptNotLoadable(_unloadable(script, source, exc)) from None
    kind: Literal["function", "module"] = "function" if _binds_main(tree) else "module"
    return EntryPoint(script, code, digest, kind, doc=ast.get_docstring(tree),
                      honours_dry_run=declares_honoured(tree))


def _unreadable(script: Script, exc: OSError) -> str:
    import errno

    why = exc.strerror or type(exc).__name__
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot read {script.display} ({why}); fix its permissions and run again " \
            "(nothing ran)"
    return f"cannot read {script.display} ({why}); nothing ran"


def _unloadable(script: Script, source: bytes, exc: SyntaxError | ValueError) -> str:
    """Why the script cannot be compiled, in words (nothing ran)."""
    if b"\0" in source:  # Python says "null bytes" (3.11: a SyntaxError without a line)
        why = "is not Python source (it contains NUL bytes: a binary file?)"
    elif isinstance(exc, SyntaxError) and "codec can't decode" in str(exc.msg):
        why = "is not Python source (it is not UTF-8 and declares no other encoding)"
    elif isinstance(exc, SyntaxError) and exc.lineno is not None:
        why = f"has a syntax error at line {exc.lineno}: {exc.msg}"
    else:
        why = f"is not Python source ({getattr(exc, 'msg', None) or exc})"
    return f"{script.display} {why}; fix it and run again (nothing ran)"


def declares_honoured(tree: ast.Module) -> bool:
    """Whether a script's module level says ``OPSCTL_DRY_RUN = "honoured"``."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == DRY_RUN_MARKER for t in targets):
            return isinstance(value, ast.Constant) and value.value == DRY_RUN_HONOURED
    return False


def _binds_main(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == "main":
                return True
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "main" for t in targets):
                return True
        elif isinstance(node, ast.ImportFrom):
            if any((a.asname or a.name) == "main" for a in node.names):
                return True
    return False


def module_name(script: Script) -> str:
    """``offline_script.recycle.clear_cache``: what ``__name__`` and loggers show."""
    parts = [script.root.name, script.folder, script.stem]
    return ".".join(re.sub(r"\W", "_", p) or "_" for p in parts)


def import_entry(entry: EntryPoint, secret_words: Sequence[str] = ()) -> None:
    """Import the script as a module and find ``main`` (needs the app context); a Click
    ``main``'s secret parameters are found by ``secret_words`` (the ``secret_options``).

    Exceptions from the script's import propagate.
    """
    if entry.kind == "module":
        return
    import click

    name = module_name(entry.script)
    module = ModuleType(name)
    module.__file__ = str(entry.script.path)
    sys.modules[name] = module
    exec(entry.code, module.__dict__)
    main = getattr(module, "main", None)
    entry.module = module
    if isinstance(main, click.Command):
        entry.kind = "click"
        entry.function = main
        entry.flags = frozenset(opt for p in main.params if isinstance(p, click.Option)
                                and (p.is_flag or p.count) for opt in p.opts + p.secondary_opts)
        entry.secret_opts, entry.secret_names = secret_params(main, secret_words)
    elif callable(main):
        entry.function = main
    else:
        raise OpsctlError(f"{entry.script.display}: main is a {type(main).__name__}, not a "
                          "function or a Click command")


def secret_params(command: click.Command,
                  secret_words: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A Click command's secret parameters: every option string of its secret options, and
    the names of all of them (arguments included).

    A parameter is secret when any name it is declared with (``-p``, ``--password``, its
    parameter name) looks secret, or when it hides its input (``hide_input=True``).
    """
    import click

    from .secrets import secret_name

    opts: set[str] = set()
    names: list[str] = []
    for param in command.params:
        declared = [*param.opts, *param.secondary_opts, param.name or ""]
        if not (getattr(param, "hide_input", False) or
                any(secret_name(d, secret_words) for d in declared if d)):
            continue
        if isinstance(param, click.Option):
            opts.update(param.opts, param.secondary_opts)
        if param.name:
            names.append(param.name)
    return frozenset(opts), tuple(names)


def secret_values(entry: EntryPoint) -> list[str]:
    """What the script's secret parameters were given, once its arguments are parsed (from
    the command line, an environment variable, a prompt or a default), as text."""
    if entry.context is None:
        return []
    found: list[str] = []
    for name in entry.secret_names:
        value = entry.context.params.get(name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None and not isinstance(item, bool):
                found.append(str(item))
    return found


def parse_args(entry: EntryPoint, args: list[str], prog: str = "opsctl run") -> None:
    """Parse a Click entry point's arguments; raises ``click.exceptions.Exit`` for ``--help``
    and ``click.UsageError`` for bad arguments, before anything runs."""
    if entry.kind != "click":
        return
    entry.context = entry.function.make_context(f"{prog} {entry.script.display}", list(args))


def help_text(entry: EntryPoint, prog: str = "opsctl run") -> str:
    """The ``--help`` of a plain ``main()`` or legacy script: its module docstring.

    Such a script declares no options opsctl could show, and running it to ask would run it.
    """
    import textwrap

    doc = entry.doc or "(the script has no docstring)"
    usage = f"{prog} {entry.script.display}"
    return (f"Usage: {usage} [ARGS]...\n\n{textwrap.indent(doc, '  ')}\n\n"
            f"  ARGS reach the script as sys.argv[1:]. To hand it -h/--help or one of\n"
            f"  {prog}'s own options, put them after --:\n"
            f"  {usage} -- --help")


def call(entry: EntryPoint) -> int:
    """Run the entry point; its exceptions (``SystemExit`` included) propagate."""
    if entry.kind == "click":
        assert entry.context is not None
        with entry.context as ctx:
            entry.function.invoke(ctx)
        return 0
    if entry.kind == "function":
        result = entry.function()
        if inspect.iscoroutine(result):  # async def main()
            import asyncio

            result = asyncio.run(result)
        return result if isinstance(result, int) and not isinstance(result, bool) else 0
    runpy.run_path(str(entry.script.path), run_name="__main__")
    return 0
