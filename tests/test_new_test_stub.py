"""``opsctl new recycle NAME --test``: a test beside the project's tests that runs the new
script through the ``opsctl_run`` fixture, and passes as written."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def _developer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "ann")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


def test_test_writes_a_stub_in_the_project_s_tests_folder(invoke: Invoke,
                                                          project: Path) -> None:
    (project / "tests").mkdir()
    result = invoke(project, "new", "recycle", "clear_cache", "--test")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["offline_script/recycle/clear_cache.py",
                                          "tests/test_clear_cache.py"]
    stub = (project / "tests" / "test_clear_cache.py").read_text(encoding="utf-8")
    tree = ast.parse(stub)
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [t.name for t in tests] == ["test_clear_cache_dry_run"]
    assert [a.arg for a in tests[0].args.args] == ["opsctl_run"]
    assert 'opsctl_run("recycle/clear_cache", dry_run=True)' in stub
    assert "assert result.exit_code == 0" in stub
    assert "created" not in result.stderr  # the folder was there


def test_a_test_folder_is_used_when_it_is_the_project_s(invoke: Invoke, project: Path) -> None:
    (project / "test").mkdir()
    result = invoke(project, "new", "recycle", "clear_cache", "--test")
    assert result.exit_code == 0, result.output
    assert (project / "test" / "test_clear_cache.py").is_file()
    assert not (project / "tests").exists()


def test_without_a_tests_folder_it_says_where_it_put_the_test(invoke: Invoke,
                                                              project: Path) -> None:
    result = invoke(project, "new", "recycle", "clear_cache", "--test")
    assert result.exit_code == 0, result.output
    assert (project / "tests" / "test_clear_cache.py").is_file()
    assert "no tests/ or test/ folder" in result.stderr
    assert "created tests/" in result.stderr


def test_an_existing_test_file_is_never_overwritten(invoke: Invoke, project: Path) -> None:
    existing = project / "tests" / "test_clear_cache.py"
    existing.parent.mkdir()
    existing.write_text("# the app's own tests of its cache\n", encoding="utf-8")

    result = invoke(project, "new", "recycle", "clear_cache", "--test")

    assert result.exit_code != 0
    assert "tests/test_clear_cache.py already exists" in result.stderr
    assert existing.read_text(encoding="utf-8") == "# the app's own tests of its cache\n"
    # All or nothing: the script is not written without its test either.
    assert not (project / "offline_script" / "recycle" / "clear_cache.py").exists()


def test_without_test_no_test_is_written(invoke: Invoke, project: Path) -> None:
    (project / "tests").mkdir()
    result = invoke(project, "new", "recycle", "clear_cache")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["offline_script/recycle/clear_cache.py"]
    assert list((project / "tests").iterdir()) == []


def test_test_is_for_recycle_scripts(invoke: Invoke, project: Path) -> None:
    result = invoke(project, "new", "ts", "export_order_data", "--test")
    assert result.exit_code == 2
    assert "--test" in result.stderr and "recycle" in result.stderr
    assert not (project / "offline_script" / "ann").exists()


def test_the_stub_passes_as_written(tmp_path: Path) -> None:
    """A new recycle script and its stub, in a project on the demo app, pass under pytest."""
    proj = tmp_path / "shop"
    proj.mkdir()
    (proj / "pyproject.toml").write_text('[tool.opsctl]\napp = "opsctl.demo:create_app"\n',
                                         encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "OPSCTL_", "FLASK_", "DEMO_"))}
    env.update(OPSCTL_DEVELOPER="ann", NO_COLOR="1", XDG_STATE_HOME=str(tmp_path / "state"),
               DEMO_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    new = subprocess.run([sys.executable, "-m", "opsctl", "init"], cwd=proj, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert new.returncode == 0, new.stderr
    new = subprocess.run([sys.executable, "-m", "opsctl", "new", "recycle", "tidy_calendar",
                          "--test"], cwd=proj, env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert new.returncode == 0, new.stderr

    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W",
                           "error", "-q"], cwd=proj, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout

    # And it can fail: the stub notices a script that exits 1.
    script = proj / "offline_script" / "recycle" / "tidy_calendar.py"
    script.write_text('"""Tidy the calendar, and fail."""\n\n\ndef main():\n    return 1\n',
                      encoding="utf-8")
    failed = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
                            cwd=proj, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "1 failed" in failed.stdout
