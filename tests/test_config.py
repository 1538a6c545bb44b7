from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import write

from opsctl.config import find_project_dir, load_config
from opsctl.errors import ConfigError


def test_find_by_pyproject_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname='x'\n\n[tool.opsctl]\nstale_days = 3\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_dir(deep) == str(tmp_path)


def test_find_by_offline_script_folder(tmp_path: Path) -> None:
    (tmp_path / "offline_script" / "recycle").mkdir(parents=True)
    assert find_project_dir(tmp_path / "offline_script" / "recycle") == str(tmp_path)


def test_pyproject_without_table_is_not_a_project(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname='x'\n")
    assert find_project_dir(tmp_path) is None


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, environ={})
    assert cfg.root == tmp_path / "offline_script"
    assert cfg.stale_days == 90
    assert cfg.app is None
    assert cfg.effective_ledger_url == f"sqlite:///{tmp_path}/instance/opsctl.sqlite3"


def test_precedence_file_env_option(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml",
          '[tool.opsctl]\nstale_days = 10\napp = "a:create_app"\nroot = "scripts"\n')
    cfg = load_config(tmp_path, environ={})
    assert (cfg.stale_days, cfg.app, cfg.root) == (10, "a:create_app", tmp_path / "scripts")
    cfg = load_config(tmp_path, environ={"OPSCTL_STALE_DAYS": "20", "OPSCTL_APP": "b"})
    assert (cfg.stale_days, cfg.app) == (20, "b")
    cfg = load_config(tmp_path, environ={"OPSCTL_STALE_DAYS": "20"},
                      overrides={"stale_days": 30})
    assert cfg.stale_days == 30


def test_developers_from_env_list(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, environ={"OPSCTL_DEVELOPERS": "ann, bob"})
    assert cfg.developers == ("ann", "bob")


@pytest.mark.parametrize(("toml", "message"), [
    ("[tool.opsctl]\nstale_days = 'ninety'\n", r"stale_days must be a whole number.*'ninety'"),
    ("[tool.opsctl]\nstale_days = true\n", "stale_days must be"),
    ("[tool.opsctl]\ndevelopers = 'ann'\n", "developers must be a list"),
    ("[tool.opsctl]\nstail_days = 3\n", "unknown key.*'stail_days'"),
    ("[tool.opsctl\nbroken", "not valid TOML"),
    ("[tool.opsctl]\ndeveloper_pattern = '(['\n", "not a valid regular expression"),
])
def test_bad_config_names_key_and_file(tmp_path: Path, toml: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", toml)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(tmp_path, environ={})
    assert "pyproject.toml" in info.value.message
    assert info.value.exit_code == 2


def test_bad_env_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OPSCTL_STALE_DAYS must be"):
        load_config(tmp_path, environ={"OPSCTL_STALE_DAYS": "soon"})


@pytest.mark.parametrize(("path", "tidied"), [
    ("a/./b//c/", "a/b/c"), ("/x/../y/.", "/x/../y"), ("./", "."), ("", "."), ("/", "/"),
    ("..", ".."), ("a/b/../../c", "a/b/../../c"),
])
def test_tidy_spells_paths_as_pathlib_does(path: str, tidied: str) -> None:
    from opsctl.config import tidy

    assert tidy(path) == tidied == (str(Path(path)) if path else ".")


def test_a_root_with_dotdot_is_resolved_by_the_file_system(tmp_path: Path) -> None:
    """A project reached through a symlink, its root beside it: ``..`` is resolved by the file
    system (collapsed as text it would name a folder beside the symlink)."""
    real = tmp_path / "real" / "proj"
    real.mkdir(parents=True)
    (real / "pyproject.toml").write_text('[tool.opsctl]\nroot = "../shared"\n',
                                         encoding="utf-8")
    (tmp_path / "real" / "shared" / "recycle").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    config = load_config(tmp_path / "link")
    assert config.root_path == os.path.realpath(tmp_path / "real" / "shared")
    assert (config.root / "recycle").is_dir()


def test_project_dir_with_dotdot_is_the_real_folder(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``--project link/..`` is the folder above the symlink's target, spelled one way: locks
    and the current-folder checks compare it."""
    from opsctl.config import check_project_dir

    inner = tmp_path / "real" / "a" / "proj"
    (inner / "offline_script").mkdir(parents=True)
    (tmp_path / "real" / "a" / "pyproject.toml").write_text("[tool.opsctl]\n",
                                                            encoding="utf-8")
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "link").symlink_to(inner)
    monkeypatch.chdir(tmp_path / "w")
    assert check_project_dir("link/..") == os.path.realpath(tmp_path / "real" / "a")
    assert check_project_dir("link") == str(tmp_path / "w" / "link")  # no .., as given


def test_finding_the_project_upward_from_a_dotdot_path(tmp_path: Path) -> None:
    (tmp_path / "p1" / "offline_script").mkdir(parents=True)
    (tmp_path / "np2").mkdir()
    assert find_project_dir(tmp_path / "p1" / ".." / "np2") is None


def test_keep_output_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert load_config(tmp_path, environ={}).keep_output is True
    write(tmp_path / "pyproject.toml", "[tool.opsctl]\nkeep_output = false\n")
    assert load_config(tmp_path, environ={}).keep_output is False
    for text, value in [("1", True), ("true", True), ("Yes", True), ("on", True),
                        ("0", False), ("false", False), ("NO", False), ("off", False)]:
        assert load_config(tmp_path, environ={"OPSCTL_KEEP_OUTPUT": text}).keep_output is value
    with pytest.raises(ConfigError, match="OPSCTL_KEEP_OUTPUT must be true or false"):
        load_config(tmp_path, environ={"OPSCTL_KEEP_OUTPUT": "sometimes"})
    write(tmp_path / "pyproject.toml", "[tool.opsctl]\nkeep_output = 'no'\n")
    with pytest.raises(ConfigError, match="keep_output must be true or false"):
        load_config(tmp_path, environ={})
