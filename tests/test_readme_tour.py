"""The README's tour, replayed: every ``console`` block of "## A tour" (and the "## Two commands"
block it continues) is run command by command, and each command must print what the README
shows under it, dates moved to the README's day and times set aside (see
:mod:`readme_replay`). Its ``diff`` block is the edit a person makes, applied where it stands.

The tour is three stories, each in a project of its own, in the home folder of a person git
knows as yuzaoyah:

- **shop**: a Flask project that has never seen opsctl (a git work tree with a
  ``pyproject.toml`` and its app, with Flask-SQLAlchemy, in ``app.py``): "Set up a project and
  write a script".
- **the demo** (``opsctl``: a copy of this repository's ``offline_script/`` and
  ``pyproject.toml``, in a git work tree of its own, its database and ledger inside it): the
  "Two commands" block, then "Run scripts on the record", "Extend, rename, absorb" and "Check
  the names in CI", one after the other.
- **orders**: a project half a year on, whose scripts yuzaoyah and lihua have run for weeks;
  the test writes them (as ``opsctl new`` does), fills the ledger with their back-dated runs
  through the ledger's own API, and commits them: "Promote, demote, clean: the lifecycle".

``OPSCTL_README_UPDATE=1`` rewrites the README's output lines with what the commands print
now instead of failing; review the diff.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from pathlib import Path
from unittest import mock

import pytest
from readme_replay import (
    README,
    REPO,
    Shell,
    Shift,
    blocks,
    environment,
    git,
    make_home,
    merged,
    steps,
    subsections,
)

from opsctl.config import load_config
from opsctl.ledger import rows as ledger_clock
from opsctl.ledger.processes import node_id, process_start
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process
from opsctl.scaffold import render

TOUR = "## A tour"
SETUP = "### Set up a project and write a script"
RUNS = "### Run scripts on the record"
LIFECYCLE = "### Promote, demote, clean: the lifecycle"
EXTEND = "### Extend, rename, absorb: one script per purpose"
CI = "### Check the names in CI"
#: Each story: its project, and the sections replayed there, in order.
STORIES = {
    "shop": [SETUP],
    "demo": ["## Two commands", RUNS, EXTEND, CI],
    "orders": [LIFECYCLE],
}


def test_every_section_of_the_tour_is_replayed() -> None:
    replayed = {h for headings in STORIES.values() for h in headings}
    assert set(subsections(README.read_text(encoding="utf-8"), TOUR)) <= replayed
    for heading in replayed:
        assert any(b.lang == "console" for b in blocks(heading)), f"{heading}: no console block"


def replay(shell: Shell, story: str) -> None:
    for heading in STORIES[story]:
        for block in blocks(heading):
            if block.lang == "sh":
                continue  # the install line of "Two commands": the project is set up already
            shell.replay(block)
    assert any(line.startswith("$ ") for line in shell.transcript)


# -- shop: a Flask project that has never seen opsctl -----------------------------------------

SHOP_APP = '''\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///shop.sqlite3"
    db.init_app(app)
    return app
'''


@pytest.mark.slow
def test_setting_up_a_project(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home, noted=True)  # "Two commands" came first
    env = environment(home)
    shop = home / "shop"
    shop.mkdir()
    (shop / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.0"\n',
                                         encoding="utf-8")
    (shop / "app.py").write_text(SHOP_APP, encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "shop"]):
        git(shop, env, *args)
    replay(Shell(shop, env, home), "shop")


# -- the demo ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_project(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home, noted=False)  # its first command that needs a name says where it came from
    demo = home / "opsctl"
    shutil.copytree(REPO / "offline_script", demo / "offline_script",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", demo / "pyproject.toml")
    env = environment(home, DEMO_DATABASE_URL=f"sqlite:///{demo / 'instance' / 'demo.sqlite3'}")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the demo project"]):
        git(demo, env, *args)
    replay(Shell(demo, env, home), "demo")


# -- orders: half a year of scripts and runs --------------------------------------------------

#: The orders project's scripts and what they do, as of the README day.
ORDERS_SCRIPTS = {
    "recycle/clear_cache": "Delete cache entries that expired.",
    "recycle/export_order": "Export orders to CSV.",
    "recycle/flush_order_data": "Normalise dirty order statuses.",
    "lihua/ts_2026_03_02_fix_customer_email": "Trim and lower-case customers' e-mail addresses.",
    "lihua/ts_2026_11_20_resend_invoice": "Resend the invoices of the orders given.",
    "yuzaoyah/ts_2026_05_20_check_calendar": "Check the calendar's day totals against the orders.",
    "yuzaoyah/ts_2026_10_12_export_order_data": "Export orders with their customer names.",
}
#: Their runs, oldest first, as of the README day: when (UTC), the script, who, how it ended
#: ("dry": a dry run that succeeded).
ORDERS_RUNS = [
    ("2026-03-02 11:40", "lihua/ts_2026_03_02_fix_customer_email", "lihua", "succeeded"),
    ("2026-06-15 09:30", "recycle/export_order", "lihua", "succeeded"),
    ("2026-07-08 14:05", "recycle/export_order", "yuzaoyah", "succeeded"),
    ("2026-09-25 17:05", "recycle/flush_order_data", "yuzaoyah", "dry"),
    ("2026-09-25 17:20", "recycle/flush_order_data", "yuzaoyah", "succeeded"),
    ("2026-10-05 08:00", "recycle/clear_cache", "yuzaoyah", "succeeded"),
    ("2026-10-12 10:12", "yuzaoyah/ts_2026_10_12_export_order_data", "yuzaoyah", "succeeded"),
    ("2026-10-19 15:12", "yuzaoyah/ts_2026_10_12_export_order_data", "yuzaoyah", "failed"),
    ("2026-10-19 16:12", "yuzaoyah/ts_2026_10_12_export_order_data", "yuzaoyah", "succeeded"),
    ("2026-10-26 08:00", "recycle/clear_cache", "lihua", "succeeded"),
    ("2026-11-02 10:12", "yuzaoyah/ts_2026_10_12_export_order_data", "lihua", "succeeded"),
    ("2026-11-16 08:00", "recycle/clear_cache", "yuzaoyah", "succeeded"),
    ("2026-11-20 13:45", "lihua/ts_2026_11_20_resend_invoice", "lihua", "succeeded"),
]
def scaffolded(key: str, description: str) -> str:
    """The script ``opsctl new`` writes for ``key`` (a key as of today)."""
    folder, stem = key.split("/")
    kind = "recycle" if folder == "recycle" else "ts"
    day = stem[3:13].replace("_", "-") if kind == "ts" else ""  # only ts shows its date
    values = {"name": stem[14:] if kind == "ts" else stem, "kind": kind,
              "developer": "lihua" if folder == "lihua" else "yuzaoyah", "date": day,
              "description": description, "key": key,
              "rel": f"offline_script/{key}.py"}
    return render(kind, values, project_templates=None)


def fill_ledger(project: Path, shift: Shift) -> None:
    """Record ORDERS_RUNS in the project's ledger through its own start and finish, its clock
    set to each run's time (moved to today's calendar, like the names)."""
    (project / "instance").mkdir(exist_ok=True)
    with Ledger.open(load_config(project).effective_ledger_url) as book:
        for when, key, operator, status in ORDERS_RUNS:
            at = _dt.datetime.fromisoformat(shift.forward(when)).replace(tzinfo=_dt.UTC)
            process = Process(operator, "ops-1", os.getpid(), node_id(),
                              process_start(os.getpid()))
            with mock.patch.object(ledger_clock, "utcnow", return_value=at):
                run = book.start(script=shift.forward(key), process=process, args=[],
                                 dry_run=status == "dry")
                book.finish(run, status="succeeded" if status == "dry" else status,
                            exit_code=1 if status == "failed" else 0)


@pytest.mark.slow
def test_the_lifecycle(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home, noted=True)
    env = environment(home)
    orders = home / "orders"
    shell = Shell(orders, env, home)
    (orders / "offline_script" / "unrecycle").mkdir(parents=True)
    (orders / "pyproject.toml").write_text('[project]\nname = "orders"\nversion = "1.0"\n\n'
                                           "[tool.opsctl]\n", encoding="utf-8")
    for key, description in ORDERS_SCRIPTS.items():
        key = shell.shift.forward(key)
        path = orders / "offline_script" / f"{key}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scaffolded(key, description), encoding="utf-8")
    (orders / ".gitignore").write_text("instance/\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "orders"]):
        git(orders, env, *args)
    fill_ledger(orders, shell.shift)
    replay(shell, "orders")


# -- the machinery ----------------------------------------------------------------------------


def test_dates_move_between_the_readme_day_and_today() -> None:
    shift = Shift(5)
    assert shift.forward("opsctl promote yuzaoyah/ts_2026_10_12_export_order_data") == \
        "opsctl promote yuzaoyah/ts_2026_10_17_export_order_data"
    assert shift.back("2026-11-30 08:10 UTC  ts_2026_11_30_x  expired_before=2026-11-30T08:10") \
        == "2026-11-25 08:10 UTC  ts_2026_11_25_x  expired_before=2026-11-25T08:10"
    # The demo's own dates are facts; an age beside one counts the days since.
    assert shift.back("ts_2024_06_10_export_custom_s  2024-06-10 (903d, stale)  --since "
                      "2024-06-01") == \
        "ts_2024_06_10_export_custom_s  2024-06-10 (898d, stale)  --since 2024-06-01"
    assert shift.back("lihua/ts_2026_03_07_fix  2026-03-07 (268d)") == \
        "lihua/ts_2026_03_02_fix  2026-03-02 (268d)"
    assert shift.back("ts_2024_13_01_x") == "ts_2024_13_01_x"


def test_a_console_block_is_its_commands_and_their_lines() -> None:
    found = steps("$ opsctl clean\nscript\nDelete 2? [y/N]: y\n$ echo $?\n0\n")
    assert [(s.command, s.expected, s.answers) for s in found] == [
        ("opsctl clean", ["script", "Delete 2? [y/N]: y"], ["y"]),
        ("echo $?", ["0"], [])]


def test_an_update_changes_what_changed_and_keeps_the_readmes_clock() -> None:
    expected = ["ID  STARTED", "3   2026-11-25 08:10 UTC  x  0.0s  a=1", "2   2026-11-25 08:09 UTC"]
    shown = ["ID  STARTED", "4   2026-11-25 00:31 UTC  x  0.1s  a=1", "2   2026-11-25 00:30 UTC"]
    assert merged(expected, shown) == [
        "ID  STARTED", "4   2026-11-25 08:10 UTC  x  0.0s  a=1", "2   2026-11-25 08:09 UTC"]
