"""The form that starts a run: fields built from the script's Click options, read from its
syntax tree (a web request never imports, let alone runs, a script in the web process), and
the form's answers turned back into the script's arguments.

An option whose declaration is not plain literals (a custom type, a computed default) is
still a text field; a script without a Click ``main`` has no fields (it takes none).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One option of the script's ``main``: ``--name`` (its longest option string), a flag
    or a value, its default, choices and help as declared."""

    option: str
    flag: bool
    default: str | None
    choices: tuple[str, ...]
    help: str
    required: bool
    secret: bool

    @property
    def name(self) -> str:
        """The form field's name."""
        return "opt" + self.option


def fields_of(source: str, secret_names: tuple[str, ...] = ()) -> list[Field]:
    """The options of the Click command ``main`` in ``source``, in the order ``--help``
    lists them (top decorator first)."""
    from ..run.secrets import secret_name

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    main = next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.name == "main"), None)
    if main is None:
        return []
    found = []
    for decorator in main.decorator_list:
        if not (isinstance(decorator, ast.Call) and _called(decorator) == "option"):
            continue
        strings = [a.value for a in decorator.args if isinstance(a, ast.Constant)
                   and isinstance(a.value, str) and a.value.startswith("-")]
        if not strings:
            continue
        words = {k.arg: k.value for k in decorator.keywords if k.arg}
        option = max(strings, key=len).split("/")[0]
        hide = _literal(words.get("hide_input")) is True
        found.append(Field(option=option, flag=_literal(words.get("is_flag")) is True,
                           default=_text(_literal(words.get("default"))),
                           choices=_choices(words.get("type")),
                           help=str(_literal(words.get("help")) or ""),
                           required=_literal(words.get("required")) is True,
                           secret=hide or secret_name(option, secret_names)))
    return found


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value)


def _choices(node: ast.expr | None) -> tuple[str, ...]:
    if isinstance(node, ast.Call) and _called(node) == "Choice" and node.args:
        values = _literal(node.args[0])
        if isinstance(values, list | tuple):
            return tuple(str(v) for v in values)
    return ()


def args_of(fields: list[Field], answers: Mapping[str, str]) -> list[str]:
    """The script's arguments from the form's ``answers``: a ticked flag, and each value
    given (an empty one is left to the option's default)."""
    args: list[str] = []
    for field in fields:
        given = answers.get(field.name)
        if field.flag:
            if given:
                args.append(field.option)
        elif given is not None and given.strip() != "":
            args += [field.option, given]
    return args
