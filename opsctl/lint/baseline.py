"""Lint baselines: the findings a team has accepted until fixed, kept in a JSON file.

``opsctl lint --write-baseline FILE`` records what the lint finds now; ``--baseline FILE`` (or
``baseline`` in ``[tool.opsctl.lint]``) then reports only what is new. Each finding is recorded
by its fingerprint: the rule, the path (relative to the project, as ``--format json`` shows
it), and what was found where a path and a rule do not say it alone (the statement of an
import side effect). So a finding moving to another line stays accepted, while a new
``os.remove()`` at import in an already-baselined file is new; fixed or deleted findings drop
out the next time the baseline is written. A version 1 baseline (one entry per path and rule,
root-relative paths) is still read, with its looser meaning, until it is rewritten.
"""

from __future__ import annotations

import json
import os
from collections import Counter

from ..light import NamedTuple
from .rules import Finding, LintReport, LintUsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

BASELINE_VERSION = 2
#: The rules of a name: a rename by ``--fix`` settles them, so their entries go with it.
NAME_CODES = frozenset({"OPS201", "OPS301"})


class BaselineError(LintUsageError):
    """A baseline file is missing or not a baseline."""


class Baseline(NamedTuple):
    """The accepted findings: how many of each ``(path, code, found)``, paths relative to the
    project. A version 1 file accepts every finding of a path and rule (``loose``)."""

    entries: Counter[tuple[str, str, str | None]]
    loose: bool = False


def fingerprint(finding: Finding, prefix: str) -> tuple[str, str, str | None]:
    """What a baseline knows a finding by: its path from the project, its rule, what was
    found (never the line, nor the message's wording)."""
    return prefix + finding.path, finding.code, finding.found


def read_baseline(path: str, prefix: str = "") -> Baseline:
    """The baseline in ``path``; ``prefix`` is the root's path from the project (a version 1
    file's paths were relative to the root)."""
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
            isinstance(e.get("code"), str) and isinstance(e.get("found", ""), str | None)
            for e in entries):
        raise BaselineError(f"{path} is not an opsctl lint baseline (expected a \"findings\" "
                            "list of {path, code}); rewrite it with --write-baseline")
    assert isinstance(data, dict)
    if data.get("version") == 1:
        return Baseline(Counter((prefix + e["path"], e["code"], None) for e in entries),
                        loose=True)
    return Baseline(Counter((e["path"], e["code"], e.get("found")) for e in entries))


def write_baseline(path: str, findings: Iterable[Finding], prefix: str = "") -> int:
    """Record ``findings`` as the accepted state; returns the number of entries written (one
    per finding). Only what is found now is written, so what was fixed drops out."""
    data_entries = []
    for f in sorted(findings, key=Finding.sort_key):
        entry: dict[str, str] = {"path": prefix + f.path, "code": f.code}
        if f.found is not None:
            entry["found"] = f.found
        entry["message"] = f.message
        data_entries.append(entry)
    _write(path, data_entries)
    return len(data_entries)


def _write(path: str, entries: list[dict[str, str]], version: int = BASELINE_VERSION) -> None:
    data = {
        "version": version,
        "about": "opsctl lint baseline: findings accepted until fixed; regenerate with "
                 "opsctl lint --write-baseline FILE",
        "findings": entries,
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


def move_entries(path: str, renamed: Mapping[str, str], prefix: str = "") -> int:
    """After ``--fix``: the entries of each renamed file (root-relative ``{old: new}``)
    follow it to its new name, but for its name's own findings, which the rename settled.
    Rewrites the file in the version it was in; returns how many entries moved."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("version") != 1:  # version 1 paths are root-relative, later ones project's
        renamed = {prefix + old: prefix + new for old, new in renamed.items()}
    moved = 0
    kept = []
    for entry in data["findings"]:
        new = renamed.get(entry["path"])
        if new is not None:
            if entry["code"] in NAME_CODES:
                continue
            entry["path"] = new
            moved += 1
        kept.append(entry)
    _write(path, kept, data.get("version", BASELINE_VERSION))
    return moved


def apply_baseline(report: LintReport, accepted: Baseline, prefix: str = "") -> LintReport:
    """The report without findings recorded in the baseline."""
    left = Counter(accepted.entries)
    kept: list[Finding] = []
    for f in report.findings:
        key = fingerprint(f, prefix)
        if accepted.loose:
            key = (key[0], key[1], None)
            if left[key] or key in accepted.entries:
                left[key] = 0  # a version 1 entry accepts every finding of its path and rule
                continue
        elif left[key] > 0:
            left[key] -= 1
            continue
        kept.append(f)
    unused = None if report.partial else sum(n for n in left.values() if n > 0)
    return report._replace(findings=tuple(kept), baselined=len(report.findings) - len(kept),
                           baseline_unused=unused)
