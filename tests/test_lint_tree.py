"""A generated tree with planted mistakes of every kind: the lint reports each planted path and
nothing else, and its fast path agrees with the full rules name by name.

The benchmark uses the same generator (``tests/treegen.py``) on 100,000 scripts; 2,000 are
enough here to plant every kind of mistake many times.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from treegen import (
    LEGACY,
    SHARED_MISTAKES,
    TEMPORARY_MISTAKES,
    Planted,
    generate_tree,
    reported,
)

from opsctl.cli.group import cli
from opsctl.lint.engine import lint
from opsctl.lint.settings import LintConfig
from opsctl.naming import Naming

TODAY = _dt.date(2026, 3, 15)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Planted]:
    root = tmp_path_factory.mktemp("tree") / "offline_script"
    planted = generate_tree(root, 2_000, today=TODAY)
    return root, planted


def all_files(root: Path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(folder, f), root)
                  for folder, _, files in os.walk(root) for f in files)


def test_every_planted_mistake_and_nothing_else(tree: tuple[Path, Planted]) -> None:
    root, planted = tree
    assert 90 <= len(planted) <= 140  # about 5% of 2,000
    report = lint(root, Naming(today=TODAY))
    assert {f.path for f in report.findings} == reported(planted)
    codes = {f.code for f in report.findings}
    assert codes == {"OPS101", "OPS102", "OPS201", "OPS202", "OPS301", "OPS302", "OPS401",
                     "OPS501", "OPS601", "OPS602", "OPS603"}
    # The stale scripts are one warning, which counts them all.
    (stale,) = [f for f in report.findings if f.code == "OPS401"]
    assert report.warnings == 1 and report.stale == len(planted.stale) > 1
    assert f"the oldest of {len(planted.stale)} temporary scripts" in stale.message


def test_show_stale_reports_each(tree: tuple[Path, Planted]) -> None:
    root, planted = tree
    report = lint(root, Naming(today=TODAY), LintConfig(show_stale=True))
    assert {f.path for f in report.findings} == set(planted)


def test_fast_path_agrees_with_the_full_rules(tree: tuple[Path, Planted]) -> None:
    """File-list mode applies the full rules to each name; the whole-tree walk proves most
    names good in bulk. Given every file, both must find the same."""
    root, _ = tree
    naming = Naming(today=TODAY)
    whole = lint(root, naming).findings
    listed = lint(root, naming, paths=[root / p for p in all_files(root)]).findings
    assert listed == whole


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = generate_tree(tmp_path / "a", 400, today=TODAY)
    assert generate_tree(tmp_path / "b", 400, today=TODAY) == first
    assert all_files(tmp_path / "a") == all_files(tmp_path / "b")
    assert generate_tree(tmp_path / "c", 400, seed=1, today=TODAY) != first


def test_a_small_tree_still_plants_every_kind(tmp_path: Path) -> None:
    kinds = len(SHARED_MISTAKES) + len(TEMPORARY_MISTAKES)
    planted = generate_tree(tmp_path / "offline_script", 600, today=TODAY)
    report = lint(tmp_path / "offline_script", Naming(today=TODAY))
    assert {f.path for f in report.findings} == reported(planted)
    assert len(planted) >= kinds


def test_the_cli_on_the_tree(tmp_path: Path) -> None:
    """Through the command, with the real today: what the benchmark runs."""
    project = tmp_path / "proj"
    planted = generate_tree(project / "offline_script", 600)
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(project), "lint", "--format", "json"])
    assert result.exit_code == 1
    from opsctl.lint.formats import shown

    found = {f["path"].removeprefix("offline_script/")
             for f in json.loads(result.stdout)["findings"]}
    assert found == {shown(p) for p in reported(planted)}


def test_the_legacy_shape_through_the_cache(tmp_path: Path) -> None:
    """The benchmark's legacy shape: a fifth of the scripts in recycle/ and unrecycle/, most
    temporary scripts stale. The lint reports what was planted, cold, warm and without a
    cache alike."""
    root = tmp_path / "offline_script"
    planted = generate_tree(root, 2_000, today=TODAY, **LEGACY)  # type: ignore[arg-type]
    shared = sum(len(os.listdir(root / f)) for f in ("recycle", "unrecycle"))
    assert 360 <= shared <= 440
    temporary = sum(1 for _, _, files in os.walk(root) for f in files if f.startswith("ts_"))
    assert len(planted.stale) >= 0.7 * temporary
    naming = Naming(today=TODAY)
    cached = LintConfig(cache_dir=str(tmp_path / "cache"))
    cold = lint(root, naming, cached)
    assert {f.path for f in cold.findings} == reported(planted)
    assert lint(root, naming, cached).findings == cold.findings == lint(root, naming).findings
