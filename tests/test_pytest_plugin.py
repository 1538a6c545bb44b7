"""Scripts are testable: :mod:`opsctl.testing` runs a script in process, through ``opsctl
run``'s own runner, against an app built for tests and a ledger of the test's own; the pytest
plugin (:mod:`opsctl.pytest_plugin`, entry point ``pytest11``) hands it to tests as the
``opsctl_run`` fixture.

The in-process tests drive :class:`opsctl.testing.ScriptRunner` on a copy of the demo project;
the plugin is tested the way a project meets it: pytest started in a project of its own, the
plugin found through its entry point, the README's example tests written there and run.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from opsctl.demo import create_app, db
from opsctl.demo.models import CacheEntry
from opsctl.testing import ScriptRunner

REPO = Path(__file__).resolve().parent.parent
README_SECTION = "### Testing scripts"


def demo_project(base: Path) -> Path:
    """This repository's offline_script/ against the demo app, in a folder of its own."""
    proj = base / "shop"
    shutil.copytree(REPO / "offline_script", proj / "offline_script",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (proj / "pyproject.toml").write_text(
        '[tool.opsctl]\napp = "opsctl.demo:create_app"\n', encoding="utf-8")
    return proj


def write_script(proj: Path, key: str, source: str) -> None:
    path = proj / "offline_script" / f"{key}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def cached(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(CacheEntry)) or 0


def dispose(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "tester")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    for name in ("OPSCTL_ENV", "OPSCTL_LEDGER_URL", "OPSCTL_PROJECT", "DEMO_ENV", "FLASK_APP",
                 "DEMO_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    # A run puts the project folder on sys.path, as `flask` does; keep it to this test.
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return demo_project(tmp_path)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The demo app on a seeded SQLite file of the test's own."""
    made = create_app({"TESTING": True,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite3'}"})
    yield made
    dispose(made)


@pytest.fixture
def run(proj: Path, app: Flask, tmp_path: Path) -> Iterator[ScriptRunner]:
    runner = ScriptRunner(proj, app=app, ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield runner
    runner.close()


# --------------------------------------------------------------------------- in process


def test_a_script_runs_in_process_and_returns_its_run(run: ScriptRunner, app: Flask) -> None:
    result = run("recycle/clear_cache", "--older-than", "7d")

    assert result.exit_code == 0, result.output
    assert result.status == "succeeded"
    assert result.dry_run is False
    assert result.run_id == 1
    assert result.summary["deleted"] == 10
    first, rest = result.output.split("\n", 1)  # opsctl's first line names app and database
    assert first.startswith("opsctl: app opsctl.demo (the test's app), database sqlite:///"), first
    assert rest.startswith("deleted 10 cache entries that expired before ")
    assert "recycle/clear_cache succeeded (run 1)" in result.output
    assert cached(app) == 30  # the real run committed


def test_a_dry_run_rolls_back_what_the_script_committed(run: ScriptRunner, app: Flask) -> None:
    result = run("recycle/clear_cache", dry_run=True)

    assert result.exit_code == 0, result.output
    assert result.status == "succeeded"
    assert result.dry_run is True
    assert result.summary["deleted"] == 20  # the script saw its own deletes...
    assert "(dry run: rolled back)" in result.output
    assert cached(app) == 40  # ...and none of them is there after, though it committed
    again = run("recycle/clear_cache")
    assert again.summary["deleted"] == 20 and again.run_id == 2
    assert cached(app) == 20


def test_a_batch_job_is_limited_and_resumed(run: ScriptRunner, proj: Path) -> None:
    write_script(proj, "recycle/count_cache", """
        import sqlalchemy as sa
        from opsctl import batches, current_run, report
        from opsctl.demo.models import CacheEntry

        def main():
            for batch in batches(sa.select(CacheEntry), size=10):
                pass
            report(done=current_run().progress.done)
    """)
    paused = run("recycle/count_cache", limit=15)
    assert (paused.exit_code, paused.status) == (80, "paused"), paused.output
    resumed = run("recycle/count_cache", resume=True)
    assert (resumed.status, resumed.summary) == ("succeeded", {"done": 40}), resumed.output


def test_the_dry_run_guard_holds_in_a_test(run: ScriptRunner, proj: Path, app: Flask) -> None:
    write_script(proj, "recycle/raw_commit", '''\
        """Commit on the session's own connection: a dry run refuses it."""
        from opsctl.demo import db


        def main():
            db.session.execute(db.text("DELETE FROM cache_entries"))
            db.session.connection().commit()
        ''')
    result = run("recycle/raw_commit", dry_run=True)

    assert result.exit_code == 1 and result.status == "failed", result.output
    assert "dry run: " in result.output and "nothing was committed" in result.output
    assert cached(app) == 40


def test_a_failing_script_is_reported_as_failed(run: ScriptRunner, proj: Path) -> None:
    write_script(proj, "recycle/exit_three", '''\
        """Exit 3."""
        import sys

        from opsctl import report


        def main():
            print("about to fail")
            report(done=1)
            sys.exit(3)
        ''')
    write_script(proj, "recycle/broken", '''\
        """Raise."""


        def main():
            raise ValueError("no such order 42")
        ''')

    exited = run("recycle/exit_three")
    assert (exited.exit_code, exited.status, exited.summary) == (3, "failed", {"done": 1})
    assert "about to fail" in exited.output
    assert "recycle/exit_three exited with 3" in exited.output

    raised = run("recycle/broken")
    assert (raised.exit_code, raised.status) == (1, "failed")
    # The traceback is in the result and in the output, not only in the ledger.
    assert raised.error is not None and "ValueError: no such order 42" in raised.error
    assert 'raise ValueError("no such order 42")' in raised.output


def test_refusals_come_back_as_opsctl_run_s_exit_codes(run: ScriptRunner) -> None:
    first = run("unrecycle/flush_order_data")
    assert first.exit_code == 0 and first.summary["fixed"] == 27, first.output

    again = run("unrecycle/flush_order_data")
    assert again.exit_code == 76
    assert again.status is None and again.run_id is None  # nothing ran, nothing recorded
    assert "already succeeded (run 1" in again.output
    assert run("unrecycle/flush_order_data", force=True).run_id == 2

    unknown = run("recycle/no_such_script")
    assert unknown.exit_code != 0 and unknown.status is None
    assert "no_such_script" in unknown.output

    usage = run("recycle/clear_cache", "--older-than", "soon")
    assert usage.exit_code == 2 and usage.status is None
    assert "'soon' is not a duration" in usage.output


def test_the_ledger_is_the_test_s_own(run: ScriptRunner, proj: Path, tmp_path: Path) -> None:
    (proj / "pyproject.toml").write_text(
        '[tool.opsctl]\napp = "opsctl.demo:create_app"\n'
        f'ledger_url = "sqlite:///{tmp_path / "real.sqlite3"}"\n', encoding="utf-8")
    result = run("recycle/clear_cache", reason="OPS-7")

    assert result.exit_code == 0, result.output
    assert not (tmp_path / "real.sqlite3").exists()
    assert not (proj / "instance").exists()
    from opsctl.ledger.store import Ledger

    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", create=False) as ledger:
        recorded = ledger.run(result.run_id or 0)
    assert recorded is not None
    assert (recorded.script, recorded.status, recorded.reason, recorded.operator) == (
        "recycle/clear_cache", "succeeded", "OPS-7", "tester")


def test_without_an_app_the_project_s_own_is_loaded_for_tests(
        proj: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'loaded.sqlite3'}")
    runner = ScriptRunner(proj, ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        result = runner("recycle/clear_cache", dry_run=True)
        assert result.exit_code == 0, result.output
        assert runner.app.config["TESTING"] is True
        assert runner.app.import_name == "opsctl.demo"
        assert cached(runner.app) == 40
        assert result.output.startswith(
            "opsctl: app opsctl.demo ([tool.opsctl] app, loaded for tests), database "), \
            result.output
    finally:
        runner.close()


# --------------------------------------------------------------------------- the plugin


def test_the_plugin_is_registered_and_loaded_here(request: pytest.FixtureRequest) -> None:
    found = [ep for ep in importlib.metadata.entry_points(group="pytest11")
             if ep.name == "opsctl"]
    assert [ep.value for ep in found] == ["opsctl.pytest_plugin"]
    # This suite loads it too (the package is installed), and it changes nothing here.
    assert request.config.pluginmanager.has_plugin("opsctl")


def test_loading_the_plugin_imports_nothing_heavy_and_hooks_nothing() -> None:
    code = ("import sys, opsctl.pytest_plugin as p; "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'sqlalchemy', 'werkzeug', 'jinja2', 'rich', 'click') "
            "or m.startswith(('opsctl.run', 'opsctl.ledger', 'opsctl.testing'))); "
            "hooks = [n for n in dir(p) if n.startswith('pytest_')]; "
            "print(json.dumps([heavy, hooks]))")
    proc = subprocess.run([sys.executable, "-c", "import json; " + code],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [[], []]


def readme_tests() -> dict[str, str]:
    """The README's example test files: each ``python`` block of the section whose first
    line names a file under tests/."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(README_SECTION + "\n")
    fenced, end = False, len(lines)
    for i in range(start + 1, len(lines)):
        fenced ^= lines[i].startswith("```")
        if not fenced and re.match(r"#{1,3} ", lines[i]):  # the next heading of its level
            end = i
            break
    section = "".join(lines[start:end])
    files = {}
    for body in re.findall(r"```python\n(.*?)```", section, re.DOTALL):
        first = body.splitlines()[0]
        if re.fullmatch(r"# tests/\w+\.py", first):
            files[first[2:]] = body
    return files


def pytest_in(proj: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``proj``, a process of its own that finds plugins as any project's would."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "OPSCTL_", "FLASK_", "DEMO_"))}
    env.update(OPSCTL_DEVELOPER="tester", NO_COLOR="1", **extra)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-W", "error", "-q", *args], cwd=proj, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_readme_example_tests_pass(proj: Path) -> None:
    files = readme_tests()
    assert "tests/conftest.py" in files and len(files) >= 2
    for rel, body in files.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(body, encoding="utf-8")
    tests = sum(body.count("\ndef test_") for body in files.values())

    proc = pytest_in(proj)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{tests} passed" in proc.stdout
    assert not (proj / "instance").exists()  # no ledger but the tests' own


def test_the_fixture_reports_a_script_that_fails(proj: Path) -> None:
    files = readme_tests()
    for rel, body in files.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(body, encoding="utf-8")
    # The same tests against a clear_cache that deletes nothing and exits 1.
    write_script(proj, "recycle/clear_cache", '''\
        """Delete nothing and fail."""
        import sys

        import click


        @click.command()
        @click.option("--older-than", default="0d")
        def main(older_than):
            click.echo("cache left as it was")
            sys.exit(1)
        ''')

    proc = pytest_in(proj)

    assert proc.returncode == 1, proc.stdout + proc.stderr
    tests = sum(body.count("\ndef test_") for body in files.values())
    assert f"{tests} failed" in proc.stdout
    assert "exit_code=1" in proc.stdout and "cache left as it was" in proc.stdout


def test_a_project_without_an_app_fixture_gets_its_app_built_for_tests(
        proj: Path, tmp_path: Path) -> None:
    (proj / "tests").mkdir()
    # The ledger, configured: the project's own fixture overrides the plugin's.
    mine = tmp_path / "mine.sqlite3"
    (proj / "tests" / "conftest.py").write_text(textwrap.dedent(f'''\
        import pytest


        @pytest.fixture
        def opsctl_ledger_url():
            return "sqlite:///{mine}"
        '''), encoding="utf-8")
    (proj / "tests" / "test_flush.py").write_text(textwrap.dedent('''\
        def test_flush_order_data_dry_run(opsctl_run):
            result = opsctl_run("unrecycle/flush_order_data", dry_run=True)
            assert result.exit_code == 0, result.output
            assert result.summary["fixed"] == 27
            assert opsctl_run.app.config["TESTING"] is True
            # Rolled back: the same fix is there to make again.
            assert opsctl_run("unrecycle/flush_order_data").summary["fixed"] == 27
        '''), encoding="utf-8")

    proc = pytest_in(proj, DEMO_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    from opsctl.ledger.store import Ledger

    with Ledger.open(f"sqlite:///{mine}", create=False) as ledger:
        runs = ledger.runs()
    assert [(r.script, r.dry_run) for r in runs] == [("unrecycle/flush_order_data", False),
                                                     ("unrecycle/flush_order_data", True)]
