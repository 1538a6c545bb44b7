"""The run's small parts, called directly: the script API outside a run, secrets, the output
tail, ``--wait`` parsing, and the lazy package exports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import opsctl
from opsctl.cli.run import _bare_wait, run_command
from opsctl.errors import APP_NOT_FOUND, DECLINED, LEDGER_UNREACHABLE, LOCK_HELD, RUN_ONCE
from opsctl.run import api
from opsctl.run.args import OWN_OPTIONS
from opsctl.run.secrets import redact
from opsctl.run.tee import Tail, Tee


def test_current_run_outside_a_run_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="only available while a script runs"):
        opsctl.current_run()


def test_track_and_report_work_outside_a_run() -> None:
    assert list(opsctl.track(range(3), description="x")) == [0, 1, 2]
    opsctl.report(rows=3)
    assert api._end() == {"rows": 3}


def test_track_draws_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    api._begin(api.CurrentRun(1, "recycle/x", "alice", False, None, "development"), screen)
    try:
        assert list(api.track([1, 2], description="counting", total=2)) == [1, 2]
    finally:
        api._end()
    assert "counting" in screen.getvalue()
    quiet = io.StringIO()
    api._begin(api.CurrentRun(1, "recycle/x", "alice", False, None, "development"), quiet)
    try:
        assert list(api.track([1, 2], description="counting")) == [1, 2]
    finally:
        api._end()
    assert quiet.getvalue() == ""


def test_unknown_attribute_of_the_package() -> None:
    with pytest.raises(AttributeError):
        opsctl.nothing_here  # noqa: B018


def test_import_opsctl_stays_light() -> None:
    code = ("import sys, json, opsctl; from opsctl import current_run; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'sqlalchemy', 'rich', 'werkzeug'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


@pytest.mark.parametrize(("args", "expected"), [
    (["--password", "pw", "--limit", "3"], ["--password", "***", "--limit", "3"]),
    (["--token=abc", "x"], ["--token=***", "x"]),
    (["--API-KEY", "k"], ["--API-KEY", "***"]),
    (["--db_password", "pw"], ["--db_password", "***"]),
    (["--github-token", "t"], ["--github-token", "***"]),
    (["--secret"], ["--secret"]),
    (["--name", "password"], ["--name", "password"]),
    (["--", "--password", "pw"], ["--", "--password", "***"]),
    (["-5", "--limit", "-5"], ["-5", "--limit", "-5"]),
])
def test_redact(args: list[str], expected: list[str]) -> None:
    assert redact(args, ("password", "token", "secret", "api-key", "api_key")) == expected


def test_redact_keeps_the_argument_after_a_flag() -> None:
    assert redact(["--show-token", "file.csv"], ("token",), frozenset({"--show-token"})) == \
        ["--show-token", "file.csv"]


def test_the_tail_keeps_the_last_characters() -> None:
    tail = Tail(limit=10)
    for i in range(100):
        tail.add(f"{i}\n")
    assert tail.text() == "\n97\n98\n99\n"[-10:]
    assert len(tail.text()) == 10


def test_tee_writes_through_and_answers_like_the_stream() -> None:
    stream, tail = io.StringIO(), Tail()
    tee = Tee(stream, tail)  # type: ignore[arg-type]
    tee.write("a\n")
    tee.writelines(["b", "c\n"])
    assert stream.getvalue() == tail.text() == "a\nbc\n"
    assert tee.isatty() is False and tee.getvalue() == "a\nbc\n"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("argv", "expected"), [
    (["--wait", "recycle/x"], ["--wait=inf", "recycle/x"]),
    (["--wait", "30", "recycle/x"], ["--wait", "30", "recycle/x"]),
    (["--reason", "--wait", "--wait", "x"], ["--reason", "--wait", "--wait=inf", "x"]),
    (["recycle/x", "--wait"], ["recycle/x", "--wait"]),
    (["--wait"], ["--wait=inf"]),
])
def test_a_bare_wait_waits_without_limit(argv: list[str], expected: list[str]) -> None:
    assert _bare_wait(run_command, argv) == expected


def test_own_options_are_the_run_command_s() -> None:
    declared = {opt for p in run_command.params for opt in getattr(p, "opts", [])
                if opt.startswith("-")}
    assert set(OWN_OPTIONS) == declared - {"--help"}


def test_refusal_exit_codes_are_distinct() -> None:
    codes = [LOCK_HELD, RUN_ONCE, DECLINED, LEDGER_UNREACHABLE, APP_NOT_FOUND]
    assert len(set(codes)) == len(codes) and not {0, 1, 2, 130, 143} & set(codes)


def test_the_heartbeat_refreshes_the_lock_from_its_thread(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from opsctl.ledger import locks
    from opsctl.ledger.store import Ledger
    from opsctl.ledger.values import Process
    from opsctl.run.heartbeat import Heartbeat

    monkeypatch.setattr(locks, "HEARTBEAT_SECONDS", 0.05)
    book = Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        run = book.start(script="recycle/x", process=Process.current("a"), args=[])
        before = book.holder("recycle/x").heartbeat_at  # type: ignore[union-attr]
        beat = Heartbeat(book, run)
        beat.start()
        try:
            deadline = time.monotonic() + 30
            while book.holder("recycle/x").heartbeat_at == before:  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "no heartbeat"
                time.sleep(0.05)
        finally:
            beat.stop()
        book.finish(run, status="succeeded", exit_code=0)
    finally:
        book.close()
