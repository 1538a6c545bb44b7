"""The benchmark keeps working: its quick mode runs end to end on a tiny tree, and its pieces
judge the §8 targets as the SPEC states them. No timing is asserted here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import bench
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # the benchmark's quick mode, end to end
def test_quick_mode_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "tests.bench", "--quick", "--runs", "1",
                           "--size", "200", "--json", str(out)],
                          cwd=REPO, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "SPEC §8 target" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["mode"] == "quick"
    status = {m["key"]: (m["status"], m["note"]) for m in data["measurements"]}
    assert set(status) == {"help", "lint_200", "lint_files_200", "list_200", "run",
                           "ledger_sqlite", "ledger_postgresql"}
    # Every measurement runs; only the PostgreSQL ledger may be missing on a machine without
    # the server (outside CI).
    may_miss = {"ledger_postgresql"} if not os.environ.get("CI") else set()
    assert {k: v for k, v in status.items() if v[0] != "ok" and k not in may_miss} == {}
    assert status["help"][0] == "ok"
    assert len(data["targets"]) == 8
    assert all(t["verdict"] in ("yes", "NO", "n/a", "reported") for t in data["targets"])


def test_floor_reports_the_bad_names(tmp_path: Path) -> None:
    tree = bench.make_tree(tmp_path, 300)
    floor = bench.Command((sys.executable, "-c", bench.FLOOR_CODE, str(tree.root)), tree.dir)
    outcome, stdout = bench.run_process(floor, bench.clean_env(), capture=True)
    assert outcome.returncode == 0, outcome.stderr
    pattern = re.search(r'NAME = re.compile\(r"(.*)"\)', bench.FLOOR_CODE)
    assert pattern is not None
    name = re.compile(pattern[1])
    expected = {os.path.join(folder, f) for folder, _, files in os.walk(tree.root)
                for f in files if name.match(f) is None}
    assert expected and set(stdout.splitlines()) == expected
    assert len(tree.pick_files()) == 2


def _measurement(key: str, a: list[float], b: list[float]) -> bench.Measurement:
    m = bench.Measurement(key, key, bench.Side("a", a), bench.Side("b", b))
    m.ratios = [x / y for x, y in zip(a, b, strict=True)]
    return m


def test_targets_are_judged_by_median_pairwise_ratio() -> None:
    ms = {
        "help": _measurement("help", [0.06, 0.06, 0.09], [0.04, 0.04, 0.04]),  # 1.5x: holds
        "lint_1000": _measurement("lint_1000", [0.10, 0.10], [0.03, 0.03]),
        "lint_10000": _measurement("lint_10000", [0.14, 0.14], [0.07, 0.07]),
        "lint_100000": _measurement("lint_100000", [0.60, 0.60], [0.25, 0.25]),
        "lint_files_100000": _measurement("lint_files_100000", [0.08], [0.25]),
        "run": _measurement("run", [0.33], [0.30]),
    }
    ms["run"].ratios = [1.2]
    verdicts = {t.target: t.verdict for t in bench.evaluate(ms, (1_000, 10_000, 100_000),
                                                            quick=False)}
    assert list(verdicts.values()) == ["yes", "yes", "NO", "NO", "yes", "NO", "n/a", "n/a"]
