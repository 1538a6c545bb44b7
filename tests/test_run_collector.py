"""The cycle collector around a run (:mod:`opsctl.run.collector`): paused while opsctl and
the app load, what they made frozen, and the script's own code run with the collector as it
was."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from runkit import opsctl, write_project, write_script

from opsctl.run.collector import Collector


@pytest.fixture
def collector_state() -> Iterator[None]:
    """Whatever a test does, the test process's collector is left on and unfrozen."""
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


def test_paused_until_the_script_then_as_it_was(collector_state: None) -> None:
    gc.enable()
    collector = Collector(keep_frozen=False)
    assert not gc.isenabled()
    collector.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    collector.close()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # a process that goes on collects them again


def test_the_program_keeps_what_loading_made_frozen(collector_state: None) -> None:
    collector = Collector(keep_frozen=True)
    collector.resume()
    frozen = gc.get_freeze_count()
    collector.close()
    assert frozen > 0
    # Still frozen (unfreezing would empty it); a frozen object that is freed since leaves
    # the count, so it may be a little lower, never near zero.
    assert gc.get_freeze_count() > frozen // 2
    assert gc.isenabled()


def test_a_collector_switched_off_stays_off(collector_state: None) -> None:
    gc.disable()
    collector = Collector(keep_frozen=False)
    collector.resume()
    assert not gc.isenabled()
    collector.close()
    assert not gc.isenabled()


def test_refused_before_the_script_unpauses(collector_state: None) -> None:
    gc.enable()
    collector = Collector(keep_frozen=False)
    collector.close()  # never resumed: the run ended before the script
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
def test_the_script_runs_with_the_collector_on(tmp_path: Path) -> None:
    """In the ``opsctl`` program: the script's module level and its main() both see the
    collector on, with what opsctl and the app loaded frozen; the run is recorded."""
    project = write_project(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    write_script(project, "recycle/collector", """\
        \"\"\"Say how the collector is.\"\"\"
        import gc
        import json

        AT_IMPORT = [gc.isenabled(), gc.get_freeze_count() > 0]


        def main():
            print(json.dumps({"import": AT_IMPORT,
                              "main": [gc.isenabled(), gc.get_freeze_count() > 0]}))
        """)
    result = opsctl(project, "run", "recycle/collector")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"import": [True, True], "main": [True, True]}
    assert "succeeded" in result.stderr
