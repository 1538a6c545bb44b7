"""``opsctl run`` end to end in real processes (SQLite ledger): app discovery, entry points,
the script API, refusals and their exit codes, secrets, git, ``run_directly``, ``flask ops``.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from runkit import (
    HOLD_SCRIPT,
    env,
    ledger,
    opsctl,
    opsctl_argv,
    spawned,
    started_pids,
    wait_for,
    write_project,
    write_script,
)

GREET = '''\
"""Print the app's greeting and what the run knows."""
import sys
from flask import current_app, g
from opsctl import current_run, report


def main():
    run = current_run()
    g.seen = True
    print("greeting", current_app.config["GREETING"])
    print("argv", sys.argv[1:])
    print("run", run.id, run.script, run.operator, run.dry_run, run.reason, run.environment)
    report(greeting=current_app.config["GREETING"])
'''


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture
def proj(tmp_path: Path, url: str) -> Path:
    project = write_project(tmp_path, url)
    write_script(project, "recycle/greet", GREET)
    return project


def runs_of(url: str, key: str | None = None) -> list:  # type: ignore[type-arg]
    with ledger(url) as book:
        return book.runs(key)


# --------------------------------------------------------------------------- app discovery


APP_FORMS = [
    ("plainapp", "plain"),
    ("plainapp:app", "plain"),
    ("plainapp:create_app()", "plain"),
    ("plainapp:create_app('dev')", "dev"),
    ("plainapp.py", "plain"),
    ("plainapp.py:create_app('file')", "file"),
]


@pytest.mark.parametrize(("form", "greeting"), APP_FORMS, ids=[f for f, _ in APP_FORMS])
def test_every_app_form_as_option(proj: Path, form: str, greeting: str) -> None:
    result = opsctl(proj, "run", "--app", form, "recycle/greet")
    assert result.returncode == 0, result.stderr
    assert f"greeting {greeting}" in result.stdout


@pytest.mark.parametrize(("form", "greeting"), APP_FORMS, ids=[f for f, _ in APP_FORMS])
def test_every_app_form_in_the_config(tmp_path: Path, url: str, form: str,
                                      greeting: str) -> None:
    project = write_project(tmp_path, url, app=form.replace('"', '\\"'))
    write_script(project, "recycle/greet", GREET)
    # From a folder inside the project: discovery still happens in the project folder.
    result = opsctl(project, "run", "recycle/greet", cwd=project / "offline_script")
    assert result.returncode == 0, result.stderr
    assert f"greeting {greeting}" in result.stdout


def test_a_relative_file_path_is_relative_to_the_caller(proj: Path) -> None:
    (proj / "apps").mkdir()
    (proj / "apps" / "other.py").write_text(
        "from flask import Flask\napp = Flask('other')\napp.config['GREETING'] = 'other'\n",
        encoding="utf-8")
    result = opsctl(proj, "run", "--app", "other.py", "recycle/greet", cwd=proj / "apps")
    assert result.returncode == 0, result.stderr
    assert "greeting other" in result.stdout


def test_flaskenv_names_the_app_and_env_sets_variables(tmp_path: Path, url: str) -> None:
    import importlib.util

    assert importlib.util.find_spec("dotenv") is not None, \
        "python-dotenv must be installed: Flask reads .flaskenv/.env only through it"
    project = write_project(tmp_path, url)
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{url}"\n',
                                            encoding="utf-8")
    (project / ".flaskenv").write_text("FLASK_APP=plainapp:create_app('fromenv')\n",
                                       encoding="utf-8")
    (project / ".env").write_text("SHOP_COLOUR=teal\n", encoding="utf-8")
    write_script(project, "recycle/env", '''\
        """Show what dotenv set."""
        import os
        from flask import current_app

        def main():
            print(current_app.config["GREETING"], os.environ.get("SHOP_COLOUR"))
        ''')
    result = opsctl(project, "run", "recycle/env", cwd=project / "offline_script")
    assert result.returncode == 0, result.stderr
    assert "fromenv teal" in result.stdout


def test_wsgi_py_is_found_when_nothing_is_configured(tmp_path: Path, url: str) -> None:
    project = write_project(tmp_path, url)
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{url}"\n',
                                            encoding="utf-8")
    (project / "wsgi.py").write_text("from plainapp import create_app\napp = create_app('wsgi')\n",
                                     encoding="utf-8")
    write_script(project, "recycle/greet", GREET)
    result = opsctl(project, "run", "recycle/greet")
    assert result.returncode == 0, result.stderr
    assert "greeting wsgi" in result.stdout


@pytest.mark.parametrize(("app_source", "form", "expected"), [
    (None, "nosuchmodule:create_app", "no Flask app at 'nosuchmodule:create_app'"),
    ("import nonexistent_dependency_xyz\n", "broken", "No module named "
     "'nonexistent_dependency_xyz'"),
    ("raise RuntimeError('config missing')\n", "broken", "raised RuntimeError: config missing"),
    ("from flask import Flask\ndef create_app():\n    raise KeyError('DATABASE_URL')\n",
     "broken:create_app", "raised KeyError: 'DATABASE_URL'"),
    ("x = 1\n", "broken", "no Flask app at 'broken'"),
    ("from flask import Flask\napp = Flask('a')\n", "broken:nothing_here",
     "no Flask app at 'broken:nothing_here'"),
], ids=["unknown-module", "import-error", "raises", "factory-raises", "no-app-inside",
        "wrong-attribute"])
def test_an_app_that_cannot_load_is_a_clear_error(proj: Path, url: str, app_source: str | None,
                                                   form: str, expected: str) -> None:
    if app_source is not None:
        (proj / "broken.py").write_text(app_source, encoding="utf-8")
    result = opsctl(proj, "run", "--app", form, "recycle/greet")
    assert result.returncode == 79, result.stderr
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert ".;" not in result.stderr and ".." not in result.stderr.replace("...", "")
    assert "No such command" not in result.stderr and "Traceback" not in result.stderr
    assert not Path(url.removeprefix("sqlite:///")).exists() or runs_of(url) == []


def test_no_app_anywhere_says_what_was_tried(tmp_path: Path, url: str) -> None:
    project = write_project(tmp_path, url)
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{url}"\n',
                                            encoding="utf-8")
    write_script(project, "recycle/greet", GREET)
    result = opsctl(project, "run", "recycle/greet")
    assert result.returncode == 79
    for tried in ("--app", "[tool.opsctl] app", "FLASK_APP", "wsgi.py"):
        assert tried in result.stderr


def test_debug_shows_the_app_traceback(proj: Path) -> None:
    (proj / "broken.py").write_text("raise RuntimeError('config missing')\n", encoding="utf-8")
    result = opsctl(proj, "--debug", "run", "--app", "broken", "recycle/greet")
    assert result.returncode == 79
    assert "Traceback" in result.stderr and "config missing" in result.stderr


# --------------------------------------------------------------------------- entry points


CLICK_SCRIPT = '''\
"""A Click script."""
import click
from opsctl import report


@click.command()
@click.option("--limit", type=int, required=True, help="How many rows.")
@click.option("--password", help="A secret.")
@click.option("--verbose-token", is_flag=True, help="A flag whose name looks secret.")
@click.argument("names", nargs=-1)
def main(limit, password, verbose_token, names):
    """Do it with options."""
    print("limit", limit, "names", list(names))
    report(limit=limit)
'''


def test_click_main_gets_its_arguments_and_its_own_help(proj: Path, url: str) -> None:
    write_script(proj, "recycle/opts", CLICK_SCRIPT)
    helped = opsctl(proj, "run", "recycle/opts", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "Usage: opsctl run recycle/opts [OPTIONS] [NAMES]..." in helped.stdout
    assert "How many rows." in helped.stdout
    bad = opsctl(proj, "run", "recycle/opts", "--limit", "many")
    assert bad.returncode == 2
    assert "Invalid value for '--limit'" in bad.stderr
    assert runs_of(url) == []  # --help and usage errors run and record nothing
    ok = opsctl(proj, "run", "recycle/opts", "--limit", "3", "a", "b")
    assert ok.returncode == 0, ok.stderr
    assert "limit 3 names ['a', 'b']" in ok.stdout
    (run,) = runs_of(url)
    assert run.args == ["--limit", "3", "a", "b"] and run.summary == {"limit": 3}


def test_run_options_after_the_script_name_belong_to_the_script(proj: Path, url: str) -> None:
    write_script(proj, "recycle/opts", CLICK_SCRIPT)
    result = opsctl(proj, "run", "recycle/opts", "--limit", "1", "--dry-run")
    assert result.returncode == 2
    assert re.search(r"No such option:? '?--dry-run\b", result.stderr)
    assert "opsctl run --dry-run recycle/opts" in result.stderr
    waited = opsctl(proj, "run", "recycle/opts", "--wait", "60")
    assert waited.returncode == 2
    assert "(opsctl run --wait 60 recycle/opts ...)" in waited.stderr  # the value is kept
    greet = opsctl(proj, "run", "recycle/greet", "--", "--reason", "x", "--", "-v")
    assert greet.returncode == 0, greet.stderr
    assert "argv ['--reason', 'x', '--', '-v']" in greet.stdout
    assert "run 1 recycle/greet alice False None development" in greet.stdout


LEGACY_WRITER = '''\
    """Old style: writes a file when it runs."""
    from pathlib import Path

    if __name__ == "__main__":
        Path(__file__).with_suffix(".ran").write_text("ran")
    '''

PLAIN_WRITER = '''\
    """Plain main: writes a file when it runs.

    Second paragraph of the help.
    """
    from pathlib import Path


    def main():
        Path(__file__).with_suffix(".ran").write_text("ran")
    '''


@pytest.mark.parametrize("source", [PLAIN_WRITER, LEGACY_WRITER], ids=["function", "legacy"])
@pytest.mark.parametrize("misplaced", [
    ["--dry-run"], ["--force"], ["--yes"], ["-y"], ["--reason", "why"], ["--reason=why"],
    ["--wait"], ["--wait", "60"], ["--no-ledger"], ["--request-context"], ["--app", "x:y"],
], ids=lambda a: " ".join(a))
def test_run_options_after_a_plain_script_never_run_it(proj: Path, url: str, source: str,
                                                       misplaced: list[str]) -> None:
    path = write_script(proj, "recycle/writer", source)
    result = opsctl(proj, "run", "recycle/writer", "a", *misplaced)
    assert result.returncode == 2, result.stderr
    words = " ".join(misplaced)
    assert f"(opsctl run {words} recycle/writer ...)" in result.stderr
    assert "put it after --" in result.stderr
    assert not path.with_suffix(".ran").exists()
    assert runs_of(url) == []


def test_after_a_double_dash_run_options_reach_a_plain_script(proj: Path, url: str) -> None:
    write_script(proj, "recycle/plainargs", '''\
        """Print argv."""
        import sys

        def main():
            print("argv", sys.argv[1:])
        ''')
    result = opsctl(proj, "run", "recycle/plainargs", "--", "--dry-run", "--help")
    assert result.returncode == 0, result.stderr
    assert "argv ['--dry-run', '--help']" in result.stdout
    later = opsctl(proj, "run", "recycle/plainargs", "x", "--", "--dry-run")
    assert "argv ['x', '--', '--dry-run']" in later.stdout
    assert [r.args for r in runs_of(url)] == [["x", "--", "--dry-run"], ["--dry-run", "--help"]]


@pytest.mark.parametrize("source", [PLAIN_WRITER, LEGACY_WRITER], ids=["function", "legacy"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_of_a_plain_script_shows_its_docstring_and_runs_nothing(
        proj: Path, url: str, source: str, flag: str) -> None:
    path = write_script(proj, "recycle/writer", source)
    result = opsctl(proj, "run", "recycle/writer", flag)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: opsctl run recycle/writer [ARGS]...")
    assert "writes a file when it runs." in result.stdout
    assert "opsctl run recycle/writer -- --help" in result.stdout
    assert not path.with_suffix(".ran").exists()
    assert runs_of(url) == []


def test_async_main_is_awaited(proj: Path, url: str) -> None:
    write_script(proj, "recycle/aio", '''\
        """Async."""
        import asyncio

        async def main():
            await asyncio.sleep(0)
            print("awaited")
            return 3
        ''')
    result = opsctl(proj, "run", "recycle/aio")
    assert result.returncode == 3, result.stderr
    assert "awaited" in result.stdout
    assert "never awaited" not in result.stderr
    (run,) = runs_of(url)
    assert (run.status, run.exit_code) == ("failed", 3)


def test_plain_main_reads_argv_and_returns_its_exit_code(proj: Path, url: str) -> None:
    write_script(proj, "recycle/plain", '''\
        """argparse and a return code."""
        import argparse

        def main():
            parser = argparse.ArgumentParser()
            parser.add_argument("--code", type=int)
            return parser.parse_args().code
        ''')
    result = opsctl(proj, "run", "recycle/plain", "--code", "4")
    assert result.returncode == 4
    assert "exited with 4" in result.stderr
    (run,) = runs_of(url)
    assert (run.status, run.exit_code) == ("failed", 4)


def test_a_legacy_script_runs_as_main_once(proj: Path, url: str) -> None:
    write_script(proj, "recycle/legacy", '''\
        """Old style."""
        import sys
        from flask import current_app
        print("module level", __name__)

        if __name__ == "__main__":
            print("legacy", current_app.config["GREETING"], sys.argv[1:])
        ''')
    result = opsctl(proj, "run", "recycle/legacy", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("module level __main__") == 1
    assert "legacy plain ['x']" in result.stdout
    assert runs_of(url)[0].status == "succeeded"


def test_request_context_is_pushed_on_request(proj: Path, url: str) -> None:
    write_script(proj, "recycle/req", '''\
        """Read the request."""
        from flask import request

        def main():
            print("path", request.path)
        ''')
    result = opsctl(proj, "run", "--request-context", "recycle/req")
    assert result.returncode == 0, result.stderr
    assert "path /" in result.stdout
    without = opsctl(proj, "run", "recycle/req")
    assert without.returncode == 1
    assert "outside of request context" in without.stderr
    assert "run it with opsctl run --request-context recycle/req" in without.stderr


def test_current_run_reason_and_summary(proj: Path, url: str) -> None:
    result = opsctl(proj, "run", "--reason", "TICKET-7", "recycle/greet")
    assert result.returncode == 0, result.stderr
    (run,) = runs_of(url)
    assert f"run {run.id} recycle/greet alice False TICKET-7 development" in result.stdout
    assert run.reason == "TICKET-7" and run.summary == {"greeting": "plain"}
    assert run.operator == "alice" and run.environment == "development"
    assert run.output_tail is not None and "greeting plain" in run.output_tail


def test_output_is_live_and_its_tail_interleaves_both_streams(proj: Path, url: str,
                                                              tmp_path: Path) -> None:
    write_script(proj, "recycle/talk", f'''\
        """Talk, then wait."""
        import sys, time
        from pathlib import Path

        def main():
            print("out one")
            print("err one", file=sys.stderr)
            while not Path({str(tmp_path / "go")!r}).exists():
                time.sleep(0.05)
            print("out two")
        ''')
    with spawned(proj, "run", "recycle/talk") as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "out one\n"  # before the script has ended
        assert proc.poll() is None
        (tmp_path / "go").touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (run,) = runs_of(url)
    assert run.output_tail == "out one\nerr one\nout two\n"


def test_secrets_are_redacted_in_the_ledger(proj: Path, url: str) -> None:
    write_script(proj, "recycle/opts", CLICK_SCRIPT)
    result = opsctl(proj, "run", "recycle/opts", "--password", "hunter2", "--limit", "1",
                    "--verbose-token", "keep-me")
    assert result.returncode == 0, result.stderr
    (run,) = runs_of(url)
    assert run.args == ["--password", "***", "--limit", "1", "--verbose-token", "keep-me"]
    write_script(proj, "recycle/any", '"""Any args."""\ndef main():\n    pass\n')
    opsctl(proj, "run", "recycle/any", "--api-key=abc", "--token", "t0k", "--db_password",
           "pw", "--name", "bob")
    assert runs_of(url, "recycle/any")[0].args == [
        "--api-key=***", "--token", "***", "--db_password", "***", "--name", "bob"]
    assert "hunter2" not in json.dumps([r.as_dict() for r in runs_of(url)])


def test_git_revision_and_dirty_flag_are_recorded(proj: Path, url: str) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=proj, check=True, capture_output=True,
                              text=True, env={**os.environ, "GIT_AUTHOR_NAME": "t",
                                              "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                                              "GIT_COMMITTER_EMAIL": "t@x"}).stdout.strip()
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "start")
    head = git("rev-parse", "HEAD")
    assert opsctl(proj, "run", "recycle/greet").returncode == 0
    (proj / "plainapp.py").write_text((proj / "plainapp.py").read_text() + "\n# edited\n")
    assert opsctl(proj, "run", "recycle/greet").returncode == 0
    newest, oldest = runs_of(url)
    assert (oldest.git_revision, oldest.git_dirty) == (head, False)
    assert (newest.git_revision, newest.git_dirty) == (head, True)
    assert oldest.sha256 is not None and len(oldest.sha256) == 64


def test_run_directly_runs_like_opsctl_run(proj: Path, url: str, tmp_path: Path) -> None:
    path = write_script(proj, "recycle/direct", '''\
        """Run me with python."""
        import click
        from opsctl import current_run

        @click.command()
        @click.option("--name")
        def main(name):
            """Say who."""
            print("direct", name, current_run().script)

        if __name__ == "__main__":
            from opsctl import run_directly

            run_directly(__file__)
        ''')
    result = subprocess.run([sys.executable, str(path), "--name", "zoe"], cwd=tmp_path,
                            env=env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "direct zoe recycle/direct" in result.stdout
    (run,) = runs_of(url)
    assert run.script == "recycle/direct" and run.args == ["--name", "zoe"]


# --------------------------------------------------------------------------- refusals


def test_unreachable_ledger_refuses_before_the_script_starts(proj: Path, tmp_path: Path) -> None:
    marker = tmp_path / "side-effect"
    write_script(proj, "recycle/touch", f'''\
        """Leave a mark."""
        from pathlib import Path

        def main():
            Path({str(marker)!r}).touch()
        ''')
    dead = "postgresql+psycopg://postgres:pw@127.0.0.1:1/none"
    result = opsctl(proj, "run", "recycle/touch", OPSCTL_LEDGER_URL=dead)
    assert result.returncode == 78, result.stderr
    assert "ledger at postgresql+psycopg://postgres:***@127.0.0.1:1/none is unreachable" \
        in result.stderr
    assert "--no-ledger" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()
    anyway = opsctl(proj, "run", "--no-ledger", "recycle/touch", OPSCTL_LEDGER_URL=dead)
    assert anyway.returncode == 0, anyway.stderr
    assert marker.exists()
    assert "not recorded" in anyway.stderr


def test_no_ledger_still_locks_on_this_machine(proj: Path, tmp_path: Path) -> None:
    signals = tmp_path / "signals"
    signals.mkdir()
    write_script(proj, "recycle/hold", HOLD_SCRIPT.format(folder=str(signals)))
    with spawned(proj, "run", "--no-ledger", "recycle/hold") as first:
        wait_for(lambda: started_pids(signals) or first.poll() is not None, what="the start")
        second = opsctl(proj, "run", "--no-ledger", "recycle/hold")
        assert second.returncode == 75
        assert f"pid {first.pid}" in second.stderr
        (signals / "release").touch()
        first.communicate(timeout=60)
    assert first.returncode == 0


def test_the_no_ledger_lock_is_one_however_the_project_is_named(proj: Path,
                                                               tmp_path: Path) -> None:
    """The lock is the real project folder's: ``--project ..`` from a subfolder, or the
    project through a symlink, meets the lock the first run holds."""
    signals = tmp_path / "signals"
    signals.mkdir()
    write_script(proj, "recycle/hold", HOLD_SCRIPT.format(folder=str(signals)))
    link = tmp_path / "link"
    link.symlink_to(proj)
    with spawned(proj, "run", "--no-ledger", "recycle/hold") as first:
        wait_for(lambda: started_pids(signals) or first.poll() is not None, what="the start")
        for project, cwd in ((Path(".."), proj / "offline_script"), (link, tmp_path)):
            second = opsctl(project, "run", "--no-ledger", "recycle/hold", cwd=cwd)
            assert second.returncode == 75, second.stderr
        (signals / "release").touch()
        first.communicate(timeout=60)
    assert first.returncode == 0


def test_run_once_refuses_a_succeeded_unrecycle_script(proj: Path, url: str) -> None:
    # plainapp has no database opsctl can roll back: the script declares that it honours a
    # dry run itself, so --dry-run may run it.
    write_script(proj, "unrecycle/fix", '''\
        """A one-off fix."""
        import sys

        OPSCTL_DRY_RUN = "honoured"

        def main():
            print("fixing")
            return int(sys.argv[1]) if len(sys.argv) > 1 else 0
        ''')
    assert opsctl(proj, "run", "unrecycle/fix", "1").returncode == 1  # failed: no guard yet
    assert opsctl(proj, "run", "--dry-run", "unrecycle/fix").returncode == 0  # dry: no guard
    assert opsctl(proj, "run", "unrecycle/fix").returncode == 0
    again = opsctl(proj, "run", "unrecycle/fix")
    assert again.returncode == 76
    assert "unrecycle/fix already succeeded (run 3 by alice" in again.stderr
    assert "--force" in again.stderr and "fixing" not in again.stdout
    forced = opsctl(proj, "run", "--force", "unrecycle/fix")
    assert forced.returncode == 0
    assert len(runs_of(url)) == 4


def test_a_protected_environment_needs_confirmation(proj: Path, url: str) -> None:
    refused = opsctl(proj, "run", "recycle/greet", OPSCTL_ENV="production")
    assert refused.returncode == 77
    assert "protected environment 'production'" in refused.stderr and "--yes" in refused.stderr
    assert "greeting" not in refused.stdout
    assert runs_of(url) == []
    confirmed = opsctl(proj, "run", "--yes", "recycle/greet", OPSCTL_ENV="production")
    assert confirmed.returncode == 0
    assert runs_of(url)[0].environment == "production"


def test_the_app_config_names_the_environment(tmp_path: Path, url: str) -> None:
    project = write_project(tmp_path, url, app="plainapp:create_app('x')",
                            extra='protected_environments = ["staging"]\n')
    (project / "plainapp.py").write_text(
        "from flask import Flask\n"
        "def create_app(n):\n    app = Flask('s')\n    app.config['ENV'] = 'staging'\n"
        "    app.config['GREETING'] = n\n    return app\n", encoding="utf-8")
    write_script(project, "recycle/greet", GREET)
    result = opsctl(project, "run", "recycle/greet")
    assert result.returncode == 77
    assert "'staging'" in result.stderr


@pytest.mark.parametrize(("answer", "code"), [("n", 77), ("y", 0)])
def test_confirmation_at_a_terminal(proj: Path, url: str, answer: str, code: int) -> None:
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(opsctl_argv(proj, "run", "--reason", "TICKET-9",
                                            "recycle/greet"),
                                cwd=proj, env=env(OPSCTL_ENV="production"), stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(master, f"{answer}\n".encode())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == code, err
    assert "About to run recycle/greet" in err and "environment:  production" in err
    assert "reason:       TICKET-9" in err and "app:          plainapp:app" in err
    assert ("greeting plain" in out) == (code == 0)


@pytest.mark.parametrize(("how", "code", "said"), [
    ("eof", 77, "no answer: recycle/greet did not run"),
    ("ctrl-c", 130, "interrupted: recycle/greet did not run"),
])
def test_no_answer_at_the_confirmation(proj: Path, url: str, how: str, code: int,
                                       said: str) -> None:
    import select
    import signal

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(opsctl_argv(proj, "run", "recycle/greet"), cwd=proj,
                                env=env(OPSCTL_ENV="production"), stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        seen = b""
        while b"Run it?" not in seen:
            ready, _, _ = select.select([proc.stderr], [], [], 60)
            assert ready and proc.poll() is None, "no question asked"
            seen += os.read(proc.stderr.fileno(), 4096)
        if how == "eof":
            os.write(master, b"\x04")  # Ctrl-D: end of input at the terminal
        else:
            # Once it sleeps in the read: a signal just before the read starts is only
            # noticed after it (CPython's handlers run between bytecodes).
            wait_for(lambda: _state(proc.pid) == "S", what="the read of the answer")
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == code, err
    assert err.strip() == f"Error: {said}"
    assert "Aborted" not in err and "greeting" not in out
    assert runs_of(url) == []


def _state(pid: int) -> str:
    """The process's scheduler state from /proc (S: sleeping, as in a read)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2]


def test_run_help_puts_opsctl_options_before_the_script() -> None:
    from opsctl.cli.run import run_command

    examples = [line.strip() for line in (run_command.help or "").splitlines()
                if line.strip().startswith("opsctl run ")]
    assert len(examples) == 4
    for example in examples:
        words = example.split()
        script = next(i for i, w in enumerate(words[2:], 2) if "/" in w)
        after = words[script + 1:]
        assert not any(w in ("--dry-run", "--wait", "--reason", "--force", "--yes")
                       for w in after), example


def test_a_syntax_error_runs_and_records_nothing(proj: Path, url: str) -> None:
    write_script(proj, "recycle/broken", '"""Broken."""\ndef main(:\n    pass\n')
    result = opsctl(proj, "run", "recycle/broken")
    assert result.returncode == 74
    assert "recycle/broken has a syntax error at line 2" in result.stderr
    assert result.stderr.count("\n") == 1
    assert runs_of(url) == []


def test_a_binary_file_is_not_python_source(proj: Path, url: str) -> None:
    (proj / "offline_script" / "recycle" / "blob.py").write_bytes(b"x = 1\0\1\2\n")
    result = opsctl(proj, "run", "recycle/blob")
    assert result.returncode == 74
    assert "recycle/blob is not Python source (it contains NUL bytes" in result.stderr
    assert "None" not in result.stderr and result.stderr.count("\n") == 1
    assert runs_of(url) == []


@pytest.mark.parametrize("source", [
    '"""Bad import."""\nimport no_such_lib_q\n\ndef main():\n    pass\n',
    '"""Bad import, Click."""\nimport click\nimport no_such_lib_q\n\n'
    '@click.command()\ndef main():\n    pass\n',
    '"""Bad import, legacy."""\nimport no_such_lib_q\n\nif __name__ == "__main__":\n'
    '    pass\n',
], ids=["function", "click", "legacy"])
def test_a_script_whose_import_raises_is_recorded_as_failed(proj: Path, url: str,
                                                            source: str) -> None:
    write_script(proj, "recycle/imports", source)
    result = opsctl(proj, "run", "recycle/imports", "--x")
    assert result.returncode == 1
    assert "No module named 'no_such_lib_q'" in result.stderr
    assert "Traceback" not in result.stderr  # the ledger keeps it
    (run,) = runs_of(url)
    assert (run.status, run.exit_code, run.args) == ("failed", 1, ["--x"])
    assert "Traceback" in (run.error or "") and "no_such_lib_q" in (run.error or "")
    assert f"opsctl history --run {run.id} shows the traceback" in result.stderr


@pytest.mark.parametrize(("name", "expected"), [
    ("recycle/gret", "no script 'recycle/gret'"),
    ("../plainapp.py", "outside the offline-script root"),
    ("/etc/passwd", "outside the offline-script root"),
], ids=["unknown", "escapes", "absolute"])
def test_a_bad_script_name_is_refused(proj: Path, name: str, expected: str) -> None:
    result = opsctl(proj, "run", name)
    assert result.returncode == 74
    assert expected in result.stderr and result.stderr.count("\n") == 1


def test_unknown_script_suggests_the_closest(proj: Path) -> None:
    result = opsctl(proj, "run", "recycle/gret")
    assert "did you mean recycle/greet" in result.stderr


# --------------------------------------------------------------------------- flask ops


def test_flask_ops_run_uses_flask_s_app(proj: Path, url: str) -> None:
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run([str(flask), "--app", "plainapp:create_app('viaflask')", "ops",
                             "run", "recycle/greet"], cwd=proj, env=env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "greeting viaflask" in result.stdout
    fallback = subprocess.run([str(flask), "ops", "run", "recycle/greet"], cwd=proj,
                              env=env(), capture_output=True, text=True, timeout=60)
    assert fallback.returncode == 0, fallback.stderr
    assert "greeting plain" in fallback.stdout
    misplaced = subprocess.run([str(flask), "ops", "run", "recycle/greet", "--dry-run"],
                               cwd=proj, env=env(), capture_output=True, text=True, timeout=60)
    assert misplaced.returncode == 2
    assert "(flask ops run --dry-run recycle/greet ...)" in misplaced.stderr
    helped = subprocess.run([str(flask), "ops", "--help"], cwd=proj, env=env(),
                            capture_output=True, text=True, timeout=60)
    assert "flask --app opsctl.demo ops run" in helped.stdout
    assert "--app demo " not in helped.stdout
    history = subprocess.run([str(flask), "ops", "history", "--json"], cwd=proj, env=env(),
                             capture_output=True, text=True, timeout=60)
    assert [r["script"] for r in json.loads(history.stdout)] == ["recycle/greet"] * 2


# --------------------------------------------------------------------------- the demo


@pytest.mark.slow  # every example script, run for real
def test_the_demo_s_example_scripts_run_end_to_end(tmp_path: Path) -> None:
    """The repository's own offline_script/ against the demo app, as the README runs it, with
    the demo database and the ledger moved into tmp_path."""
    repo = Path(__file__).resolve().parent.parent
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    extra = {"DEMO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
             "OPSCTL_LEDGER_URL": ledger_url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return opsctl(repo, "run", *args, cwd=tmp_path, **extra)

    first = run("recycle/clear_cache")
    assert first.returncode == 0, first.stderr
    assert "deleted" in first.stdout
    assert run("--dry-run", "recycle/flush_calendar", "--days", "30").returncode == 0
    assert run("recycle/flush_calendar", "--days", "30").returncode == 0
    dry = run("--dry-run", "unrecycle/flush_order_data")
    real = run("unrecycle/flush_order_data")
    assert dry.returncode == 0 and real.returncode == 0, real.stderr
    # The dry run changed nothing: the real run found the same statuses to fix.
    assert dry.stdout.split("(")[0].strip() == real.stdout.split("(")[0].strip()
    assert run("unrecycle/flush_order_data").returncode == 76
    out = tmp_path / "customers.csv"
    export = run("yuzaoyah/ts_2024_06_10_export_custom_s", "--out", str(out))
    assert export.returncode == 0, export.stderr
    assert out.read_text(encoding="utf-8").count("\n") > 1
    history = opsctl(repo, "history", "--json", cwd=tmp_path, **extra)
    runs = json.loads(history.stdout)
    assert [r["status"] for r in runs] == ["succeeded"] * 6
    assert runs[-1]["script"] == "recycle/clear_cache" and "deleted" in runs[-1]["summary"]
