"""The naming rules as a table: every good name passes, every bad one gets its code.

Each case builds a one-file tree and lints it whole, so a good temporary name goes through
the lint's fast path and a bad one through the full rules, exactly as in a real run.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from opsctl.lint.engine import lint
from opsctl.lint.rules import RULES_BY_CODE, Finding
from opsctl.lint.settings import LintConfig
from opsctl.naming import DEFAULT_STATUS_SUFFIXES, Kind, Naming

TODAY = _dt.date(2024, 7, 1)
GOOD_SOURCE = '"""Do one thing."""\n\n\ndef main() -> None:\n    pass\n'


def lint_tree(root: Path, config: LintConfig | None = None,
              today: _dt.date = TODAY) -> list[Finding]:
    return list(lint(root, Naming(today=today), config).findings)


def make(root: Path, rel: str, text: str = GOOD_SOURCE) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


GOOD = [
    "yuzaoyah/ts_2024_06_10_export_custom_s.py",
    "yuzaoyah/ts_2024_02_29_leap_day.py",          # 2024 is a leap year
    "yuzaoyah/ts_2024_07_01_written_today.py",
    "yuzaoyah/ts_2024_06_10_old.py",               # a lone status word is the purpose
    "yuzaoyah/ts_2024_06_10_new_orders.py",        # ...and so is a leading one
    "yuzaoyah/ts_2024_06_10_top_10_users.py",      # a number inside, not at the end
    "yuzaoyah/ts_2024_06_10_export_v2x.py",        # not a status word
    "yuzaoyah/ts_2024_06_10_x1.py",                # ends in a digit, but not a numeric token
    "li_wei/ts_2024_06_10_recount.py",
    "yuzaoyah/__init__.py",
    "yuzaoyah/README.md",
    "yuzaoyah/__pycache__/ts_2024_06_10_x.cpython-311.pyc",
    "yuzaoyah/.gitkeep",
    "recycle/export_order_data.py",
    "recycle/new_orders.py",
    "recycle/report_2024_q1_totals.py",
    "recycle/__init__.py",
    "recycle/README.md",
    "recycle/__pycache__/export_order_data.cpython-311.pyc",
    "unrecycle/flush_order_data.py",
    "README.md",
    "__init__.py",
    ".hidden/whatever.txt",
    "__pycache__/x.pyc",
]


@pytest.mark.parametrize("rel", GOOD)
def test_good_names_pass(tmp_path: Path, rel: str) -> None:
    make(tmp_path, rel)
    # A long stale_days: the leap day is months old, and staleness has its own tests.
    assert lint_tree(tmp_path, LintConfig(stale_days=3650)) == []


# (file to create, path the finding names, code)
BAD: list[tuple[str, str, str]] = [
    # layout
    ("stray_script.py", "stray_script.py", "OPS101"),
    ("notes.txt", "notes.txt", "OPS101"),
    ("recycle/old/export.py", "recycle/old", "OPS101"),
    ("unrecycle/2023/flush.py", "unrecycle/2023", "OPS101"),
    ("yuzaoyah/archive/ts_2024_06_10_x.py", "yuzaoyah/archive", "OPS101"),
    # developer folder
    ("Li-Wei/ts_2024_06_10_x.py", "Li-Wei", "OPS102"),
    ("YuZaoYah/ts_2024_06_10_x.py", "YuZaoYah", "OPS102"),
    ("1dev/ts_2024_06_10_x.py", "1dev", "OPS102"),
    ("zhang san/ts_2024_06_10_x.py", "zhang san", "OPS102"),
    # temporary name: the shape
    ("yuzaoyah/export_order_data.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_6_1_export.py", None, "OPS201"),
    ("yuzaoyah/ts_24_06_10_export.py", None, "OPS201"),
    ("yuzaoyah/TS_2024_06_10_Export.py", None, "OPS201"),
    ("yuzaoyah/ts-2024-06-10-export-order.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_Export-Order.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_exportOrder.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export order.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_导出订单.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export__order.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export_.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_1st_export.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export.v2.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10.py", None, "OPS201"),
    ("yuzaoyah/-ts_2024_06_10_export.py", None, "OPS201"),
    # temporary name: numeric and date suffixes
    ("yuzaoyah/ts_2024_06_10_export_2.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export_6573.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export_06_28.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export_2024_06_28.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export_20240628.py", None, "OPS201"),
    ("yuzaoyah/ts_2024_06_10_export_05_10_error.py", None, "OPS201"),
    # temporary date: calendar and future
    ("yuzaoyah/ts_2023_02_29_x.py", None, "OPS202"),
    ("yuzaoyah/ts_2024_04_31_x.py", None, "OPS202"),
    ("yuzaoyah/ts_2024_13_01_x.py", None, "OPS202"),
    ("yuzaoyah/ts_2024_13_45_x.py", None, "OPS202"),
    ("yuzaoyah/ts_2024_00_10_x.py", None, "OPS202"),
    ("yuzaoyah/ts_2024_06_00_x.py", None, "OPS202"),
    ("yuzaoyah/ts_1900_02_29_x.py", None, "OPS202"),
    ("yuzaoyah/ts_0000_01_01_x.py", None, "OPS202"),
    ("yuzaoyah/ts_2024_07_02_x.py", None, "OPS202"),     # tomorrow
    ("yuzaoyah/ts_2999_01_01_x.py", None, "OPS202"),
    # recycle / unrecycle names
    ("recycle/export_order_data_6573.py", None, "OPS301"),
    ("recycle/export_order_data_2024_06_10.py", None, "OPS301"),
    ("recycle/export_order_data_05_10_error.py", None, "OPS301"),
    ("recycle/export_order_data_20240610.py", None, "OPS301"),
    ("recycle/export_2024_06_10_orders.py", None, "OPS301"),
    ("recycle/ts_2024_06_10_export.py", None, "OPS301"),
    ("recycle/x.v2.py", None, "OPS301"),
    ("recycle/Export-Order.py", None, "OPS301"),
    ("recycle/exportOrder.py", None, "OPS301"),
    ("recycle/export order.py", None, "OPS301"),
    ("recycle/1export.py", None, "OPS301"),
    ("unrecycle/flush_order_data_2.py", None, "OPS301"),
    ("unrecycle/Flush_Order_Data.py", None, "OPS301"),
    # a last word that may be the purpose or mark a copy, with nothing to prove it (warnings)
    ("yuzaoyah/ts_2024_06_10_clear_temp.py", None, "OPS203"),
    ("recycle/export_draft.py", None, "OPS304"),
    # no person's folder
    ("old_scripts/ts_2024_06_10_x.py", "old_scripts", "OPS102"),
    ("backup/ts_2024_06_10_x.py", "backup", "OPS102"),
    # before the date floor
    ("yuzaoyah/ts_0001_01_01_x.py", None, "OPS202"),
    ("yuzaoyah/ts_1999_12_31_x.py", None, "OPS202"),
    # stale (a warning)
    ("yuzaoyah/ts_2024_01_01_export.py", None, "OPS401"),
    ("yuzaoyah/ts_2019_06_10_export.py", None, "OPS401"),
    # not a script
    ("recycle/orders.csv", None, "OPS501"),
    ("recycle/export.pyc", None, "OPS501"),
    ("unrecycle/fix.sh", None, "OPS501"),
    ("yuzaoyah/notes.txt", None, "OPS501"),
    ("yuzaoyah/ts_2024_06_10_export.py.orig", None, "OPS501"),
    ("yuzaoyah/ts_2024_06_10_export.PY", None, "OPS501"),
    ("yuzaoyah/README.txt", None, "OPS501"),
]
# Every deny-listed status suffix, on a temporary name and on a recycle name.
BAD += [(f"yuzaoyah/ts_2024_06_10_export_order_{s}.py", None, "OPS201")
        for s in DEFAULT_STATUS_SUFFIXES]
BAD += [(f"recycle/export_order_{s}.py", None, "OPS301") for s in DEFAULT_STATUS_SUFFIXES]


@pytest.mark.parametrize(("rel", "reported", "code"), BAD, ids=[b[0] for b in BAD])
def test_bad_names_get_their_code(tmp_path: Path, rel: str, reported: str | None,
                                  code: str) -> None:
    make(tmp_path, rel)
    findings = lint_tree(tmp_path)
    assert [(f.path, f.code) for f in findings] == [(reported or rel, code)]
    finding = findings[0]
    assert finding.message and "\n" not in finding.message
    assert finding.severity == RULES_BY_CODE[code].severity


def test_every_rule_is_in_the_tables() -> None:
    from opsctl.lint.rules import RULES

    # OPS103 needs a git repository (test_lint_developers.py), OPS303 a history
    # (test_lint_twins.py); the content rules have their own tables (test_lint_content.py).
    codes = {code for _, _, code in BAD} | {"OPS103", "OPS302", "OPS303", "OPS601", "OPS602",
                                            "OPS603", "OPS604"}
    assert codes == {r.code for r in RULES}


@pytest.mark.parametrize("suffix", DEFAULT_STATUS_SUFFIXES)
def test_the_message_names_the_suffix(tmp_path: Path, suffix: str) -> None:
    # After what the script works on (order), every status word marks a copy; after a verb
    # alone (export_draft) it may be the object, and is a warning (test_lint_copies.py).
    make(tmp_path, f"yuzaoyah/ts_2024_06_10_export_order_{suffix}.py")
    (finding,) = lint_tree(tmp_path)
    assert f"'_{suffix}'" in finding.message
    assert finding.fix == "rename to ts_2024_06_10_export_order.py, or write a new dated script"


@pytest.mark.parametrize(("name", "why"), [
    ("ts_2023_02_29_x.py", "2023 is not a leap year"),
    ("ts_2024_04_31_x.py", "April has 30 days"),
    ("ts_2024_13_01_x.py", "there is no month 13"),
    ("ts_2024_06_00_x.py", "there is no day 00"),
])
def test_calendar_messages_say_why(tmp_path: Path, name: str, why: str) -> None:
    make(tmp_path, f"yuzaoyah/{name}")
    (finding,) = lint_tree(tmp_path)
    assert why in finding.message


def test_future_date_message(tmp_path: Path) -> None:
    make(tmp_path, "yuzaoyah/ts_2024_07_02_x.py")
    (finding,) = lint_tree(tmp_path)
    assert finding.message == "the date 2024_07_02 is in the future"


@pytest.mark.parametrize(("rel", "fix"), [
    # Alone in the tree: the plain name is free, so the fix is to take it.
    ("recycle/export_order_data_6573.py",
     "drop the numeric suffix: rename to recycle/export_order_data.py"),
    ("recycle/clear_cache_bak.py", "drop the status suffix: rename to recycle/clear_cache.py"),
    ("unrecycle/flush_2024_06_10.py", "drop the date suffix: rename to unrecycle/flush.py"),
    ("recycle/ts_2024_06_10_export_order_old.py", "rename to recycle/export_order.py"),
    ("recycle/Export-Order.py", "rename to recycle/export_order.py"),
    ("recycle/ts_2024_06_10_export.py", "rename to recycle/export.py"),
    ("yuzaoyah/ts_2024_6_1_x.py", "rename to ts_2024_06_01_x.py"),
    ("yuzaoyah/ts-2024-06-10-Export-Order.py", "rename to ts_2024_06_10_export_order.py"),
    ("yuzaoyah/export_order.py",
     "rename to ts_YYYY_MM_DD_export_order.py with the date it was written"),
    ("Li-Wei/ts_2024_06_10_x.py", "rename the folder to 'li_wei'"),
    ("stray.py", "move it into recycle/, unrecycle/ or your developer folder"),
])
def test_suggested_fixes(tmp_path: Path, rel: str, fix: str) -> None:
    make(tmp_path, rel)
    (finding,) = lint_tree(tmp_path)
    assert finding.fix == fix


@pytest.mark.parametrize(("existing", "rel", "fix"), [
    ("recycle/clear_cache.py", "recycle/clear_cache_bak.py",
     "drop the status suffix: extend recycle/clear_cache.py instead"),
    ("unrecycle/clear_cache.py", "recycle/clear_cache_bak.py",
     "drop the status suffix: extend unrecycle/clear_cache.py instead"),
    ("recycle/export.py", "recycle/ts_2024_06_10_export.py", "extend recycle/export.py instead"),
])
def test_suffix_fix_extends_the_script_that_has_the_plain_name(
        tmp_path: Path, existing: str, rel: str, fix: str) -> None:
    make(tmp_path, existing)
    make(tmp_path, rel)
    finding = next(f for f in lint_tree(tmp_path) if f.path == rel and f.code == "OPS301")
    assert finding.fix == fix


@pytest.mark.parametrize(("kind", "name", "fix"), [
    ("recycle", "x.v2", "use 'x'"),
    ("recycle", "export_order.old", "use 'export_order'"),
    ("recycle", "Export-Order", "use 'export_order'"),
    ("recycle", "ts_2024_06_10_export_bak", "use 'export'"),
    ("recycle", "export_order_v2", "use 'export_order'"),
    ("temporary", "Export.Final", "use 'export'"),
])
def test_suggested_names_pass_the_rules(kind: Kind, name: str, fix: str) -> None:
    naming = Naming(today=TODAY)
    problem = naming.validate(kind, name)
    assert problem is not None and problem.fix == fix
    assert naming.validate(kind, fix[5:-1]) is None


def test_no_name_is_suggested_when_none_passes() -> None:
    # Only a number and a status word: no purpose word to build a name from.
    problem = Naming(today=TODAY).validate("recycle", "6573.old")
    assert problem is not None and problem.fix is None


def test_stale_follows_stale_days(tmp_path: Path) -> None:
    make(tmp_path, "yuzaoyah/ts_2024_04_01_export.py")  # 91 days before TODAY
    make(tmp_path, "yuzaoyah/ts_2024_04_02_export.py")  # 90 days: not yet stale
    assert [f.path for f in lint_tree(tmp_path)] == ["yuzaoyah/ts_2024_04_01_export.py"]
    assert lint_tree(tmp_path, LintConfig(stale_days=91)) == []


def test_developer_allow_list(tmp_path: Path) -> None:
    make(tmp_path, "yuzaoyah/ts_2024_06_10_x.py")
    make(tmp_path, "stranger/ts_2024_06_10_x.py")
    naming = Naming(developers=["yuzaoyah"], today=TODAY)
    (finding,) = lint(tmp_path, naming).findings
    assert (finding.path, finding.code) == ("stranger", "OPS102")
    assert "not in the configured developers" in finding.message


def test_developer_pattern(tmp_path: Path) -> None:
    make(tmp_path, "dev_yu/ts_2024_06_10_x.py")
    make(tmp_path, "yu/ts_2024_06_10_x.py")
    naming = Naming(developer_pattern=r"^dev_[a-z]+$", today=TODAY)
    assert [f.path for f in lint(tmp_path, naming).findings] == ["yu"]


# -- cross-file rules -----------------------------------------------------------------------

def codes_by_path(findings: list[Finding]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in findings:
        out.setdefault(f.path, []).append(f.code)
    return out


def test_same_name_in_recycle_and_unrecycle(tmp_path: Path) -> None:
    make(tmp_path, "recycle/flush_order_data.py")
    make(tmp_path, "unrecycle/flush_order_data.py")
    findings = lint_tree(tmp_path)
    assert codes_by_path(findings) == {"recycle/flush_order_data.py": ["OPS302"],
                                       "unrecycle/flush_order_data.py": ["OPS302"]}
    assert "the same name is in unrecycle/flush_order_data.py" in findings[0].message


@pytest.mark.parametrize("copy", ["export_order_data_6573.py", "export_order_data_old.py",
                                  "export_order_data_2024_06_10.py",
                                  "export_order_data_05_10_error.py"])
def test_names_differing_by_a_suffix(tmp_path: Path, copy: str) -> None:
    make(tmp_path, "recycle/export_order_data.py")
    make(tmp_path, f"recycle/{copy}")
    findings = lint_tree(tmp_path)
    # The copy is flagged, never the original it copies.
    assert codes_by_path(findings) == {f"recycle/{copy}": ["OPS301", "OPS302"]}
    copy_dup = next(f for f in findings if f.path == f"recycle/{copy}" and f.code == "OPS302")
    assert copy_dup.message == "differs only by a suffix from recycle/export_order_data.py: " \
                               "one purpose, one script"
    assert copy_dup.fix == "merge them into recycle/export_order_data.py (extend it with an " \
                           "option) and delete the rest"
    name = next(f for f in findings if f.path == f"recycle/{copy}" and f.code == "OPS301")
    assert name.message.startswith("a copy of recycle/export_order_data.py: ")


def test_names_differing_only_by_case(tmp_path: Path) -> None:
    make(tmp_path, "recycle/export_order.py")
    make(tmp_path, "unrecycle/Export_Order.py")
    findings = lint_tree(tmp_path)
    assert codes_by_path(findings) == {"unrecycle/Export_Order.py": ["OPS301", "OPS302"]}
    assert "differs only by case from recycle/export_order.py" in findings[1].message


def test_similar_purposes_are_not_duplicates(tmp_path: Path) -> None:
    # export_order and export_order_data share words: new warns about them, lint does not.
    for rel in ("recycle/export_order.py", "recycle/export_order_data.py",
                "unrecycle/flush_order_data.py", "yuzaoyah/ts_2024_06_10_export_order.py"):
        make(tmp_path, rel)
    assert lint_tree(tmp_path) == []


def test_configured_status_suffixes(tmp_path: Path) -> None:
    make(tmp_path, "yuzaoyah/ts_2024_06_10_export_legacy.py")
    make(tmp_path, "yuzaoyah/ts_2024_06_10_export_old.py")
    make(tmp_path, "recycle/export_do_not_use.py")
    naming = Naming(status_suffixes=["legacy", "do_not_use"], today=TODAY)
    paths = [f.path for f in lint(tmp_path, naming).findings]
    # "old" is no longer deny-listed; numbers and dates always are.
    assert paths == ["recycle/export_do_not_use.py", "yuzaoyah/ts_2024_06_10_export_legacy.py"]


# -- the fast path's date window ----------------------------------------------------------------

@pytest.mark.parametrize(("first", "last"), [
    (_dt.date(2023, 12, 3), _dt.date(2024, 3, 2)),    # over a year's end and a leap day
    (_dt.date(2023, 1, 30), _dt.date(2023, 3, 1)),    # a February without 29
    (_dt.date(2024, 7, 1), _dt.date(2024, 7, 1)),     # stale_days = 0
    (_dt.date(1999, 12, 31), _dt.date(2001, 1, 1)),   # 2000 is a leap year
])
def test_dates_between_is_exactly_the_calendar(first: _dt.date, last: _dt.date) -> None:
    import re

    from opsctl.dates import dates_between

    window = re.compile(dates_between(first, last)).fullmatch
    day = first - _dt.timedelta(days=40)
    while day <= last + _dt.timedelta(days=40):
        assert bool(window(f"{day:%Y_%m_%d}")) == (first <= day <= last), day
        day += _dt.timedelta(days=1)
    for year in range(first.year, last.year + 1):
        for impossible in ("02_30", "02_31", "04_31", "06_31", "09_31", "11_31", "13_01",
                           "00_10", "01_00", "01_32"):
            assert not window(f"{year}_{impossible}")
    if not (first <= _dt.date(2023, 2, 28) <= last):
        assert not window("2023_02_29")


def test_without_the_stale_rule_dates_are_still_checked(tmp_path: Path) -> None:
    for rel in ("yuzaoyah/ts_2019_02_29_x.py", "yuzaoyah/ts_2030_01_01_x.py",
                "yuzaoyah/ts_2019_06_10_old_but_fine.py"):
        make(tmp_path, rel)
    config = LintConfig(enabled=frozenset({"OPS201", "OPS202"}))
    assert [(f.path, f.code) for f in lint_tree(tmp_path, config)] == [
        ("yuzaoyah/ts_2019_02_29_x.py", "OPS202"), ("yuzaoyah/ts_2030_01_01_x.py", "OPS202")]
