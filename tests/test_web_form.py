"""The start form's fields, read from a script's syntax tree (never imported), and the
arguments its answers give."""

from __future__ import annotations

from pathlib import Path

from opsctl.web.form import args_of, fields_of

SCRIPT = '''
import click
raise SystemExit("importing this script would end the web process")

@click.command()
@click.option("-d", "--days", type=click.IntRange(min=1), default=30, help="How far back.")
@click.option("--mode", type=click.Choice(["fast", "careful"]), default="careful")
@click.option("-v", "--verbose", is_flag=True, help="Say more.")
@click.option("--api-token", required=True)
@click.option("--since", default=compute())
def main(days, mode, verbose, api_token, since):
    """Do it."""
'''


def test_fields_come_from_the_click_options_without_importing() -> None:
    fields = fields_of(SCRIPT, ("token",))
    assert [f.option for f in fields] == ["--days", "--mode", "--verbose", "--api-token",
                                          "--since"]
    days, mode, verbose, token, since = fields
    assert (days.default, days.help, days.flag) == ("30", "How far back.", False)
    assert mode.choices == ("fast", "careful") and mode.default == "careful"
    assert verbose.flag and not verbose.secret
    assert token.required and token.secret
    assert since.default is None  # not a literal: left to the script


def test_answers_become_arguments() -> None:
    fields = fields_of(SCRIPT)
    answers = {"opt--days": "7", "opt--mode": "", "opt--verbose": "on",
               "opt--api-token": "t0k3n", "unknown": "x"}
    assert args_of(fields, answers) == ["--days", "7", "--verbose", "--api-token", "t0k3n"]


def test_a_script_without_a_click_main_has_no_fields() -> None:
    assert fields_of("def main():\n    pass\n") == []
    assert fields_of("print('legacy')\n") == []
    assert fields_of("def main(:\n") == []


def test_the_demo_scripts_fields() -> None:
    demo = Path(__file__).parent.parent / "offline_script"
    fields = fields_of((demo / "unrecycle/flush_order_data.py").read_text(encoding="utf-8"))
    assert [(f.option, f.flag) for f in fields] == [("--verbose", True)]


def test_time_left_follows_the_pace_so_far_as_history_tells_it() -> None:
    import datetime as _dt

    from opsctl.ledger.values import Progress, Run
    from opsctl.web.pages import live

    start = _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
    run = Run(1, "recycle/x", None, [], "ann", "h", 1, start, None, "running", None, False,
              None, None, None, None, None, None, {})
    at = start + _dt.timedelta(seconds=100)
    shown = live(run, Progress(1, done=250, total=1_000, cursor=None, updated_at=at))
    assert shown.left == "~5 min left" and shown.text == "25% 250/1,000, ~5 min left"
    resumed = live(run, Progress(1, done=250, total=1_000, cursor=None, updated_at=at),
                   carried=200)  # 50 in 100 s: 750 more take 25 min
    assert resumed.left == "~25 min left"
    assert live(run, Progress(1, 5, None, None, at)).text == "5 done"
    assert live(run._replace(status="paused"), Progress(1, 250, 1_000, None, at)).left is None
