"""Free checks on the whole CLI: every command teaches with --help, errors stay one line."""

from __future__ import annotations

import shlex

import pytest
from click.testing import CliRunner

from opsctl.cli.group import COMMANDS, cli


def test_every_registered_command_loads() -> None:
    ctx = cli.make_context("opsctl", ["--help"], resilient_parsing=True)
    assert cli.list_commands(ctx) == list(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help(runner: CliRunner, name: str) -> None:
    result = runner.invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    command = cli.get_command(cli.make_context("opsctl", ["--help"], resilient_parsing=True),
                              name)
    assert command is not None and command.help and len(command.help.strip()) > 20
    assert command.get_short_help_str().strip()
    assert "Usage: opsctl " in result.stdout


def test_root_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


def test_unexpected_errors_are_one_line_without_debug(runner: CliRunner, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import opsctl.listing.show

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(opsctl.listing.show, "list_scripts", boom)
    monkeypatch.delenv("OPSCTL_DEBUG", raising=False)
    result = runner.invoke(cli, ["--project", "/tmp", "list"])
    assert result.exit_code == 1
    assert "unexpected error: RuntimeError: kaboom" in result.stderr
    assert "--debug" in result.stderr
    debug = runner.invoke(cli, ["--project", "/tmp", "--debug", "list"])
    assert isinstance(debug.exception, RuntimeError)


def test_script_completion(runner: CliRunner, project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from conftest import write

    write(project / "offline_script/recycle/clear_cache.py")
    write(project / "offline_script/recycle/export_order.py")
    from opsctl.cli.params import SCRIPT

    ctx = cli.make_context("opsctl", ["--project", str(project)], resilient_parsing=True)
    items = SCRIPT.shell_complete(ctx, None, "recycle/c")  # type: ignore[arg-type]
    assert [i.value for i in items] == ["recycle/clear_cache"]
    items = SCRIPT.shell_complete(ctx, None, "exp")  # type: ignore[arg-type]
    assert [i.value for i in items] == ["recycle/export_order"]
    # As the shell asks (README: eval "$(_OPSCTL_COMPLETE=bash_source opsctl)"): a real
    # process, through the console entry point and Click's completion protocol.
    assert complete(f"opsctl --project {shlex.quote(str(project))} run recycle/c") == \
        ["plain,recycle/clear_cache"]
    assert complete(f"opsctl --project {shlex.quote(str(project))} history exp") == \
        ["plain,recycle/export_order"]
    # `lint` has a fast path of its own; completing its options still goes through Click.
    assert complete(f"opsctl --project {shlex.quote(str(project))} lint --format j") == \
        ["plain,json", "plain,junit"]


def complete(words: str) -> list[str]:
    """What bash completion gets for the last of ``words`` (bash_complete: "type,value")."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "_OPSCTL_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(shlex.split(words)) - 1)}
    done = subprocess.run([sys.executable, "-m", "opsctl"], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_completion_skips_undecodable_names(project) -> None:  # type: ignore[no-untyped-def]
    import os

    from conftest import write

    from opsctl.cli.params import SCRIPT

    write(project / "offline_script/recycle/clear_cache.py")
    with open(os.fsencode(project / "offline_script/recycle") + b"/bad_\xff.py", "wb") as fh:
        fh.write(b"x = 1\n")
    ctx = cli.make_context("opsctl", ["--project", str(project)], resilient_parsing=True)
    items = SCRIPT.shell_complete(ctx, None, "rec")  # type: ignore[arg-type]
    assert [i.value for i in items] == ["recycle/clear_cache"]
