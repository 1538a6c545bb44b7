"""The README's examples outside its tour (which ``test_readme_tour.py`` replays whole).

- Every script run the README shows without its output (``opsctl run ...`` in a console
  block, ``flask ... ops run ...``, ``python offline_script/...``), and every example of
  ``opsctl run --help``, must be one a person can type on the demo project: opsctl's options
  parse, the script is one the demo has, and its own Click command takes the arguments given
  (parsed as ``opsctl run`` parses them, nothing run).
- The naming lint's examples (its findings, ``--fix``) are replayed like the tour, each on
  the tree it describes.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from readme_replay import README, REPO, Shell, blocks, environment, git, make_home, steps

from opsctl.cli.group import cli
from opsctl.cli.run import run_command
from opsctl.errors import OpsctlError
from opsctl.project import Project
from opsctl.run.script import compile_script, import_entry, parse_args

#: Replayed elsewhere (test_readme_tour.py, test_readme_queues.py, test_readme_backfill.py):
#: their commands are checked with their output.
REPLAYED = ("## A tour", "## Two commands", "## Running on your workers",
            "### A backfill, batch by batch")


def unreplayed_console_blocks(text: str) -> list[str]:
    """The console blocks outside the sections :data:`REPLAYED`."""
    kept: list[str] = []
    skipping = False
    for part in re.split(r"^(?=#{1,3} )", text, flags=re.MULTILINE):
        heading = part.split("\n", 1)[0]
        if heading.startswith("## "):
            skipping = heading in REPLAYED
        if not skipping and heading not in REPLAYED:
            kept += re.findall(r"^```console\n(.*?)^```$", part, re.MULTILINE | re.DOTALL)
    return kept


def script_runs(text: str) -> list[tuple[str, list[str]]]:
    """Each command of the README that runs a script, with what follows ``run`` (or the
    ``python`` command's arguments), in the README's order."""
    found = []
    for body in unreplayed_console_blocks(text):
        for step in steps(body):
            argv = shlex.split(step.command, comments=True)
            if argv[:2] == ["opsctl", "run"]:
                found.append((step.command, argv[2:]))
            elif argv[0] == "flask" and "ops" in argv:
                rest = argv[argv.index("ops") + 1:]
                if rest[0] == "run":
                    found.append((step.command, rest[1:]))
            elif argv[0] == "python" and argv[1].startswith("offline_script/"):
                found.append((step.command, argv[1:]))
            else:
                continue
            assert not step.expected, f"{step.command}: output shown but not replayed"
    return found


def help_examples() -> list[tuple[str, list[str]]]:
    """The examples ``opsctl run --help`` gives."""
    lines = (run_command.help or "").splitlines()
    return [(line.strip(), shlex.split(line.strip())[2:]) for line in lines
            if line.strip().startswith("opsctl run ")]


def check(project: Project, words: list[str]) -> None:
    """Parse ``opsctl run WORDS`` as opsctl does, through the script's own arguments."""
    root = click.Context(cli, info_name="opsctl", obj=project)
    with run_command.make_context("run", list(words), parent=root) as ctx:
        script, args = ctx.params["script"], ctx.params["args"]
    entry = compile_script(script)
    import_entry(entry)
    try:
        parse_args(entry, list(args))
    except click.exceptions.Exit as done:  # --help
        assert done.exit_code == 0


def test_every_script_the_readme_runs_is_one_the_demo_takes() -> None:
    runs = script_runs(README.read_text(encoding="utf-8"))
    assert len(runs) >= 8, runs
    project = Project(str(REPO))
    failed = []
    for command, words in [*runs, *help_examples()]:
        if words[0].startswith("offline_script/"):  # python offline_script/...: the file runs
            words = [str(REPO / words[0]), *words[1:]]
        try:
            check(project, words)
        except (click.ClickException, OpsctlError) as exc:
            failed.append(f"$ {command}\n  {type(exc).__name__}: {exc.format_message()}")
    assert not failed, "\n".join(failed)


@pytest.mark.slow
def test_the_naming_lint_example(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home, noted=True)
    env = environment(home)
    project = home / "shop"
    root = project / "offline_script"
    for key in ("recycle/export_order_data", "recycle/export_order_data_6573"):
        path = root / f"{key}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('"""Export orders to CSV."""\n', encoding="utf-8")
    (root / "yuzaoyah").mkdir()
    (root / "yuzaoyah" / "ts_2024_13_01_x.py").write_text("", encoding="utf-8")
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    shell = Shell(project, env, home)
    shell.replay(blocks("## The naming lint: `opsctl lint`")[0])


@pytest.mark.slow
def test_the_lint_fix_example(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home, noted=True)
    env = environment(home)
    project = home / "shop"
    root = project / "offline_script"
    for name in ("Export-Order", "Clear-Cache", "clear_cache"):
        path = root / "recycle" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('"""A script."""\n', encoding="utf-8")
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "shop"]):
        git(project, env, *args)
    (root / "yuzaoyah").mkdir()
    (root / "yuzaoyah" / "ts_2024_6_1_x.py").write_text("", encoding="utf-8")
    Shell(project, env, home).replay(blocks("### `--fix`")[0])
