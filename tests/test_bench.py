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


#: Lines whose measurement may be missing (with the reason) outside CI: those on a database
#: server.
SERVER_LINES = {"ledger_postgresql", "driver_postgresql", "run_postgresql", "run_postgresql_app",
                "driver_mariadb", "run_mariadb"}


@pytest.mark.slow  # the benchmark's quick mode, end to end
def test_quick_mode_runs_end_to_end(tmp_path: Path) -> None:
    """Every line but the queues' and the batches' (each proved by a test of its own module
    below, on its smallest shape), on the smallest tree and ledgers."""
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "tests.bench", "--quick", "--runs", "1",
                           "--size", "200", "--ledger-sizes", "1000,2000",
                           "--skip", "queues,batches", "--json", str(out)],
                          cwd=REPO, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "SPEC §8 target" in proc.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["mode"] == "quick"
    status = {m["key"]: (m["status"], m["note"]) for m in data["measurements"]}
    ledgers = {f"{m}_sqlite_{n}" for m in ("history", "list", "history_all")
               for n in (1_000, 2_000)}
    assert set(status) == {"help", "lint_200", "lint_files_200", "list_200", "run",
                           "ledger_sqlite", "legacy_warm_200", "legacy_cold_200",
                           "lslint_warm_200", "lslint_cold_200", "legacy_list_200",
                           *SERVER_LINES, *ledgers}
    # Every measurement runs; only those on a database server may be missing on a machine
    # without the servers (outside CI), and ls-lint where it is not installed, with the
    # reason.
    may_miss = SERVER_LINES.copy() if not os.environ.get("CI") else set()
    lslint, why_not = bench.find_lslint()
    if lslint is None:
        may_miss |= {"lslint_warm_200", "lslint_cold_200"}
        assert status["lslint_warm_200"] == ("not available", why_not)
        assert "npm install @ls-lint/ls-lint" in why_not
    assert {k: v for k, v in status.items() if v[0] != "ok" and k not in may_miss} == {}
    assert status["help"][0] == "ok"
    # SPEC §8, the legacy shapes, run on every ledger, history and list on every ledger
    # size, run --queue on RQ and Celery and sharded, the batches() loops and checkpoints
    # (issue 16): the lines left out are there, not measured.
    assert len(data["targets"]) == 8 + 6 + 5 + 3 + 3 + 4
    left_out = [t for t in data["targets"] if "run --queue" in t["target"]
                or "batches()" in t["target"] or "checkpoint" in t["target"]]
    assert [(t["verdict"], t["note"]) for t in left_out] == [("n/a", "not measured")] * 7
    assert all(t["verdict"] in ("yes", "NO", "n/a", "reported") for t in data["targets"])
    legacy = {m["key"]: m for m in data["measurements"]}["legacy_cold_200"]
    assert "<floor>" in legacy["b"]["command"]


def test_skip_names_only_lines_it_can_leave_out() -> None:
    proc = subprocess.run([sys.executable, "-m", "tests.bench", "--quick", "--skip", "lint"],
                          cwd=REPO, check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--skip: no line lint (choose from queues, batches)" in proc.stderr


@pytest.mark.slow  # a worker of each engine, started and stopped
def test_the_queue_lines_run_on_each_engine(tmp_path: Path) -> None:
    """tests/bench_queues.py through the benchmark, one run after the warm-up."""
    plan = bench.Plan.make(quick=True, runs=1, size=200)
    found = {m.key: m for m in bench.measure_queues(plan, tmp_path, bench.clean_env())}
    assert set(found) == {"queue_rq", "queue_celery", "queue_shards"}
    shards = found.pop("queue_shards")  # two workers and eight runs: the full mode's
    assert (shards.status, shards.note) == ("not available", "quick mode leaves it out: "
                                            "python -m tests.bench_queues --only-shards "
                                            "measures it")
    for m in found.values():
        if m.status == "not available" and not os.environ.get("CI"):
            assert m.note, m.key  # skipped, saying why, without the package or the server
            continue
        assert (m.status, len(m.a.times)) == ("ok", 1), (m.key, m.note)
        assert m.note.startswith("from asking: median "), m.note
    rq, celery, sharded = bench.queue_targets({**found, "queue_shards": shards})
    assert rq.target == "run --queue -> RQ worker starts the script (idle)"
    assert celery.target == "run --queue -> Celery worker starts the script (idle)"
    assert found["queue_rq"].status != "ok" or rq.verdict in ("yes", "NO")
    assert found["queue_celery"].status != "ok" or celery.verdict == "reported"
    assert sharded.verdict == "n/a"


@pytest.mark.slow  # the loops under opsctl run, on PostgreSQL and SQLite
def test_the_batches_lines_run_on_one_batch(tmp_path: Path) -> None:
    """tests/bench_batches.py through the benchmark: both loops over one batch of rows, one
    pair after the warm-up, and the checkpoints, on PostgreSQL and SQLite."""
    batches = bench._batches_bench()
    found = {m.key: m for m in batches.measure(bench, tmp_path, bench.clean_env(),
                                               rows=batches.SIZE, runs=1, iterations=10)}
    assert set(found) == {"batches_postgresql", "checkpoint_postgresql", "batches_sqlite",
                          "checkpoint_sqlite"}
    for key, m in found.items():
        if m.status == "not available" and "postgresql" in key and not os.environ.get("CI"):
            assert m.note.startswith("no PostgreSQL: "), m.note
            continue
        assert m.status == "ok", (key, m.note)
    loops = found["batches_sqlite"]
    assert loops.extra["rows"] == batches.SIZE and loops.ratio is not None and loops.ratio > 0
    assert "1 batches of 1,000" in loops.note
    assert len(found["checkpoint_sqlite"].a.times) == 10
    targets = batches.targets(bench, found, True)
    assert len(targets) == 4
    assert all(t.verdict in ("yes", "NO", "reported") for t in targets
               if found[f"{'batches' if 'loop' in t.target else 'checkpoint'}_"
                        f"{'postgresql' if 'PostgreSQL' in t.target else 'sqlite'}"].status
               == "ok")


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


def test_the_legacy_targets_are_judged_on_their_floors() -> None:
    warm = _measurement("legacy_warm_10000", [0.040, 0.040], [0.030, 0.030])  # 1.33x: holds
    cold = _measurement("legacy_cold_10000", [0.40, 0.40], [0.20, 0.20])  # 2x: missed
    warm.a.max_rss_kb, warm.b.max_rss_kb = 15_000, 10_000
    cold.a.max_rss_kb, cold.b.max_rss_kb = 25_000, 10_000  # 2.5x: missed
    lslint = bench.Measurement("lslint_warm_10000", "x", bench.Side("-"), None,
                               "not available", "ls-lint is not installed")
    faster = _measurement("lslint_cold_10000", [0.1], [0.4])
    listed = _measurement("legacy_list_10000", [0.05], [0.03])
    ms = {m.key: m for m in (warm, cold, lslint, faster, listed)}
    targets = bench.evaluate(ms, (10_000,), quick=False, legacy=(10_000,))[-6:]
    assert [(t.verdict, t.required) for t in targets] == [
        ("yes", True), ("NO", True), ("NO", True), ("n/a", False), ("yes", True),
        ("yes", True)]
    assert targets[2].value == 2.5 and "ls-lint is not installed" in targets[3].note


def test_ls_lint_is_found_where_the_environment_says(tmp_path: Path) -> None:
    assert bench.find_lslint({"OPSCTL_BENCH_LSLINT": str(tmp_path / "none")})[0] is None
    exe = tmp_path / "ls-lint"
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    assert bench.find_lslint({"OPSCTL_BENCH_LSLINT": str(exe)}) == (str(exe), "")


def test_the_content_floor_parses_the_shared_scripts(tmp_path: Path) -> None:
    tree = bench.make_tree(tmp_path, 300, "legacy")
    assert tree.shape == "legacy" and (tree.dir / ".ls-lint.yml").is_file()
    broken = tree.root / "recycle" / "broken_on_purpose.py"
    broken.write_text("def broken(:\n", encoding="utf-8")
    floor = bench.Command((sys.executable, "-c", bench.CONTENT_FLOOR_CODE, str(tree.root)),
                          tree.dir)
    outcome, _ = bench.run_process(floor, bench.clean_env())
    assert outcome.returncode == 0, outcome.stderr
    # ... and it does parse them: a file too deep for the parser fails it.
    (tree.root / "recycle" / "deep_on_purpose.py").write_text("a" + ".b" * 200_000 + "\n")
    outcome, _ = bench.run_process(floor, bench.clean_env())
    assert outcome.returncode != 0


def test_ledger_targets_hold_at_every_size_and_take_the_driver_off() -> None:
    """history within 100 ms of --help and list within 1.3x of --no-runs at every ledger
    size (the worst size decides); memory flat; run on a server ledger judged once the
    driver's import time (median pairwise difference) is taken off."""
    plan = bench.ScalePlan((1_000, 1_000_000), ("sqlite",), 3, quick=False)
    ms = {
        "history_sqlite_1000": _measurement("h1", [0.07] * 3, [0.05] * 3),  # +20 ms
        "history_sqlite_1000000": _measurement("h2", [0.16] * 3, [0.05] * 3),  # +110 ms
        "list_sqlite_1000": _measurement("l1", [0.12] * 3, [0.10] * 3),  # 1.2x
        "list_sqlite_1000000": _measurement("l2", [0.125] * 3, [0.10] * 3),  # 1.25x
        "history_all_sqlite_1000": bench.Measurement("a1", "a1", bench.Side("a", [0.1]), None),
        "history_all_sqlite_1000000": bench.Measurement("a2", "a2", bench.Side("a", [9.0]),
                                                        None),
    }
    ms["history_all_sqlite_1000"].a.max_rss_kb = 20 * 1024
    ms["history_all_sqlite_1000000"].a.max_rss_kb = 24 * 1024  # 1.2x: flat enough
    targets = bench.ledger_read_targets(ms, plan)
    assert [(t.verdict, round(t.value or 0, 2)) for t in targets] == [
        ("NO", 110.0), ("yes", 1.25), ("yes", 1.2)]
    # On PostgreSQL the history is held as on SQLite; list and memory are reported.
    plan = bench.ScalePlan((1_000, 1_000_000), ("postgresql",), 3, quick=False)
    ms = {f"{k.replace('sqlite', 'postgresql')}": m for k, m in ms.items()}
    ms["history_postgresql_1000000"] = _measurement("h2", [0.14] * 3, [0.05] * 3)  # +90 ms
    targets = bench.ledger_read_targets(ms, plan)
    assert [(t.verdict, round(t.value or 0, 2)) for t in targets] == [
        ("yes", 90.0), ("reported", 1.25), ("reported", 1.2)]
    assert "PostgreSQL" in targets[0].target and targets[0].required
    ms = {"driver_postgresql": _measurement("d", [0.30] * 3, [0.20] * 3),  # +100 ms
          "run_postgresql": _measurement("r", [0.50] * 3, [0.39] * 3),  # (0.5-0.1)/0.39
          "run_postgresql_app": _measurement("p", [0.42] * 3, [0.40] * 3),
          "driver_mariadb": _measurement("d", [0.25] * 3, [0.20] * 3),  # +50 ms
          "run_mariadb": _measurement("m", [0.51] * 3, [0.40] * 3)}  # (0.51-0.05)/0.4
    targets = bench.run_ledger_targets(ms, quick=False)
    assert [(t.verdict, round(t.value or 0, 2)) for t in targets] == [
        ("yes", 1.05), ("yes", 1.03), ("reported", 100.0), ("NO", 1.15), ("reported", 50.0)]
