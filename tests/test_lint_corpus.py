"""The lint measured against labelled corpora, not guessed at: copy names
(``tests/corpus_names.py``) and module-level idioms (``tests/corpus_imports.py``).

Each name or idiom is linted for real, in a tree of its own, and the figures are printed
(``pytest -s`` shows them; they are in the failure message too). For names, the decision a CI
acts on is the error: a copy must be one, a purpose must not. A warning ("may be a copy") is
neither, and is counted apart. For idioms, any finding of the import rules (OPS601 error or
OPS604 warning) is a flag: precision and recall are measured on flags, and on errors alone.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from pathlib import Path

from corpus_imports import CORPUS as IDIOMS
from corpus_names import CORPUS as NAMES

from opsctl.lint.engine import lint
from opsctl.lint.settings import LintConfig
from opsctl.naming import Naming

TODAY = _dt.date(2024, 7, 1)
GOOD = '"""Do one thing."""\n\n\ndef main() -> None:\n    pass\n'
NAME_CODES = {"OPS201", "OPS203", "OPS301", "OPS302", "OPS304"}


def precision_recall(pairs: Iterable[tuple[bool, bool]]) -> tuple[float, float, int, int, int]:
    """(precision, recall, true positives, false positives, false negatives) of
    ``(predicted, actual)`` pairs."""
    tp = fp = fn = 0
    for predicted, actual in pairs:
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, tp, fp, fn


def lint_name(base: Path, kind: str, name: str, siblings: tuple[str, ...]) -> set[str]:
    """The severities of the name findings on ``name`` in a tree with its ``siblings``."""
    root = base / "offline_script"
    if kind == "recycle":
        target = f"recycle/{name}.py"
        rels = [target] + [f"recycle/{s}.py" for s in siblings]
    else:
        target = f"yuzaoyah/ts_2024_06_10_{name}.py"
        rels = [target] + [f"yuzaoyah/ts_2024_05_{i + 1:02d}_{s}.py"
                           for i, s in enumerate(siblings)]
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(GOOD, encoding="utf-8")
    report = lint(root, Naming(today=TODAY), LintConfig(stale_days=3650))
    return {f.severity for f in report.findings if f.path == target and f.code in NAME_CODES}


def test_copy_names_precision_and_recall(tmp_path: Path) -> None:
    outcomes = []
    for i, (kind, name, siblings, label) in enumerate(NAMES):
        severities = lint_name(tmp_path / str(i), kind, name, siblings)
        outcomes.append((kind, name, siblings, label, "error" in severities,
                         severities == {"warning"}))
    copies = sum(o[3] == "copy" for o in outcomes)
    assert copies >= 150 and len(outcomes) - copies >= 150, "several hundred, half and half"

    lines = [f"copy names: {len(outcomes)} labelled ({copies} copies, "
             f"{len(outcomes) - copies} purposes); the decision is the error"]
    figures = {}
    for cls in ("copy", "purpose"):
        pairs = [(o[4] if cls == "copy" else not o[4], o[3] == cls) for o in outcomes]
        p, r, tp, fp, fn = precision_recall(pairs)
        figures[cls] = (p, r)
        lines.append(f"  {cls:<8} precision {p:.3f}  recall {r:.3f}  (tp {tp}, fp {fp}, fn {fn})")
    warned = {cls: sum(1 for o in outcomes if o[3] == cls and o[5]) for cls in ("copy", "purpose")}
    lines.append(f"  warnings (may be a copy): {warned['copy']} on copies, "
                 f"{warned['purpose']} on purposes")
    missed = [f"{o[0]}:{o[1]}" for o in outcomes if o[3] == "copy" and not o[4]]
    wrong = [f"{o[0]}:{o[1]}" for o in outcomes if o[3] == "purpose" and o[4]]
    lines.append(f"  copies not errors: {missed}")
    lines.append(f"  purposes that are errors: {wrong}")
    report = "\n".join(lines)
    print("\n" + report)
    for cls, (p, r) in figures.items():
        assert p >= 0.97 and r >= 0.97, f"{cls} below 0.97\n{report}"


def lint_idiom(base: Path, source: str) -> set[tuple[str, str]]:
    path = base / "offline_script" / "recycle" / "clear_cache.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('"""Clear the cache."""\n' + source, encoding="utf-8")
    report = lint(base / "offline_script", Naming(today=TODAY), LintConfig(stale_days=3650))
    return {(f.code, f.severity) for f in report.findings if f.code in ("OPS601", "OPS604")}


def test_import_side_effects_precision_and_recall(tmp_path: Path) -> None:
    outcomes = []
    for i, (name, source, label) in enumerate(IDIOMS):
        found = lint_idiom(tmp_path / str(i), source)
        outcomes.append((name, label, bool(found), ("OPS601", "error") in found))
    assert len(outcomes) >= 60

    lines = [f"import side effects: {len(outcomes)} labelled idioms "
             f"({sum(o[1] == 'work' for o in outcomes)} do work on import, "
             f"{sum(o[1] == 'harmless' for o in outcomes)} harmless)"]
    flagged = precision_recall((o[2], o[1] == "work") for o in outcomes)
    errors = precision_recall((o[3], o[1] == "work") for o in outcomes)
    for title, (p, r, tp, fp, fn) in (("any finding", flagged), ("errors only", errors)):
        lines.append(f"  {title:<12} precision {p:.3f}  recall {r:.3f}  "
                     f"(tp {tp}, fp {fp}, fn {fn})")
    harmless_flagged = [o[0] for o in outcomes if o[1] == "harmless" and o[2]]
    lines.append(f"  harmless but flagged: {harmless_flagged}")
    lines.append(f"  work not flagged: {[o[0] for o in outcomes if o[1] == 'work' and not o[2]]}")
    lines.append(f"  work only warned: "
                 f"{[o[0] for o in outcomes if o[1] == 'work' and o[2] and not o[3]]}")
    report = "\n".join(lines)
    print("\n" + report)
    precision, recall = flagged[0], flagged[1]
    assert precision >= 0.95 and recall >= 0.85, report
    assert errors[0] >= 0.95, report  # an error is never a guess
