"""``opsctl lint`` end to end: output formats (golden), exit codes, file-list mode, baselines
and ``--fix`` in real git repositories, odd names, and the imports it must not make."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from opsctl.cli.group import cli

REPO = Path(__file__).resolve().parent.parent
GOOD = '"""Export order data."""\n\n\ndef main() -> None:\n    pass\n'

Invoke = Callable[..., Result]


@pytest.fixture
def run() -> Invoke:
    """``run(project, "lint", ...)``: opsctl on a project by absolute path, never chdir."""
    runner = CliRunner()

    def _run(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, ["--project", str(project), *args], env=env,
                             catch_exceptions=False)

    return _run


def write(path: Path, text: str = GOOD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def new_project(base: Path, lint_table: str = "") -> Path:
    project = base / "proj"
    (project / "offline_script" / "recycle").mkdir(parents=True)
    (project / "offline_script" / "unrecycle").mkdir()
    # stale_days is long so that the dates below never age into warnings.
    (project / "pyproject.toml").write_text(
        f"[tool.opsctl]\nstale_days = 36500\n{lint_table}", encoding="utf-8")
    return project


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    return golden_tree(tmp_path)


def golden_tree(base: Path) -> Path:
    """A small tree with one finding of several kinds, one of them a warning."""
    project = new_project(base, '\n[tool.opsctl.lint]\nseverity = { OPS501 = "warning" }\n')
    root = project / "offline_script"
    write(root / "recycle" / "export_order_data.py")
    write(root / "recycle" / "export_order_data_6573.py")
    write(root / "recycle" / "clear_cache.py",
          '"""Clear the cache."""\n\n\ndef main() -> None:\n    pass\n\n\nmain()\n')
    write(root / "unrecycle" / "flush_order_data.py", '"""Flush order data."""\n')
    write(root / "yuzaoyah" / "notes.txt", "x\n")
    write(root / "yuzaoyah" / "ts_2024_13_01_x.py")
    write(root / "yuzaoyah" / "ts_2024_06_10_export_custom_s.py")
    write(root / "README.md", "# Offline scripts\n")
    return project


SIDE_EFFECT = ("a call `main()` at module level runs whenever the script is imported (opsctl "
               "run, --help, python script.py)")
SIDE_EFFECT_FIX = 'move it into main(), or under if __name__ == "__main__":'
DUP = "differs only by a suffix from recycle/{}: one purpose, one script"
DUP_FIX = ("merge them into recycle/export_order_data.py (extend it with an option) and "
           "delete the rest")
# The copy is reported, never the script that has the plain name (its original).
SUFFIX = ("a copy of recycle/export_order_data.py: the name carries a numeric suffix '_6573'; "
          "recycle/ holds one script per purpose")
SUFFIX_FIX = "drop the numeric suffix: extend recycle/export_order_data.py instead"
NOT_SCRIPT = ("not a Python script; only .py scripts (and README.md, __init__.py) belong "
              "here")
NOT_SCRIPT_FIX = "move data and notes out of the offline-script tree, or rename a script to .py"
DATE = "2024_13_01 is not a calendar date (there is no month 13)"
DATE_FIX = "use the date the script was written, as YYYY_MM_DD"

GOLDEN_TEXT = f"""\
offline_script/recycle/clear_cache.py
  OPS601 error   line 8: {SIDE_EFFECT}
                 fix: {SIDE_EFFECT_FIX}

offline_script/recycle/export_order_data_6573.py
  OPS301 error   {SUFFIX}
                 fix: {SUFFIX_FIX}
  OPS302 error   {DUP.format("export_order_data.py")}
                 fix: {DUP_FIX}

offline_script/yuzaoyah/notes.txt
  OPS501 warning {NOT_SCRIPT}
                 fix: {NOT_SCRIPT_FIX}

offline_script/yuzaoyah/ts_2024_13_01_x.py
  OPS202 error   {DATE}
                 fix: {DATE_FIX}
"""

GOLDEN_FINDINGS = [
    ("offline_script/recycle/clear_cache.py", "OPS601", "import-side-effects", "error",
     SIDE_EFFECT, SIDE_EFFECT_FIX, 8),
    ("offline_script/recycle/export_order_data_6573.py", "OPS301", "script-name", "error",
     SUFFIX, SUFFIX_FIX, None),
    ("offline_script/recycle/export_order_data_6573.py", "OPS302", "duplicate", "error",
     DUP.format("export_order_data.py"), DUP_FIX, None),
    ("offline_script/yuzaoyah/notes.txt", "OPS501", "not-a-script", "warning",
     NOT_SCRIPT, NOT_SCRIPT_FIX, None),
    ("offline_script/yuzaoyah/ts_2024_13_01_x.py", "OPS202", "temporary-date", "error",
     DATE, DATE_FIX, None),
]
SUMMARY = "4 errors, 1 warning in 4 paths; 11 names checked under offline_script\n"


def test_text_format(golden: Path, run: Invoke) -> None:
    result = run(golden, "lint")
    assert result.exit_code == 1
    assert result.stdout == GOLDEN_TEXT
    assert result.stderr == SUMMARY


def test_text_is_coloured_in_a_terminal_only(golden: Path, run: Invoke) -> None:
    coloured = run(golden, "lint", env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[31m" in coloured.stdout  # errors in red
    assert click_unstyle(coloured.stdout) == GOLDEN_TEXT
    assert "\x1b[" not in run(golden, "lint", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout


def click_unstyle(text: str) -> str:
    import click

    return click.unstyle(text)


def test_json_format(golden: Path, run: Invoke) -> None:
    result = run(golden, "lint", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    keys = ("path", "code", "rule", "severity", "message", "fix", "line")
    assert data == {
        "version": 1, "root": "offline_script", "checked": 11, "errors": 4, "warnings": 1,
        "baselined": 0, "findings": [dict(zip(keys, f, strict=True)) for f in GOLDEN_FINDINGS],
    }


#: GitHub's documented workflow-command syntax for annotations:
#: ``::error file={name},line={line},endLine={endLine},title={title}::{message}``; property
#: values escape ``%``, CR, LF, ``:`` and ``,``; the message escapes ``%``, CR and LF.
GITHUB_LINE = re.compile(
    r"^::(?P<level>error|warning|notice) "
    r"file=(?P<file>[^,:\r\n]+)(?:,line=(?P<line>\d+))?(?:,title=(?P<title>[^,:\r\n]+))?"
    r"::(?P<message>[^\r\n]+)$")


def test_github_format(golden: Path, run: Invoke) -> None:
    result = run(golden, "lint", "--format", "github", env={"GITHUB_WORKSPACE": ""})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    # Errors before warnings: GitHub shows only the first ten of each.
    ordered = sorted(GOLDEN_FINDINGS, key=lambda f: f[3] != "error")
    assert lines == [
        f"::{sev} file={path}{f',line={line}' if line else ''},title={code} {rule}::{message} "
        f"(fix: {fix})"
        for path, code, rule, sev, message, fix, line in ordered]
    assert [line.split(" ", 1)[0] for line in lines] == ["::error"] * 4 + ["::warning"]
    matches = [GITHUB_LINE.match(line) for line in lines]
    assert all(matches), lines
    # A finding about a name carries file= and no line=; a content finding carries both.
    assert [(m["file"], m["line"]) for m in matches if m] == \
        [(f[0], str(f[6]) if f[6] else None) for f in ordered]


def test_github_paths_are_relative_to_the_workspace(golden: Path, run: Invoke) -> None:
    result = run(golden, "lint", "--format", "github",
                 env={"GITHUB_WORKSPACE": str(golden.parent)})
    first = GITHUB_LINE.match(result.stdout.splitlines()[0])
    assert first is not None and first["file"] == "proj/offline_script/recycle/clear_cache.py"


def test_github_escaping(tmp_path: Path, run: Invoke) -> None:
    project = new_project(tmp_path)
    write(project / "offline_script" / "recycle" / "a,b:100%.py")
    line = run(project, "lint", "--format", "github").stdout.splitlines()[0]
    assert line.startswith("::error file=offline_script/recycle/a%2Cb%3A100%25.py,title=")
    assert GITHUB_LINE.match(line)


#: The content model the Jenkins JUnit schema (junit-4.xsd, as the xUnit plugin reads it) and
#: Maven Surefire's test report schema both accept: which children each element may have, in
#: which order, and which attributes; plus what Surefire requires on top (a suite's counts
#: and time, a case's class name and time).
JUNIT_ORDER = {"testsuites": ["testsuite"],
               "testsuite": ["properties", "testcase", "system-out", "system-err"],
               "testcase": ["skipped", "error", "failure", "system-out", "system-err"]}
JUNIT_ATTRIBUTES = {
    "testsuites": ({"name", "time", "tests", "failures", "disabled", "errors", "skipped"}, set()),
    "testsuite": ({"name", "tests", "failures", "errors", "time", "disabled", "skipped",
                   "timestamp", "hostname", "id", "package"},
                  {"name", "tests", "failures", "errors", "skipped", "time"}),
    "testcase": ({"name", "assertions", "time", "classname", "status"},
                 {"name", "classname", "time"}),
    "failure": ({"type", "message"}, set()), "error": ({"type", "message"}, set()),
    "system-out": (set(), set()), "system-err": (set(), set()), "skipped": ({"message"}, set()),
}


def assert_valid_junit(xml: str) -> ET.Element:
    """Check ``xml`` against that common schema; return its root."""
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"

    def check(element: ET.Element) -> None:
        allowed, required = JUNIT_ATTRIBUTES[element.tag]
        assert set(element.attrib) <= allowed, (element.tag, element.attrib)
        assert required <= set(element.attrib), (element.tag, element.attrib)
        for key in ("tests", "failures", "errors", "skipped"):
            if key in element.attrib:
                assert element.attrib[key].isdigit(), (element.tag, key)
        if "time" in element.attrib:
            float(element.attrib["time"])
        order = JUNIT_ORDER.get(element.tag)
        children = [child.tag for child in element]
        if order is None:
            assert children == [], element.tag  # text only
            return
        positions = [order.index(tag) for tag in children]
        assert positions == sorted(positions), (element.tag, children)
        if element.tag == "testcase":
            assert children.count("skipped") <= 1
        if element.tag == "testsuite":
            assert children.count("system-out") <= 1 and children.count("properties") <= 1
            cases = [c for c in element if c.tag == "testcase"]
            assert int(element.attrib["tests"]) == len(cases)
            assert int(element.attrib["failures"]) == \
                sum(1 for c in cases if c.find("failure") is not None)
            names = [(c.get("classname"), c.get("name")) for c in cases]
            assert len(names) == len(set(names)), "a test name is repeated"
        for child in element:
            check(child)

    check(root)
    return root


def test_junit_format(golden: Path, run: Invoke) -> None:
    result = run(golden, "lint", "--format", "junit")
    assert result.exit_code == 1
    assert result.stdout.startswith('<?xml version="1.0" encoding="utf-8"?>\n<testsuites ')
    suites = assert_valid_junit(result.stdout)
    assert suites.attrib == {"name": "opsctl lint", "tests": "4", "failures": "3",
                             "errors": "0", "skipped": "0", "time": "0"}
    (suite,) = suites
    cases = list(suite)
    # One test case per file, named by the file, in its folder.
    paths = list(dict.fromkeys(f[0] for f in GOLDEN_FINDINGS))
    assert [f"{c.get('classname')}/{c.get('name')}" for c in cases] == paths
    for case, path in zip(cases, paths, strict=True):
        found = [f for f in GOLDEN_FINDINGS if f[0] == path]
        errors = [f for f in found if f[3] == "error"]
        failures = case.findall("failure")
        assert [(x.get("type"), x.get("message")) for x in failures] == \
            [(f"{code} {rule}", message) for _, code, rule, _, message, _, _ in errors]
        for failure, (_, _, _, _, message, fix, line) in zip(failures, errors, strict=True):
            assert failure.text == f"{f'line {line}: ' if line else ''}{message}\nfix: {fix}"
        warnings = [f for f in found if f[3] == "warning"]
        out = case.find("system-out")
        if warnings:
            assert out is not None and out.text == "\n".join(
                f"warning {code} {rule}: {message}\nfix: {fix}"
                for _, code, rule, _, message, fix, _ in warnings)
        else:
            assert out is None


def test_junit_one_case_for_a_file_with_three_findings_of_a_rule(tmp_path: Path,
                                                                  run: Invoke) -> None:
    project = new_project(tmp_path)
    write(project / "offline_script" / "recycle" / "flush_calendar.py",
          '"""Flush."""\nprint(1)\nprint(2)\nprint(3)\n')
    write(project / "offline_script" / "recycle" / "clear_cache.py",
          '"""Clear."""\nimport os\nos.remove("x")\n')
    result = run(project, "lint", "--format", "junit")
    suites = assert_valid_junit(result.stdout)
    cases = list(suites.iter("testcase"))
    assert [(c.get("classname"), c.get("name"), len(c.findall("failure"))) for c in cases] == \
        [("offline_script/recycle", "clear_cache.py", 1),
         ("offline_script/recycle", "flush_calendar.py", 3)]
    assert suites.attrib["tests"] == "2" and suites.attrib["failures"] == "2"


def test_clean_tree_in_every_format(tmp_path: Path, run: Invoke) -> None:
    project = new_project(tmp_path)
    write(project / "offline_script" / "recycle" / "export_order_data.py")
    for fmt in ("text", "github"):
        result = run(project, "lint", "--format", fmt)
        assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "no findings; 3 names checked under offline_script\n"
    data = json.loads(run(project, "lint", "--format", "json").stdout)
    assert (data["errors"], data["warnings"], data["findings"]) == (0, 0, [])
    suites = assert_valid_junit(run(project, "lint", "--format", "junit").stdout)
    assert suites.attrib["tests"] == "1" and suites.attrib["failures"] == "0"
    assert [c.get("name") for c in suites.iter("testcase")] == ["naming lint"]


def test_warnings_alone_exit_0(tmp_path: Path, run: Invoke) -> None:
    project = new_project(tmp_path)
    (project / "pyproject.toml").write_text("[tool.opsctl]\nstale_days = 30\n",
                                            encoding="utf-8")
    write(project / "offline_script" / "yuzaoyah" / "ts_2020_01_02_export.py")
    result = run(project, "lint")
    assert result.exit_code == 0
    assert "OPS401 warning a temporary script from 2020-01-02, older than stale_days (30)" \
        in result.stdout


def test_no_root_is_a_usage_error(tmp_path: Path, run: Invoke) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.opsctl]\nroot = 'scripts'\n",
                                             encoding="utf-8")
    result = run(tmp_path, "lint")
    assert result.exit_code == 2
    assert "there is no offline-script folder at" in result.stderr
    assert "opsctl init" in result.stderr


def test_help_teaches(run: Invoke, tmp_path: Path) -> None:
    result = run(tmp_path, "lint", "--help")
    assert result.exit_code == 0
    for text in ("ts_YYYY_MM_DD_<what>.py", "--format github", "--write-baseline",
                 "--baseline", "--fix", "Exit status: 0", "[tool.opsctl.lint]"):
        assert text in result.stdout


# -- file-list mode (pre-commit) --------------------------------------------------------------

def test_file_list_checks_only_those_files(golden: Path, run: Invoke) -> None:
    root = golden / "offline_script"
    good = root / "yuzaoyah" / "ts_2024_06_10_export_custom_s.py"
    assert run(golden, "lint", str(good)).exit_code == 0
    result = run(golden, "lint", "--format", "json", str(good),
                 str(root / "yuzaoyah" / "ts_2024_13_01_x.py"))
    assert result.exit_code == 1
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == \
        ["offline_script/yuzaoyah/ts_2024_13_01_x.py"]


def test_file_list_includes_the_cross_file_rules(golden: Path, run: Invoke) -> None:
    # The copy alone is passed: its original, not given, still proves it a copy.
    result = run(golden, "lint", "--format", "json",
                 str(golden / "offline_script" / "recycle" / "export_order_data_6573.py"))
    assert [(f["path"], f["code"], f["message"].split(":")[0])
            for f in json.loads(result.stdout)["findings"]] == \
        [("offline_script/recycle/export_order_data_6573.py", "OPS301",
          "a copy of recycle/export_order_data.py"),
         ("offline_script/recycle/export_order_data_6573.py", "OPS302",
          "differs only by a suffix from recycle/export_order_data.py")]
    # The original alone: nothing to say of it.
    original = run(golden, "lint", "--format", "json",
                   str(golden / "offline_script" / "recycle" / "export_order_data.py"))
    assert json.loads(original.stdout)["findings"] == []


def test_file_list_does_not_walk_the_tree(golden: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opsctl.lint import engine as lint_module
    from opsctl.naming import Naming

    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        listed.append(os.path.relpath(path, golden / "offline_script"))
        return real_scandir(path)

    monkeypatch.setattr(lint_module.os, "scandir", scandir)
    root = golden / "offline_script"
    lint_module.lint(root, Naming(), paths=[root / "yuzaoyah" / "ts_2024_13_01_x.py"])
    assert listed == []
    lint_module.lint(root, Naming(), paths=[root / "recycle" / "export_order_data.py",
                                            root / "yuzaoyah" / "notes.txt"])
    assert listed == ["recycle", "unrecycle"]  # the cross-file rule's two listings


def test_file_list_skips_paths_outside_the_root(golden: Path, run: Invoke) -> None:
    outside = write(golden / "app" / "views.py")
    result = run(golden, "lint", str(outside), str(golden / "pyproject.toml"))
    assert (result.exit_code, result.stdout) == (0, "")
    assert "skipped" not in result.stderr
    verbose = run(golden, "lint", "--verbose", str(outside))
    assert f"skipped {outside}: not under the offline-script root" in verbose.stderr


def test_file_list_missing_path_is_an_error(golden: Path, run: Invoke) -> None:
    missing = golden / "offline_script" / "yuzaoyah" / "ts_2024_06_10_gone.py"
    result = run(golden, "lint", str(missing))
    assert result.exit_code == 2
    assert f"{missing} does not exist" in result.stderr


def test_file_list_folders_and_the_root(golden: Path, run: Invoke) -> None:
    root = golden / "offline_script"
    one = json.loads(run(golden, "lint", "--format", "json", str(root / "yuzaoyah")).stdout)
    assert [f["code"] for f in one["findings"]] == ["OPS501", "OPS202"]
    whole = json.loads(run(golden, "lint", "--format", "json", str(golden)).stdout)
    assert len(whole["findings"]) == len(GOLDEN_FINDINGS)


def test_file_list_nested_and_root_files(golden: Path, run: Invoke) -> None:
    root = golden / "offline_script"
    nested = write(root / "recycle" / "old" / "export.py")
    stray = write(root / "stray.py")
    result = run(golden, "lint", "--format", "json", str(nested), str(stray))
    assert [(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]] == \
        [("offline_script/recycle/old", "OPS101"), ("offline_script/stray.py", "OPS101")]


def test_relative_paths_from_the_working_folder(golden: Path) -> None:
    """What pre-commit does: run from the repository root with relative file names."""
    proc = subprocess.run(
        [sys.executable, "-m", "opsctl", "lint", "offline_script/yuzaoyah/ts_2024_13_01_x.py",
         "offline_script/recycle/export_order_data.py", "README.txt"],
        cwd=golden, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2, proc.stderr  # README.txt does not exist
    write(golden / "README.txt", "x")
    proc = subprocess.run(
        [sys.executable, "-m", "opsctl", "lint", "offline_script/yuzaoyah/ts_2024_13_01_x.py",
         "README.txt"], cwd=golden, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("offline_script/yuzaoyah/ts_2024_13_01_x.py\n  OPS202 error")


# -- git helpers ------------------------------------------------------------------------------

# The developer whose folder the trees below use: the repository's author knows it.
GIT_ENV = {"GIT_AUTHOR_NAME": "Yu Zaoyah", "GIT_AUTHOR_EMAIL": "yuzaoyah@example.com",
           "GIT_COMMITTER_NAME": "Yu Zaoyah", "GIT_COMMITTER_EMAIL": "yuzaoyah@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env,
                          check=True, timeout=60)
    return proc.stdout


def commit_all(repo: Path, message: str = "scripts") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    project = new_project(tmp_path)
    git(project, "init", "-q", "-b", "main")
    return project


# -- baselines --------------------------------------------------------------------------------

def test_baseline_adoption_on_a_legacy_repository(repo: Path, run: Invoke) -> None:
    root = repo / "offline_script"
    write(root / "recycle" / "export_order_data.py")
    write(root / "recycle" / "export_order_data_6573.py")
    write(root / "yuzaoyah" / "ts_2024_13_45_x.py")
    write(root / "yuzaoyah" / "export_orders.py")
    commit_all(repo)
    baseline = repo / "lint-baseline.json"

    wrote = run(repo, "lint", "--write-baseline", str(baseline))
    assert (wrote.exit_code, wrote.stdout) == (0, "")
    assert f"wrote 4 accepted findings to {baseline}\n" in wrote.stderr
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["version"] == 2
    # Paths as --format json shows them: from the project.
    assert [(e["path"], e["code"]) for e in data["findings"]] == [
        ("offline_script/recycle/export_order_data_6573.py", "OPS301"),
        ("offline_script/recycle/export_order_data_6573.py", "OPS302"),
        ("offline_script/yuzaoyah/export_orders.py", "OPS201"),
        ("offline_script/yuzaoyah/ts_2024_13_45_x.py", "OPS202"),
    ]

    # Turned on today: the legacy tree passes...
    adopted = run(repo, "lint", "--baseline", str(baseline))
    assert (adopted.exit_code, adopted.stdout) == (0, "")
    assert "4 more findings accepted by the baseline" in adopted.stderr

    # ...and a new bad name fails, alone.
    write(root / "yuzaoyah" / "ts_2024_06_10_export_2.py")
    new = run(repo, "lint", "--baseline", str(baseline), "--format", "json")
    assert new.exit_code == 1
    assert [f["path"] for f in json.loads(new.stdout)["findings"]] == \
        ["offline_script/yuzaoyah/ts_2024_06_10_export_2.py"]

    # Fixing and deleting baselined files: they are noticed, and drop out on the next write.
    git(repo, "rm", "-q", "offline_script/recycle/export_order_data_6573.py")
    git(repo, "mv", "offline_script/yuzaoyah/export_orders.py",
        "offline_script/yuzaoyah/ts_2024_06_09_export_orders.py")
    (root / "yuzaoyah" / "ts_2024_06_10_export_2.py").unlink()
    shrunk = run(repo, "lint", "--baseline", str(baseline))
    assert shrunk.exit_code == 0
    assert "3 baseline entries are fixed or gone" in shrunk.stderr
    run(repo, "lint", "--write-baseline", str(baseline))
    entries = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    assert [(e["path"], e["code"]) for e in entries] == [
        ("offline_script/yuzaoyah/ts_2024_13_45_x.py", "OPS202")]


def test_a_new_finding_of_a_baselined_rule_in_a_baselined_file_fails(golden: Path,
                                                                     run: Invoke) -> None:
    """The baseline knows each finding by its fingerprint (rule, path, what was found), not
    one entry per file and rule: a second side effect in a baselined file is new."""
    baseline = golden / "baseline.json"
    script = golden / "offline_script" / "recycle" / "clear_cache.py"
    run(golden, "lint", "--write-baseline", str(baseline))
    entry = next(e for e in json.loads(baseline.read_text(encoding="utf-8"))["findings"]
                 if e["code"] == "OPS601")
    assert entry["found"] == "main()"
    # Moved to another line: still the same finding.
    script.write_text("# moved down\n" + script.read_text(encoding="utf-8"), encoding="utf-8")
    assert run(golden, "lint", "--baseline", str(baseline)).exit_code == 0
    script.write_text(script.read_text(encoding="utf-8") + "import os\nos.remove('x')\n",
                      encoding="utf-8")
    result = run(golden, "lint", "--baseline", str(baseline), "--format", "json")
    assert result.exit_code == 1
    assert [(f["code"], f["line"]) for f in json.loads(result.stdout)["findings"]] == \
        [("OPS601", 11)]
    # The baselined statement written a second time is a second finding, and new.
    script.write_text(script.read_text(encoding="utf-8").replace("import os\nos.remove('x')\n",
                                                                 "main()\n"), encoding="utf-8")
    again = run(golden, "lint", "--baseline", str(baseline), "--format", "json")
    assert [(f["code"], f["line"]) for f in json.loads(again.stdout)["findings"]] == \
        [("OPS601", 10)]


def test_a_version_1_baseline_is_still_read(golden: Path, run: Invoke) -> None:
    """Written before fingerprints: root-relative paths, one entry per path and rule."""
    baseline = golden / "old-baseline.json"
    baseline.write_text(json.dumps({"version": 1, "findings": [
        {"path": "recycle/clear_cache.py", "code": "OPS601"},
        {"path": "recycle/export_order_data_6573.py", "code": "OPS301"},
        {"path": "recycle/export_order_data_6573.py", "code": "OPS302"},
        {"path": "yuzaoyah/ts_2024_13_01_x.py", "code": "OPS202"}]}), encoding="utf-8")
    result = run(golden, "lint", "--baseline", str(baseline))
    assert (result.exit_code, result.stdout.splitlines()[0]) == \
        (0, "offline_script/yuzaoyah/notes.txt")


def test_baseline_counts_findings_when_a_rule_fires_twice_in_a_file(golden: Path,
                                                                    run: Invoke) -> None:
    write(golden / "offline_script" / "recycle" / "flush_calendar.py",
          '"""Flush the calendar."""\nprint(1)\nprint(2)\n')  # two OPS601: two entries
    baseline = golden / "baseline.json"
    wrote = run(golden, "lint", "--write-baseline", str(baseline))
    assert f"wrote 7 accepted findings to {baseline}\n" in wrote.stderr
    assert "; 7 more findings accepted by the baseline" in wrote.stderr
    entries = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    assert [e.get("found") for e in entries if e["path"].endswith("flush_calendar.py")] == \
        ["print(1)", "print(2)"]
    again = run(golden, "lint", "--baseline", str(baseline))
    assert (again.exit_code, again.stdout) == (0, "")
    assert "; 7 more findings accepted by the baseline" in again.stderr


def test_baseline_from_the_configuration(repo: Path, run: Invoke) -> None:
    (repo / "pyproject.toml").write_text(
        "[tool.opsctl]\nstale_days = 36500\n\n[tool.opsctl.lint]\n"
        'baseline = "ci/lint-baseline.json"\n', encoding="utf-8")
    write(repo / "offline_script" / "yuzaoyah" / "ts_2024_13_45_x.py")
    missing = run(repo, "lint")
    assert missing.exit_code == 2
    assert "lint-baseline.json does not exist; write it with 'opsctl lint --write-baseline" \
        in missing.stderr
    assert run(repo, "lint", "--write-baseline", str(repo / "ci" / "lint-baseline.json"))\
        .exit_code == 0
    assert run(repo, "lint").exit_code == 0


def test_baseline_in_file_list_mode(golden: Path, run: Invoke) -> None:
    baseline = golden / "baseline.json"
    run(golden, "lint", "--write-baseline", str(baseline))
    bad = golden / "offline_script" / "yuzaoyah" / "ts_2024_13_01_x.py"
    result = run(golden, "lint", "--baseline", str(baseline), str(bad))
    assert (result.exit_code, result.stdout) == (0, "")
    assert "fixed or gone" not in result.stderr  # most of the tree was not looked at


@pytest.mark.parametrize("content", ["not json", '{"findings": [{"path": 1}]}', "[]"])
def test_a_broken_baseline_is_a_usage_error(golden: Path, run: Invoke, content: str) -> None:
    baseline = write(golden / "baseline.json", content)
    result = run(golden, "lint", "--baseline", str(baseline))
    assert result.exit_code == 2
    assert "is not" in result.stderr and "--write-baseline" in result.stderr
    assert "Traceback" not in result.stderr


def test_write_baseline_to_a_name_with_a_trailing_slash(golden: Path, run: Invoke) -> None:
    """``--write-baseline out/`` writes the file ``out``, as a path spelled that way names."""
    target = golden / "out"
    result = run(golden, "lint", "--write-baseline", f"{target}/")
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8"))["findings"]
    # No hidden file beside it (the content cache's folder is the lint's own).
    assert sorted(p.name for p in golden.iterdir() if p.name.startswith(".")) == \
        [".opsctl_cache"]


def test_empty_baseline_options(golden: Path, run: Invoke) -> None:
    """``--baseline ""`` is no baseline, as an empty option is elsewhere; ``--write-baseline
    ""`` names no file and is refused."""
    assert run(golden, "lint", "--baseline", "").exit_code == 1  # the findings, unfiltered
    refused = run(golden, "lint", "--write-baseline", "")
    assert refused.exit_code == 2 and "--write-baseline needs a file name" in refused.stderr


def test_write_baseline_refuses_paths(golden: Path, run: Invoke) -> None:
    result = run(golden, "lint", "--write-baseline", str(golden / "b.json"),
                 str(golden / "offline_script" / "yuzaoyah" / "notes.txt"))
    assert result.exit_code == 2
    assert "--write-baseline records the whole tree" in result.stderr
    assert not (golden / "b.json").exists()


# -- --fix ------------------------------------------------------------------------------------

def test_fix_renames_safely_with_git_mv(repo: Path, run: Invoke) -> None:
    root = repo / "offline_script"
    export = write(root / "recycle" / "Export-Order.py", '"""Export orders."""\n# keep me\n')
    write(root / "yuzaoyah" / "ts_2024_6_1_x.py")
    write(root / "recycle" / "clear_cache.py")
    write(root / "recycle" / "Clear-Cache.py")                 # the target exists
    write(root / "unrecycle" / "Flush-Order.py")               # two names, one target:
    write(root / "unrecycle" / "flush order.py")               # ambiguous
    write(root / "recycle" / "export_order_data_6573.py")      # needs a person (a merge)
    commit_all(repo)
    untracked = write(root / "yuzaoyah" / "TS_2024_06_02_Report.py")
    before = export.read_bytes()

    result = run(repo, "lint", "--fix", "--format", "json")

    assert (root / "recycle" / "export_order.py").read_bytes() == before
    assert not export.exists()
    assert (root / "yuzaoyah" / "ts_2024_06_01_x.py").exists()
    assert (root / "yuzaoyah" / "ts_2024_06_02_report.py").exists() and not untracked.exists()
    status = git(repo, "status", "--porcelain=v1")
    assert "R  offline_script/recycle/Export-Order.py -> offline_script/recycle/export_order.py" \
        in status
    assert "R  offline_script/yuzaoyah/ts_2024_6_1_x.py -> " \
           "offline_script/yuzaoyah/ts_2024_06_01_x.py" in status
    assert "?? offline_script/yuzaoyah/ts_2024_06_02_report.py" in status  # plain rename
    for kept in ("Clear-Cache.py", "clear_cache.py"):
        assert (root / "recycle" / kept).exists()
    assert (root / "unrecycle" / "Flush-Order.py").exists()
    assert (root / "unrecycle" / "flush order.py").exists()

    assert "fixed: offline_script/recycle/Export-Order.py -> " \
           "offline_script/recycle/export_order.py (git mv)" in result.stderr
    assert "not renamed: offline_script/recycle/Clear-Cache.py -> " \
           "offline_script/recycle/clear_cache.py: recycle/clear_cache.py already exists" \
        in result.stderr
    # Two names that would both become one are left, and each says why.
    assert "not renamed: offline_script/unrecycle/Flush-Order.py -> " \
           "offline_script/unrecycle/flush_order.py: would collide with unrecycle/flush " \
           "order.py, which --fix would also rename to unrecycle/flush_order.py; rename one " \
           "of them by hand" in result.stderr
    assert "not renamed: offline_script/unrecycle/flush order.py -> " \
           "offline_script/unrecycle/flush_order.py: would collide with " \
           "unrecycle/Flush-Order.py" in result.stderr
    assert "--fix renamed 3;" in result.stderr
    # What is left for a person is the report, and decides the exit code.
    left = {(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]}
    assert ("offline_script/recycle/Clear-Cache.py", "OPS301") in left
    assert ("offline_script/unrecycle/Flush-Order.py", "OPS301") in left
    assert ("offline_script/recycle/export_order_data_6573.py", "OPS301") in left
    assert not any("export_order.py" in p or "ts_2024_06_0" in p for p, _ in left)
    assert result.exit_code == 1

    again = run(repo, "lint", "--fix")
    assert "--fix renamed 0;" in again.stderr


def test_fix_outside_git_and_in_file_list_mode(tmp_path: Path, run: Invoke) -> None:
    project = new_project(tmp_path)
    root = project / "offline_script"
    one = write(root / "yuzaoyah" / "ts-2024-06-10-Export.py")
    other = write(root / "yuzaoyah" / "ts-2024-06-11-Export.py")
    result = run(project, "lint", "--fix", str(one))
    assert result.exit_code == 0, result.stdout
    assert "(renamed)" in result.stderr
    assert (root / "yuzaoyah" / "ts_2024_06_10_export.py").exists()
    assert other.exists()  # not given, not touched


def ledger_of(project: Path) -> Any:
    """The project's default SQLite ledger, created as 'opsctl run' would (imported here only:
    the lint itself must not load SQLAlchemy)."""
    from opsctl.config import load_config
    from opsctl.ledger.store import open_ledger

    return open_ledger(load_config(project))


def test_fix_records_renames_in_the_ledger(tmp_path: Path, run: Invoke) -> None:
    project = new_project(tmp_path)
    root = project / "offline_script"
    write(root / "yuzaoyah" / "ts_2024_6_1_export.py")
    write(root / "recycle" / "Clear-Cache.py", '"""Clear the cache."""\n')
    ledger_of(project).close()  # a ledger exists: runs have been recorded here

    result = run(project, "lint", "--fix", env={"OPSCTL_DEVELOPER": "lihua"})

    assert result.exit_code == 0, result.stdout
    assert "--fix renamed 2 (recorded in the run ledger, so history follows);" in result.stderr
    book = ledger_of(project)
    try:
        assert book.aliases("yuzaoyah/ts_2024_06_01_export") == \
            ["yuzaoyah/ts_2024_06_01_export", "yuzaoyah/ts_2024_6_1_export"]
        assert book.aliases("recycle/clear_cache") == ["recycle/clear_cache",
                                                       "recycle/Clear-Cache"]
    finally:
        book.close()


def test_fix_never_renames_a_running_script(tmp_path: Path, run: Invoke) -> None:
    from opsctl.ledger.processes import node_id, process_start
    from opsctl.ledger.values import Process

    project = new_project(tmp_path)
    root = project / "offline_script"
    busy = write(root / "yuzaoyah" / "ts_2024_6_1_export.py")
    write(root / "yuzaoyah" / "ts_2024_6_2_report.py")
    book = ledger_of(project)
    try:  # a run in progress, its lock held by this live process
        book.start(script="yuzaoyah/ts_2024_6_1_export",
                   process=Process("lihua", "host-1", os.getpid(), node_id(),
                                   process_start(os.getpid())), args=[])
    finally:
        book.close()

    result = run(project, "lint", "--fix")

    assert busy.exists() and not (root / "yuzaoyah" / "ts_2024_06_01_export.py").exists()
    assert (root / "yuzaoyah" / "ts_2024_06_02_report.py").exists()
    assert "not renamed: offline_script/yuzaoyah/ts_2024_6_1_export.py -> " \
           "offline_script/yuzaoyah/ts_2024_06_01_export.py: yuzaoyah/ts_2024_6_1_export is " \
           "running now (run 1 by lihua on host-1" in result.stderr
    assert "rename it once the run has ended" in result.stderr
    assert "--fix renamed 1 (recorded in the run ledger" in result.stderr


def test_fix_without_a_ledger_creates_none(tmp_path: Path, run: Invoke) -> None:
    project = new_project(tmp_path)
    write(project / "offline_script" / "yuzaoyah" / "ts_2024_6_1_export.py")
    result = run(project, "lint", "--fix")
    assert result.exit_code == 0, result.stdout
    assert "--fix renamed 1; 0 findings left" in result.stderr
    assert not (project / "instance").exists()


# -- robustness -------------------------------------------------------------------------------

def test_odd_names_never_crash(tmp_path: Path, run: Invoke) -> None:
    project = new_project(tmp_path)
    root = project / "offline_script"
    names = ["ts_2024_06_10_export order.py", "ts_2024_06_10_导出订单.py", "  .py",
             ".hidden.py", "-rf.py", "ts_2024_06_10_new\nline.py", "ts_2024_06_10_bell\a.py",
             "ts_2024_06_10_" + "x" * 200 + ".py", "ts_2024_06_10_café.py", "$(rm -rf).py"]
    for name in names:
        write(root / "dév" / name)
        write(root / "recycle" / name)
    for folder in (b"bad\xff", b"ok"):
        os.makedirs(os.path.join(os.fsencode(root), folder), exist_ok=True)
        with open(os.path.join(os.fsencode(root), folder, b"ts_2024_06_10_\xfe\xff.py"),
                  "wb") as fh:
            fh.write(b"\xff\xfe binary \x00")
    with open(os.path.join(os.fsencode(root), b"recycle", b"caf\xe9.py"), "wb") as fh:
        fh.write(b"\x00")

    outputs = {fmt: run(project, "lint", "--format", fmt)
               for fmt in ("text", "json", "github", "junit")}
    for fmt, result in outputs.items():
        assert result.exit_code == 1, (fmt, result.stderr)
        assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
        result.stdout.encode("utf-8")  # printable: no lone surrogates
    text = outputs["text"].stdout
    assert "offline_script/bad\ufffd\n  OPS102 error" in text
    assert "offline_script/recycle/caf\ufffd.py" in text
    assert all(ch == "\n" or ch.isprintable() for ch in text)
    paths = [f["path"] for f in json.loads(outputs["json"].stdout)["findings"]]
    assert "offline_script/dév/ts_2024_06_10_new\ufffdline.py" in paths
    for line in outputs["github"].stdout.splitlines():
        assert GITHUB_LINE.match(line), line
    junit = assert_valid_junit(outputs["junit"].stdout)
    assert len(list(junit.iter("testcase"))) == len(set(paths))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("args", [(), ("offline_script/recycle/clear_cache.py",)],
                         ids=["tree", "file list"])
def test_a_fifo_named_like_a_script_is_reported_not_read(tmp_path: Path,
                                                        args: tuple[str, ...]) -> None:
    project = new_project(tmp_path)
    os.mkfifo(project / "offline_script" / "recycle" / "clear_cache.py")
    # A subprocess, so a lint that waits on the pipe fails this test instead of hanging it.
    proc = subprocess.run([sys.executable, "-m", "opsctl", "lint", *args], cwd=project,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "OPS603 error   a named pipe (FIFO), not a script file, so its content cannot be " \
           "read" in proc.stdout
    assert "fix: replace it with the script's source file, or remove it" in proc.stdout


def test_the_repository_offline_scripts_pass(run: Invoke) -> None:
    result = run(REPO, "lint", "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["errors"] == 0


HEAVY = ("flask", "werkzeug", "jinja2", "sqlalchemy", "flask_sqlalchemy")

PROBE = """
import atexit, json, sys
out, sys.argv = sys.argv[1], ["opsctl", *sys.argv[2:]]
atexit.register(lambda: json.dump(sorted(sys.modules), open(out, "w")))
from opsctl.cli.main import main
main()
"""


@pytest.mark.parametrize("args", [(), ("--format", "junit"), ("--format", "github"),
                                  ("offline_script/yuzaoyah/ts_2024_13_01_x.py",)],
                         ids=lambda a: " ".join(a) or "tree")
def test_lint_imports_no_web_stack_and_no_rich_in_a_pipe(golden: Path, tmp_path: Path,
                                                         args: tuple[str, ...]) -> None:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), "lint", *args], cwd=golden,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={k: v for k, v in os.environ.items() if k != "FORCE_COLOR"})
    assert proc.returncode == 1, proc.stderr
    assert "OPS" in proc.stdout
    modules = set(json.loads(out.read_text(encoding="utf-8")))
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY) == []
    assert "rich" not in modules  # rich is for terminals; this is a pipe


# -- the pre-commit hook ----------------------------------------------------------------------

def read_hooks() -> list[dict[str, str]]:
    """The hooks of ``.pre-commit-hooks.yaml``: a list of flat mappings, read without a YAML
    library (the file keeps to ``- key: value`` / ``  key: value`` lines)."""
    hooks: list[dict[str, str]] = []
    for line in (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("- "):
            hooks.append({})
            line = line[2:]
        key, sep, value = line.strip().partition(":")
        assert sep and hooks, f"unexpected line in .pre-commit-hooks.yaml: {line!r}"
        hooks[-1][key] = value.strip().strip('"')
    return hooks


def test_pre_commit_hook_runs_file_list_mode(golden: Path) -> None:
    (hook,) = read_hooks()
    assert hook["id"] == "opsctl-lint"
    assert hook["language"] == "python" and hook["pass_filenames"] == "true"
    assert re.match(hook["files"], "offline_script/yuzaoyah/ts_2024_06_10_x.py")
    program, *args = hook["entry"].split()
    executable = str(Path(sys.executable).parent / program)
    staged = ["offline_script/yuzaoyah/ts_2024_06_10_export_custom_s.py"]
    ok = subprocess.run([executable, *args, *staged], cwd=golden, capture_output=True,
                        text=True, timeout=60, check=False)
    assert (ok.returncode, ok.stdout) == (0, ""), ok.stderr
    bad = subprocess.run([executable, *args, *staged, "offline_script/yuzaoyah/notes.txt",
                          "offline_script/yuzaoyah/ts_2024_13_01_x.py"], cwd=golden,
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert "ts_2024_13_01_x.py" in bad.stdout and "export_custom_s" not in bad.stdout
