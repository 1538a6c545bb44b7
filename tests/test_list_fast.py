"""``opsctl list``'s fast path, its listing and its cache.

:mod:`opsctl.cli.main` hands the everyday shapes of ``opsctl list`` to
:func:`opsctl.cli.list_fast.run_fast`; every other shape goes to the Click group. Both end in
:func:`opsctl.listing.show.execute`, and these tests hold them equal: each case runs in two
real processes, once through the program as installed and once straight through the Click
group, and compares stdout, stderr and the exit status byte for byte, on a tree with every
kind of name a listing meets and a ledger with runs. A probe checks that the fast process
really skipped Click. The listing's own walk is held to the catalogue's, its JSON to
``json.dumps``'s, and its cache to what a cache must see.
"""

from __future__ import annotations

import datetime as dt
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write

from opsctl import filecache
from opsctl.cli.list_fast import parse_fast
from opsctl.listing.entries import as_dict, json_text, scripts_of
from opsctl.listing.folders import Listing
from opsctl.listing.show import ListOptions, list_scripts
from opsctl.project import Project

#: The console script's road: opsctl.cli.main, writing the imported module names to argv[1].
FAST = """
import atexit, json, sys
probe, sys.argv = sys.argv[1], ["opsctl", *sys.argv[2:]]
atexit.register(lambda: open(probe, "w").write(json.dumps(sorted(sys.modules))))
from opsctl.cli.main import main
main()
"""
#: Click's road for the same arguments.
CLICK = """
import sys
from opsctl.cli.group import cli
cli.main(sys.argv[1:], prog_name="opsctl")
"""
TODAY = dt.date.today()
#: A day whose scripts are stale, and one whose are not.
OLD, NEW = TODAY - dt.timedelta(days=400), TODAY - dt.timedelta(days=3)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPSCTL_", "_OPSCTL")) and k not in
           ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "PYTHONIOENCODING")}
    return env | extra


def fast(cwd: Path, probe: Path, *args: str, env: dict[str, str],
         ) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    proc = subprocess.run([sys.executable, "-c", FAST, str(probe), *args], cwd=cwd, env=env,
                          capture_output=True, timeout=60, check=False)
    return proc, set(json.loads(probe.read_text(encoding="utf-8")))


def slow(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", CLICK, *args], cwd=cwd, env=env,
                          capture_output=True, timeout=60, check=False)


def ts(day: dt.date, what: str) -> str:
    return f"ts_{day:%Y_%m_%d}_{what}.py"


def fill_tree(root: Path) -> None:
    """Every kind of name a listing meets: shared and temporary scripts, stale and fresh,
    dates that are no dates, names that are no temporary names, a name that is not UTF-8,
    and what is not a script (hidden, ``__init__``, not ``.py``, folders it skips)."""
    write(root / "recycle" / "clear_cache.py", '"""Clear the cache."""\n')
    write(root / "recycle" / "export_order_data.py", '"""\nExport — order data, naïvely.\n"""\n')
    write(root / "recycle" / "__init__.py", "")
    write(root / "recycle" / ".hidden.py")
    write(root / "recycle" / "notes.txt", "not a script\n")
    write(root / "unrecycle" / "fix_refund_totals.py", "# no docstring\nx = 1\n")
    (root / "unrecycle" / "binary.py").write_bytes(b'"""Bin\x00ary."""\n')
    dev = root / "yuzaoyah"
    write(dev / ts(OLD, "export_orders"), '"""Old export."""\n')
    write(dev / ts(NEW, "export_orders"), '"""New export."""\n')
    write(dev / ts(OLD, "flush_rows"), "'''Flush rows.'''\n")
    write(dev / "ts_2024_13_45_bad_date.py")
    write(dev / "Export-Orders.py")
    write(dev / "naïve_name.py", '"""Accented."""\n')
    os.symlink(dev / ts(OLD, "flush_rows"), dev / ts(OLD, "linked_rows"))
    write(root / "lihua" / ts(NEW, "check_stock"), '"""Check stock."""\n')
    if sys.platform.startswith("linux"):  # file names are bytes there
        with open(os.path.join(os.fsencode(root / "lihua"), b"ts_2024_01_02_caf\xe9.py"),
                  "wb") as fh:
            fh.write(b'"""Undecodable name."""\n')
    write(root / ".templates" / "recycle.py")
    write(root / "__pycache__" / "x.py")
    (root / "empty_folder").mkdir()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with :func:`fill_tree` and a SQLite ledger holding runs of two scripts (one
    of them dry), shared by the module's cases (each reads it, none changes it)."""
    from opsctl.ledger.store import Ledger
    from opsctl.ledger.values import Process

    project = tmp_path_factory.mktemp("listing") / "proj"
    fill_tree(project / "offline_script")
    (project / "pyproject.toml").write_text("[tool.opsctl]\nstale_days = 30\n",
                                            encoding="utf-8")
    (project / "instance").mkdir()
    with Ledger.open(f"sqlite:///{project / 'instance' / 'opsctl.sqlite3'}") as book:
        for key, operator, dry in (("recycle/clear_cache", "bob", False),
                                   ("recycle/clear_cache", "carol", True),
                                   (f"yuzaoyah/{ts(OLD, 'export_orders')[:-3]}", "ann", False)):
            run = book.start(script=key, process=Process.current(operator), args=["--x", "1"],
                             dry_run=dry)
            book.finish(run, status="failed" if dry else "succeeded", exit_code=int(dry),
                        output_tail="tail\n", summary={"rows": 3})
    return project


# Each case: (arguments, extra environment).
CASES: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("list", "--json", "--no-runs"), {}),  # first: the cold cache
    (("list",), {}),
    (("list", "--json"), {}),
    (("list", "--no-runs"), {}),
    (("list", "--json", "--no-runs"), {}),  # again: the warm cache
    (("list", "--kind", "ts", "--json"), {}),
    (("list", "--kind=recycle"), {}),
    (("list", "--owner", "yuzaoyah", "--stale"), {}),
    (("list", "--stale", "--json", "--no-runs"), {}),
    (("list", "--owner=nobody"), {}),
    (("--project", ".", "list", "--kind", "unrecycle"), {}),
    (("--debug", "--project=.", "list", "--json"), {}),
    (("list",), {"OPSCTL_PROJECT": "."}),
    (("list", "--json"), {"FORCE_COLOR": "1", "COLUMNS": "100"}),
    (("list",), {"FORCE_COLOR": "1", "COLUMNS": "60"}),
    (("list", "--json", "--no-runs"), {"PYTHONIOENCODING": "ascii"}),
    # Both fail alike where the text has no place in the stream's encoding.
    (("list", "--json", "--no-runs"), {"PYTHONIOENCODING": "latin-1"}),
]


@pytest.mark.parametrize(("args", "extra"), CASES,
                         ids=[" ".join(c[0]) + "".join(f" {k}" for k in c[1]) for c in CASES])
def test_fast_path_and_click_agree(tree: Path, tmp_path: Path, args: tuple[str, ...],
                                   extra: dict[str, str]) -> None:
    env = clean_env(TZ="Asia/Shanghai", **extra)
    quick, modules = fast(tree, tmp_path / "modules.json", *args, env=env)
    assert "click" not in modules, "this shape should have taken the fast path"
    reference = slow(tree, *args, env=env)
    assert (quick.returncode, quick.stdout, quick.stderr) == \
        (reference.returncode, reference.stdout, reference.stderr)
    if "latin-1" in extra.values():
        assert quick.returncode == 1 and b"UnicodeEncodeError" in quick.stderr
        return
    assert quick.returncode == 0, quick.stderr
    assert quick.stdout or quick.stderr == b"no scripts match\n"


def test_what_the_fast_path_prints(tree: Path, tmp_path: Path) -> None:
    """Not only the same as Click: right. Last runs, dates and ages, what is not listed."""
    proc, _ = fast(tree, tmp_path / "m.json", "list", "--json", env=clean_env())
    listed = {e["key"]: e for e in json.loads(proc.stdout)}
    assert listed["recycle/clear_cache"]["last_run"]["operator"] == "carol"
    assert listed["recycle/export_order_data"]["description"] == "Export — order data, naïvely."
    assert listed["unrecycle/binary"]["description"] == "(binary file)"
    old = listed[f"yuzaoyah/{ts(OLD, 'export_orders')[:-3]}"]
    assert (old["date"], old["age_days"], old["stale"]) == (OLD.isoformat(), 400, True)
    assert old["last_run"]["status"] == "succeeded" and "output_tail" not in old["last_run"]
    assert listed["yuzaoyah/ts_2024_13_45_bad_date"]["date"] is None
    assert listed[f"yuzaoyah/{ts(OLD, 'linked_rows')[:-3]}"]["description"] == "Flush rows."
    assert "lihua/ts_2024_01_02_caf\ufffd" in listed or not sys.platform.startswith("linux")
    assert not [k for k in listed if k.endswith(("__init__", ".hidden", "notes"))]
    assert not [k for k in listed if k.startswith((".templates", "__pycache__"))]


#: What a warm list leaves out (each costs a listing of 10,000 scripts several percent): Click,
#: typing and the catalogue's pathlib and dataclasses; the table's last runs make no Run; the
#: lint's modules (its fast road's argument reading lives in opsctl.light).
NOT_ON_THE_LIST_PATH = ("click", "rich", "typing", "pathlib", "dataclasses", "inspect", "ast",
                        "sqlalchemy", "opsctl.catalogue", "opsctl.similarity", "opsctl.lint")


@pytest.mark.parametrize("args", [("list", "--json", "--no-runs"), ("list", "--json"),
                                  ("list",)], ids=" ".join)
def test_a_warm_list_imports_little(tree: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    for _ in range(2):  # the first makes the cache folder, where the second keeps the table
        fast(tree, tmp_path / "m.json", *args, env=clean_env())
    proc, modules = fast(tree, tmp_path / "m.json", *args, env=clean_env())
    assert proc.returncode == 0 and proc.stdout
    heavy = [m for m in modules if m.split(".")[0] in NOT_ON_THE_LIST_PATH or
             m in NOT_ON_THE_LIST_PATH]
    if args == ("list",):  # the table's last runs: four columns, no whole run made
        heavy += [m for m in modules if m == "opsctl.ledger.rows"]
    assert sorted(heavy) == []


@pytest.mark.parametrize("args", [
    ("list", "--help"), ("list", "-h"), ("list", "--kind", "scratch"), ("list", "--kind"),
    ("list", "--kind", "ts", "--kind", "recycle"), ("list", "--json", "--json"),
    ("list", "--owner="), ("list", "extra"), ("list", "--", "x"), ("list", "--jsn"),
    ("list", "--json=yes"), ("--help", "list"), ("--developer", "me", "list"),
    ("--project", "offline_script", "list"), ("--project", "nowhere", "list"),
    ("--project",), ("list", "--project", "."), ("lint", "list"), ("run", "recycle/list"), (),
], ids=" ".join)
def test_other_shapes_are_left_to_click(tree: Path, args: tuple[str, ...],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)  # offline_script: a folder, and not a project, from here
    assert parse_fast(args, {}) is None


@pytest.mark.parametrize(("args", "expected"), [
    (("list",), (ListOptions(), None, False)),
    (("list", "--json", "--no-runs"), (ListOptions(no_runs=True, as_json=True), None, False)),
    (("list", "--kind=ts", "--owner", "ann", "--stale"),
     (ListOptions(kind="ts", owner="ann", stale=True), None, False)),
    (("--debug", "--project", ".", "list", "--kind", "recycle"),
     (ListOptions(kind="recycle"), ".", True)),
], ids=["nothing", "flags", "values", "group"])
def test_everyday_shapes_are_read(tree: Path, args: tuple[str, ...], expected: object,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    assert parse_fast(args, {}) == expected
    assert parse_fast(("list",), {"OPSCTL_PROJECT": str(tree)}) == \
        (ListOptions(), str(tree), False)
    assert parse_fast(("list",), {"_OPSCTL_COMPLETE": "bash_complete"}) is None


def test_no_project_and_a_broken_one_agree(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    broken = tmp_path / "broken"
    (broken / "offline_script").mkdir(parents=True)
    (broken / "pyproject.toml").write_text("[tool.opsctl]\nstale_dayz = 3\n", encoding="utf-8")
    for cwd, status in ((lonely, 1), (broken, 2)):
        quick, modules = fast(cwd, tmp_path / "m.json", "list", env=clean_env())
        assert "click" not in modules
        reference = slow(cwd, "list", env=clean_env())
        assert (quick.returncode, quick.stdout, quick.stderr) == \
            (reference.returncode, reference.stdout, reference.stderr)
        assert quick.returncode == status and quick.stderr.startswith(b"Error: ")


def test_the_options_read_here_are_declared_alike_on_the_click_side() -> None:
    import click

    from opsctl.cli import list as list_cli
    from opsctl.cli import list_fast
    from opsctl.cli.group import cli

    for command, valued, flags in (
            (cli, list_fast.GROUP_VALUED, list_fast.GROUP_FLAGS),
            (list_cli.list_command, list_fast.LIST_VALUED, list_fast.LIST_FLAGS)):
        options = {opt: p for p in command.params if isinstance(p, click.Option)
                   for opt in p.opts}
        for name, field in valued.items():
            assert name in options and not options[name].is_flag, name
            assert options[name].name == field, name
        for name, field in flags.items():
            assert name in options and options[name].is_flag, name
            assert options[name].name == field, name
    assert set(ListOptions._fields) == {p.name for p in list_cli.list_command.params}
    kind = next(p for p in list_cli.list_command.params if p.name == "kind")
    assert isinstance(kind.type, click.Choice) and tuple(kind.type.choices) == list_fast.KINDS


def test_the_walk_finds_what_the_catalogue_finds(tree: Path) -> None:
    from opsctl.catalogue import Catalogue

    root = tree / "offline_script"
    walked = [(folder, name) for folder, names in scripts_of(str(root)) for name in names]
    assert walked == [(s.folder, s.filename) for s in Catalogue(root).scripts]
    assert scripts_of(str(tree / "nowhere")) == []


def test_names_are_made_printable_as_the_catalogue_makes_them() -> None:
    from opsctl.catalogue import printable as catalogue_printable
    from opsctl.listing.entries import printable

    for name in ("clear_cache", "naïve", "caf\udce9", "\udcff\udc80x", "日本"):
        assert printable(name) == catalogue_printable(name)


def test_the_json_is_json_dumps_text(tree: Path) -> None:
    from opsctl.ledger.values import Run

    entries = list_scripts(Project(tree))
    assert any(e.last_run is not None for e in entries)
    odd = Run(7, "lihua/x", None, ["--é"], "ann", "h", 1,
              dt.datetime(2024, 1, 2, tzinfo=dt.UTC), None, "running", None, False, None, None,
              None, None, None, None, {"rows": 1.5, "name": "\udce9"})
    rows = [*entries, ("lihua", "x\udce9.py", None, 12, False, 'say "hi"\n\t', odd),
            ("rec\u00e9", "y.py", NEW, 3, True, "", None)]
    expected = json.dumps([as_dict(*row) for row in rows], ensure_ascii=False, default=str)
    assert json_text(rows) == expected
    assert json_text([]) == "[]"


# -- the listing cache --------------------------------------------------------------------------

@pytest.fixture
def listed(project: Path) -> Path:
    root = project / "offline_script"
    write(root / "recycle" / "export_order_data.py", '"""Export order data."""\n')
    write(root / "recycle" / "flush_cache_rows.py", '"""Flush cache rows."""\n')
    write(root / "unrecycle" / "fix_refund_totals.py", '"""Fix refund totals."""\n')
    write(root / "ann" / ts(OLD, "check_stock"), '"""Check stock."""\n')
    return project


def descriptions(project: Path, **filters: str) -> dict[str, str]:
    return {e.rel: e.description
            for e in list_scripts(Project(project), with_runs=False, **filters)}


def stored(project: Path) -> dict[str, tuple[object, ...]]:
    return Listing(Project(project), None, None).cache.entries  # type: ignore[union-attr]


def test_descriptions_come_from_the_cache_while_nothing_changed(listed: Path) -> None:
    assert descriptions(listed)["recycle/export_order_data.py"] == "Export order data."
    # Poisoned, the signatures kept: believed, so list does not read the files again.
    entry = stored(listed)["recycle"]
    assert sorted(entry[0].split("\0")) == ["export_order_data.py", "flush_cache_rows.py"]
    names, signatures, texts = marshal.loads(entry[2])
    assert names == ["export_order_data.py", "flush_cache_rows.py"]
    assert texts == ["Export order data.", "Flush cache rows."]
    poisoned = filecache.FileCache(str(listed / ".opsctl_cache"), "listing", Listing(
        Project(listed), None, None).cache.stamp)  # type: ignore[union-attr]
    poisoned.put("recycle", (entry[0], entry[1], marshal.dumps(
        (names, signatures, ["From the cache.", texts[1]])), None, None))
    poisoned.save()
    assert descriptions(listed)["recycle/export_order_data.py"] == "From the cache."
    # A same-size rewrite with the time set back is read again; its neighbour is not.
    script = listed / "offline_script" / "recycle" / "export_order_data.py"
    before = script.stat()
    script.write_text('"""Import order data."""\n', encoding="utf-8")
    os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert descriptions(listed)["recycle/export_order_data.py"] == "Import order data."
    # A rename is a new name in the folder.
    script.rename(script.with_name("export_orders.py"))
    assert descriptions(listed)["recycle/export_orders.py"] == "Import order data."


def test_a_file_edited_in_place_is_read_again_by_a_warm_json_list(listed: Path) -> None:
    """An edit in place changes neither the folder's names nor its modification time: the
    warm road (each folder's JSON as printed before) still asks every file."""
    project = Project(listed)

    def described() -> dict[str, str]:
        found = Listing(project, None, None)
        return {e["key"]: e["description"] for e in json.loads(found.json_bytes())}

    assert described()["unrecycle/fix_refund_totals"] == "Fix refund totals."
    assert described()["unrecycle/fix_refund_totals"] == "Fix refund totals."  # warm
    folder = listed / "offline_script" / "unrecycle"
    before = folder.stat().st_mtime_ns
    with open(folder / "fix_refund_totals.py", "r+b") as fh:  # same inode, same folder
        fh.write(b'"""Fix refund rounding, twice."""\n')
    assert folder.stat().st_mtime_ns == before
    assert described()["unrecycle/fix_refund_totals"] == "Fix refund rounding, twice."
    assert described()["recycle/export_order_data"] == "Export order data."


def test_folders_are_forgotten_only_when_everything_was_listed(listed: Path) -> None:
    descriptions(listed)
    assert set(stored(listed)) == {"recycle", "unrecycle", "ann"}
    for path in (listed / "offline_script" / "ann").iterdir():
        path.unlink()
    (listed / "offline_script" / "ann").rmdir()
    descriptions(listed, kind="recycle")
    assert set(stored(listed)) == {"recycle", "unrecycle", "ann"}
    descriptions(listed)
    assert set(stored(listed)) == {"recycle", "unrecycle"}


def test_a_new_day_renders_the_json_again(listed: Path) -> None:
    """Ages and staleness change with the day: a folder's JSON is kept with its day."""
    project = Project(listed)

    def ages(today: dt.date) -> dict[str, int | None]:
        text = Listing(project, None, None, today).json_bytes()
        return {e["key"]: e["age_days"] for e in json.loads(text)}

    key = f"ann/{ts(OLD, 'check_stock')[:-3]}"
    assert ages(TODAY)[key] == 400
    assert stored(listed)["ann"][3] == (TODAY.toordinal(), 90)
    assert ages(TODAY + dt.timedelta(days=1))[key] == 401
    assert ages(TODAY)[key] == 400


def test_without_a_cache_folder_nothing_is_written(listed: Path) -> None:
    project = Project(listed)
    project.config = project.config._replace(cache_path=None)  # type: ignore[misc]
    found = Listing(project, None, None)
    assert [f for f, _ in found.folders] == ["recycle", "unrecycle", "ann"]
    assert json.loads(found.json_bytes())[0]["description"] == "Export order data."
    assert not (listed / ".opsctl_cache").exists()
