"""opsctl's pytest plugin: the ``opsctl_run`` fixture, which runs an offline script in a test.

Registered through the ``pytest11`` entry point, so pytest loads it wherever opsctl is
installed; it is off unless a test asks for its fixture. It adds no command-line option, no
ini setting and no hook, and loading it imports neither Flask, SQLAlchemy nor opsctl's run
path: those load when a test first uses the fixture. ``-p no:opsctl`` leaves it out.

::

    def test_clear_cache(opsctl_run):
        result = opsctl_run("recycle/clear_cache", "--older-than", "7d", dry_run=True)
        assert result.exit_code == 0, result.output

The script runs through ``opsctl run``'s own runner (:mod:`opsctl.testing`) against

- the project's ``app`` fixture when it has one (pytest-flask's convention: the app factory
  with the test configuration), else the app ``opsctl run`` would load, with
  ``TESTING = True``;
- a ledger of the test's own (``opsctl_ledger_url``: a throwaway SQLite file; override the
  fixture to record elsewhere), never the project's.

The project is the one holding the test file (``pyproject.toml`` with ``[tool.opsctl]`` or an
``offline_script/`` folder, upward), else the one holding pytest's root folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import ScriptRunner


@pytest.fixture
def opsctl_ledger_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where the runs of ``opsctl_run`` are recorded: a new SQLite file for each test."""
    return f"sqlite:///{tmp_path_factory.mktemp('opsctl-ledger') / 'opsctl.sqlite3'}"


@pytest.fixture
def opsctl_run(request: pytest.FixtureRequest, opsctl_ledger_url: str) -> Iterator[ScriptRunner]:
    """Run a script by its key, in this process, as ``opsctl run`` would; returns the run
    (:class:`opsctl.testing.ScriptRun`: ``exit_code``, ``output``, ``summary``, ``dry_run``,
    ``status``, ``run_id``, ``error``). ``opsctl_run.app`` is the app the scripts run against.
    """
    from .testing import ScriptRunner

    runner = ScriptRunner(_project_dir(request), app=_app_fixture(request),
                          ledger_url=opsctl_ledger_url)
    yield runner
    runner.close()


def _app_fixture(request: pytest.FixtureRequest) -> Any:
    """The project's own ``app`` fixture's value; None when it has none."""
    try:
        return request.getfixturevalue("app")
    except pytest.FixtureLookupError as exc:
        if exc.argname != "app":  # there is one, and something it needs is missing
            raise
        return None


def _project_dir(request: pytest.FixtureRequest) -> str:
    from .config import find_project_dir, require_project_dir

    return find_project_dir(request.path.parent) or \
        require_project_dir(request.config.rootpath)
