"""One script, one lock, one history, one ledger: however a script or the ledger is named.

A symlink inside the root and a bare name reach the file's own key; a relative SQLite
``ledger_url`` means the project's file wherever opsctl is started; an in-memory ledger (which
would record nothing and lock nothing) is refused; a hidden file is never run and never
silently skipped by the lint.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from runkit import HOLD_SCRIPT, opsctl, spawned, started_pids, wait_for, write_project, write_script

from opsctl.catalogue import Catalogue
from opsctl.config import load_config
from opsctl.errors import ConfigError, ScriptNotFound

QUICK = '''\
"""Say hello."""


def main():
    print("hello")
'''


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """recycle/link_in.py is a symlink to recycle/real_job.py, both under the root."""
    project = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    write_script(project, "recycle/real_job", QUICK)
    os.symlink("real_job.py", project / "offline_script" / "recycle" / "link_in.py")
    return project


@pytest.mark.parametrize("spelling", ["link_in", "link_in.py", "recycle/link_in",
                                      "recycle/link_in.py", "offline_script/recycle/link_in.py"])
def test_every_name_of_a_symlinked_script_is_the_file_s_own_key(linked: Path,
                                                                 spelling: str) -> None:
    catalogue = Catalogue(linked / "offline_script")
    assert catalogue.resolve(spelling, cwd=linked).key == "recycle/real_job"


@pytest.mark.slow  # a real holder process
def test_a_symlink_and_its_target_share_one_lock(linked: Path, tmp_path: Path) -> None:
    signals = tmp_path / "signals"
    signals.mkdir()
    (linked / "offline_script" / "recycle" / "real_job.py").write_text(
        HOLD_SCRIPT.format(folder=str(signals)), encoding="utf-8")
    with spawned(linked, "run", "recycle/real_job") as holder:
        wait_for(lambda: started_pids(signals) or holder.poll() is not None, what="the holder")
        second = opsctl(linked, "run", "link_in")
        assert second.returncode == 75, second.stderr
        assert "recycle/real_job is locked by run" in second.stderr
        (signals / "release").touch()
        holder.communicate(timeout=60)
    assert holder.returncode == 0


@pytest.mark.parametrize("url", ["sqlite:///instance/opsctl.sqlite3",
                                 "sqlite:///./instance/../instance/opsctl.sqlite3",
                                 "sqlite+pysqlite:///instance/opsctl.sqlite3?timeout=5"])
def test_a_relative_sqlite_ledger_url_means_the_project_s_file(tmp_path: Path, url: str) -> None:
    project = write_project(tmp_path, url)
    config = load_config(project, environ={})
    expected = project / "instance" / "opsctl.sqlite3"
    assert config.effective_ledger_url.startswith(f"sqlite:///{expected}") or \
        config.effective_ledger_url.startswith(f"sqlite+pysqlite:///{expected}")
    if "?" in url:
        assert config.effective_ledger_url.endswith("?timeout=5")
    # The environment variable is read the same way.
    from_env = load_config(project, environ={"OPSCTL_LEDGER_URL": "sqlite:///elsewhere.db"})
    assert from_env.effective_ledger_url == f"sqlite:///{project / 'elsewhere.db'}"


def test_an_absolute_or_server_ledger_url_is_kept(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'abs.db'}", "postgresql://u@127.0.0.1/test",
                "mysql+pymysql://root@127.0.0.1:3306/test"):
        project = write_project(tmp_path / url.split(":")[0].replace("+", "_"), url)
        assert load_config(project, environ={}).effective_ledger_url == url


def test_runs_from_a_subfolder_use_the_project_s_one_ledger(tmp_path: Path) -> None:
    project = write_project(tmp_path, "sqlite:///instance/opsctl.sqlite3")
    write_script(project, "recycle/hello", QUICK)
    sub = project / "offline_script" / "recycle"
    assert opsctl(project, "run", "recycle/hello", cwd=sub).returncode == 0
    assert opsctl(project, "run", "recycle/hello", cwd=project).returncode == 0
    assert (project / "instance" / "opsctl.sqlite3").exists()
    assert not (sub / "instance").exists()
    shown = opsctl(project, "history", "--json", cwd=sub)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count('"script": "recycle/hello"') == 2


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://",
                                 "sqlite:///file::memory:?uri=true"])
def test_an_in_memory_ledger_is_refused(tmp_path: Path, url: str) -> None:
    project = write_project(tmp_path, url)
    with pytest.raises(ConfigError, match="in memory"):
        load_config(project, environ={})
    write_script(project, "recycle/hello", QUICK)
    proc = opsctl(project, "run", "recycle/hello")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""  # refused before the script started
    assert "in memory" in proc.stderr and "--no-ledger" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("spelling", ["recycle/.hidden", "recycle/.hidden.py",
                                      "offline_script/recycle/.hidden.py"])
def test_a_hidden_file_is_not_run(tmp_path: Path, spelling: str) -> None:
    project = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    write_script(project, "recycle/.hidden", QUICK)
    with pytest.raises(ScriptNotFound, match="hidden"):
        Catalogue(project / "offline_script").resolve(spelling, cwd=project)
    proc = opsctl(project, "run", spelling)
    assert proc.returncode == 74, proc.stderr
    assert "hello" not in proc.stdout
    assert "hidden" in proc.stderr and "rename it to recycle/hidden.py" in proc.stderr


def test_the_lint_reports_hidden_scripts_and_leaves_other_dot_files_alone(tmp_path: Path) -> None:
    project = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    root = project / "offline_script"
    write_script(project, "recycle/.hidden", QUICK)
    write_script(project, "alice/.ts_2024_06_10_scratch", QUICK)
    (root / "recycle" / ".gitkeep").write_text("")
    (root / "alice" / ".DS_Store").write_text("")
    proc = opsctl(project, "lint", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    import json

    found = {(f["path"], f["code"]) for f in json.loads(proc.stdout)["findings"]}
    assert ("offline_script/recycle/.hidden.py", "OPS301") in found
    assert ("offline_script/alice/.ts_2024_06_10_scratch.py", "OPS201") in found
    assert not any(".gitkeep" in p or ".DS_Store" in p for p, _ in found)
