"""The package's shape: no import circles, and lower layers never import higher ones.

Every ``import`` in ``opsctl/`` counts, wherever it stands: at the top, inside a function (the
lazy imports that keep ``--help`` and ``lint`` fast) or under ``TYPE_CHECKING``. The modules
are read with :mod:`ast`, never imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "opsctl"

#: Layers, lowest first. A module may import its own capability (the same subpackage, or for
#: the ground floor any ground-floor module) and any lower layer, never a higher one nor a
#: neighbour on its own layer.
LAYERS: list[dict[str, tuple[str, ...]]] = [
    {"ground floor": ("opsctl.errors", "opsctl.output", "opsctl.naming", "opsctl.copies",
                      "opsctl.dates", "opsctl.similarity", "opsctl.config",
                      "opsctl.identity", "opsctl.catalogue", "opsctl.gitops", "opsctl.prompt",
                      "opsctl.project", "opsctl.filecache", "opsctl.application",
                      "opsctl.light")},
    {"ledger": ("opsctl.ledger",)},
    {"scaffold": ("opsctl.scaffold",)},
    {"lifecycle": ("opsctl.lifecycle",)},
    # What the ledger tells of runs and asks of running ones: history, progress, --follow,
    # pause and cancel.
    {"lint": ("opsctl.lint",), "run": ("opsctl.run",),
     "history": ("opsctl.history", "opsctl.progress", "opsctl.follow", "opsctl.stops"),
     "listing": ("opsctl.listing",)},
    # Runs handed to a queue's workers: on the runner.
    {"queue": ("opsctl.queue",)},
    # The web dashboard: reads through the layers below; only the CLI (opsctl serve) imports it.
    {"web": ("opsctl.web",)},
    {"cli": ("opsctl.cli",)},
    # A script's run in a test, and its pytest fixture: on top, imported by nothing of opsctl.
    {"script API": ("opsctl", "opsctl.__main__", "opsctl.testing", "opsctl.pytest_plugin")},
]
#: The demo app stands apart: it is an example Flask project, not part of opsctl's layers.
APART = ("opsctl.demo",)


def module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name, is_package = module_name(path)
        found[name] = (path, is_package)
    return found


def imports_of(name: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """Every opsctl module ``name`` imports, resolved: ``from . import x`` is ``pkg.x``;
    ``from .a import b`` is ``pkg.a.b`` when that is a module, else ``pkg.a``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target
                       for a in node.names]
        else:
            continue
        for target in targets:
            # `import opsctl.run.api` names a module; fall back to the nearest known parent.
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, is_package, known)
            for name, (path, is_package) in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def place(module: str) -> tuple[int, str]:
    """The layer and capability a module belongs to."""
    best: tuple[int, str, int] | None = None
    for rank, layer in enumerate(LAYERS):
        for capability, prefixes in layer.items():
            for prefix in prefixes:
                if module == prefix or module.startswith(prefix + "."):
                    if best is None or len(prefix) > best[2]:
                        best = (rank, capability, len(prefix))
    if best is None:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {__file__}")
    return best[0], best[1]


def test_the_import_walk_sees_lazy_and_type_checking_imports() -> None:
    edges = graph()
    # A function-level import (history looks for the ledger file only when asked) ...
    assert "opsctl.ledger.facts" in edges["opsctl.history"]
    # ... and the lazy script API in the package's own __init__.
    assert "opsctl.run.api" in edges["opsctl"]
    assert "opsctl.cli.direct" in edges["opsctl"]


def test_the_cycle_finder_finds_a_planted_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    found = cycles(graph())
    assert not found, "import circles in opsctl/: " + "; ".join(" <-> ".join(c) for c in found)


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = []
    for module, targets in sorted(graph().items()):
        if module.startswith(APART):
            continue
        rank, capability = place(module)
        for target in sorted(targets):
            if target.startswith(APART):
                wrong.append(f"{module} imports the demo app {target}")
                continue
            target_rank, target_capability = place(target)
            if target_capability == capability:
                continue
            if target_rank >= rank:
                wrong.append(f"{module} ({capability}) imports {target} ({target_capability})")
    assert not wrong, "\n".join(wrong)


def test_the_demo_imports_nothing_of_opsctl_s_layers() -> None:
    for module, targets in graph().items():
        if module.startswith(APART):
            assert all(t.startswith(APART) for t in targets), (module, targets)


@pytest.mark.parametrize("package", ["opsctl.cli", "opsctl.lint", "opsctl.run", "opsctl.listing",
                                     "opsctl.ledger", "opsctl.lifecycle", "opsctl.web"])
def test_each_subpackage_says_what_it_owns_and_imports_nothing(package: str) -> None:
    path, is_package = modules()[package]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring and "import" in docstring, f"{package}: say what it may import"
    # An __init__ that imports nothing keeps `opsctl lint` from loading the whole capability.
    assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_every_module_has_a_docstring() -> None:
    missing = [name for name, (path, _) in modules().items()
               if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert not missing, missing


#: Modules and classes allowed past the size rule, each with the reason its docstring gives.
SIZE_EXCEPTIONS: dict[str, str] = {}


def test_no_module_over_400_lines_and_no_class_over_200() -> None:
    big = []
    for name, (path, _) in modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > 400 and name not in SIZE_EXCEPTIONS:
            big.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > 200 and f"{name}.{node.name}" not in SIZE_EXCEPTIONS:
                    big.append(f"{name}.{node.name}: {size} lines")
    assert not big, big


def test_the_readme_tree_names_every_subpackage_and_module() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Development", 1)[1]
    tree = section.split("```text", 1)[1].split("```", 1)[0]
    folders = sorted(p.name for p in PACKAGE.iterdir()
                     if p.is_dir() and (p / "__init__.py").exists())
    modules_here = sorted(p.name for p in PACKAGE.glob("*.py")
                          if p.name not in ("__init__.py", "__main__.py"))
    missing = [f"{f}/" for f in folders if f"{f}/" not in tree]
    missing += [m for m in modules_here if m not in tree]
    assert not missing, f"README's Development tree lacks {missing}"
