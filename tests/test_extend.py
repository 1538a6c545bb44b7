"""``opsctl new recycle NAME`` beside a script of a similar purpose: what that script already
offers (its description and the options of its Click command, read with ``ast``, never
imported) and how to extend it instead; ``--force`` writes anyway, a terminal is asked."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from conftest import write

from opsctl.catalogue import Script
from opsctl.lifecycle.extend import describe_script

EXISTING = "recycle/export_order_id_and_custom_name"
SOURCE = '''\
"""Export orders to CSV: the order id and the customer's name.

    opsctl run recycle/export_order_id_and_custom_name --out orders.csv
"""

import click


@click.command()
@click.option("--out", metavar="PATH", default="orders.csv", show_default=True,
              help="Where to write the CSV ('-': stdout).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only orders placed on or after this day.")
def main(out, since):
    """Export the orders."""
'''


@pytest.fixture(autouse=True)
def _developer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_DEVELOPER", "yuzaoyah")


@pytest.fixture
def root(project: Path) -> Path:
    root = project / "offline_script"
    write(root / f"{EXISTING}.py", SOURCE)
    write(root / "recycle/clear_cache.py", '"""Clear the cache."""\n')
    return root


OFFERED = [
    f"warning: recycle/ already has scripts of a similar purpose: {EXISTING}; the convention "
    "is to extend one of those instead of adding another",
    f"  {EXISTING}: Export orders to CSV: the order id and the customer's name.",
    "    --out PATH          Where to write the CSV ('-': stdout). [default: orders.csv]",
    "    --since YYYY-MM-DD  Only orders placed on or after this day.",
    "extend it instead:",
    f"  $EDITOR offline_script/{EXISTING}.py",
    f"  opsctl rename {EXISTING} NEW_NAME   (once it does both: a more general name)",
]


def test_new_recycle_beside_a_similar_script_writes_nothing(invoke: Callable[..., Result],
                                                            project: Path, root: Path) -> None:
    result = invoke(project, "new", "recycle", "export_order_id_and_custom_id")
    assert result.exit_code == 77, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        *OFFERED,
        "Error: recycle/export_order_id_and_custom_id.py was not written: extend "
        f"{EXISTING} instead, or pass --force to write it anyway",
    ]
    assert not (root / "recycle/export_order_id_and_custom_id.py").exists()


def test_force_writes_it_anyway(invoke: Callable[..., Result], project: Path,
                                root: Path) -> None:
    result = invoke(project, "new", "recycle", "export_order_id_and_custom_id", "--force")
    assert result.exit_code == 0, result.output
    assert result.stdout == "offline_script/recycle/export_order_id_and_custom_id.py\n"
    assert result.stderr.splitlines() == OFFERED
    assert (root / "recycle/export_order_id_and_custom_id.py").exists()


def test_at_a_terminal_it_asks(invoke: Callable[..., Result], project: Path, root: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("opsctl.cli.new.interactive", lambda: True)
    declined = invoke(project, "new", "recycle", "export_order_id_and_custom_id", input="n\n")
    assert declined.exit_code == 77
    assert "Write recycle/export_order_id_and_custom_id.py anyway? [y/N]" in declined.stderr
    # The answer echoed ends the question's line on stderr, or (Click 8.1) on stdout.
    assert declined.stderr.strip().endswith(
        f"Error: recycle/export_order_id_and_custom_id.py not written; extend {EXISTING} "
        "instead")
    assert not (root / "recycle/export_order_id_and_custom_id.py").exists()
    accepted = invoke(project, "new", "recycle", "export_order_id_and_custom_id", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert (root / "recycle/export_order_id_and_custom_id.py").exists()


def test_a_bad_name_is_refused_before_anything_is_shown(invoke: Callable[..., Result],
                                                        project: Path, root: Path) -> None:
    result = invoke(project, "new", "recycle", "export_order_id_and_custom_name_2")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: invalid name")


def test_a_temporary_script_is_still_only_warned_about(invoke: Callable[..., Result],
                                                       project: Path, root: Path) -> None:
    result = invoke(project, "new", "ts", "export_order_id_and_custom_id")
    assert result.exit_code == 0, result.output
    assert "similar purpose" in result.stderr and "$EDITOR" not in result.stderr


# -- reading a script's options without running it ---------------------------------------------


def describe(tmp_path: Path, source: str) -> tuple[str, list[str]]:
    path = tmp_path / "recycle" / "export_order.py"
    write(path, textwrap.dedent(source))
    offer = describe_script(Script(tmp_path, "recycle", "export_order.py"))
    return offer.description, offer.lines()


def test_the_script_is_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    description, lines = describe(tmp_path, f'''\
        """Export orders."""
        import click
        open({str(marker)!r}, "w").close()
        raise SystemExit(3)

        @click.command()
        @click.option("--limit", type=int, help="At most this many.")
        def main(limit):
            pass
        ''')
    assert not marker.exists()
    assert (description, lines) == ("Export orders.", ["--limit INTEGER  At most this many."])


@pytest.mark.parametrize(("source", "expected"), [
    ('''\
     """Export."""
     import click as c

     @c.command("export")
     @c.option("-n", "--dry", is_flag=True, help="Do nothing.")
     @c.option("--field", "fields", multiple=True, type=c.Choice(["id", "name"]),
               default=["id"], help="A column.")
     @c.argument("target")
     def main(dry, fields, target):
         pass
     ''', ["-n, --dry          Do nothing.",
           "--field [id|name]  A column. [default: id] (repeatable)",
           "TARGET"]),
    ('''\
     """Export."""
     from click import command, option, IntRange

     @option("--days", type=IntRange(min=1), default=30, required=True)
     @command()
     def main(days):
         pass
     ''', ["--days INTEGER  [default: 30] (required)"]),
    ('''\
     """Export."""
     import click

     @click.command()
     @click.option("--verbose/--quiet", default=False)
     def main(verbose):
         pass
     ''', ["--verbose/--quiet"]),
    ('''\
     """Export."""
     import click

     @click.command()
     def main():
         pass
     ''', ["(a Click command without options)"]),
    ('''\
     """Export."""
     def main():
         pass
     ''', ["(a plain main(): no options declared)"]),
    ('''\
     """Export."""
     if __name__ == "__main__":
         print("legacy")
     ''', ["(no main: run as __main__, no options declared)"]),
    ('''\
     """Export."""
     import click
     OPTIONS = [click.option("--x")]

     def with_options(f):
         return f

     @click.command()
     @with_options
     def main(**kw):
         pass
     ''', ["(a Click command without options)"]),
    ('"""Export."""\ndef main(:\n', ["(not valid Python: its options cannot be read)"]),
])
def test_what_a_script_offers(tmp_path: Path, source: str, expected: list[str]) -> None:
    description, lines = describe(tmp_path, source)
    assert description == "Export."
    assert lines == expected
