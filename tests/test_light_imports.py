"""The fast paths stay light: ``--help``, ``lint`` and ``list --no-runs`` never import the web
stack (SPEC §8). Each case runs opsctl in a real process and reads its ``sys.modules`` at exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import write

from opsctl.cli.group import SUMMARIES, cli

HEAVY = ("flask", "flask_sqlalchemy", "werkzeug", "jinja2", "sqlalchemy")

#: Runs opsctl's console-script entry point as the ``opsctl`` executable does, and writes the
#: names of the imported modules to argv[1] at exit, whatever the command's exit code.
PROBE = """
import atexit, json, sys
out, sys.argv = sys.argv[1], ["opsctl", *sys.argv[2:]]
def dump():
    with open(out, "w") as fh:
        json.dump(sorted(sys.modules), fh)
atexit.register(dump)
from opsctl.cli.main import main
sys.exit(main())
"""


@pytest.fixture
def tree(project: Path) -> Path:
    """A project with good and bad names in every kind of folder, and recycle scripts with
    content so the content rules run too."""
    root = project / "offline_script"
    write(root / "recycle" / "clear_cache.py",
          '"""Clear the cache."""\n\n\ndef main() -> None:\n    pass\n')
    write(root / "recycle" / "export_order_bak.py", "import os\nos.getcwd()\n")
    write(root / "unrecycle" / "flush_order_data.py", '"""Flush order data."""\n')
    write(root / "yuzaoyah" / "ts_2024_06_10_export_custom_s.py")
    write(root / "yuzaoyah" / "export_order_data_6573.py")
    write(root / "Bad Folder" / "ts_2024_13_45_x.py")
    write(root / "stray.txt", "not a script\n")
    return project


def imported_modules(project: Path, tmp_path: Path, *args: str) -> tuple[set[str], str]:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=project,
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return set(json.loads(out.read_text(encoding="utf-8"))), proc.stdout


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize("args", [
    ("--help",),
    ("lint",),
    ("lint", "--format", "json"),
    ("lint", "--format", "github"),
    ("lint", "--format", "junit"),
    ("lint", "offline_script/yuzaoyah/ts_2024_06_10_export_custom_s.py",
     "offline_script/recycle/export_order_bak.py"),
    ("list", "--no-runs"),
    ("list", "--no-runs", "--json"),
], ids=" ".join)
def test_fast_paths_import_no_web_stack(tree: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    modules, stdout = imported_modules(tree, tmp_path, *args)
    assert stdout.strip(), "the command printed nothing; the probe did not run it"
    assert heavy_in(modules) == []


def test_probe_sees_heavy_imports(tree: Path, tmp_path: Path) -> None:
    """The probe itself works: a module that pulls in Flask shows up."""
    out = tmp_path / "modules.json"
    code = PROBE.replace("from opsctl.cli.main import main",
                         "import flask\nfrom opsctl.cli.main import main")
    subprocess.run([sys.executable, "-c", code, str(out), "--help"], cwd=tree, check=True,
                   capture_output=True, timeout=60)
    assert "flask" in heavy_in(set(json.loads(out.read_text(encoding="utf-8"))))


#: What the lint's fast path leaves out to stay within 2x of a bare scandir walk (SPEC §8):
#: each of these costs the lint of 10,000 names several percent of its run.
NOT_ON_THE_LINT_PATH = ("click", "pathlib", "dataclasses", "inspect", "calendar", "rich")
#: What a warm lint (pyproject.toml and every script's content known from the cache) leaves
#: out too: ``tomllib``, ``ast`` and the content rules, and ``typing`` (with ``contextlib`` and
#: ``warnings``), which they bring and which alone costs more than a tenth of the walk: the
#: lint's value types are :mod:`opsctl.light` NamedTuples, its types for mypy only.
NOT_ON_THE_WARM_LINT_PATH = ("tomllib", "ast", "typing", "contextlib", "warnings",
                             "opsctl.lint.content", "opsctl.lint.effects", "opsctl.lint.calls")


@pytest.mark.parametrize("args", [
    ("lint",),
    ("lint", "--format", "json"),
    ("lint", "--format", "junit"),
    ("lint", "--format", "github"),
    ("lint", "-v", "offline_script/yuzaoyah/ts_2024_06_10_export_custom_s.py",
     "offline_script/recycle/export_order_bak.py"),
], ids=" ".join)
def test_lint_imports_neither_click_nor_pathlib(tree: Path, tmp_path: Path,
                                               args: tuple[str, ...]) -> None:
    modules, stdout = imported_modules(tree, tmp_path, *args)
    assert stdout.strip()
    assert sorted(m for m in modules if m.split(".")[0] in NOT_ON_THE_LINT_PATH) == []


@pytest.mark.parametrize("args", [
    ("lint",),
    ("lint", "--format", "json"),
    ("lint", "--format", "github"),
], ids=" ".join)
def test_warm_lint_imports_neither_ast_nor_typing(tree: Path, tmp_path: Path,
                                                  args: tuple[str, ...]) -> None:
    """A lint of an unchanged tree reads every script's content and the ``[tool.opsctl]``
    table from the cache (the table is kept from the second run on: the first makes the
    cache folder)."""
    cold, _ = imported_modules(tree, tmp_path, *args)
    assert "opsctl.lint.content" in cold, "the first lint did not read the scripts"
    assert "tomllib" in cold, "the first lint did not read pyproject.toml"
    imported_modules(tree, tmp_path, *args)
    warm, stdout = imported_modules(tree, tmp_path, *args)
    assert stdout.strip()
    light = NOT_ON_THE_LINT_PATH + NOT_ON_THE_WARM_LINT_PATH
    found = sorted(m for m in warm if m in light or m.split(".")[0] in light)
    assert found == [], found


def test_root_help_imports_no_command(tree: Path, tmp_path: Path) -> None:
    """``opsctl --help`` lists the commands from their summaries, importing none of them."""
    modules, _ = imported_modules(tree, tmp_path, "--help")
    assert sorted(m for m in modules if m.startswith("opsctl.cli.params.")) == []


def test_every_command_has_its_summary() -> None:
    ctx = click.Context(cli, info_name="opsctl")
    missing = [name for name in cli.list_commands(ctx) if name not in SUMMARIES]
    assert missing == [], "add the first paragraph of their help to opsctl.cli.group.SUMMARIES"
    for name, summary in SUMMARIES.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.help is not None
        assert summary == " ".join(command.help.split("\n\n")[0].split()), name


@pytest.mark.parametrize("width", [40, 78, 100, 200])
def test_root_help_lists_commands_as_click_would(width: int) -> None:
    ctx = click.Context(cli, info_name="opsctl")
    ours, clicks = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    cli.format_commands(ctx, ours)
    click.Group.format_commands(cli, ctx, clicks)
    assert ours.getvalue() == clicks.getvalue()


@pytest.mark.parametrize(("args", "collecting"), [
    (("lint",), False),  # the fast path: no cycle collection in a short run
    (("lint", "--list-rules"), True),  # Click's: as any command
    (("list", "--no-runs"), False),  # list's fast path too
    (("list", "--help"), True),  # Click's
], ids=str)
def test_the_lint_fast_path_runs_without_the_cycle_collector(
        tree: Path, tmp_path: Path, args: tuple[str, ...], collecting: bool) -> None:
    out = tmp_path / "gc.json"
    code = PROBE.replace("json.dump(sorted(sys.modules), fh)",
                         "import gc; json.dump(gc.isenabled(), fh)")
    proc = subprocess.run([sys.executable, "-c", code, str(out), *args], cwd=tree,
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stdout.strip()
    assert json.loads(out.read_text(encoding="utf-8")) is collecting
