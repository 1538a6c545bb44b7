"""Lint baselines: the findings a team has accepted until fixed, kept in a JSON file.

``opsctl lint --write-baseline FILE`` records what the lint finds now; ``--baseline FILE`` (or
``baseline`` in ``[tool.opsctl.lint]``) then reports only what is new. One entry per path and
rule, so a finding moving to another line stays accepted; fixed or deleted files drop out the
next time the baseline is written.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from .rules import Finding, LintReport, LintUsageError

if TYPE_CHECKING:
    from collections.abc import Iterable

BASELINE_VERSION = 1


class BaselineError(LintUsageError):
    """A baseline file is missing or not a baseline."""


def read_baseline(path: str) -> frozenset[tuple[str, str]]:
    """The ``(path, code)`` pairs recorded in a baseline file."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist; write it with 'opsctl lint "
                            f"--write-baseline {path}'") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path} is not a readable opsctl lint baseline ({exc}); rewrite it "
                            "with --write-baseline") from None
    entries = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("path"), str) and
            isinstance(e.get("code"), str) for e in entries):
        raise BaselineError(f"{path} is not an opsctl lint baseline (expected a \"findings\" "
                            "list of {path, code}); rewrite it with --write-baseline")
    return frozenset((e["path"], e["code"]) for e in entries)


def write_baseline(path: str, findings: Iterable[Finding]) -> int:
    """Record ``findings`` as the accepted state; returns the number of entries written.

    Only what is found now is written, so a file fixed or deleted since the last baseline
    drops out. One entry per (path, code): a finding moving to another line stays accepted.
    """
    entries: dict[tuple[str, str], str] = {}
    for f in sorted(findings, key=Finding.sort_key):
        entries.setdefault((f.path, f.code), f.message)
    data = {
        "version": BASELINE_VERSION,
        "about": "opsctl lint baseline: findings accepted until fixed; regenerate with "
                 "opsctl lint --write-baseline FILE",
        "findings": [{"path": p, "code": c, "message": m} for (p, c), m in entries.items()],
    }
    # ASCII JSON: a name with undecodable bytes survives as a \udcXX escape.
    text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
    folder, name = os.path.split(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return len(entries)


def apply_baseline(report: LintReport, accepted: frozenset[tuple[str, str]]) -> LintReport:
    """The report without findings recorded in the baseline."""
    kept = tuple(f for f in report.findings if (f.path, f.code) not in accepted)
    matched = {(f.path, f.code) for f in report.findings} & accepted
    unused = None if report.partial else len(accepted) - len(matched)
    return report._replace(findings=kept, baselined=len(report.findings) - len(kept),
                           baseline_unused=unused)
