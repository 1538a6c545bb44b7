"""init, new and list through the CLI, and the identity they use."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from conftest import write

from opsctl.identity import find_identity, to_folder_name
from opsctl.scaffold import builtin_templates, render

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def _developer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "ann")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


def test_init_creates_layout_and_table_idempotently(invoke: Invoke, tmp_path: Path) -> None:
    proj = tmp_path / "fresh"
    proj.mkdir()
    write(proj / "pyproject.toml", "[project]\nname = 'svc'\n")
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    for folder in ("offline_script/recycle", "offline_script/unrecycle"):
        assert (proj / folder).is_dir()
    assert (proj / "offline_script" / "README.md").is_file()
    text = (proj / "pyproject.toml").read_text()
    assert text.startswith("[project]\nname = 'svc'\n") and "[tool.opsctl]" in text
    again = invoke(proj, "init")
    assert again.exit_code == 0
    assert "nothing to do" in again.stderr
    assert (proj / "pyproject.toml").read_text() == text


def test_new_ts_and_recycle(invoke: Invoke, project: Path) -> None:
    before = dt.date.today()
    result = invoke(project, "new", "ts", "export_order_data", "-m", "Export the orders.")
    after = dt.date.today()  # the command may run on either side of midnight
    assert result.exit_code == 0, result.output
    rel = result.stdout.strip()
    assert rel in {f"offline_script/ann/ts_{day:%Y_%m_%d}_export_order_data.py"
                   for day in (before, after)}
    text = (project / rel).read_text()
    assert text.startswith('"""Export the orders.')
    assert "def main(" in text

    result = invoke(project, "new", "recycle", "clear_cache")
    assert result.exit_code == 0, result.output
    assert (project / "offline_script/recycle/clear_cache.py").read_text().startswith(
        '"""Clear cache.')


def test_new_warns_about_similar_recycle_scripts(invoke: Invoke, project: Path) -> None:
    write(project / "offline_script/recycle/export_order.py")
    result = invoke(project, "new", "ts", "export_order_data")
    assert result.exit_code == 0
    assert "similar purpose: recycle/export_order" in result.stderr
    assert "extend" in result.stderr


def test_new_recycle_is_never_similar_to_itself(invoke: Invoke, project: Path) -> None:
    """In an empty recycle/ nothing is similar; beside a truly similar script only that one
    is named, never the file just written."""
    from opsctl.project import Project
    from opsctl.scaffold import new_script

    result = invoke(project, "new", "recycle", "clear_cache")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # Called directly, on a project whose catalogue is read after the file is written.
    created = new_script(Project(project), "recycle", "flush_rows")
    assert created.script.key == "recycle/flush_rows" and created.similar == []
    made = new_script(Project(project), "ts", "clear_cache_entries")
    assert made.similar == ["recycle/clear_cache"]

    write(project / "offline_script/recycle/export_order.py", '"""Export orders."""\n')
    forced = invoke(project, "new", "recycle", "export_order_data", "--force")
    assert forced.exit_code == 0, forced.output
    assert "similar purpose: recycle/export_order;" in forced.stderr
    assert "recycle/export_order_data" not in forced.stderr
    again = new_script(Project(project), "recycle", "export_order_rows")
    assert again.similar == ["recycle/export_order", "recycle/export_order_data"]


@pytest.mark.parametrize(("kind", "name", "message"), [
    ("recycle", "Export-Order", "not snake_case.*use 'export_order'"),
    ("ts", "export order", "not snake_case.*use 'export_order'"),
    ("ts", "ts_2024_06_10_x", "without 'ts_' or a date"),
    ("recycle", "", "the name is empty"),
    ("recycle", "export_order_data_6573", "numeric suffix"),
    ("ts", "export_order_old", "status suffix"),
    ("recycle", "export_orders_v4", "version suffix"),
    ("recycle", "copy_of_clear_cache", "status prefix 'copy_of_'"),
])
def test_new_invalid_names(invoke: Invoke, project: Path, kind: str, name: str,
                           message: str) -> None:
    before = sorted(p for p in project.rglob("*"))
    result = invoke(project, "new", kind, name)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid name")
    import re
    assert re.search(message, result.stderr), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p for p in project.rglob("*")) == before


def test_new_weighs_the_evidence_the_lint_weighs(invoke: Invoke, project: Path) -> None:
    """A name ``new`` accepts is a name the lint passes: ``clear_temp`` is a purpose on its
    own, and a copy beside ``clear`` (the developer's, or a recycle script)."""
    root = project / "offline_script"
    assert invoke(project, "new", "ts", "clear_temp").exit_code == 0
    write(root / "ann" / "ts_2024_01_02_export.py")
    refused = invoke(project, "new", "ts", "export_draft")
    assert refused.exit_code == 1 and "a copy of 'export'" in refused.stderr
    write(root / "unrecycle" / "resend.py")
    refused = invoke(project, "new", "recycle", "resend_error")
    assert refused.exit_code == 1 and "a copy of 'resend'" in refused.stderr
    assert invoke(project, "new", "recycle", "resend_failed_emails").exit_code == 0
    lint = invoke(project, "lint", "--format", "json")
    assert lint.exit_code == 0, lint.stdout


def test_new_refuses_to_overwrite(invoke: Invoke, project: Path) -> None:
    target = write(project / "offline_script/recycle/clear_cache.py", "# mine\n")
    result = invoke(project, "new", "recycle", "clear_cache")
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "never overwrites" in result.stderr
    assert target.read_text() == "# mine\n"


def test_new_bad_developer_folder(invoke: Invoke, project: Path) -> None:
    write(project / "pyproject.toml", "[tool.opsctl]\ndevelopers = ['bob']\n")
    result = invoke(project, "new", "ts", "x")
    assert result.exit_code == 1
    assert "not in the developers list" in result.stderr


def test_new_uses_project_template_and_vars(invoke: Invoke, project: Path) -> None:
    write(project / "templates" / "recycle.py.jinja",
          '"""{{ description }} (team {{ team }})"""\n\ndef main() -> None:\n    pass\n')
    result = invoke(project, "new", "recycle", "clear_cache", "--var", "team=payments")
    assert result.exit_code == 0, result.output
    assert (project / "offline_script/recycle/clear_cache.py").read_text().startswith(
        '"""Clear cache. (team payments)"""')
    missing = invoke(project, "new", "recycle", "other_thing")
    assert missing.exit_code == 1
    assert "'team' is undefined" in missing.stderr and "--var" in missing.stderr
    assert not (project / "offline_script/recycle/other_thing.py").exists()


def test_new_bad_var(invoke: Invoke, project: Path) -> None:
    result = invoke(project, "new", "recycle", "x_y", "--var", "nokey")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.stderr


@pytest.mark.parametrize("kind", ["ts", "recycle"])
def test_builtin_templates_render_valid_side_effect_free_python(kind: str) -> None:
    text = render(kind, {"name": "export_order", "kind": kind, "developer": "ann",
                         "date": "2024-06-10", "description": "Export orders.",
                         "key": "recycle/export_order", "rel": "offline_script/x.py"})
    tree = ast.parse(text)
    assert ast.get_docstring(tree, clean=True).splitlines()[0] == "Export orders."
    for node in tree.body:  # imports, definitions and the __main__ guard only
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.If,
                                 ast.Expr)), ast.dump(node)
        if isinstance(node, ast.Expr):
            assert isinstance(node.value, ast.Constant)
    assert (builtin_templates() / f"{kind}.py.jinja").is_file()


def test_list_table_json_and_filters(invoke: Invoke, project: Path) -> None:
    write(project / "offline_script/recycle/clear_cache.py", '"""Clear the cache."""\n')
    write(project / "offline_script/unrecycle/flush_order_data.py", '"""Fix statuses."""\n')
    write(project / "offline_script/ann/ts_2020_01_01_old_export.py", '"""Old."""\n')
    write(project / "offline_script/bob/ts_2099_01_01_future.py", '"""Later."""\n')

    result = invoke(project, "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KIND", "SCRIPT", "OWNER", "AGE", "LAST", "RUN", "DESCRIPTION"]
    assert any("recycle/clear_cache" in line and "Clear the cache." in line for line in lines)

    data = json.loads(invoke(project, "list", "--json").stdout)
    by_key = {d["key"]: d for d in data}
    assert set(by_key) == {"recycle/clear_cache", "unrecycle/flush_order_data",
                           "ann/ts_2020_01_01_old_export", "bob/ts_2099_01_01_future"}
    old = by_key["ann/ts_2020_01_01_old_export"]
    assert (old["kind"], old["owner"], old["date"], old["stale"]) == \
        ("temporary", "ann", "2020-01-01", True)
    assert by_key["recycle/clear_cache"]["description"] == "Clear the cache."

    def keys(*args: str) -> list[str]:
        return [d["key"] for d in json.loads(invoke(project, "list", "--json", *args).stdout)]

    assert keys("--kind", "recycle") == ["recycle/clear_cache"]
    assert keys("--kind", "ts") == ["ann/ts_2020_01_01_old_export", "bob/ts_2099_01_01_future"]
    assert keys("--owner", "bob") == ["bob/ts_2099_01_01_future"]
    assert keys("--stale") == ["ann/ts_2020_01_01_old_export"]


def test_list_and_new_survive_odd_trees(invoke: Invoke, project: Path) -> None:
    root = project / "offline_script"
    write(root / "ann" / "ts_2024_06_10_with space.py")
    write(root / "ann" / "ts_2024_06_10_订单.py", '"""导出订单。"""\n')
    (root / "ann" / ".hidden").mkdir()
    (root / "ann" / "ts_2024_06_10_binary.py").write_bytes(b"\x00\xff\x00")
    with open(os.fsencode(root / "ann") + b"/ts_2024_06_10_\xff.py", "wb") as fh:
        fh.write(b'"""x"""\n')
    for i in range(300):
        write(root / "bob" / f"ts_2024_01_01_job {i}.py")
    result = invoke(project, "list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data) == 304
    described = {d["key"]: d["description"] for d in data}
    assert described["ann/ts_2024_06_10_订单"] == "导出订单。"
    assert described["ann/ts_2024_06_10_binary"] == "(binary file)"
    assert "ann/ts_2024_06_10_\ufffd" in described
    plain = invoke(project, "list")
    assert plain.exit_code == 0
    assert "ann/ts_2024_06_10_with space" in plain.stdout
    made = invoke(project, "new", "ts", "still_works")
    assert made.exit_code == 0, made.output


def test_no_project_is_a_clear_error(runner, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from opsctl.cli.group import cli

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["list"])
    assert result.exit_code == 1
    assert "no opsctl project here" in result.stderr and "opsctl init" in result.stderr


def test_broken_config_exit_2(invoke: Invoke, project: Path) -> None:
    write(project / "pyproject.toml", "[tool.opsctl]\nstale_days = 'x'\n")
    result = invoke(project, "list")
    assert result.exit_code == 2
    assert "stale_days must be" in result.stderr and "pyproject.toml" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("raw", "expected"), [
    ("Zhang.San", "zhang_san"), ("yuzaoyah", "yuzaoyah"), ("1bob-smith", "bob_smith"),
    ("Ann Lee", "ann_lee"),
])
def test_folder_name_normalisation(raw: str, expected: str) -> None:
    assert to_folder_name(raw) == expected


def test_identity_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert find_identity("Explicit.Name").name == "explicit_name"
    assert find_identity().source == "OPSCTL_DEVELOPER"
    monkeypatch.delenv("OPSCTL_DEVELOPER")
    cfg = tmp_path / "xdg-config" / "opsctl" / "config.toml"
    write(cfg, 'developer = "carol"\n')
    assert (find_identity().name, find_identity().guessed) == ("carol", False)
    cfg.unlink()
    repo = tmp_path / "repo"
    repo.mkdir()
    import subprocess
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "user.email", "Dan.Wu@example.com"],
                   check=True)
    ident = find_identity(cwd=repo)
    assert (ident.name, ident.guessed) == ("dan_wu", True)
    assert "git config user.email" in ident.source


def test_guessed_identity_is_announced_once(invoke: Invoke, project: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSCTL_DEVELOPER")
    # Guessed from git's user.email where the machine has one, else from the OS user name,
    # set here: a fresh machine's (root, in a container) is no person's folder name.
    monkeypatch.setenv("LOGNAME", "yuzaoyah")
    first = invoke(project, "new", "ts", "one_thing")
    assert first.exit_code == 0
    assert "taken from" in first.stderr
    second = invoke(project, "new", "ts", "other_thing")
    assert "taken from" not in second.stderr


@pytest.mark.parametrize("message", [
    'Export the "paid" orders as "csv"', 'He said """hi""" \\ and', "Two\nlines", 'end"',
])
def test_new_message_always_gives_valid_python(invoke: Invoke, project: Path,
                                               message: str) -> None:
    result = invoke(project, "new", "recycle", "quoted_thing", "-m", message)
    assert result.exit_code == 0, result.output
    source = (project / "offline_script/recycle/quoted_thing.py").read_text()
    doc = ast.get_docstring(ast.parse(source))
    assert doc is not None and doc.splitlines()[0] == " ".join(message.split())


def test_new_strips_py(invoke: Invoke, project: Path) -> None:
    assert invoke(project, "new", "recycle", "clear_cache.py").exit_code == 0
    assert (project / "offline_script/recycle/clear_cache.py").is_file()
    assert invoke(project, "new", "ts", "export.py").stdout.strip().endswith("_export.py")


def test_new_recycle_refuses_an_unrecycle_twin(invoke: Invoke, project: Path) -> None:
    write(project / "offline_script/unrecycle/flush_order_data.py")
    result = invoke(project, "new", "recycle", "flush_order_data")
    assert result.exit_code == 1
    assert "unrecycle/flush_order_data.py already exists" in result.stderr
    assert not (project / "offline_script/recycle/flush_order_data.py").exists()


def test_init_uses_the_configured_root(invoke: Invoke, tmp_path: Path) -> None:
    proj = tmp_path / "svc"
    write(proj / "pyproject.toml", '[tool.opsctl]\nroot = "ops_scripts"\n')
    result = invoke(proj, "init")
    assert result.exit_code == 0, result.output
    assert (proj / "ops_scripts/recycle/.gitkeep").is_file()
    assert not (proj / "offline_script").exists()
    assert "created ops_scripts/" in result.stdout


@pytest.mark.parametrize("root_option", [(), ("--root", "ops_scripts")])
def test_init_with_a_project_given_as_dotdot(invoke: Invoke, tmp_path: Path,
                                             root_option: tuple[str, ...]) -> None:
    """``opsctl --project .. init`` from a subfolder: the configured root and the project
    folder are spelled alike, so the root is seen to be inside the project."""
    proj = tmp_path / "svc"
    write(proj / "pyproject.toml", '[tool.opsctl]\nroot = "ops_scripts"\n')
    (proj / "sub").mkdir()
    result = invoke(proj / "sub" / "..", "init", *root_option)
    assert result.exit_code == 0, result.output
    assert (proj / "ops_scripts/recycle/.gitkeep").is_file()


@pytest.mark.parametrize("root", ["../evil", "/tmp/elsewhere-abs", ""])
def test_init_refuses_a_root_outside_the_project(invoke: Invoke, tmp_path: Path,
                                                root: str) -> None:
    proj = tmp_path / "svc"
    proj.mkdir()
    result = invoke(proj, "init", "--root", root)
    assert result.exit_code == 2
    assert "give a folder inside the project" in result.stderr
    assert list(proj.iterdir()) == [] and not (tmp_path / "evil").exists()


def test_init_custom_root_recorded(invoke: Invoke, tmp_path: Path) -> None:
    proj = tmp_path / "svc"
    proj.mkdir()
    result = invoke(proj, "init", "--root", "scripts/offline")
    assert result.exit_code == 0, result.output
    assert "created pyproject.toml" in result.stdout
    assert 'root = "scripts/offline"' in (proj / "pyproject.toml").read_text()
    assert invoke(proj, "new", "recycle", "clear_cache").stdout.strip() == \
        "scripts/offline/recycle/clear_cache.py"


@pytest.mark.parametrize("where", ["missing", "not-a-project"])
def test_project_option_must_name_a_project(invoke: Invoke, tmp_path: Path, where: str) -> None:
    target = tmp_path / where
    if where == "not-a-project":
        target.mkdir()
    result = invoke(target, "new", "ts", "probe")
    assert result.exit_code == 2
    assert ("no such folder" if where == "missing" else "not an opsctl project") in result.stderr
    if where == "missing":
        assert not target.exists()  # not created
    else:
        assert list(target.iterdir()) == []  # nothing written into it


def test_empty_developers_variable_means_unset(invoke: Invoke, project: Path) -> None:
    result = invoke(project, "new", "ts", "probe", env={"OPSCTL_DEVELOPERS": ""})
    assert result.exit_code == 0, result.output


def test_list_no_runs_drops_the_column(invoke: Invoke, project: Path) -> None:
    write(project / "offline_script/recycle/clear_cache.py", '"""Clear the cache."""\n')
    header = invoke(project, "list", "--no-runs").stdout.splitlines()[0].split()
    assert header == ["KIND", "SCRIPT", "OWNER", "AGE", "DESCRIPTION"]
