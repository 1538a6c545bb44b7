"""``[tool.opsctl.lint]``: rule selection, severities, ignore globs, suffixes, content kinds.

Broken settings are configuration errors (exit 2) that name the key and the file.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from opsctl.cli.group import cli
from opsctl.errors import ConfigError
from opsctl.lint.engine import lint
from opsctl.lint.settings import LintConfig
from opsctl.naming import Naming

TODAY = _dt.date(2024, 7, 1)


def parse(table: dict[str, Any]) -> LintConfig:
    return LintConfig.from_table(table, source="/p/pyproject.toml", project_dir=Path("/p"))


def test_defaults() -> None:
    config = parse({})
    assert len(config.enabled) == 16
    assert config.severities["OPS401"] == "warning"
    assert config.severities["OPS201"] == "error"
    assert config.content_kinds == {"recycle", "unrecycle"}
    assert config.ignore == () and config.baseline is None


def test_rules_by_code_or_name() -> None:
    config = parse({"select": ["OPS201", "stale", "ops301"], "disable": ["stale"],
                    "severity": {"temporary-name": "warning", "OPS301": "error"}})
    assert config.enabled == {"OPS201", "OPS301"}
    assert config.severities["OPS201"] == "warning"


def test_baseline_is_relative_to_the_project() -> None:
    assert parse({"baseline": "ci/lint-baseline.json"}).baseline == \
        os.path.join("/p", "ci", "lint-baseline.json")


@pytest.mark.parametrize(("table", "message"), [
    ({"selct": []}, "unknown key [tool.opsctl.lint] 'selct'"),
    ({"select": "OPS201"}, "[tool.opsctl.lint] select must be a list of rule codes or names"),
    ({"select": ["OPS999"]}, "[tool.opsctl.lint] select: unknown rule 'OPS999'"),
    ({"disable": ["no-such-rule"]}, "[tool.opsctl.lint] disable: unknown rule"),
    ({"severity": ["OPS201"]}, "[tool.opsctl.lint] severity must be a table"),
    ({"severity": {"OPS201": "fatal"}},
     "[tool.opsctl.lint] severity.OPS201 must be \"error\" or \"warning\", not 'fatal'"),
    ({"severity": {"OPS000": "error"}}, "[tool.opsctl.lint] severity: unknown rule 'OPS000'"),
    ({"ignore": "legacy/**"}, "[tool.opsctl.lint] ignore must be a list of path globs"),
    ({"ignore": [""]}, "[tool.opsctl.lint] ignore holds an empty pattern"),
    ({"status_suffixes": ["Old"]}, "status_suffixes entry 'Old' must be a lowercase word"),
    ({"status_suffixes": [1]}, "[tool.opsctl.lint] status_suffixes must be a list"),
    ({"content_kinds": ["everything"]}, "content_kinds entry 'everything' must be one of"),
    ({"baseline": 3}, "[tool.opsctl.lint] baseline must be a file path (string), not int 3"),
])
def test_errors_name_the_key_and_the_file(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(table)
    assert message in info.value.message
    assert info.value.message.startswith("/p/pyproject.toml: ")
    assert info.value.exit_code == 2


def write(path: Path, text: str = '"""A script."""\n') -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_ignore_globs(tmp_path: Path) -> None:
    for rel in ("legacy/ts_bad.py", "yuzaoyah/ts_2024_06_10_x_old.py", "yuzaoyah/notes.txt",
                "recycle/export_6573.py", "recycle/fix_it.py"):
        write(tmp_path / rel, "main()\n")
    config = LintConfig(ignore=("legacy", "yuzaoyah/*.txt", "recycle/export_*"))
    findings = lint(tmp_path, Naming(today=TODAY), config).findings
    # The folder, what is in it, the matched files and their content: all left out.
    assert sorted({f.path for f in findings}) == ["recycle/fix_it.py",
                                                  "yuzaoyah/ts_2024_06_10_x_old.py"]


def test_cli_reads_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.opsctl]\nstale_days = 36500\n\n[tool.opsctl.lint]\n'
        'severity = { "not-a-script" = "warning" }\nstatus_suffixes = ["legacy"]\n'
        'ignore = ["recycle/vendored_*"]\n', encoding="utf-8")
    root = tmp_path / "offline_script"
    write(root / "yuzaoyah" / "notes.txt")
    write(root / "yuzaoyah" / "ts_2024_06_10_export_legacy.py")
    write(root / "yuzaoyah" / "ts_2024_06_10_export_old.py")
    write(root / "recycle" / "vendored_Thing.py")
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "lint", "--format", "json"])
    import json

    data = json.loads(result.stdout)
    assert [(f["path"], f["severity"]) for f in data["findings"]] == [
        ("offline_script/yuzaoyah/notes.txt", "warning"),
        ("offline_script/yuzaoyah/ts_2024_06_10_export_legacy.py", "error"),
    ]
    assert result.exit_code == 1


def test_cli_config_error_exits_2(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.opsctl.lint]\nselect = ["OPS777"]\n',
                                             encoding="utf-8")
    (tmp_path / "offline_script").mkdir()
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "lint"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{tmp_path / 'pyproject.toml'}: [tool.opsctl.lint] select: unknown rule 'OPS777'" \
        in result.stderr
    assert "Traceback" not in result.stderr


def test_list_rules_shows_the_effective_severity(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.opsctl.lint]\ndisable = ["docstring"]\nseverity = { OPS101 = "warning" }\n',
        encoding="utf-8")
    (tmp_path / "offline_script").mkdir()
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "lint", "--list-rules"])
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split()[2] for line in result.stdout.splitlines()[1:]}
    assert rows["OPS101"] == "warning"
    assert rows["OPS602"] == "off"
    assert rows["OPS401"] == "warning"
    assert rows["OPS201"] == "error"
    assert rows["OPS303"] == "warning"
    assert len(rows) == 16
