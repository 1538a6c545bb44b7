"""Import side effects: the module-level statements of a script that do work whenever it is
imported (``opsctl list``, tests, ``--help``, ``opsctl run`` before its entry point), and the
ones the lint cannot judge.

What the rule is for decides it: importing a script must not touch data, files or the network,
nor run the script. So argparse set up at module level, ``sys.path.insert``, a warnings
filter, ``requests.Session()``, a loop filling a registry, a constant from the script's own
helper, a version check that raises, and a main guard with an extra ``and`` are fine; a
``pd.read_csv``, ``Path.read_text``, ``psycopg2.connect``, a Redis or Mongo query, a
``fetchall``, ``mkdtemp`` or ``create_app()`` are work (OPS601). A call the lint cannot judge
(a function it does not know, called for its effect) is a warning (OPS604). Read with
:mod:`ast`, never run; :mod:`opsctl.lint.calls` holds the tables.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..light import NamedTuple
from .calls import (
    CLIENT,
    CLIENT_SET_UP,
    ENTRY_POINTS,
    MAYBE_WORK_METHODS,
    PURE,
    UNKNOWN,
    WORK,
    WORK_METHODS,
    classify,
    sounds_like_setup,
    sounds_like_work,
)

# What a module-level name holds, as far as its calls go.
_LOCAL, _CLIENT, _OTHER = "local", "client", "other"


class Effect(NamedTuple):
    """A statement that does work on import (``WORK``) or may (``UNKNOWN``)."""

    node: ast.stmt
    level: int
    what: str  # "a call `main()`", "a for loop that calls `print(i)`"
    call: str  # the call in question, as written


def side_effects(tree: ast.Module) -> Iterator[Effect]:
    """The module-level statements of ``tree`` that do work on import, or may."""
    yield from _Module(tree.body).statements(tree.body, guarded=False)


class _Names:
    """One module's names (its imports, functions, classes and the kind of each value) and
    what a call through them does."""

    def __init__(self, body: list[ast.stmt]) -> None:
        self.imported: dict[str, str] = {}
        self.modules: set[str] = set()  # names bound by ``import m``: modules, not objects
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.classes: set[str] = set()
        self.values: dict[str, str] = {}
        self._judging: set[str] = set()
        todo = list(body)
        while todo:
            node = todo.pop()
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.imported[bound] = alias.name if alias.asname else bound
                    self.modules.add(bound)
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = f"{module}.{alias.name}"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes.add(node.name)
            elif isinstance(node, ast.If):
                todo += node.body + node.orelse
            elif isinstance(node, ast.Try) or type(node) is _TRY_STAR:
                tried: ast.Try = node  # type: ignore[assignment]  # TryStar: the same fields
                todo += tried.body + tried.orelse + tried.finalbody
                for handler in tried.handlers:
                    todo += handler.body

    # -- expressions ---------------------------------------------------------------------------

    def expr(self, value: ast.expr) -> tuple[int, ast.Call | None]:
        """The most work any call inside ``value`` does, and that call (lambdas skipped:
        their body runs only when called)."""
        worst, worst_call = PURE, None
        todo: list[ast.AST] = [value]
        while todo:
            node = todo.pop(0)
            if type(node) in _LEAVES or isinstance(node, ast.Lambda):
                continue
            if isinstance(node, ast.Call):
                level = self.call(node)
                if level > worst:
                    worst, worst_call = level, node
                    if level == WORK:
                        return worst, worst_call
            todo.extend(ast.iter_child_nodes(node))
        return worst, worst_call

    def call(self, node: ast.Call) -> int:
        """What one call does: WORK, UNKNOWN or PURE (a client's constructor is PURE)."""
        parts, root = _chain(node.func)
        if isinstance(root, ast.Name):
            name = root.id
            if not parts and name in self.functions:
                return self.own_function(name)
            if not parts and name in self.classes:
                return PURE
            if name in self.values and name not in self.imported:
                return self.method(self.values[name], parts, len(parts))
            full = ".".join([self.imported.get(name, name), *parts])
        elif isinstance(root, ast.Call):
            inner = self.call(root)
            kind = _CLIENT if inner == WORK or self.result_kind(root) == _CLIENT else \
                _LOCAL if inner == PURE else _OTHER
            return self.method(kind, parts, len(parts) + 1)
        else:  # a literal's method ("a,b".split(",")), a subscript's ...
            return self.method(_LOCAL if isinstance(root, (ast.Constant, ast.JoinedStr))
                               else _OTHER, parts, len(parts))
        if full == "logging.basicConfig" and any(k.arg == "filename" for k in node.keywords):
            return WORK  # it creates the log file
        known = classify(full)
        if known is not None:
            return PURE if known == CLIENT else known
        last = parts[-1] if parts else name
        if last in ENTRY_POINTS:
            return WORK
        if {"session", "query", "app_context", "test_request_context"} & set(parts[:-1]):
            return WORK
        if name in self.modules and sounds_like_setup(full):
            return PURE  # np.random.seed, plt.switch_backend: a module's function to set up
        if not parts:
            return UNKNOWN  # a function the lint does not know
        return self.method(_OTHER, parts, len(parts))

    def method(self, kind: str, parts: list[str], depth: int) -> int:
        """A method call through a value of ``kind``, its attribute path ``parts``."""
        if not parts:
            return PURE if kind == _LOCAL else UNKNOWN
        last = parts[-1]
        if kind == _CLIENT:
            return PURE if parts[0] in CLIENT_SET_UP else WORK
        if last in WORK_METHODS or last in ENTRY_POINTS:
            return WORK
        if {"session", "query", "app_context", "test_request_context"} & set(parts[:-1]):
            return WORK
        if last in MAYBE_WORK_METHODS:
            return WORK if depth >= 3 else PURE if kind == _LOCAL else UNKNOWN
        return PURE if kind == _LOCAL else UNKNOWN

    def kind(self, value: ast.expr) -> str:
        """What a module-level name assigned ``value`` holds."""
        if isinstance(value, ast.Call):
            return self.result_kind(value)
        if isinstance(value, (ast.Attribute, ast.Subscript)):
            parts, root = _chain(value.value if isinstance(value, ast.Subscript) else value)
            if isinstance(root, ast.Name) and self.values.get(root.id) == _CLIENT:
                return _CLIENT  # client.shop.orders, client["shop"]
            if isinstance(root, ast.Call) and self.result_kind(root) == _CLIENT:
                return _CLIENT
        if isinstance(value, (ast.Constant, ast.List, ast.Dict, ast.Set, ast.Tuple,
                              ast.ListComp, ast.DictComp, ast.SetComp, ast.BinOp,
                              ast.JoinedStr)):
            return _LOCAL
        return _OTHER

    def result_kind(self, node: ast.Call) -> str:
        parts, root = _chain(node.func)
        if isinstance(root, ast.Name):
            if root.id in self.values and root.id not in self.imported:
                held = self.values[root.id]
                return _CLIENT if held == _CLIENT else _LOCAL if self.call(node) == PURE \
                    and held == _LOCAL else _OTHER
            full = ".".join([self.imported.get(root.id, root.id), *parts])
            known = classify(full)
            if known == CLIENT or parts and parts[-1] in ("connect", "cursor"):
                return _CLIENT
            if known == PURE or root.id in self.classes:
                return _LOCAL
        elif isinstance(root, ast.Call):
            return self.result_kind(root) if self.result_kind(root) == _CLIENT else _OTHER
        return _OTHER

    def own_function(self, name: str) -> int:
        """A call of one of the module's own functions: its entry point runs the script; a
        helper does what its body does."""
        function = self.functions[name]
        if name in ENTRY_POINTS or any(_is_command(d) for d in function.decorator_list):
            return WORK
        if name in self._judging:
            return PURE  # recursion: judged by the rest of the body
        self._judging.add(name)
        try:
            worst = PURE
            for statement in function.body:
                for node in ast.walk(statement):
                    if isinstance(node, ast.Call):
                        worst = max(worst, self.call(node))
            return worst
        finally:
            self._judging.discard(name)



class _Module(_Names):
    """The statements of one module, judged by what their calls do."""

    def statements(self, body: list[ast.stmt], guarded: bool) -> Iterator[Effect]:
        """The effects of ``body``; ``guarded`` inside an ``if`` (a raise there is a check)."""
        for node in body:
            if type(node) not in _QUIET:  # most of a script: imports and definitions
                yield from self.statement(node, guarded)

    def statement(self, node: ast.stmt, guarded: bool) -> Iterator[Effect]:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            yield from self.assignment(node)
        elif isinstance(node, ast.Expr):
            yield from self.expression(node)
        elif isinstance(node, ast.If):
            if _is_main_guard(node.test):
                yield from self.statements(node.orelse, True)  # an else runs on import
            else:
                yield from self.judged(node, node.test, "an if whose test calls")
                yield from self.statements(node.body, True)
                yield from self.statements(node.orelse, True)
        elif isinstance(node, ast.Try) or type(node) is _TRY_STAR:
            tried: ast.Try = node  # type: ignore[assignment]
            for part in (tried.body, *(h.body for h in tried.handlers), tried.orelse,
                         tried.finalbody):
                yield from self.statements(part, guarded)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            yield from self.block(node, [node.iter], "a for loop")
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from self.block(node, [item.context_expr for item in node.items],
                                  "a with block")
        elif isinstance(node, ast.While):
            inner = list(self.block(node, [node.test], "a while loop"))
            if inner:
                yield from inner
            else:
                yield Effect(node, UNKNOWN, "a while loop", "")
        elif isinstance(node, ast.Raise):
            if not guarded:  # a raise under an if is a check (the Python version, a setting)
                yield Effect(node, WORK, "a raise", "")
        elif isinstance(node, ast.Assert):
            yield from self.judged(node, node.test, "an assert that calls")
        elif isinstance(node, ast.Match):
            yield from self.judged(node, node.subject, "a match on")
            for case in node.cases:
                yield from self.statements(case.body, True)
        elif not isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                   ast.AsyncFunctionDef, ast.ClassDef, ast.Pass, ast.Delete,
                                   ast.Global, ast.Nonlocal)) and \
                type(node).__name__ != "TypeAlias":
            yield Effect(node, UNKNOWN, f"a {type(node).__name__.lower()} statement", "")

    def assignment(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> Iterator[Effect]:
        if node.value is None:
            return
        level, call = self.expr(node.value)
        # A value built by a call the lint does not know is a value: only a name that says
        # it fetches or changes things (rows = load_rows()) is worth a word.
        if level == UNKNOWN and not (call is not None and sounds_like_work(_name_of(call))):
            level = PURE
        if level > PURE and call is not None:
            yield Effect(node, level, "an assignment that calls", _snippet(call))
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and not isinstance(node, ast.AugAssign):
                self.values[target.id] = self.kind(node.value)

    def expression(self, node: ast.Expr) -> Iterator[Effect]:
        value = node.value
        if not isinstance(value, ast.Call):
            yield from self.judged(node, value, "an expression that calls")
            return
        level, call = self.expr(value)
        if level > PURE:
            yield Effect(node, level, "a call", _snippet(value if call is None else call))

    def block(self, node: ast.For | ast.AsyncFor | ast.With | ast.AsyncWith | ast.While,
              heads: list[ast.expr], what: str) -> Iterator[Effect]:
        """A loop or ``with``: the most work of its head or its body, reported at the block."""
        level, call = PURE, ""
        for head in heads:
            head_level, head_call = self.expr(head)
            if head_level > level and head_call is not None:
                level, call = head_level, _snippet(head_call)
        for effect in self.statements(node.body, True):
            if effect.level > level:
                level, call = effect.level, effect.call
        if level > PURE:
            yield Effect(node, level, f"{what} that calls" if call else what, call)

    def judged(self, node: ast.stmt, value: ast.expr, what: str) -> Iterator[Effect]:
        level, call = self.expr(value)
        if level > PURE and call is not None:
            yield Effect(node, level, what, _snippet(call))


#: Statements that do nothing on import that the lint judges: their body (or decorators,
#: defaults and bases, which are left alone) is not run by the import itself.
_QUIET = frozenset({ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                    ast.ClassDef, ast.Pass, ast.Delete, ast.Global, ast.Nonlocal})
#: ``try: ... except* ...`` (Python 3.11 on): a try to the names' table.
_TRY_STAR = getattr(ast, "TryStar", None)
#: Expressions with nothing inside them: no call to look for.
_LEAVES = frozenset({ast.Name, ast.Constant})


def _chain(func: ast.expr) -> tuple[list[str], ast.expr]:
    """``a.b.c`` -> (["b", "c"], Name a); ``f(x).y`` -> (["y"], Call f(x))."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    while isinstance(func, ast.Subscript):  # client["shop"].orders
        func = func.value
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
    parts.reverse()
    return parts, func


def _name_of(call: ast.Call) -> str:
    parts, root = _chain(call.func)
    return ".".join([root.id if isinstance(root, ast.Name) else "", *parts])


def _is_command(decorator: ast.expr) -> bool:
    """``@click.command()``, ``@click.group(...)``: the function is the script's command."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    parts, _ = _chain(target)
    return bool(parts) and parts[-1] in ("command", "group")


def _is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round), alone or in an ``and``."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_is_main_guard(v) for v in test.values)
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or \
            not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def _snippet(node: ast.expr, limit: int = 40) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
