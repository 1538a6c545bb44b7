"""The README's worked backfill ("### A backfill, batch by batch"), replayed on a fresh copy
of the demo project, as the tour is (:mod:`readme_replay`): its commands must print what the
README shows, and its code block must be the script's own code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from readme_replay import REPO, Shell, blocks, environment, git, make_home

BACKFILL = "### A backfill, batch by batch"
SCRIPT = REPO / "offline_script" / "recycle" / "backfill_order_day.py"


def test_the_code_shown_is_the_scripts() -> None:
    shown = [b.body for b in blocks(BACKFILL) if b.lang == "python"]
    assert shown and all(body in SCRIPT.read_text(encoding="utf-8") for body in shown)


@pytest.mark.slow
def test_the_backfill_example(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home, noted=True)
    demo = home / "opsctl"
    shutil.copytree(REPO / "offline_script", demo / "offline_script",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", demo / "pyproject.toml")
    env = environment(home, DEMO_DATABASE_URL=f"sqlite:///{demo / 'instance' / 'demo.sqlite3'}")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the demo project"]):
        git(demo, env, *args)
    shell = Shell(demo, env, home)
    for block in blocks(BACKFILL):
        if block.lang == "console":
            shell.replay(block)
    assert sum(line.startswith("$ opsctl run") for line in shell.transcript) == 3
