"""``opsctl history`` and the last-run column of ``opsctl list``, on a ledger written through
the ledger module (in process: no app is involved)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from conftest import write

from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process, Run


@pytest.fixture
def book(project: Path, ledger_url: str) -> Ledger:
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{ledger_url}"\n',
                                            encoding="utf-8")
    write(project / "offline_script" / "recycle" / "clear_cache.py", '"""Clear the cache."""\n')
    write(project / "offline_script" / "recycle" / "export_order.py", '"""Export orders."""\n')
    opened = Ledger.open(ledger_url)
    yield opened
    opened.close()


def record(book: Ledger, key: str, status: str = "succeeded", *, operator: str = "alice",
           **extra: object) -> Run:
    summary = extra.pop("summary", None)
    run = book.start(script=key, process=Process.current(operator), args=["--x", "1"],
                     **extra)  # type: ignore[arg-type]
    book.finish(run, status=status, exit_code=0 if status == "succeeded" else 1,
                error="Traceback (most recent call last):\nValueError: nope"
                if status == "failed" else None,
                output_tail="line one\nline two\n", summary=summary)  # type: ignore[arg-type]
    return run


def test_history_lists_newest_first(invoke: Callable[..., Result], project: Path,
                                    book: Ledger) -> None:
    first = record(book, "recycle/clear_cache", summary={"deleted": 3})
    second = record(book, "recycle/export_order", "failed", operator="bob", reason="TICKET-1")
    result = invoke(project, "history")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "STARTED", "SCRIPT", "OPERATOR", "STATUS", "EXIT", "TOOK",
                                "SUMMARY"]
    assert lines[1].startswith(str(second.id)) and "recycle/export_order" in lines[1]
    assert "bob" in lines[1] and "failed" in lines[1] and "reason: TICKET-1" in lines[1]
    assert lines[2].startswith(str(first.id)) and "deleted=3" in lines[2]


def test_history_filters(invoke: Callable[..., Result], project: Path, book: Ledger) -> None:
    record(book, "recycle/clear_cache")
    failed = record(book, "recycle/clear_cache", "failed")
    record(book, "recycle/export_order")
    data = json.loads(invoke(project, "history", "recycle/clear_cache", "--json").stdout)
    assert [r["script"] for r in data] == ["recycle/clear_cache"] * 2
    data = json.loads(invoke(project, "history", "--status", "failed", "--json").stdout)
    assert [r["id"] for r in data] == [failed.id]
    data = json.loads(invoke(project, "history", "--limit", "1", "--json").stdout)
    assert len(data) == 1
    data = json.loads(invoke(project, "history", "clear_cache.py", "--json").stdout)
    assert len(data) == 2  # every way of naming a script works here too


def test_history_run_shows_one_run_whole(invoke: Callable[..., Result], project: Path,
                                         book: Ledger) -> None:
    run = record(book, "recycle/clear_cache", "failed", reason="why not", dry_run=True,
                 environment="staging", summary={"rows": 2})
    result = invoke(project, "history", "--run", str(run.id))
    assert result.exit_code == 0
    text = result.stdout
    assert f"run {run.id}: recycle/clear_cache failed (dry), exit 1" in text
    for expected in ("args:         --x 1", "operator:     alice on", "environment:  staging",
                     "dry run:      yes", "reason:       why not", "summary:      rows=2",
                     "error:\n  Traceback (most recent call last):\n  ValueError: nope",
                     "output (tail):\n  line one\n  line two"):
        assert expected in text
    data = json.loads(invoke(project, "history", "--run", str(run.id), "--json").stdout)
    assert data["id"] == run.id and data["error"].endswith("ValueError: nope")


def test_history_of_a_moved_script_includes_its_former_runs(
        invoke: Callable[..., Result], project: Path, book: Ledger) -> None:
    ts = "alice/ts_2024_06_10_export_order"
    old = record(book, ts)
    book.record_move(ts, "recycle/export_order", "alice")
    new = record(book, "recycle/export_order")
    data = json.loads(invoke(project, "history", "recycle/export_order", "--json").stdout)
    assert [(r["id"], r["script"]) for r in data] == [(new.id, "recycle/export_order"),
                                                      (old.id, ts)]



def test_history_of_a_former_name_shows_the_runs_recorded_under_it(
        invoke: Callable[..., Result], project: Path, book: Ledger) -> None:
    """A script that no longer exists is still named by its key, or by its bare name when
    only one key the ledger knows has it: its history is the runs recorded under exactly that
    name, and says where the script went."""
    ts = "alice/ts_2024_06_10_export_order"
    first = record(book, ts)
    second = record(book, ts, "failed", operator="bob")
    book.record_move(ts, "recycle/export_order", "alice")
    record(book, "recycle/export_order")
    for name in (ts, f"{ts}.py", "ts_2024_06_10_export_order"):
        result = invoke(project, "history", name, "--json")
        assert result.exit_code == 0, result.output
        assert [(r["id"], r["script"]) for r in json.loads(result.stdout)] == [
            (second.id, ts), (first.id, ts)]
        assert ("no script is called alice/ts_2024_06_10_export_order now; its runs belong "
                "to recycle/export_order: 'opsctl history recycle/export_order' shows them "
                "with the runs since") in result.stderr
    table = invoke(project, "history", ts)
    assert "recorded yet" not in table.stderr and len(table.stdout.splitlines()) == 3


def test_history_of_a_name_another_script_took_says_where_its_runs_went(
        invoke: Callable[..., Result], project: Path, book: Ledger) -> None:
    ran = record(book, "recycle/clear_cache")
    book.record_move("recycle/clear_cache", "unrecycle/clear_cache", "alice")
    # recycle/clear_cache.py is another script now (the book fixture wrote it), never run.
    result = invoke(project, "history", "recycle/clear_cache")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "no runs of recycle/clear_cache recorded yet" not in result.stderr
    assert ("1 earlier run recorded as recycle/clear_cache belongs to unrecycle/clear_cache: "
            "'opsctl history unrecycle/clear_cache' shows it") in result.stderr
    assert "no runs of the script now at recycle/clear_cache recorded yet" in result.stderr
    moved = json.loads(invoke(project, "history", "unrecycle/clear_cache", "--json").stdout)
    assert [r["id"] for r in moved] == [ran.id]


def test_history_bad_input(invoke: Callable[..., Result], project: Path, book: Ledger) -> None:
    result = invoke(project, "history", "--run", "999")
    assert result.exit_code == 1 and "no run 999" in result.stderr
    result = invoke(project, "history", "--run", "1", "--status", "failed")
    assert result.exit_code == 2
    result = invoke(project, "history", "../outside")
    assert result.exit_code == 74 and "outside" in result.stderr
    result = invoke(project, "history", "--status", "done")
    assert result.exit_code == 2


def test_history_without_a_ledger_says_so_and_creates_nothing(
        invoke: Callable[..., Result], project: Path) -> None:
    result = invoke(project, "history")
    assert result.exit_code == 0
    assert "no runs recorded yet" in result.stderr
    assert not (project / "instance").exists()


def test_history_marks_a_dead_run_lost(invoke: Callable[..., Result], project: Path,
                                       book: Ledger) -> None:
    import subprocess
    import sys

    from opsctl.ledger.processes import node_id

    pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True).stdout)
    book.start(script="recycle/clear_cache", process=Process("zed", "h", pid, node_id(), None),
               args=[])
    data = json.loads(invoke(project, "history", "--json").stdout)
    assert data[0]["status"] == "lost"


def test_list_shows_the_last_run(invoke: Callable[..., Result], project: Path,
                                 book: Ledger) -> None:
    record(book, "recycle/clear_cache", operator="bob")
    record(book, "recycle/clear_cache", "failed", operator="carol", dry_run=True)
    data = {e["key"]: e for e in json.loads(invoke(project, "list", "--json").stdout)}
    last = data["recycle/clear_cache"]["last_run"]
    assert (last["operator"], last["status"], last["dry_run"]) == ("carol", "failed", True)
    assert data["recycle/export_order"]["last_run"] is None
    # A list is a summary: the last run's output tail is history --run's to show.
    assert "output_tail" not in last and last["error"].endswith("ValueError: nope")
    table = invoke(project, "list").stdout
    row = next(line for line in table.splitlines() if "recycle/clear_cache" in line)
    assert "carol failed (dry)" in row


def _with_ledger_url(project: Path, url: str) -> None:
    (project / "pyproject.toml").write_text(f'[tool.opsctl]\nledger_url = "{url}"\n',
                                            encoding="utf-8")
    write(project / "offline_script" / "recycle" / "clear_cache.py", '"""Clear the cache."""\n')


def test_reading_an_absent_explicit_sqlite_ledger_creates_nothing(
        invoke: Callable[..., Result], project: Path, tmp_path: Path) -> None:
    ledger_file = tmp_path / "elsewhere" / "ledger.sqlite3"
    ledger_file.parent.mkdir()
    _with_ledger_url(project, f"sqlite:///{ledger_file}")
    assert invoke(project, "history").exit_code == 0
    assert invoke(project, "list").exit_code == 0
    assert invoke(project, "stale").exit_code == 0
    assert not ledger_file.exists()


def test_a_url_that_is_no_url_is_one_line_everywhere(invoke: Callable[..., Result],
                                                     project: Path) -> None:
    _with_ledger_url(project, "notaurl")
    listed = invoke(project, "list")
    assert listed.exit_code == 0 and "recycle/clear_cache" in listed.stdout
    assert listed.stderr.count("\n") == 1
    assert "the ledger_url 'notaurl' is not a database URL" in listed.stderr
    history = invoke(project, "history")
    assert history.exit_code == 78
    assert history.stderr.count("\n") == 1 and "unexpected" not in history.stderr
    assert "fix ledger_url in [tool.opsctl] or OPSCTL_LEDGER_URL" in history.stderr
    assert "--no-ledger" not in history.stderr  # history has no such option
    stale = invoke(project, "clean", "--yes", "--older-than", "0")
    assert "--no-ledger" not in stale.stderr


def test_list_without_a_ledger_imports_no_sqlalchemy(project: Path) -> None:
    import subprocess
    import sys

    write(project / "offline_script" / "recycle" / "clear_cache.py", '"""Clear the cache."""\n')
    code = ("import sys; from opsctl.cli.group import cli\n"
            "try:\n    cli.main(['--project', sys.argv[1], 'list'], prog_name='opsctl')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'))")
    out = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True,
                         text=True, check=True).stdout
    assert "recycle/clear_cache" in out and out.rstrip().endswith("[]")


def test_history_of_a_misspelt_script_is_no_such_script(invoke: Callable[..., Result],
                                                        project: Path, book: Ledger) -> None:
    record(book, "recycle/clear_cache")
    record(book, "recycle/deleted_since")  # runs of a script whose file is gone
    typo = invoke(project, "history", "recycle/clear_cahce")
    assert typo.exit_code == 74
    assert "did you mean recycle/clear_cache" in typo.stderr
    assert typo.stderr.count("\n") == 1 and "recorded yet" not in typo.stderr
    gone = invoke(project, "history", "recycle/deleted_since", "--json")
    assert gone.exit_code == 0 and len(json.loads(gone.stdout)) == 1


def test_history_of_an_unknown_script_without_a_ledger(invoke: Callable[..., Result],
                                                       project: Path) -> None:
    result = invoke(project, "history", "recycle/nothing_here")
    assert result.exit_code == 74
    assert not (project / "instance").exists()


def test_times_show_their_zone_and_empty_fields_say_none(
        invoke: Callable[..., Result], project: Path, book: Ledger,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        run = record(book, "recycle/clear_cache")
        table = invoke(project, "history").stdout
        listed = invoke(project, "list").stdout
        whole = invoke(project, "history", "--run", str(run.id)).stdout
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    shown = run.started_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"{shown:%Y-%m-%d %H:%M} +08:00" in table
    assert f"{shown:%Y-%m-%d %H:%M} +08:00 alice succeeded" in listed
    assert f"started:      {shown:%Y-%m-%d %H:%M:%S} +08:00" in whole
    assert "  reason:       (none)" in whole and "  summary:      (none)" in whole
