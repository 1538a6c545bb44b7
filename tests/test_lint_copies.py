"""Copy names on evidence: a name that marks a copy, a version, a date or a state is an error
when the mark is unambiguous or the script it copies is there to see; an ambiguous last word
with nothing to prove it a copy is a warning that says why; a word that is the script's
purpose passes. And the copy is flagged, never its original.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from opsctl.lint.engine import lint
from opsctl.lint.rules import Finding
from opsctl.lint.settings import LintConfig
from opsctl.naming import Naming

TODAY = _dt.date(2024, 7, 1)
GOOD_SOURCE = '"""Do one thing."""\n\n\ndef main() -> None:\n    pass\n'


def make(root: Path, rel: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD_SOURCE, encoding="utf-8")


def findings(root: Path, *rels: str) -> list[Finding]:
    for rel in rels:
        make(root, rel)
    return list(lint(root, Naming(today=TODAY), LintConfig(stale_days=3650)).findings)


def about(found: list[Finding], rel: str) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in found if f.path == rel]


# -- copies that passed -------------------------------------------------------------------------

PASSED_COPIES = [
    "export_orders_v4", "export_orders_copy2", "export_orders_final2", "export_orders_bak1",
    "export_orders_latest", "export_orders_done", "export_orders_failed",
    "export_orders_deprecated", "export_orders_legacy", "export_orders_updated",
    "export_orders_jun10", "copy_of_export_orders", "old_export_orders",
]


@pytest.mark.parametrize("stem", PASSED_COPIES)
def test_copy_names_that_passed_are_errors_in_recycle(tmp_path: Path, stem: str) -> None:
    rel = f"recycle/{stem}.py"
    assert about(findings(tmp_path, rel), rel) == [("OPS301", "error")]


@pytest.mark.parametrize("what", PASSED_COPIES)
def test_copy_names_that_passed_are_errors_in_a_developer_folder(tmp_path: Path,
                                                                 what: str) -> None:
    rel = f"yuzaoyah/ts_2024_06_10_{what}.py"
    assert about(findings(tmp_path, rel), rel) == [("OPS201", "error")]


# -- purposes that were flagged -----------------------------------------------------------------

@pytest.mark.parametrize("stem", ["migrate_to_v2", "run_ab_test", "export_top_100"])
@pytest.mark.parametrize("where", ["recycle/{}.py", "yuzaoyah/ts_2024_06_10_{}.py"])
def test_purposes_that_were_flagged_pass(tmp_path: Path, stem: str, where: str) -> None:
    assert findings(tmp_path, where.format(stem)) == []


@pytest.mark.parametrize(("stem", "word", "verb"), [
    ("clear_temp", "temp", "clear"), ("export_draft", "draft", "export"),
    ("qingli_linshi", "linshi", "qingli"),
])
def test_an_ambiguous_last_word_alone_is_a_warning_with_the_reason(
        tmp_path: Path, stem: str, word: str, verb: str) -> None:
    rel = f"recycle/{stem}.py"
    (finding,) = findings(tmp_path, rel)
    assert (finding.path, finding.code, finding.severity) == (rel, "OPS304", "warning")
    assert f"'{word}'" in finding.message and f"'{verb}'" in finding.message
    assert f"no recycle/{verb}.py or unrecycle/{verb}.py" in finding.message
    temporary = f"yuzaoyah/ts_2024_06_10_{stem}.py"
    (finding,) = findings(tmp_path / "t", temporary)
    assert (finding.path, finding.code, finding.severity) == (temporary, "OPS203", "warning")
    assert f"no other script of yuzaoyah's is named ts_*_{verb}.py" in finding.message


@pytest.mark.parametrize("stem", ["cleanup_backup", "resend_error", "retry_failed",
                                  "fetch_latest", "purge_old"])
def test_a_state_word_a_verb_works_on_passes_quietly(tmp_path: Path, stem: str) -> None:
    assert findings(tmp_path, f"recycle/{stem}.py", f"yuzaoyah/ts_2024_06_10_{stem}.py") == []


@pytest.mark.parametrize(("stem", "original"), [
    ("clear_temp", "clear"), ("export_draft", "export"), ("resend_error", "resend"),
    ("cleanup_backup", "cleanup"),
])
def test_an_ambiguous_word_is_an_error_when_the_original_exists(
        tmp_path: Path, stem: str, original: str) -> None:
    found = findings(tmp_path, f"recycle/{stem}.py", f"unrecycle/{original}.py")
    assert ("OPS301", "error") in about(found, f"recycle/{stem}.py")
    assert about(found, f"unrecycle/{original}.py") == []
    message = next(f.message for f in found if f.code == "OPS301")
    assert f"a copy of unrecycle/{original}.py" in message


def test_a_temporary_copy_of_an_earlier_script_of_the_same_developer(tmp_path: Path) -> None:
    found = findings(tmp_path, "yuzaoyah/ts_2024_06_01_export_orders.py",
                     "yuzaoyah/ts_2024_06_10_export_orders_draft.py",
                     "yuzaoyah/ts_2024_06_02_clear.py",
                     "yuzaoyah/ts_2024_06_10_clear_temp.py",
                     "li_wei/ts_2024_06_10_clear_temp.py")
    # Sure from its name alone (the folder is not searched for it).
    assert about(found, "yuzaoyah/ts_2024_06_10_export_orders_draft.py") == \
        [("OPS201", "error")]
    # In doubt alone, proved a copy by the earlier script.
    (copy,) = [f for f in found if f.path == "yuzaoyah/ts_2024_06_10_clear_temp.py"]
    assert (copy.code, copy.severity) == ("OPS201", "error")
    assert copy.message.startswith("a copy of yuzaoyah/ts_2024_06_02_clear.py: ")
    # Another developer's script proves nothing: the folders are theirs.
    assert about(found, "li_wei/ts_2024_06_10_clear_temp.py") == [("OPS203", "warning")]
    assert about(found, "yuzaoyah/ts_2024_06_01_export_orders.py") == []
    assert about(found, "yuzaoyah/ts_2024_06_02_clear.py") == []


# -- flag the copy, not the original --------------------------------------------------------------

def test_the_original_is_not_flagged(tmp_path: Path) -> None:
    found = findings(tmp_path, "recycle/expire_stock_record.py",
                     "recycle/expire_stock_record_20231012.py")
    assert about(found, "recycle/expire_stock_record.py") == []
    assert about(found, "recycle/expire_stock_record_20231012.py") == \
        [("OPS301", "error"), ("OPS302", "error")]


def test_a_case_twin_flags_the_one_not_plain(tmp_path: Path) -> None:
    found = findings(tmp_path, "recycle/export_order.py", "unrecycle/Export_Order.py")
    assert about(found, "recycle/export_order.py") == []
    assert about(found, "unrecycle/Export_Order.py") == [("OPS301", "error"),
                                                         ("OPS302", "error")]


def test_one_name_in_both_folders_flags_both(tmp_path: Path) -> None:
    found = findings(tmp_path, "recycle/flush_order_data.py", "unrecycle/flush_order_data.py")
    assert [(f.path, f.code) for f in found] == [("recycle/flush_order_data.py", "OPS302"),
                                                 ("unrecycle/flush_order_data.py", "OPS302")]


def test_copies_without_an_original_flag_each_other(tmp_path: Path) -> None:
    found = findings(tmp_path, "recycle/export_order_old.py", "recycle/export_order_bak.py")
    assert {f.path for f in found if f.code == "OPS302"} == {"recycle/export_order_old.py",
                                                             "recycle/export_order_bak.py"}


# -- new and promote accept what the lint passes ---------------------------------------------------

@pytest.mark.parametrize(("name", "existing", "refused"), [
    ("clear_temp", (), False),
    ("clear_temp", ("clear",), True),
    ("export_orders_latest", (), True),
    ("migrate_to_v2", (), False),
    ("copy_of_clear_cache", (), True),
])
def test_validate_weighs_the_same_evidence(name: str, existing: tuple[str, ...],
                                           refused: bool) -> None:
    naming = Naming(today=TODAY)
    problem = naming.validate("recycle", name, exists=set(existing).__contains__)
    assert (problem is not None) == refused
