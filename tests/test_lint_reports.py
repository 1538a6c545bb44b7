"""Findings that matter first: stale scripts summarised, GitHub annotations ordered (errors,
and the change's own files, first), paths from the project in JSON and baselines, and
``--fix`` that a baselined legacy repository can live with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_lint_cli import GITHUB_LINE, Invoke, commit_all, git, new_project, write

from opsctl.cli.group import cli

SCRIPT = '"""Export order data."""\n\n\ndef main() -> None:\n    pass\n'


@pytest.fixture
def run() -> Invoke:
    """``run(project, "lint", ...)``: opsctl on a project by absolute path."""
    runner = CliRunner()

    def _run(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, ["--project", str(project), *args], env=env,
                             catch_exceptions=False)

    return _run


@pytest.fixture
def stale_tree(tmp_path: Path) -> Path:
    project = new_project(tmp_path)
    (project / "pyproject.toml").write_text("[tool.opsctl]\nstale_days = 90\n",
                                            encoding="utf-8")
    root = project / "offline_script"
    for i in range(40):
        write(root / "yuzaoyah" / f"ts_2019_{i % 12 + 1:02d}_{i % 27 + 1:02d}_export_{i}x.py")
    write(root / "li_wei" / "ts_2018_03_04_recount.py")
    write(root / "recycle" / "Bad-Name.py", SCRIPT)
    return project


def test_stale_scripts_are_one_line(stale_tree: Path, run: Invoke) -> None:
    result = run(stale_tree, "lint", "--format", "json")
    data = json.loads(result.stdout)
    stale = [f for f in data["findings"] if f["code"] == "OPS401"]
    assert len(stale) == 1 and data["warnings"] == 1
    (summary,) = stale
    assert summary["path"] == "offline_script/li_wei/ts_2018_03_04_recount.py"  # the oldest
    assert summary["message"] == ("the oldest of 41 temporary scripts older than stale_days "
                                  "(90), from 2018-03-04; 'opsctl stale' lists them (or "
                                  "'opsctl lint --show-stale')")
    # The error is not drowned: it comes through whatever the number of stale scripts.
    assert [f["code"] for f in data["findings"]].count("OPS301") == 1
    text = run(stale_tree, "lint").stdout
    assert text.count("OPS401") == 1


def test_show_stale_lists_each(stale_tree: Path, run: Invoke) -> None:
    data = json.loads(run(stale_tree, "lint", "--format", "json", "--show-stale").stdout)
    assert sum(f["code"] == "OPS401" for f in data["findings"]) == 41


def test_github_errors_come_first(stale_tree: Path, run: Invoke) -> None:
    lines = run(stale_tree, "lint", "--format", "github").stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning"]
    assert all(GITHUB_LINE.match(line) for line in lines)


@pytest.fixture
def many_findings(tmp_path: Path) -> Path:
    """Twelve legacy errors, and a change that adds one error and one warning."""
    project = new_project(tmp_path)
    root = project / "offline_script"
    for i in range(12):
        write(root / "recycle" / f"legacy_{i:02d}_Name.py", SCRIPT)
    write(root / "recycle" / "zz_new_Name.py", SCRIPT)
    write(root / "recycle" / "zz_export_draft.py", SCRIPT)
    return project


def annotated(lines: list[str]) -> list[str]:
    return [line.split("file=", 1)[1].split(",", 1)[0].rsplit("/", 1)[1] for line in lines]


def test_github_changed_files_come_first(many_findings: Path, tmp_path: Path, run: Invoke,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "changed.txt"
    changed.write_text("offline_script/recycle/zz_new_Name.py\n"
                       "offline_script/recycle/zz_export_draft.py\nREADME.md\n",
                       encoding="utf-8")
    plain = annotated(run(many_findings, "lint", "--format", "github").stdout.splitlines())
    assert plain[:12] == [f"legacy_{i:02d}_Name.py" for i in range(12)]
    monkeypatch.chdir(many_findings)  # the list is relative to where the command runs
    result = run(many_findings, "lint", "--format", "github", "--changed-files", str(changed))
    lines = result.stdout.splitlines()
    # GitHub shows ten of each: the change's error and warning are among them.
    assert annotated(lines)[:2] == ["zz_new_Name.py", "zz_export_draft.py"]
    assert [line.split(" ", 1)[0] for line in lines[:3]] == ["::error", "::warning", "::error"]


def test_changed_files_from_standard_input(many_findings: Path, run: Invoke) -> None:
    result = CliRunner().invoke(cli, ["--project", str(many_findings), "lint", "--format",
                                      "github", "--changed-files", "-"],
                                input=f"{many_findings}/offline_script/recycle/zz_new_Name.py\n",
                                catch_exceptions=False)
    assert annotated(result.stdout.splitlines())[0] == "zz_new_Name.py"


def test_github_in_a_pull_request_asks_git(many_findings: Path, tmp_path: Path) -> None:
    """A real repository whose pull request adds two files; GITHUB_BASE_REF names the base,
    as in a pull_request workflow with fetch-depth: 0."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Yu", "GIT_AUTHOR_EMAIL": "yu@example.com",
           "GIT_COMMITTER_NAME": "Yu", "GIT_COMMITTER_EMAIL": "yu@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
    new = [many_findings / "offline_script" / "recycle" / n
           for n in ("zz_new_Name.py", "zz_export_draft.py")]
    moved = [(p, tmp_path / p.name) for p in new]
    for source, target in moved:
        source.rename(target)
    git(many_findings, "init", "-q", "-b", "main")
    commit_all(many_findings, "legacy")
    git(many_findings, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(many_findings, "checkout", "-q", "-b", "feature")
    for source, target in moved:
        target.rename(source)
    commit_all(many_findings, "the change")
    proc = subprocess.run([sys.executable, "-m", "opsctl", "lint", "--format", "github"],
                          cwd=many_findings, capture_output=True, text=True, timeout=60,
                          env={**env, "GITHUB_BASE_REF": "main", "GITHUB_WORKSPACE": ""},
                          check=False)
    assert annotated(proc.stdout.splitlines())[:2] == ["zz_new_Name.py", "zz_export_draft.py"]
    # Without the base fetched (fetch-depth: 2 of GitHub's merge commit): its first parent.
    git(many_findings, "update-ref", "-d", "refs/remotes/origin/main")
    parent = subprocess.run([sys.executable, "-m", "opsctl", "lint", "--format", "github"],
                            cwd=many_findings, capture_output=True, text=True, timeout=60,
                            env={**env, "GITHUB_BASE_REF": "main", "GITHUB_WORKSPACE": ""},
                            check=False)
    assert annotated(parent.stdout.splitlines())[:2] == ["zz_new_Name.py", "zz_export_draft.py"]
    outside = subprocess.run([sys.executable, "-m", "opsctl", "lint", "--format", "github"],
                             cwd=many_findings, capture_output=True, text=True, timeout=60,
                             env={**env, "GITHUB_WORKSPACE": ""}, check=False)
    assert annotated(outside.stdout.splitlines())[0] == "legacy_00_Name.py"


# -- paths from the project ------------------------------------------------------------------

def test_json_and_baseline_paths_are_from_the_project_root(tmp_path: Path,
                                                           run: Invoke) -> None:
    """The root outside the project folder (root = "../scripts"): JSON and the baseline
    still give paths from the project, never absolute ones."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.opsctl]\nroot = \"../scripts\"\n"
                                            "stale_days = 36500\n", encoding="utf-8")
    write(tmp_path / "scripts" / "recycle" / "Bad-Name.py", SCRIPT)
    data = json.loads(run(project, "lint", "--format", "json").stdout)
    assert data["root"] == "../scripts"
    assert [f["path"] for f in data["findings"]] == ["../scripts/recycle/Bad-Name.py"]
    baseline = project / "baseline.json"
    run(project, "lint", "--write-baseline", str(baseline))
    entries = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    assert [e["path"] for e in entries] == ["../scripts/recycle/Bad-Name.py"]
    assert run(project, "lint", "--baseline", str(baseline)).exit_code == 0


# -- --fix with a baseline ---------------------------------------------------------------------

@pytest.fixture
def baselined_repo(tmp_path: Path) -> tuple[Path, Path]:
    project = new_project(tmp_path)
    git(project, "init", "-q", "-b", "main")
    root = project / "offline_script"
    write(root / "recycle" / "Export-Order.py", '"""Export."""\nprint("on import")\n')
    write(root / "yuzaoyah" / "ts_2024_6_1_x.py", SCRIPT)
    commit_all(project)
    baseline = project / "baseline.json"
    return project, baseline


def test_fix_moves_baseline_entries_to_the_new_names(baselined_repo: tuple[Path, Path],
                                                     run: Invoke) -> None:
    project, baseline = baselined_repo
    assert run(project, "lint", "--write-baseline", str(baseline)).exit_code == 0
    result = run(project, "lint", "--fix", "--baseline", str(baseline))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "moved 1 baseline entry to the new names" in result.stderr
    entries = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    # The side effect follows the file; the old names' own findings went with the renames.
    assert [(e["path"], e["code"]) for e in entries] == [
        ("offline_script/recycle/export_order.py", "OPS601")]
    assert run(project, "lint", "--baseline", str(baseline)).exit_code == 0


def test_fix_says_how_each_file_was_renamed(baselined_repo: tuple[Path, Path],
                                            run: Invoke) -> None:
    project, _ = baselined_repo
    untracked = write(project / "offline_script" / "yuzaoyah" / "ts_2024_6_2_y.py", SCRIPT)
    result = run(project, "lint", "--fix")
    assert "fixed: offline_script/recycle/Export-Order.py -> " \
           "offline_script/recycle/export_order.py (git mv)" in result.stderr
    assert "fixed: offline_script/yuzaoyah/ts_2024_6_2_y.py -> " \
           "offline_script/yuzaoyah/ts_2024_06_02_y.py (renamed)" in result.stderr
    assert not untracked.exists()
