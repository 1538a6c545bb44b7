"""The production guard cannot be switched off from the operator's shell.

The environment recorded is the app's own when the app states one; ``OPSCTL_ENV`` in the
operator's environment can add protection, never remove it, and a disagreement is shown and
recorded as a note. Names compare case- and space-insensitively, ``prod`` being
``production``; ``OPSCTL_PROTECTED_ENVIRONMENTS`` adds to the configured list.

The decision is a pure function (:mod:`opsctl.run.environment`), tested here with plain
dicts; then real ``opsctl run`` processes against a SQLite ledger.
"""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest
from conftest import write
from runkit import env, ledger, opsctl, opsctl_argv, write_project, write_script

from opsctl.config import load_config
from opsctl.errors import DECLINED
from opsctl.run.environment import canonical, decide, is_protected

PROTECTED = ("production",)


@pytest.mark.parametrize("name", ["production", "Production", "PRODUCTION", "production ",
                                  " production\n", "prod", "Prod ", "PROD"])
def test_every_spelling_of_production_is_protected(name: str) -> None:
    assert canonical(name) == "production"
    assert is_protected(name, PROTECTED)
    assert is_protected("production", ["Prod "])  # the configured list is compared alike


@pytest.mark.parametrize("name", ["development", "staging", "productions", "pre-production",
                                  "prod2", ""])
def test_other_names_are_not_production(name: str) -> None:
    assert not is_protected(name, PROTECTED)


def test_the_app_s_own_environment_is_recorded_and_the_operator_cannot_lower_it() -> None:
    env_ = decide({"ENV": "production"}, {"OPSCTL_ENV": "development"}, PROTECTED)
    assert env_.name == "production" and env_.protected
    assert env_.conflict == ("environment names disagree: the app's ENV says 'production', "
                             "OPSCTL_ENV in the operator's environment says 'development'; "
                             "the app's own, 'production', is recorded, and the run is "
                             "protected")


def test_the_operator_can_add_protection() -> None:
    env_ = decide({"ENV": "development"}, {"OPSCTL_ENV": "production"}, PROTECTED)
    assert env_.name == "development" and env_.protected
    assert env_.protected_by == "OPSCTL_ENV in the operator's environment says 'production'"
    assert env_.conflict is not None and "protected" in env_.conflict


def test_the_app_s_opsctl_env_comes_before_its_env_and_neither_lowers_the_other() -> None:
    env_ = decide({"OPSCTL_ENV": "staging", "ENV": "Production"}, {}, PROTECTED)
    assert env_.name == "staging" and env_.protected
    assert env_.protected_by == "the app's ENV says 'Production'"
    assert env_.conflict is not None


def test_without_the_app_stating_one_the_operator_s_names_it() -> None:
    assert decide({}, {"OPSCTL_ENV": "production"}, PROTECTED) == \
        ("production", True, None, None)
    assert decide({"ENV": None}, {"OPSCTL_ENV": " "}, PROTECTED) == \
        ("development", False, None, None)
    # The same environment spelled two ways is no disagreement; the app's spelling is kept.
    same = decide({"ENV": "Production "}, {"OPSCTL_ENV": "prod"}, PROTECTED)
    assert same == ("Production", True, None, None)


def test_a_disagreement_between_unprotected_names_is_still_told() -> None:
    env_ = decide({"ENV": "staging"}, {"OPSCTL_ENV": "development"}, PROTECTED)
    assert env_.name == "staging" and not env_.protected
    assert env_.conflict is not None and env_.conflict.endswith("'staging', is recorded")


def test_the_environment_variable_adds_protected_environments(tmp_path: Path) -> None:
    assert load_config(tmp_path, environ={"OPSCTL_PROTECTED_ENVIRONMENTS": "staging"}) \
        .protected_environments == ("production", "staging")
    write(tmp_path / "pyproject.toml", '[tool.opsctl]\nprotected_environments = ["live"]\n')
    assert load_config(tmp_path, environ={"OPSCTL_PROTECTED_ENVIRONMENTS": "qa, live"}) \
        .protected_environments == ("live", "qa")
    assert load_config(tmp_path, environ={}).protected_environments == ("live",)


# --------------------------------------------------------------------------- real runs


ENV_APP = '''\
"""An app that states its environment."""
from flask import Flask


def create_app(name):
    app = Flask("envapp")
    app.config["ENV"] = name
    app.config["GREETING"] = name
    return app
'''

SAY = '''\
"""Say which environment the run is in."""
from opsctl import current_run


def main():
    print("ran in", current_run().environment)
'''


def project_stating(tmp_path: Path, name: str, extra: str = "") -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    project = write_project(tmp_path, url, app=f"envapp:create_app('{name}')", extra=extra)
    (project / "envapp.py").write_text(ENV_APP, encoding="utf-8")
    write_script(project, "recycle/say", SAY)
    return project, url


def runs_of(url: str) -> list:  # type: ignore[type-arg]
    with ledger(url) as book:
        return book.runs(None)


def test_opsctl_env_in_the_shell_does_not_lift_the_app_s_production(tmp_path: Path) -> None:
    project, url = project_stating(tmp_path, "production")
    refused = opsctl(project, "run", "recycle/say", OPSCTL_ENV="development")
    assert refused.returncode == DECLINED, refused.stderr
    assert "protected environment 'production'" in refused.stderr
    assert "ran in" not in refused.stdout and runs_of(url) == []

    confirmed = opsctl(project, "run", "--yes", "recycle/say", OPSCTL_ENV="development")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "ran in production" in confirmed.stdout
    (run,) = runs_of(url)
    assert run.environment == "production"
    # The first note names the app and its database, as the run's first line did.
    assert run.notes[0] == ("app envapp:create_app('production') ([tool.opsctl] app), no "
                            "database in its configuration")
    assert run.notes[1:] == ("environment names disagree: the app's ENV says 'production', "
                         "OPSCTL_ENV in the operator's environment says 'development'; the "
                         "app's own, 'production', is recorded, and the run is protected",)
    assert "environment names disagree" in confirmed.stderr  # --yes asked nothing: told
    shown = opsctl(project, "history", "--run", str(run.id))
    assert "environment names disagree" in shown.stdout


@pytest.mark.parametrize("name", ["Production", "prod", "production "])
def test_every_spelling_of_production_in_the_app_is_protected(tmp_path: Path,
                                                              name: str) -> None:
    project, url = project_stating(tmp_path, name)
    refused = opsctl(project, "run", "recycle/say")
    assert refused.returncode == DECLINED, refused.stderr
    assert runs_of(url) == []
    assert opsctl(project, "run", "--yes", "recycle/say").returncode == 0
    (run,) = runs_of(url)
    assert run.environment == name.strip() and len(run.notes) == 1  # the app's line alone


def test_the_protected_environments_variable_cannot_replace_production(tmp_path: Path) -> None:
    project, url = project_stating(tmp_path, "production")
    refused = opsctl(project, "run", "recycle/say", OPSCTL_PROTECTED_ENVIRONMENTS="staging")
    assert refused.returncode == DECLINED, refused.stderr
    assert runs_of(url) == []


def test_the_operator_s_production_protects_a_development_app(tmp_path: Path) -> None:
    project, url = project_stating(tmp_path, "development")
    refused = opsctl(project, "run", "recycle/say", OPSCTL_ENV="production")
    assert refused.returncode == DECLINED, refused.stderr
    assert refused.stderr == (
        "Error: recycle/say would run in the environment 'development', protected because "
        "OPSCTL_ENV in the operator's environment says 'production', and there is no "
        "terminal to confirm it; pass --yes to run it non-interactively\n")
    assert opsctl(project, "run", "--yes", "recycle/say", OPSCTL_ENV="production") \
        .returncode == 0
    (run,) = runs_of(url)
    assert run.environment == "development"
    assert len(run.notes) == 2 and \
        "OPSCTL_ENV in the operator's environment says 'production'" in run.notes[1]


def test_a_disagreement_in_an_unprotected_run_is_warned_and_recorded(tmp_path: Path) -> None:
    project, url = project_stating(tmp_path, "staging")
    ran = opsctl(project, "run", "recycle/say", OPSCTL_ENV="development")
    assert ran.returncode == 0, ran.stderr
    warning, first, *_ = ran.stderr.splitlines()
    assert warning == ("warning: environment names disagree: the app's ENV says 'staging', "
                       "OPSCTL_ENV in the operator's environment says 'development'; the "
                       "app's own, 'staging', is recorded")
    assert first.startswith("opsctl: app envapp:create_app('staging') ")
    (run,) = runs_of(url)
    assert run.environment == "staging" and len(run.notes) == 2


@pytest.mark.parametrize(("app_env", "shell_env", "line"), [
    ("production", "development", "environment:  production (protected)"),
    ("development", "prod", "environment:  development (protected: OPSCTL_ENV in the "
                            "operator's environment says 'prod')"),
])
def test_the_prompt_shows_the_disagreement(tmp_path: Path, app_env: str, shell_env: str,
                                           line: str) -> None:
    project, url = project_stating(tmp_path, app_env)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(opsctl_argv(project, "run", "recycle/say"), cwd=project,
                                env=env(OPSCTL_ENV=shell_env), stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(master, b"y\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    assert line in err
    assert (f"  conflict:     environment names disagree: the app's ENV says '{app_env}', "
            f"OPSCTL_ENV in the operator's environment says '{shell_env}'") in err
    assert f"ran in {app_env}" in out
    (run,) = runs_of(url)
    assert run.environment == app_env and len(run.notes) == 2


def test_the_notes_of_a_run_recorded_whole_survive_the_local_journal(tmp_path: Path) -> None:
    """A script whose import raised is recorded whole with its notes (an environment
    disagreement); kept in the journal through an outage, the row it becomes keeps them, the
    late note added after."""
    from opsctl.ledger.engine import make_engine
    from opsctl.ledger.journal import Journal
    from opsctl.ledger.store import Ledger, open_ledger
    from opsctl.ledger.values import Process

    project, url = project_stating(tmp_path, "production")
    config = load_config(project)
    with open_ledger(config) as book:
        run, ended = book.record(script="recycle/broken", process=Process.current("alice"),
                                 args=[], status="failed", exit_code=1, error="ImportError",
                                 notes=["names disagree"])
        assert ended.how == "recorded" and run is not None and run.notes == ("names disagree",)
    twin = Ledger(make_engine("sqlite:////nonexistent-folder/x/ledger.sqlite3"), url)
    twin.retry_seconds = 0
    twin.journal = Journal(str(project / "instance" / "opsctl-journal"), url)
    try:
        run, ended = twin.record(script="recycle/broken", process=Process.current("alice"),
                                 args=[], status="failed", exit_code=1, error="ImportError",
                                 notes=["names disagree again"])
    finally:
        twin.close()
    assert run is None and ended.how == "journaled"
    with open_ledger(config) as book:  # opening it records the journal
        late = book.runs("recycle/broken")[0]
    assert late.notes[0] == "names disagree again"
    assert late.notes[1].startswith("recorded late from the local journal")
