"""The lint's fast path: ``opsctl lint`` in its everyday shapes runs without Click.

:mod:`opsctl.cli.main` hands those shapes to :func:`opsctl.lint.fast.run_fast`; every other shape
goes to the Click group. Both end in the same ``execute``, and these tests hold them equal: each
case runs in two real processes, once through the program as installed and once straight
through the Click group, and compares stdout, stderr and the exit status byte for byte. A probe
also checks that the fast process really skipped Click, so a parity pass cannot come from both
processes taking the same (slow) road.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_lint_cli import GOLDEN_TEXT, SUMMARY, golden_tree, new_project, write

from opsctl.lint.fast import FastLint, LintOptions, parse_fast

#: The console script's road: opsctl.cli.main, writing the imported module names to argv[1].
FAST = """
import atexit, json, sys
probe, sys.argv = sys.argv[1], ["opsctl", *sys.argv[2:]]
atexit.register(lambda: open(probe, "w").write(json.dumps(sorted(sys.modules))))
from opsctl.cli.main import main
main()
"""
#: Click's road for the same arguments.
CLICK = """
import sys
from opsctl.cli.group import cli
cli.main(sys.argv[1:], prog_name="opsctl")
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPSCTL_", "_OPSCTL")) and k not in
           ("FORCE_COLOR", "NO_COLOR", "GITHUB_WORKSPACE")}
    return env | extra


def fast(cwd: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None,
         ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    probe = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", FAST, str(probe), *args], cwd=cwd,
                          env=env or clean_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    return proc, set(json.loads(probe.read_text(encoding="utf-8")))


def slow(cwd: Path, *args: str, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLICK, *args], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    project = golden_tree(tmp_path)
    write(tmp_path / "elsewhere.py")
    return project


def baseline_of(project: Path, *entries: tuple[str, str]) -> Path:
    path = project / "lint-baseline.json"
    path.write_text(json.dumps({"version": 1, "findings": [
        {"path": p, "code": c} for p, c in entries]}), encoding="utf-8")
    return path


# Each case: (arguments, extra environment, expected exit status).
CASES: list[tuple[tuple[str, ...], dict[str, str], int]] = [
    (("lint",), {}, 1),
    (("lint", "--format", "json"), {}, 1),
    (("lint", "--format=github"), {}, 1),
    (("lint", "--format", "junit"), {}, 1),
    (("lint", "--format", "text"), {"FORCE_COLOR": "1"}, 1),
    (("lint",), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, 1),
    (("lint", "--format", "github"), {"GITHUB_WORKSPACE": ".."}, 1),
    (("lint", "offline_script/yuzaoyah/ts_2024_13_01_x.py",
      "offline_script/recycle/export_order_data.py"), {}, 1),
    (("lint", "-v", "offline_script/unrecycle", "../elsewhere.py"), {}, 0),
    (("lint", "../elsewhere.py", "--verbose"), {}, 0),
    (("lint", "offline_script/yuzaoyah/no_such_file.py"), {}, 2),
    (("lint", "."), {}, 1),
    (("lint", "--baseline", "lint-baseline.json"), {}, 1),
    (("lint", "--baseline=missing.json"), {}, 2),
    (("--project", ".", "lint"), {}, 1),
    (("--debug", "--project=.", "lint", "--format", "json"), {}, 1),
    (("lint",), {"OPSCTL_PROJECT": "."}, 1),
    (("lint",), {"OPSCTL_PROJECT": ""}, 1),
]


@pytest.mark.parametrize(("args", "extra", "status"), CASES,
                         ids=[" ".join(c[0]) + "".join(f" {k}" for k in c[1]) for c in CASES])
def test_fast_path_and_click_agree(golden: Path, tmp_path: Path, args: tuple[str, ...],
                                   extra: dict[str, str], status: int) -> None:
    baseline_of(golden, ("offline_script/recycle/clear_cache.py", "OPS601"),
                ("offline_script/gone.py", "OPS201"))
    env = clean_env(**extra)
    quick, modules = fast(golden, tmp_path, *args, env=env)
    assert "click" not in modules, "this shape should have taken the fast path"
    reference = slow(golden, *args, env=env)
    assert (quick.returncode, quick.stdout, quick.stderr) == \
        (reference.returncode, reference.stdout, reference.stderr)
    assert quick.returncode == status, quick.stderr


def test_fast_path_output_is_the_golden_output(golden: Path, tmp_path: Path) -> None:
    proc, _ = fast(golden, tmp_path, "lint")
    assert proc.stdout == GOLDEN_TEXT
    assert proc.stderr == SUMMARY


@pytest.mark.parametrize(("pyproject", "status", "message"), [
    ("[tool.opsctl]\nroot = 'scripts'\n", 2, "there is no offline-script folder at"),
    ("[tool.opsctl]\nstale_dayz = 3\n", 2, "unknown key [tool.opsctl] 'stale_dayz'"),
    ("[tool.opsctl.lint]\nselect = ['OPS999']\n", 2, "unknown rule 'OPS999'"),
    ("[tool.opsctl\n", 2, "not valid TOML"),
])
@pytest.mark.parametrize("where", ["here", "--project"])
def test_refusals_agree(tmp_path: Path, pyproject: str, status: int, message: str,
                        where: str) -> None:
    project = tmp_path / "proj"
    (project / "offline_script").mkdir(parents=True)
    (project / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    cwd, args = (project, ("lint",)) if where == "here" else \
        (tmp_path, ("--project", "proj", "lint"))
    quick, modules = fast(cwd, tmp_path, *args)
    assert "click" not in modules
    reference = slow(cwd, *args)
    assert (quick.returncode, quick.stdout, quick.stderr) == \
        (reference.returncode, reference.stdout, reference.stderr)
    assert quick.returncode == status
    assert quick.stderr.startswith("Error: ") and message in quick.stderr


def test_no_project_agrees(tmp_path: Path) -> None:
    lonely = tmp_path / "not_a_project"
    lonely.mkdir()
    quick, _ = fast(lonely, tmp_path, "lint")
    reference = slow(lonely, "lint")
    assert (quick.returncode, quick.stderr) == (reference.returncode, reference.stderr)
    assert quick.returncode == 1 and "no opsctl project here" in quick.stderr


@pytest.mark.parametrize("args", [
    ("lint", "--help"), ("lint", "-h"), ("lint", "--fix"), ("lint", "--list-rules"),
    ("lint", "--write-baseline", "b.json"), ("lint", "--format", "xml"), ("lint", "--format"),
    ("lint", "--format", "json", "--format", "text"), ("lint", "-v", "-v"),
    ("lint", "--", "x.py"), ("lint", "-vh"), ("lint", "--verbose=yes"),
    ("lint", "--formats", "json"), ("lint", "--baseline", "offline_script"),
    ("lint", "--baseline="), ("lint", "-"), ("--help", "lint"), ("--version", "lint"),
    ("--developer", "me", "lint"), ("--project", "offline_script", "lint"),
    ("--project", "nowhere", "lint"), ("--project",), ("--project", "lint"),
    ("--debug", "--debug", "lint"), ("lint", "--project", "."), ("list", "lint"),
    ("run", "recycle/lint"), (),
], ids=" ".join)
def test_other_shapes_are_left_to_click(golden: Path, args: tuple[str, ...],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(golden)  # offline_script: a folder, and not a project, from here
    assert parse_fast(args, {}) is None


@pytest.mark.parametrize(("args", "expected"), [
    (("lint",), FastLint(LintOptions())),
    (("lint", "a.py", "b/c.py"), FastLint(LintOptions(paths=("a.py", "b/c.py")))),
    (("lint", "--format=json", "a.py", "-v"),
     FastLint(LintOptions(paths=("a.py",), fmt="json", verbose=True))),
    (("lint", "--baseline", "b.json", "--format", "junit"),
     FastLint(LintOptions(fmt="junit", baseline="b.json"))),
    (("--debug", "--project", ".", "lint", "a.py"),
     FastLint(LintOptions(paths=("a.py",)), ".", debug=True)),
], ids=["nothing", "paths", "format=", "baseline", "project"])
def test_everyday_shapes_are_read(golden: Path, args: tuple[str, ...], expected: FastLint,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(golden)
    assert parse_fast(args, {}) == expected


def test_the_project_from_the_environment(golden: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_fast(("lint",), {"OPSCTL_PROJECT": str(golden)}) == \
        FastLint(LintOptions(), str(golden))
    assert parse_fast(("--project", str(golden), "lint"),
                      {"OPSCTL_PROJECT": str(tmp_path)}) == FastLint(LintOptions(), str(golden))
    assert parse_fast(("lint",), {"OPSCTL_PROJECT": ""}) == FastLint(LintOptions())
    assert parse_fast(("lint",), {"OPSCTL_PROJECT": str(tmp_path)}) is None  # not a project


def test_an_unreadable_path_is_clicks(golden: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Click refuses a path it may not read ("is not readable", exit 2); the fast path leaves
    such a command line to Click. (The tests run as root, who may read anything, so the
    permission is what os.access answers.)"""
    monkeypatch.chdir(golden)
    secret = "offline_script/recycle/export_order_data.py"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: p not in (secret, ".") and
                        real_access(p, mode, **kw))
    assert parse_fast(("lint", secret), {}) is None
    assert parse_fast(("lint", "--baseline", secret), {}) is None
    assert parse_fast(("--project", ".", "lint"), {}) is None
    assert parse_fast(("lint", "offline_script/recycle/clear_cache.py"), {}) is not None


def test_an_ascii_terminal_gets_the_same_bytes(tmp_path: Path) -> None:
    """With ``PYTHONIOENCODING=ascii`` a non-ASCII name is written as UTF-8 (as Click writes
    to such a stream) by both roads, never a crash or an escape sequence."""
    project = new_project(tmp_path)
    write(project / "offline_script" / "recycle" / "Éxport_naïve.py")
    env = clean_env(PYTHONIOENCODING="ascii")
    quick, modules = fast(project, tmp_path, "lint", env=env)
    assert "click" not in modules
    reference = slow(project, "lint", env=env)
    assert (quick.returncode, quick.stdout, quick.stderr) == \
        (reference.returncode, reference.stdout, reference.stderr)
    assert quick.returncode == 1 and "offline_script/recycle/Éxport_naïve.py" in quick.stdout


def test_completion_is_clicks() -> None:
    assert parse_fast(("lint",), {"_OPSCTL_COMPLETE": "bash_complete"}) is None


def test_click_shapes_still_work_from_the_program(golden: Path, tmp_path: Path) -> None:
    """Through opsctl.cli.main, a shape the fast path does not read reaches Click and works."""
    proc, modules = fast(golden, tmp_path, "lint", "--help")
    assert proc.returncode == 0 and "Usage: opsctl lint" in proc.stdout
    assert "click" in modules
    proc, _ = fast(golden, tmp_path, "lint", "--format", "xml")
    assert proc.returncode == 2 and "Invalid value for '--format'" in proc.stderr
    proc, _ = fast(golden, tmp_path, "lint", "--list-rules")
    assert proc.returncode == 0 and "OPS201" in proc.stdout


@pytest.mark.parametrize("args", [("lint",), ("lint", "--list-rules")], ids=["fast", "click"])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, args: tuple[str, ...]) -> None:
    """``opsctl lint | head -0``: the reader is gone before the lint writes a warning (which
    alone would exit 0); exit 1 as Click does, no traceback, no "unexpected error"."""
    project = new_project(tmp_path, '\n[tool.opsctl.lint]\nseverity = { OPS501 = "warning" }\n')
    write(project / "offline_script" / "recycle" / "notes.txt", "x\n")
    assert subprocess.run([sys.executable, "-m", "opsctl", *args], cwd=project,
                          env=clean_env(), capture_output=True, check=False).returncode == 0
    with subprocess.Popen([sys.executable, "-m", "opsctl", *args], cwd=project,
                          env=clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 1
    assert err == "", err


RAISING = """
import sys
import opsctl.lint.engine
def boom(*args, **kwargs):
    raise {exc}
opsctl.lint.engine.lint = boom
sys.argv = ["opsctl", "lint"]
from opsctl.cli.main import main
main()
"""


def test_unexpected_errors_are_one_line_unless_debug(golden: Path) -> None:
    code = RAISING.format(exc="RuntimeError('kaboom')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=golden, env=clean_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stderr == ("Error: unexpected error: RuntimeError: kaboom (run with --debug to "
                           "see the traceback)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=golden,
                          env=clean_env(OPSCTL_DEBUG="1"), capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError: kaboom" in proc.stderr


@pytest.mark.parametrize("args", [(), ("--list-rules",)], ids=["fast", "click"])
def test_ctrl_c_exits_130_without_a_traceback(golden: Path, args: tuple[str, ...]) -> None:
    code = RAISING.format(exc="KeyboardInterrupt").replace('"lint"]', f'"lint", *{args!r}]')
    if args:  # --list-rules does not lint: interrupt what it does instead
        code = code.replace("import opsctl.lint.engine\n", "import opsctl.lint.fast\n").replace(
            "opsctl.lint.engine.lint = boom", "opsctl.lint.fast._print_rules = boom")
    proc = subprocess.run([sys.executable, "-c", code], cwd=golden, env=clean_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr and "Aborted" not in proc.stderr


def test_the_options_read_here_are_declared_alike_on_the_click_side() -> None:
    """The fast path knows a few options by name; each must be an option of the same arity
    in the Click group or command, or the two roads would read a command line differently."""
    import click

    from opsctl.cli.group import cli
    from opsctl.cli.lint import lint_command
    from opsctl.lint import fast as lint_cli

    for command, valued, flags in ((cli, lint_cli._GROUP_VALUED, lint_cli._GROUP_FLAGS),
                                   (lint_command, lint_cli._LINT_VALUED, lint_cli._LINT_FLAGS)):
        options = {opt: p for p in command.params if isinstance(p, click.Option)
                   for opt in p.opts}
        for name, field in valued.items():
            assert name in options and not options[name].is_flag, name
            assert options[name].name == field, name
        for name, field in flags.items():
            assert name in options and options[name].is_flag, name
            assert options[name].name == field, name
    assert set(lint_cli.LintOptions._fields) == {p.name for p in lint_command.params}
    # What parse_fast also knows: where --project may come from, and the formats.
    project = next(p for p in cli.params if p.name == "project_dir")
    assert project.envvar == "OPSCTL_PROJECT"
    fmt = next(p for p in lint_command.params if p.name == "fmt")
    assert isinstance(fmt.type, click.Choice) and tuple(fmt.type.choices) == lint_cli.FORMATS
