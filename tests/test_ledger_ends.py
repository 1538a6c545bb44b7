"""The end of a run, on SQLite, PostgreSQL and MariaDB: kept in the local journal when the
ledger cannot take it and recorded from there once (never twice), stored safely whatever text
the script produced, and run-once for a last run whose outcome is unknown.

A ledger that cannot take the end is a real one: the same ledger's identity on an engine
whose server refuses connections (nothing listens on port 1).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from opsctl.config import load_config
from opsctl.errors import ConfigError
from opsctl.ledger.engine import make_engine
from opsctl.ledger.journal import Journal
from opsctl.ledger.processes import node_id
from opsctl.ledger.store import Ledger, open_ledger
from opsctl.ledger.values import AlreadySucceeded, Process

UNREACHABLE = {"sqlite": "sqlite:////nonexistent-folder/x/ledger.sqlite3",
               "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
               "mysql": "mysql+pymysql://root@127.0.0.1:1/nothing"}


def me(operator: str = "alice") -> Process:
    return Process.current(operator)


def dead_here() -> Process:
    """A process on this node that has exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return Process("carol", "this-host", int(proc.stdout), node_id(), None)


@pytest.fixture
def project(tmp_path: Path, ledger_url: str) -> Path:
    folder = tmp_path / "proj"
    (folder / "offline_script").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{ledger_url}"\n',
                                           encoding="utf-8")
    return folder


def unreachable_twin(ledger_url: str, project: Path) -> Ledger:
    """The project's ledger as a process sees it while its database cannot be reached."""
    kind = next(k for k in UNREACHABLE if ledger_url.startswith(k))
    twin = Ledger(make_engine(UNREACHABLE[kind]), ledger_url)
    twin.retry_seconds = 0
    twin.journal = Journal(str(project / "instance" / "opsctl-journal"), ledger_url)
    return twin


def journal_files(project: Path) -> list[Path]:
    return sorted((project / "instance" / "opsctl-journal").glob("*.json"))


def test_an_end_the_ledger_cannot_take_is_journaled_and_recorded_once(
        project: Path, ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(project)
    with open_ledger(config) as book:
        run = book.start(script="recycle/x", process=me(), args=["--all"], notes=["first"])
    twin = unreachable_twin(ledger_url, project)
    try:
        ended = twin.end(run, status="failed", exit_code=3, error="ValueError: x",
                         output_tail="line\n", summary={"rows": 2})
    finally:
        twin.close()
    assert ended.how == "journaled" and ended.problem
    (kept,) = journal_files(project)
    assert ended.path == str(kept)
    saved = kept.read_bytes()

    with open_ledger(config, create=False) as book:  # a reader replays it too
        after = book.run(run.id)
        assert book.holder("recycle/x") is None
    assert journal_files(project) == []
    assert "recorded the end of run 1 (recycle/x, failed) from the local journal" \
        in capsys.readouterr().err
    assert after is not None
    assert (after.status, after.exit_code, after.error, after.output_tail, after.summary) == \
        ("failed", 3, "ValueError: x", "line\n", {"rows": 2})
    assert after.ended_at is not None and after.args == ["--all"]
    assert after.notes[0] == "first" and len(after.notes) == 2
    assert after.notes[1].startswith("recorded late from the local journal")

    # A replay cut short after its commit, before the file was deleted: the next one
    # finds the end recorded, writes nothing, and deletes the file.
    kept.write_bytes(saved)
    with open_ledger(config) as book:
        assert book.run(run.id) == after
    assert journal_files(project) == []


@pytest.mark.parametrize("opener", ["list", "lifecycle"])
def test_every_command_that_opens_the_ledger_records_the_journal(
        project: Path, ledger_url: str, opener: str) -> None:
    """``list``'s last runs and the lifecycle commands' reads record it too."""
    from opsctl.ledger.store import last_runs
    from opsctl.lifecycle.book import script_stats

    config = load_config(project)
    with open_ledger(config) as book:
        run = book.start(script="recycle/x", process=me(), args=[])
    twin = unreachable_twin(ledger_url, project)
    try:
        assert twin.end(run, status="succeeded", exit_code=0).how == "journaled"
    finally:
        twin.close()
    if opener == "list":
        assert last_runs(config, ["recycle/x"])["recycle/x"].status == "succeeded"
    else:
        assert script_stats(config)["recycle/x"].succeeded == 1
    assert journal_files(project) == []


def test_a_journaled_end_replaces_the_lost_mark_and_says_so(project: Path,
                                                            ledger_url: str) -> None:
    config = load_config(project)
    with open_ledger(config) as book:
        run = book.start(script="recycle/x", process=dead_here(), args=[])
    twin = unreachable_twin(ledger_url, project)
    try:
        assert twin.end(run, status="succeeded", exit_code=0).how == "journaled"
    finally:
        twin.close()
    with Ledger.open(ledger_url) as book:  # no journal: the dead process is reaped as lost
        assert book.reap() == [run.id]
    with open_ledger(config) as book:
        after = book.run(run.id)
    assert after is not None and (after.status, after.exit_code) == ("succeeded", 0)
    assert after.error is None
    (note,) = after.notes
    assert "it showed as lost until then" in note


def test_a_whole_run_the_ledger_cannot_take_is_journaled_and_inserted_once(
        project: Path, ledger_url: str) -> None:
    """A script whose import raised is recorded whole; kept in the journal, it is inserted
    once however often the replay is repeated."""
    config = load_config(project)
    with open_ledger(config):
        pass  # the tables exist
    twin = unreachable_twin(ledger_url, project)
    try:
        run, ended = twin.record(script="recycle/broken", process=me(), args=["a"],
                                 status="failed", exit_code=1, error="ImportError: nope")
    finally:
        twin.close()
    assert run is None and ended.how == "journaled"
    (kept,) = journal_files(project)
    saved = kept.read_bytes()
    with open_ledger(config) as book:
        (first,) = book.runs("recycle/broken")
    kept.write_bytes(saved)
    with open_ledger(config) as book:
        assert book.runs("recycle/broken") == [first]
    assert (first.status, first.exit_code, first.error) == ("failed", 1, "ImportError: nope")
    assert first.notes[0].startswith("recorded late from the local journal")


def test_the_journal_of_another_ledger_and_unreadable_files_are_left_alone(
        project: Path, ledger_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(project)
    with open_ledger(config) as book:
        run = book.start(script="recycle/x", process=me(), args=[])
    twin = unreachable_twin(ledger_url, project)
    try:
        twin.end(run, status="succeeded", exit_code=0)
    finally:
        twin.close()
    (kept,) = journal_files(project)
    # Another ledger (another URL) leaves the entry where it is.
    other = load_config(project, overrides={"ledger_url":
                                            f"sqlite:///{tmp_path / 'other.sqlite3'}"})
    with open_ledger(other):
        pass
    assert journal_files(project) == [kept]
    # A file cut short by a crash, and one being written, are not entries of the journal.
    broken = kept.with_name(kept.name.replace("run-1", "run-99"))
    broken.write_text('{"format": 1, "ledg', encoding="utf-8")
    (kept.parent / (kept.name + ".123.tmp")).write_text("{", encoding="utf-8")
    capsys.readouterr()
    with open_ledger(config) as book:
        assert book.run(run.id).status == "succeeded"  # type: ignore[union-attr]
    err = capsys.readouterr().err
    assert f"cannot read the journal entry {broken}" in err
    assert journal_files(project) == [broken]


# --------------------------------------------------------------------- text, stored safely

#: What a script can produce: bytes of another encoding (as ``surrogateescape`` decodes them),
#: a lone surrogate, NUL, and plain non-ASCII.
AWKWARD = "caf\udce9 \ud800 a\x00b naïve ✓"
STORED = "caf\\xe9 \\ud800 a\\x00b naïve ✓"


def test_any_text_a_script_produces_is_stored_safely(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        run = book.start(script="recycle/x", process=me(), args=[AWKWARD], reason=AWKWARD,
                         notes=[AWKWARD])
        ended = book.end(run, status="failed", exit_code=1, error=AWKWARD,
                         output_tail=AWKWARD,
                         summary={AWKWARD: AWKWARD, "nested": {(1, 2): [AWKWARD, 1.5]},
                                  "object": object})
        assert ended.how == "recorded"
        after = book.run(run.id)
        whole, _ = book.record(script="recycle/y", process=me(), args=[AWKWARD],
                               status="failed", exit_code=1, error=AWKWARD, reason=AWKWARD)
        assert whole is not None
        stored = book.run(whole.id)
    assert after is not None and stored is not None
    assert after.args == [STORED] and after.reason == STORED and after.notes == (STORED,)
    assert after.error == STORED and after.output_tail == STORED
    assert after.summary == {STORED: STORED, "nested": {"(1, 2)": [STORED, 1.5]},
                             "object": "<class 'object'>"}
    assert (stored.args, stored.error, stored.reason) == ([STORED], STORED, STORED)
    json.dumps(after.as_dict(), ensure_ascii=False).encode("utf-8")  # printable as it is


# ------------------------------------------------------------------------------- run-once


def test_run_once_treats_a_lost_or_dead_last_run_as_possibly_succeeded(
        ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        failed = book.start(script="unrecycle/fix", process=me(), args=[])
        book.end(failed, status="failed", exit_code=1)
        assert book.once_blocker("unrecycle/fix") is None  # a failed fix may run again

        dead = book.start(script="unrecycle/fix", process=dead_here(), args=[])
        blocker = book.once_blocker("unrecycle/fix")  # running, its process gone
        assert blocker is not None and (blocker.id, blocker.status) == (dead.id, "running")
        with pytest.raises(AlreadySucceeded) as refused:
            book.start(script="unrecycle/fix", process=me(), args=[], once=True)
        # Taking its lock over marked it lost: still unknown, still refused.
        assert (refused.value.run.id, refused.value.run.status) == (dead.id, "lost")
        blocker = book.once_blocker("unrecycle/fix")
        assert blocker is not None and blocker.status == "lost"
        assert book.holder("unrecycle/fix") is None
        assert [r.id for r in book.runs("unrecycle/fix")] == [dead.id, failed.id]

        forced = book.start(script="unrecycle/fix", process=me(), args=[])  # --force
        book.end(forced, status="interrupted", exit_code=130)
        assert book.once_blocker("unrecycle/fix") is None  # the last run's outcome is known

        dry = book.start(script="unrecycle/fix", process=dead_here(), args=[], dry_run=True)
        assert book.reap() == [dry.id]
        assert book.once_blocker("unrecycle/fix") is None  # a lost dry run changed nothing

        done = book.start(script="unrecycle/fix", process=me(), args=[])
        book.end(done, status="succeeded", exit_code=0)
        later = book.start(script="unrecycle/fix", process=dead_here(), args=[])
        assert book.reap() == [later.id]
        blocker = book.once_blocker("unrecycle/fix")
        assert blocker is not None and blocker.id == done.id  # a known success says more


def test_a_live_run_is_no_unknown_outcome(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        book.start(script="unrecycle/fix", process=me(), args=[])
        assert book.once_blocker("unrecycle/fix") is None  # its lock decides, not run-once


# ------------------------------------------------------------------------- configuration


def test_the_retry_window_is_configurable(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    assert load_config(folder).ledger_retry_seconds == 30
    (folder / "pyproject.toml").write_text("[tool.opsctl]\nledger_retry_seconds = 5\n",
                                           encoding="utf-8")
    assert load_config(folder).ledger_retry_seconds == 5
    config = load_config(folder, environ={"OPSCTL_LEDGER_RETRY_SECONDS": "0.5"})
    assert config.ledger_retry_seconds == 0.5
    with open_ledger(config) as book:
        assert book.retry_seconds == 0.5
    with pytest.raises(ConfigError, match="OPSCTL_LEDGER_RETRY_SECONDS must be a number"):
        load_config(folder, environ={"OPSCTL_LEDGER_RETRY_SECONDS": "soon"})
    (folder / "pyproject.toml").write_text('[tool.opsctl]\nledger_retry_seconds = "5"\n',
                                           encoding="utf-8")
    with pytest.raises(ConfigError, match="ledger_retry_seconds must be a number of seconds"):
        load_config(folder)


def test_journal_files_are_written_whole(tmp_path: Path) -> None:
    """An entry is written to a temporary file, synced, then renamed into place."""
    journal = Journal(str(tmp_path / "j"), "sqlite:////x.sqlite3")
    path = journal.keep({"kind": "end", "run": 7, "values": {"status": "succeeded"}},
                        name="run-7")
    assert Path(path).parent == tmp_path / "j" and Path(path).name.endswith("-run-7.json")
    assert [p.name for p in (tmp_path / "j").iterdir()] == [Path(path).name]
    (entry,) = [e for _, e in journal.entries()]
    assert entry["run"] == 7 and entry["ledger"] == journal.ledger
    shutil.rmtree(tmp_path / "j")
    assert list(journal.entries()) == []
