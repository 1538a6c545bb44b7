"""A pytest plugin for ``mutmut run`` only (``[tool.mutmut] pytest_add_cli_args``): lets the
mutants reach the opsctl processes the tests start, and counts what those processes ran.

mutmut 3 copies the code into ``mutants/`` and runs pytest there, in its own process. Most
tests of ``opsctl run`` start ``python -m opsctl`` in a child process, which would import the
unmutated checkout and leave every mutant of the runner untested. So this plugin

* puts ``mutants/`` first on the children's ``PYTHONPATH``, so they import the mutants, and
  this folder too, so they load :mod:`sitecustomize` beside this file;
* while mutmut maps tests to functions ("stats"), collects the functions the children ran
  (their ``sitecustomize`` writes them to a file) into the test that started them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HITS = "MUTMUT_SUBPROCESS_HITS"


def pytest_configure(config: pytest.Config) -> None:
    mutants = Path.cwd()  # mutmut runs pytest inside mutants/
    here = Path(__file__).resolve().parent
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(mutants), str(here),
                                                *([before] if before else [])])
    os.environ[HITS] = str(mutants / "subprocess-hits.txt")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before mutmut's own teardown hook reads the functions this test reached."""
    path = Path(os.environ[HITS])
    try:
        names = path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return
    path.unlink()
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        from mutmut.state import state

        state()._stats.update(names)
