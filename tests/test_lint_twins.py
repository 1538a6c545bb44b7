"""OPS303 near-twin: a recycle script left untouched since a near-twin (a nearly identical name
or description) appeared beside it, reported as a warning that names both and suggests
``opsctl absorb``."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from unittest import mock

import pytest
from conftest import git

from opsctl.lint.engine import lint
from opsctl.lint.rules import Finding
from opsctl.lint.settings import LintConfig
from opsctl.naming import Naming

TODAY = _dt.date(2024, 7, 1)
A = "recycle/export_order_id_and_custom_name.py"
B = "recycle/export_order_id_and_custom_id.py"


def make(root: Path, rel: str, description: str, when: float | None = None) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'"""{description}"""\n\n\ndef main() -> None:\n    pass\n', encoding="utf-8")
    if when is not None:
        os.utime(path, (when, when))


def found(root: Path, config: LintConfig | None = None,
          paths: list[str] | None = None) -> list[Finding]:
    report = lint(root, Naming(today=TODAY), config,
                  paths=[str(root / p) for p in paths] if paths is not None else None)
    return [f for f in report.findings if f.code == "OPS303"]


def test_an_untouched_script_beside_its_near_twin(tmp_path: Path) -> None:
    make(tmp_path, A, "Export order ids with the customer's name.", when=1_000_000)
    make(tmp_path, B, "Export order ids with the customer's id.", when=2_000_000)
    (finding,) = found(tmp_path)
    assert finding.path == A and finding.severity == "warning"
    assert finding.message == (
        "recycle/export_order_id_and_custom_id.py appeared beside it since it was last "
        "changed, with a nearly identical name: one purpose, one script")
    assert finding.fix == (
        "extend this script with what recycle/export_order_id_and_custom_id.py does, then "
        "run: opsctl absorb recycle/export_order_id_and_custom_name "
        "recycle/export_order_id_and_custom_id")
    full = lint(tmp_path, Naming(today=TODAY))
    assert full.exit_code == 0 and full.warnings == 1  # a warning by default


def test_without_git_the_file_times_stand_for_both(tmp_path: Path) -> None:
    """Outside git a file's time says when it last changed, not when it appeared: the script
    changed longer ago is the one reported (git tells the two apart, below)."""
    make(tmp_path, A, "Export order ids with the customer's name.", when=3_000_000)
    make(tmp_path, B, "Export order ids with the customer's id.", when=2_000_000)
    assert [f.path for f in found(tmp_path)] == [B]


def test_twins_that_appeared_together_are_both_reported(tmp_path: Path) -> None:
    make(tmp_path, A, "Export order ids with names.", when=2_000_000)
    make(tmp_path, B, "Export order ids with ids.", when=2_000_000)
    assert [f.path for f in found(tmp_path)] == [B, A]  # sorted by path


def test_near_identical_descriptions_make_twins(tmp_path: Path) -> None:
    make(tmp_path, "recycle/dump_orders.py", "Export every order to a CSV file.", when=1_000)
    make(tmp_path, "recycle/orders_csv.py", "Export every order to a CSV file!", when=2_000)
    (finding,) = found(tmp_path)
    assert finding.path == "recycle/dump_orders.py"
    assert finding.message == ("recycle/orders_csv.py appeared beside it since it was last "
                               "changed, with a nearly identical description: one purpose, "
                               "one script")


@pytest.mark.parametrize(("first", "second"), [
    # similar purposes (new and promote name them), but not twins
    (("export_order.py", "Export orders."), ("export_order_data.py", "Export order data.")),
    (("export_order_ids.py", "Export order ids."),
     ("export_order_names.py", "Export order names.")),
    (("flush_order_data.py", "Flush order data."),
     ("export_order_data.py", "Export order data.")),
    (("clear_cache.py", "Clear the cache."), ("clear_sessions.py", "Clear the sessions.")),
    (("export_order_id_and_custom_name.py", "Export order ids and names."),
     ("import_order_id_and_custom_name.py", "Import order ids and names.")),
    # another object: another purpose, however much else the two share
    (("export_order_ids_to_csv.py", "Export order ids to CSV."),
     ("export_customer_ids_to_csv.py", "Export customer ids to CSV.")),
    (("export_orders.py", "Export the orders for the finance team."),
     ("export_refunds.py", "Export the refunds for the finance team.")),
    # short descriptions say too little to be twins
    (("clear_cache.py", "A script."), ("flush_calendar.py", "A script.")),
    (("clear_cache.py", "Do one thing."), ("flush_calendar.py", "Do one thing.")),
])
def test_not_twins(tmp_path: Path, first: tuple[str, str], second: tuple[str, str]) -> None:
    make(tmp_path, f"recycle/{first[0]}", first[1], when=1_000)
    make(tmp_path, f"recycle/{second[0]}", second[1], when=2_000)
    assert found(tmp_path) == []


def test_duplicates_are_left_to_ops302(tmp_path: Path) -> None:
    make(tmp_path, "recycle/export_order_data.py", "Export order data.", when=1_000)
    make(tmp_path, "recycle/export_order_data_old.py", "Export order data.", when=2_000)
    codes = {(f.path, f.code) for f in lint(tmp_path, Naming(today=TODAY)).findings}
    # The copy is the duplicate rule's finding (its original is not reported).
    assert ("recycle/export_order_data_old.py", "OPS302") in codes
    assert not any(code == "OPS303" for _, code in codes)


def test_unrecycle_scripts_are_not_compared(tmp_path: Path) -> None:
    make(tmp_path, A, "Export order ids with the customer's name.", when=1_000)
    make(tmp_path, "unrecycle/export_order_id_and_custom_id.py", "Export order ids.",
         when=2_000)
    assert found(tmp_path) == []


def test_the_rule_can_be_turned_off(tmp_path: Path) -> None:
    make(tmp_path, A, "Export order ids with the customer's name.", when=1_000)
    make(tmp_path, B, "Export order ids with the customer's id.", when=2_000)
    config = LintConfig.from_table({"disable": ["near-twin"]})
    assert found(tmp_path, config) == []
    error = LintConfig.from_table({"severity": {"OPS303": "error"}})
    assert [f.severity for f in found(tmp_path, error)] == ["error"]


def test_file_list_mode_reports_a_pair_either_member_of_which_is_given(tmp_path: Path) -> None:
    make(tmp_path, A, "Export order ids with the customer's name.", when=1_000)
    make(tmp_path, B, "Export order ids with the customer's id.", when=2_000)
    make(tmp_path, "recycle/clear_cache.py", "Clear the cache.", when=2_000)
    assert [f.path for f in found(tmp_path, paths=[B])] == [A]
    assert [f.path for f in found(tmp_path, paths=[A])] == [A]
    assert found(tmp_path, paths=["recycle/clear_cache.py"]) == []


def commit(top: Path, message: str, when: str) -> None:
    git(top, "add", "-A")
    env_date = f"{when}T12:00:00+00:00"
    import subprocess

    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit",
                    "-q", "-m", message], cwd=top, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_DATE": env_date,
                        "GIT_COMMITTER_DATE": env_date})


def test_in_git_the_commits_decide(tmp_path: Path, isolated_git: None) -> None:
    root = tmp_path / "offline_script"
    # The files' own times say the opposite of the commits: a fresh clone has any mtimes.
    make(root, A, "Export order ids with the customer's name.", when=9_000_000)
    git(tmp_path, "init", "-q")
    commit(tmp_path, "a", "2024-01-01")
    make(root, B, "Export order ids with the customer's id.", when=1_000)
    commit(tmp_path, "b", "2024-03-01")
    assert [f.path for f in found(root)] == [A]

    make(root, A, "Export order ids with the customer's name, or id.", when=1_000)
    assert found(root) == []  # changed in the work tree: touched now
    commit(tmp_path, "a again", "2024-04-01")
    assert found(root) == []  # committed after B appeared


def test_git_is_asked_only_about_a_pair(tmp_path: Path, isolated_git: None) -> None:
    root = tmp_path / "offline_script"
    make(root, A, "Export order ids with the customer's name.")
    make(root, "recycle/clear_cache.py", "Clear the cache.")
    git(tmp_path, "init", "-q")
    commit(tmp_path, "scripts", "2024-01-01")
    with mock.patch("opsctl.gitops.work_tree", side_effect=AssertionError("git was asked")):
        assert lint(root, Naming(today=TODAY)).findings == ()
