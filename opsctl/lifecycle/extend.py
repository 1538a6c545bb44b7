"""Extending instead of adding: what a recycle script of a similar purpose already offers.

Before writing a recycle script the convention says should not exist, ``new`` shows each
similar one's description and the options of its Click command, so the person can see what
extending it means. They are read from the source with :mod:`ast`, never by importing it:
importing runs the module's top level (which OPS601 asks to be free of side effects, but a
script that breaks that rule must not run because someone typed ``new``), and a script's
imports load the application (Flask, its models, a database driver) that ``new`` has no
business paying for. What ``ast`` sees is what the decorators say literally:
``@click.option("--out", help=...)`` above ``def main``, the way the templates and the
examples write them. Options assembled at run time (a shared list of decorators, a
decorator of the project's own) are not seen.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from ..catalogue import Catalogue, Script, read_description
from ..scaffold import similar_recycle

#: Click's metavar for the types a script names, as ``--help`` shows it.
_TYPE_METAVARS = {
    "int": "INTEGER", "INT": "INTEGER", "IntRange": "INTEGER", "float": "FLOAT",
    "FLOAT": "FLOAT", "FloatRange": "FLOAT", "bool": "BOOLEAN", "BOOL": "BOOLEAN",
    "str": "TEXT", "STRING": "TEXT", "Path": "PATH", "File": "FILENAME", "UUID": "UUID",
    "DateTime": "[%Y-%m-%d|%Y-%m-%dT%H:%M:%S|%Y-%m-%d %H:%M:%S]",
}


class Option(NamedTuple):
    """One parameter of a script's Click command, as ``--help`` would list it."""

    left: str
    text: str = ""


class Offer(NamedTuple):
    """What a script offers: its description, and its options or why none are known."""

    script: Script
    description: str
    options: tuple[Option, ...] = ()
    note: str | None = None

    def lines(self) -> list[str]:
        """The options, aligned as Click aligns them; or the note when there are none."""
        if not self.options:
            return [self.note or "(a Click command without options)"]
        width = max(len(o.left) for o in self.options)
        return [f"{o.left:<{width}}  {o.text}".rstrip() for o in self.options]


def offers(name: str, catalogue: Catalogue) -> list[Offer]:
    """What each recycle script of a purpose similar to ``name`` offers."""
    by_key = {s.key: s for s in catalogue.scripts if s.kind == "recycle"}
    return [describe_script(by_key[key]) for key in similar_recycle(name, catalogue)]


def describe_script(script: Script) -> Offer:
    """Read ``script``'s description and its ``main`` command's options, without running it."""
    try:
        tree = ast.parse(script.path.read_bytes(), filename=script.rel)
    except (SyntaxError, ValueError):
        return Offer(script, read_description(script.path),
                     note="(not valid Python: its options cannot be read)")
    except OSError as exc:
        return Offer(script, read_description(script.path),
                     note=f"(unreadable: {exc.strerror}; its options cannot be read)")
    doc = ast.get_docstring(tree) or ""
    description = doc.strip().splitlines()[0] if doc.strip() else ""
    main = next((node for node in tree.body if isinstance(node, (ast.FunctionDef,
                                                                   ast.AsyncFunctionDef))
                 and node.name == "main"), None)
    if main is None:
        return Offer(script, description,
                     note="(no main: run as __main__, no options declared)")
    names = _ClickNames.of(tree)
    kinds = [(names.kind(d), d) for d in main.decorator_list]
    if not any(kind in ("command", "group") for kind, _ in kinds):
        return Offer(script, description, note="(a plain main(): no options declared)")
    options = tuple(_option(kind, d) for kind, d in kinds
                    if kind in ("option", "argument") and isinstance(d, ast.Call))
    return Offer(script, description, options)


class _ClickNames(NamedTuple):
    """How the script's source names Click: ``click``, ``import click as c``, or
    ``from click import option``."""

    modules: frozenset[str]
    functions: dict[str, str]

    @classmethod
    def of(cls, tree: ast.Module) -> _ClickNames:
        modules: set[str] = set()
        functions: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules.update(a.asname or a.name for a in node.names if a.name == "click")
            elif isinstance(node, ast.ImportFrom) and node.module == "click":
                functions.update({a.asname or a.name: a.name for a in node.names})
        return cls(frozenset(modules), functions)

    def kind(self, decorator: ast.expr) -> str | None:
        """``command``, ``group``, ``option`` or ``argument`` for Click's own decorators."""
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                func.value.id in self.modules:
            return func.attr
        if isinstance(func, ast.Name):
            return self.functions.get(func.id)
        return None


def _option(kind: str, call: ast.Call) -> Option:
    decls = [a.value for a in call.args if isinstance(a, ast.Constant)
             and isinstance(a.value, str)]
    keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
    metavar = _literal(keywords.get("metavar"))
    if kind == "argument":
        name = decls[0] if decls else "ARG"
        return Option(str(metavar) if metavar else name.upper())
    flags = [d for d in decls if d.startswith("-")]
    flag = bool(_literal(keywords.get("is_flag"))) or any("/" in d for d in flags) or \
        "flag_value" in keywords
    left = ", ".join(flags)
    if not flag:
        left += " " + (str(metavar) if metavar else _type_metavar(keywords))
    help_text = _literal(keywords.get("help"))
    parts = [str(help_text)] if isinstance(help_text, str) else []
    default = _literal(keywords.get("default"))
    if isinstance(default, (list, tuple)):
        default = ", ".join(str(d) for d in default)  # a repeated option's values
    if default not in (None, False, ""):
        parts.append(f"[default: {default}]")
    if _literal(keywords.get("multiple")):
        parts.append("(repeatable)")
    if _literal(keywords.get("required")):
        parts.append("(required)")
    return Option(left, " ".join(parts))


def _type_metavar(keywords: dict[str, ast.expr]) -> str:
    kind = keywords.get("type")
    if kind is None:
        default = _literal(keywords.get("default"))
        return "INTEGER" if isinstance(default, int) and not isinstance(default, bool) \
            else "TEXT"
    call = kind.func if isinstance(kind, ast.Call) else kind
    name = call.attr if isinstance(call, ast.Attribute) else \
        call.id if isinstance(call, ast.Name) else ""
    if name == "Choice" and isinstance(kind, ast.Call) and kind.args:
        choices = _literal(kind.args[0])
        if isinstance(choices, (list, tuple)):
            return "[" + "|".join(str(c) for c in choices) + "]"
    if name == "DateTime" and isinstance(kind, ast.Call) and kind.args:
        formats = _literal(kind.args[0])
        if isinstance(formats, (list, tuple)):
            return "[" + "|".join(str(f) for f in formats) + "]"
    return _TYPE_METAVARS.get(name, "TEXT")


def _literal(node: ast.expr | None) -> object:
    """The value of a literal expression; None for anything computed."""
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
