"""The template's wording a promoted script still carries, rewritten for ``recycle/``.

``opsctl new ts`` writes a module docstring whose paragraphs after the description say what a
temporary script is ("Temporary script by ..., written .... Scratch: not reused, not
shared", and how to promote it). Once the script is promoted those words are wrong, so they
become the recycle template's, the description and everything a person added kept. Only text
the ts template wrote is replaced: its paragraphs are recognised by rendering the template
(the project's own first, as ``new`` does) with placeholders for what differs from script to
script (developer, date, key, path). A docstring in a person's own words is left alone.
"""

from __future__ import annotations

import ast
import datetime as _dt
import re
from collections.abc import Sequence
from pathlib import Path

from ..catalogue import Script
from ..errors import OpsctlError
from ..naming import parse_temporary
from ..scaffold import render

#: Stand-ins for the template variables, to find where each lands in the rendered text.
_DESCRIPTION = "OPSCTLDESCRIPTIONHERE"
_VARYING = ("name", "developer", "date", "key", "rel")
#: A string literal's prefix and opening quotes.
_OPENING = re.compile(r"^[rRuU]?(\"{3}|'{3}|\"|')")


def promoted_text(text: str, source: Script, target: Script, *, project_dir: Path,
                  templates: Sequence[Path] | None, operator: str,
                  today: _dt.date | None = None) -> str | None:
    """``text``, the source of the temporary script ``source`` promoted to ``target``, with
    the ts template's docstring paragraphs replaced by the recycle template's; None when its
    docstring has none of them (a person's own words, or no docstring)."""
    span = _docstring_span(text)
    if span is None or parse_temporary(source.stem) is None:
        return None
    start, end = span
    literal = text[start:end]
    placeholders = {k: f"OPSCTL{k.upper()}HERE" for k in _VARYING}
    try:
        written = _paragraphs(render("ts", {**placeholders, "kind": "ts",
                                            "description": _DESCRIPTION},
                                     project_templates=templates))
        wanted = _paragraphs(render("recycle", {
            "name": target.stem, "kind": "recycle", "developer": operator,
            "date": (today or _dt.date.today()).isoformat(), "description": _DESCRIPTION,
            "key": target.key, "rel": _rel(target, project_dir)},
            project_templates=templates))
    except OpsctlError:
        return None  # a template that needs more (--var) or is broken: nothing to go by
    if not written or wanted is None:
        return None
    pattern = re.escape(written)
    for placeholder in placeholders.values():
        pattern = pattern.replace(placeholder, r"\S+")
    found = re.search(pattern, literal)
    if found is None:
        return None
    description = _OPENING.sub("", literal.split("\n", 1)[0], count=1)
    new = literal[:found.start()] + wanted.replace(_DESCRIPTION, description) + \
        literal[found.end():]
    return None if new == literal else text[:start] + new + text[end:]


def _paragraphs(rendered: str) -> str | None:
    """What a rendered template's module docstring says after the description: the
    template's own words. None when its docstring does not start with the description."""
    span = _docstring_span(rendered)
    if span is None:
        return None
    literal = rendered[span[0]:span[1]]
    at = literal.find(_DESCRIPTION)
    if at < 0 or "\n" in literal[:at]:
        return None
    return literal[at + len(_DESCRIPTION):].rstrip("\"'").strip("\n")


def _docstring_span(text: str) -> tuple[int, int] | None:
    """Where the module docstring's literal is in ``text`` (character offsets)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    if not tree.body or not isinstance(tree.body[0], ast.Expr):
        return None
    node = tree.body[0].value
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or \
            node.end_lineno is None or node.end_col_offset is None:
        return None
    # ast counts columns in UTF-8 bytes.
    data = text.encode("utf-8")
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    begin = starts[node.lineno - 1] + node.col_offset
    finish = starts[node.end_lineno - 1] + node.end_col_offset
    return len(data[:begin].decode("utf-8")), len(data[:finish].decode("utf-8"))


def _rel(script: Script, project_dir: Path) -> str:
    path = script.path
    return (path.relative_to(project_dir) if path.is_relative_to(project_dir)
            else path).as_posix()
