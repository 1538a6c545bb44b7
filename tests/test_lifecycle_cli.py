"""promote, demote, stale and clean end to end through the CLI: bad input is one line, a
non-zero exit and nothing changed; questions are asked only at a terminal."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import Result
from conftest import runner_ends_input, write

TS = "ts_2024_06_10_export_order_data"


@pytest.fixture(autouse=True)
def _developer(monkeypatch: pytest.MonkeyPatch, isolated_git: None) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "yuzaoyah")


@pytest.fixture
def root(project: Path) -> Path:
    root = project / "offline_script"
    write(root / f"yuzaoyah/{TS}.py")
    write(root / "yuzaoyah/ts_2020_01_01_fix_rows.py")
    write(root / "recycle/clear_cache.py")
    write(root / "recycle/export_order.py")
    write(root / "unrecycle/flush_order_data.py")
    return root


def tree(top: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for dirpath, _, filenames in os.walk(top):
        out[os.path.relpath(dirpath, top) + "/"] = None
        for name in filenames:
            out[os.path.relpath(os.path.join(dirpath, name), top)] = \
                Path(dirpath, name).read_bytes()
    return out


def one_line_error(result: Result, exit_code: int, *fragments: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    if exit_code == 2:  # a usage error: Click's usage and help hint come first
        lines = lines[3:]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(("args", "code", "fragments"), [
    (["promote", "recycle/clear_cache"], 1, ["already a recycle script"]),
    (["demote", "unrecycle/flush_order_data"], 1, ["already in unrecycle/"]),
    (["promote", "yuzaoyah/ts_2024_06_10_export_order"], 74,
     ["no script", "did you mean", TS]),
    (["demote", "nothing_like_it"], 74, ["no script 'nothing_like_it'"]),
    (["promote", "../pyproject.toml"], 74, ["outside the offline-script root"]),
    (["demote", "/etc/hostname"], 74, ["outside the offline-script root"]),
    (["promote", TS, "--as", f"{TS}"], 1, ["without 'ts_' or a date"]),
    (["promote", TS, "--as", "export_order_2024_06_10"], 1, ["date"]),
    (["promote", TS, "--as", "Export Order"], 1, ["not snake_case", "'export_order'"]),
    (["promote", TS, "--as", "clear_cache"], 1, ["recycle/clear_cache.py already exists",
                                                 "--as NAME"]),
    (["promote", TS, "--as", "flush_order_data"], 1, ["duplicate"]),
    (["demote", TS, "--as", "flush_order_data"], 1, ["already exists", "--as NAME"]),
    (["promote", "--as", "export_orders"], 2, ["--as names one script"]),
    (["promote", TS, "--json"], 2, ["--json is for the candidate list"]),
])
def test_bad_input(invoke: Callable[..., Result], project: Path, root: Path,
                   args: list[str], code: int, fragments: list[str]) -> None:
    before = tree(project)
    one_line_error(invoke(project, *args), code, *fragments)
    assert tree(project) == before  # no ledger file created either


def test_a_symlink_pointing_out_is_refused(invoke: Callable[..., Result], project: Path,
                                           root: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere.py")
    os.symlink(outside, root / "yuzaoyah/ts_2024_06_11_linked.py")
    before = tree(project)
    one_line_error(invoke(project, "promote", "yuzaoyah/ts_2024_06_11_linked"), 74,
                   "outside the offline-script root")
    assert tree(project) == before


def interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opsctl.cli.lifecycle.interactive", lambda: True)


def test_similar_scripts_declined_at_a_terminal(invoke: Callable[..., Result], project: Path,
                                                root: Path, monkeypatch: Any) -> None:
    interactive(monkeypatch)
    before = tree(project)
    result = invoke(project, "promote", TS, input="n\n")
    assert result.exit_code == 77
    assert "similar purpose: recycle/export_order" in result.stderr
    assert "anyway? [y/N]" in result.stderr
    assert "extend recycle/export_order instead" in result.stderr
    assert tree(project) == before


# -- stale and clean ------------------------------------------------------------------------


def test_stale_lists_old_temporary_scripts(invoke: Callable[..., Result], project: Path,
                                           root: Path) -> None:
    result = invoke(project, "stale", "--json")
    assert result.exit_code == 0
    import json

    data = json.loads(result.stdout)
    assert [d["key"] for d in data] == ["yuzaoyah/ts_2020_01_01_fix_rows",
                                        f"yuzaoyah/{TS}"]
    assert data[0]["owner"] == "yuzaoyah" and data[0]["last_run"] is None
    plain = invoke(project, "stale", "--older-than", "100000")
    assert plain.exit_code == 0 and plain.stdout == ""
    assert "no temporary script is older than 100000 days" in plain.stderr


def test_clean_without_a_terminal_needs_yes(invoke: Callable[..., Result], project: Path,
                                            root: Path) -> None:
    before = tree(project)
    result = invoke(project, "clean")
    assert result.exit_code == 77
    assert "yuzaoyah/ts_2020_01_01_fix_rows" in result.stdout  # the list is shown first
    assert result.stderr.strip() == ("Error: clean would delete 2 temporary scripts; confirm "
                                     "in a terminal, or pass --yes")
    assert tree(project) == before


def test_clean_asks_at_a_terminal(invoke: Callable[..., Result], project: Path, root: Path,
                                  monkeypatch: Any) -> None:
    interactive(monkeypatch)
    before = tree(project)
    declined = invoke(project, "clean", input="n\n")
    assert declined.exit_code == 77 and tree(project) == before
    accepted = invoke(project, "clean", "--older-than", "2000", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Delete 1 temporary script? [y/N]" in accepted.stderr
    assert "deleted yuzaoyah/ts_2020_01_01_fix_rows" in accepted.stdout
    assert (root / f"yuzaoyah/{TS}.py").exists()


def test_clean_never_touches_recycle_or_unrecycle(invoke: Callable[..., Result],
                                                  project: Path, root: Path) -> None:
    result = invoke(project, "clean", "--older-than", "0", "--yes")
    assert result.exit_code == 0, result.output
    assert not (root / "yuzaoyah").exists()
    assert sorted(p.name for p in (root / "recycle").iterdir()) == ["clear_cache.py",
                                                                    "export_order.py"]
    assert [p.name for p in (root / "unrecycle").iterdir()] == ["flush_order_data.py"]


def test_clean_owner(invoke: Callable[..., Result], project: Path, root: Path) -> None:
    write(root / "lihua/ts_2020_02_02_check.py")
    result = invoke(project, "clean", "--owner", "lihua", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "deleted lihua/ts_2020_02_02_check"
    assert (root / "yuzaoyah/ts_2020_01_01_fix_rows.py").exists()


@pytest.mark.parametrize("name", ["promote", "demote", "stale", "clean"])
def test_root_help_shows_each_lifecycle_summary_whole(name: str) -> None:
    from click.testing import CliRunner

    from opsctl.cli.group import SUMMARIES, cli

    # 80 columns: the usual terminal. A summary Click has to shorten ends in "...".
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    (row,) = [line for line in result.stdout.splitlines() if line.split()[:1] == [name]]
    assert row.split(None, 1)[1] == SUMMARIES[name]
    assert len(SUMMARIES[name]) <= 55


def test_no_answer_declines_every_question(invoke: Callable[..., Result], project: Path,
                                           root: Path, monkeypatch: Any) -> None:
    """End of input at a [y/N] question is a refusal (77), never Click's "Aborted!"."""
    if not runner_ends_input():
        pytest.skip("this Click's CliRunner answers a question at the end of its input with "
                    "an empty line instead of ending it")
    interactive(monkeypatch)
    before = tree(project)
    promote = invoke(project, "promote", TS, input="")
    cleaned = invoke(project, "clean", input="")
    for result, said in ((promote, f"no answer: yuzaoyah/{TS} not promoted"),
                         (cleaned, "no answer: nothing deleted")):
        assert result.exit_code == 77, result.output
        assert result.stderr.strip().endswith(f"Error: {said}")
        assert "Aborted" not in result.stderr
    assert tree(project) == before


def test_ctrl_c_at_a_question_exits_130(invoke: Callable[..., Result], project: Path,
                                        root: Path, monkeypatch: Any) -> None:
    interactive(monkeypatch)

    def interrupted(*args: object, **kwargs: object) -> bool:
        try:  # what click.confirm does when Ctrl-C comes while it reads the answer
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.Abort() from None

    monkeypatch.setattr("click.confirm", interrupted)
    before = tree(project)
    result = invoke(project, "clean")
    assert result.exit_code == 130
    assert result.stderr.strip().endswith("Error: interrupted: nothing deleted")
    assert "Aborted" not in result.stderr and tree(project) == before


# -- what promote does to the script's own words ---------------------------------------------


def module_docstring(path: Path) -> str | None:
    import ast

    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)


def test_promote_rewords_the_temporary_template_docstring(invoke: Callable[..., Result],
                                                          project: Path,
                                                          tmp_path: Path) -> None:
    """The ts template's docstring says "Temporary script..."; promoted, it reads as the
    recycle template's, with the same description, and the rest of the file is untouched."""
    message = 'Export orders with their customer\'s "name".'
    made = invoke(project, "new", "ts", "export_order_data", "-m", message)
    assert made.exit_code == 0, made.output
    ts = project / made.stdout.strip()
    before = ts.read_text(encoding="utf-8")
    assert "Temporary script by yuzaoyah" in before
    key = f"yuzaoyah/{ts.stem}"

    result = invoke(project, "promote", key)
    assert result.exit_code == 0, result.output
    promoted = project / "offline_script/recycle/export_order_data.py"
    assert "its docstring now reads as a recycle script's" in result.stderr
    # What 'opsctl new recycle' writes for the same name and description, elsewhere.
    other = tmp_path / "other"
    for folder in ("offline_script/recycle", "offline_script/unrecycle"):
        (other / folder).mkdir(parents=True)
    (other / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    fresh = invoke(other, "new", "recycle", "export_order_data", "-m", message)
    assert fresh.exit_code == 0, fresh.output
    expected = module_docstring(other / "offline_script/recycle/export_order_data.py")
    assert expected is not None and expected.startswith(message)
    assert "opsctl run recycle/export_order_data --help" in expected
    after = promoted.read_text(encoding="utf-8")
    assert module_docstring(promoted) == expected and "Temporary script" not in after
    # Below the docstring, nothing changed.
    assert after.split('\n"""\n', 1)[1] == before.split('\n"""\n', 1)[1]


def test_promote_keeps_a_docstring_in_its_own_words(invoke: Callable[..., Result],
                                                    project: Path) -> None:
    own = '"""Export orders.\n\nWritten for the monthly close; ask lihua before running it.\n"""\n'
    write(project / f"offline_script/yuzaoyah/{TS}.py", own + "print('x')\n")
    result = invoke(project, "promote", TS)
    assert result.exit_code == 0, result.output
    assert (project / "offline_script/recycle/export_order_data.py").read_text() == \
        own + "print('x')\n"
    assert "docstring" not in result.stderr


def test_promote_rewords_the_template_paragraphs_a_person_added_to(
        invoke: Callable[..., Result], project: Path) -> None:
    made = invoke(project, "new", "ts", "export_order_data")
    ts = project / made.stdout.strip()
    text = ts.read_text(encoding="utf-8")
    added = "\nOnly orders from the EU shop; the US shop has its own export.\n"
    text = text.replace('\n"""\n', "\n" + added + '"""\n', 1)
    ts.write_text(text, encoding="utf-8")
    result = invoke(project, "promote", f"yuzaoyah/{ts.stem}")
    assert result.exit_code == 0, result.output
    doc = module_docstring(project / "offline_script/recycle/export_order_data.py")
    assert doc is not None
    assert doc.startswith("Export order data.\n\nRecurring script: run it again")
    assert "Temporary script" not in doc and added.strip() in doc
    assert "opsctl run recycle/export_order_data --help" in doc
