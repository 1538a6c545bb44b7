"""``opsctl init`` in a project with Flask-Migrate's ``migrations/env.py``: the change that
keeps the ledger's tables out of the app's migrations is shown, and made with ``--yes`` or a
yes at a real terminal; never without one."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from test_terminal import terminal

from opsctl.ledger.migrations import IMPORT_LINE, read_env_script

Invoke = Callable[..., Result]


def flask_migrate_env() -> Path:
    spec = importlib.util.find_spec("flask_migrate")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "templates" / "flask" / "env.py"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A Flask project after `flask db init`, before `opsctl init`."""
    proj = tmp_path / "shop"
    (proj / "migrations").mkdir(parents=True)
    shutil.copy(flask_migrate_env(), proj / "migrations" / "env.py")
    return proj


def env_text(proj: Path) -> str:
    return (proj / "migrations" / "env.py").read_text(encoding="utf-8")


def test_without_a_terminal_init_shows_the_change_and_makes_none(invoke: Invoke,
                                                                 shop: Path) -> None:
    before = env_text(shop)
    result = invoke(shop, "init")
    assert result.exit_code == 0, result.output
    assert env_text(shop) == before
    assert "created offline_script/" in result.stdout
    assert "migrations/env.py" not in result.stdout  # diagnostics go to stderr
    err = result.stderr
    assert "migrations/env.py does not leave opsctl's tables out of Alembic's autogenerate" \
        in err
    # The exact lines: the import, and the keywords passed through the filter.
    assert f"+{IMPORT_LINE}\n" in err
    assert "-            **conf_args\n+            **exclude_ledger(conf_args)\n" in err
    assert "migrations/env.py unchanged; 'opsctl init --yes' makes the change" in err
    assert err.rstrip().endswith("next: opsctl new ts <what>   (a temporary script in your "
                                 "own folder)")


def test_init_yes_changes_env_py_once(invoke: Invoke, shop: Path) -> None:
    result = invoke(shop, "init", "--yes")
    assert result.exit_code == 0, result.output
    assert "updated migrations/env.py (opsctl's tables left out of the app's migrations)" \
        in result.stdout
    assert read_env_script(shop / "migrations" / "env.py").wired
    assert "**exclude_ledger(conf_args)" in env_text(shop)
    # Again: nothing left to do, env.py included.
    again = invoke(shop, "init", "--yes")
    assert again.exit_code == 0 and again.stdout == ""
    assert "already set up" in again.stderr and "env.py" not in again.stderr


def test_a_set_up_project_still_gets_the_change(invoke: Invoke, shop: Path) -> None:
    """`flask db init` after `opsctl init`: the next init is not 'nothing to do'."""
    shutil.move(shop / "migrations", shop.parent / "later")
    assert invoke(shop, "init").exit_code == 0
    shutil.move(shop.parent / "later", shop / "migrations")
    result = invoke(shop, "init", "-y")
    assert result.exit_code == 0, result.output
    assert result.stdout == "updated migrations/env.py (opsctl's tables left out of the " \
                            "app's migrations)\n"
    assert "already set up" not in result.stderr


def test_an_env_py_with_its_own_filter_is_told_what_to_do(invoke: Invoke, shop: Path) -> None:
    source = env_text(shop).replace(
        "**conf_args", "include_object=lambda *a: True,\n            **conf_args")
    (shop / "migrations" / "env.py").write_text(source, encoding="utf-8")
    result = invoke(shop, "init", "--yes")
    assert result.exit_code == 0, result.output
    assert env_text(shop) == source  # a person decides how two filters combine
    assert f"add '{IMPORT_LINE}' to migrations/env.py" in result.stderr
    assert "'**exclude_ledger(include_object=f)'" in result.stderr


@pytest.mark.parametrize("answer", ["y", "n"])
def test_at_a_terminal_init_asks_and_the_answer_is_what_happens(shop: Path,
                                                               answer: str) -> None:
    before = env_text(shop)
    with terminal(shop, "init") as term:
        term.read_until("[y/N]")
        assert "+            **exclude_ledger(conf_args)" in term.screen
        assert term.screen.rstrip().splitlines()[-1] == "Change migrations/env.py? [y/N]:"
        term.type(f"{answer}\r")
        status = term.finish()
    assert status == 0, term.screen
    if answer == "y":
        assert "updated migrations/env.py" in term.screen
        assert read_env_script(shop / "migrations" / "env.py").wired
    else:
        assert "migrations/env.py unchanged" in term.screen
        assert env_text(shop) == before


def test_the_readme_shows_the_change_init_makes(invoke: Invoke, shop: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Flask-Migrate and Alembic", 1)[1].split("\n### ", 1)[0]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert invoke(shop, "init", "--yes").exit_code == 0
    written = env_text(shop).splitlines()
    shown = [line for line in snippet.splitlines() if line != "..."]
    assert shown[0] == IMPORT_LINE and shown[0] in written
    # The configure(...) call, line for line as init writes it into Flask-Migrate's env.py.
    start = written.index(shown[1])
    assert written[start:start + len(shown) - 1] == shown[1:]


def test_an_env_py_opsctl_cannot_read_is_left_alone(invoke: Invoke, shop: Path) -> None:
    (shop / "migrations" / "env.py").write_bytes(b"# \xff\xfe latin-1, say\n")
    result = invoke(shop, "init", "--yes")
    assert result.exit_code == 0, result.output
    assert "env.py" not in result.output
    assert (shop / "migrations" / "env.py").read_bytes() == b"# \xff\xfe latin-1, say\n"
