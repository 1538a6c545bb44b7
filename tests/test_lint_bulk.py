"""Names proved good or stale in bulk, and folders replayed from the names cache (issue 15):
whatever the tree and the settings, the walk finds what the full rules find name by name, and a
warm lint what a lint without a cache finds.

The full rules are file-list mode's (every file given, each name checked alone); the bulk
path is the whole-tree walk; the cache is exercised cold (filled) and warm (replayed).
"""

from __future__ import annotations

import datetime as _dt
import marshal
import os
import shutil
import time
from pathlib import Path

import pytest
from treegen import LEGACY, generate_tree

from opsctl.filecache import read_frames
from opsctl.lint.bulk import FastMatches, day_name, split_stale
from opsctl.lint.engine import lint
from opsctl.lint.namecache import NameResults
from opsctl.lint.rules import LintReport
from opsctl.lint.settings import LintConfig
from opsctl.lint.walk import SHARED_KEY, Linter
from opsctl.naming import DEFAULT_STATUS_SUFFIXES, Naming

TODAY = _dt.date(2026, 3, 15)

#: Settings that change what the walk does in bulk: the stale window, globs, copy words, the
#: date floor, content checked in developer folders, rules off, severities.
SETTINGS = {
    "default": {},
    "short stale window": {"stale_days": 30},
    "no stale window": {"stale_days": 5000},
    "ignore globs": {"ignore": ("*/ts_2019_*", "recycle/archive_*")},
    "own copy words": {"status_suffixes": ("old", "ids", "do_not_use")},
    "date floor": {"date_floor": "2022-01-01"},
    "temporary content": {"content_kinds": frozenset({"recycle", "temporary"})},
    "stale off": {"enabled": LintConfig().enabled - {"OPS401", "OPS303"}},
    "show stale": {"show_stale": True},
}


def naming_for(config: LintConfig) -> Naming:
    return Naming(today=TODAY, status_suffixes=config.status_suffixes)


def all_files(root: Path) -> list[Path]:
    return sorted(Path(folder, f) for folder, _, files in os.walk(root) for f in files)


def same(a: LintReport, b: LintReport) -> None:
    assert a.findings == b.findings
    assert (a.stale, a.checked, a.errors, a.warnings) == (b.stale, b.checked, b.errors,
                                                          b.warnings)


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_legacy(tmp_path_factory.mktemp("legacy") / "offline_script", 1_500)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The legacy shape and its edge cases on 200 scripts: for tests that copy it."""
    return make_legacy(tmp_path_factory.mktemp("small") / "offline_script", 200)


def make_legacy(root: Path, n: int) -> Path:
    generate_tree(root, n, seed=3, today=TODAY, **LEGACY)  # type: ignore[arg-type]
    # Edge cases of the bulk match: dates at the window's ends, the 29th of February, the
    # floor, a folder and a hidden script among scripts, marked names in recycle/.
    dev = root / "edgecase"
    dev.mkdir()
    for name in ("ts_2025_12_15_at_window.py", "ts_2025_12_14_just_stale.py",
                 "ts_2024_02_29_leap_day.py", "ts_2023_02_29_not_a_day.py",
                 "ts_2000_01_01_on_floor.py", "ts_1999_12_31_before_floor.py",
                 "ts_2026_03_16_tomorrow.py", ".ts_2020_01_01_hidden.py", "notes.txt",
                 "ts_2020_01_01_export_orders_old.py", "ts_2020_01_01_export_orders.py"):
        (dev / name).write_text('"""Do it."""\n', encoding="utf-8")
    (dev / "ts_2020_01_01_a_folder.py").mkdir()
    for name in ("export_top_100.py", "export_orders_2024_06_10.py", "old_export_orders.py",
                 "export_orders.py", "__init__.py", ".hidden.py", "ts_export.py"):
        (root / "recycle" / name).write_text('"""Do it."""\n', encoding="utf-8")
    (root / "unrecycle" / "export_orders.py").write_text('"""Do it."""\n', encoding="utf-8")
    return root


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_walk_finds_what_the_full_rules_find(legacy: Path, setting: str) -> None:
    config = LintConfig(**SETTINGS[setting])  # type: ignore[arg-type]
    naming = naming_for(config)
    whole = lint(legacy, naming, config)
    listed = lint(legacy, naming_for(config), config, paths=all_files(legacy))
    # File-list mode is given files, and never a hidden one: the walk alone sees those.
    seen = [f for f in whole.findings if f.path != "edgecase/ts_2020_01_01_a_folder.py"
            and not any(part.startswith(".") for part in f.path.split("/"))]
    assert len(seen) == len(whole.findings) - 3
    assert seen == list(listed.findings)
    assert whole.stale == listed.stale


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_warm_lint_finds_what_no_cache_finds(legacy: Path, tmp_path: Path,
                                               setting: str) -> None:
    config = LintConfig(**SETTINGS[setting])  # type: ignore[arg-type]
    cached = config._replace(cache_dir=str(tmp_path / "cache"))
    bare = lint(legacy, naming_for(config), config)
    cold = lint(legacy, naming_for(config), cached)
    assert (tmp_path / "cache" / "names").is_file()
    warm = lint(legacy, naming_for(config), cached)
    same(cold, bare)
    same(warm, bare)


def test_a_change_to_a_folder_is_seen_and_the_rest_replayed(legacy: Path,
                                                            tmp_path: Path) -> None:
    root = tmp_path / "offline_script"
    shutil.copytree(legacy, root)
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    lint(root, naming_for(config), config)
    (root / "edgecase" / "ts_2020_01_01_export_orders_old.py").rename(
        root / "edgecase" / "ts_2020_01_01_export_orders_2.py")
    (root / "edgecase" / "Bad Name.py").write_text("", encoding="utf-8")
    (root / "recycle" / "export_orders.py").unlink()
    linter = Linter(str(root), naming_for(config), config)
    linter.walk_tree()
    warm = linter.report()
    assert linter.name_results is not None
    assert linter.name_results.misses == 2  # edgecase/, and recycle/ with unrecycle/
    assert linter.name_results.hits > 2
    same(warm, lint(root, naming_for(config), LintConfig()))
    assert {f.path for f in warm.findings} >= {"edgecase/Bad Name.py",
                                                 "edgecase/ts_2020_01_01_export_orders_2.py"}


def test_another_day_or_setting_is_a_miss(legacy: Path, tmp_path: Path) -> None:
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    lint(legacy, naming_for(config), config)
    later = Naming(today=TODAY + _dt.timedelta(days=400))
    same(lint(legacy, later, config), lint(legacy, Naming(today=later.today), LintConfig()))
    louder = config._replace(severities={**config.severities, "OPS201": "warning"})
    same(lint(legacy, naming_for(config), louder),
         lint(legacy, naming_for(config), louder._replace(cache_dir=None)))


def test_a_deleted_folder_leaves_the_names_cache(tmp_path: Path) -> None:
    root = tmp_path / "offline_script"
    generate_tree(root, 200, seed=1, today=TODAY, **LEGACY)  # type: ignore[arg-type]
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    lint(root, naming_for(config), config)
    gone = next(p for p in sorted(root.iterdir())
                if p.is_dir() and p.name not in ("recycle", "unrecycle"))
    shutil.rmtree(gone)
    lint(root, naming_for(config), config)
    with open(tmp_path / "cache" / "names", "rb") as fh:
        marshal.load(fh)  # the header
        entries = read_frames(fh.read())
    assert gone.name not in entries and SHARED_KEY in entries
    assert len(entries) == sum(1 for p in root.iterdir() if p.is_dir()) - 1


def test_the_names_cache_holds_the_findings_themselves_and_writes_plain_tuples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No second tuple a finding held from the walk to the save: the result a folder gave
    holds the lint's own findings, made plain tuples only as each is written."""
    root = tmp_path / "offline_script"
    generate_tree(root, 200, seed=1, today=TODAY, **LEGACY)  # type: ignore[arg-type]
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    held: dict[str, tuple[object, ...]] = {}
    save = NameResults.save

    def looked_at(self: NameResults, **kwargs: bool) -> None:
        if self.cache.loaded:
            held.update(self.cache.entries)
        save(self, **kwargs)

    monkeypatch.setattr(NameResults, "save", looked_at)
    linter = Linter(str(root), naming_for(config), config)
    linter.walk_tree()
    report = linter.report()
    own = {id(f) for f in linter.findings}
    kept = [f for _, result, _ in held.values() for f in result[0]]  # type: ignore[misc]
    assert kept and all(id(f) in own for f in kept)
    with open(tmp_path / "cache" / "names", "rb") as fh:
        marshal.load(fh)  # the header
        entries = read_frames(fh.read())
    written = [f for _, result, _ in entries.values() for f in result[0]]
    assert len(written) == len(kept) and all(type(f) is tuple for f in written)
    assert report == lint(root, naming_for(config), config)  # replayed: the same


# -- folders known unchanged by their own signature ----------------------------------------------

def settle(root: Path, seconds: int = 3600) -> None:
    """Set every folder's modification time back, as in a tree checked out an hour ago."""
    past = time.time_ns() - seconds * 1_000_000_000
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(folder, ns=(past, past))


def walked(root: Path, config: LintConfig) -> tuple[LintReport, NameResults]:
    linter = Linter(str(root), naming_for(config), config)
    linter.walk_tree()
    report = linter.report()
    assert linter.name_results is not None
    return report, linter.name_results


@pytest.fixture
def settled(small: Path, tmp_path: Path) -> Path:
    root = tmp_path / "offline_script"
    shutil.copytree(small, root)
    settle(root)
    return root


def test_a_settled_unchanged_folder_is_replayed_without_listing_it(settled: Path,
                                                                   tmp_path: Path) -> None:
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    cold, results = walked(settled, config)
    assert results.unlisted == 0
    warm, results = walked(settled, config)
    folders = [p for p in settled.iterdir() if p.is_dir()]
    # Every developer folder, and recycle/ with unrecycle/ as one.
    assert results.unlisted == len(folders) - 1 and results.misses == 0
    same(warm, cold)
    same(warm, lint(settled, naming_for(config), LintConfig()))


@pytest.mark.parametrize("change", ["add", "rename", "delete", "add, time set back",
                                    "shared rename"])
def test_a_change_to_a_settled_folder_is_seen(settled: Path, tmp_path: Path,
                                              change: str) -> None:
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    walked(settled, config)
    walked(settled, config)
    folder = settled / "edgecase"
    before = os.stat(folder)
    if change.startswith("add"):
        (folder / "Bad Name.py").write_text("", encoding="utf-8")
    elif change == "rename":
        (folder / "ts_2020_01_01_export_orders_old.py").rename(
            folder / "ts_2020_01_01_export_orders_2.py")
    elif change == "delete":
        (folder / "ts_2025_12_15_at_window.py").unlink()
    else:
        folder = settled / "recycle"
        before = os.stat(folder)
        (folder / "export_orders.py").rename(folder / "export_orders_old.py")
    if change.endswith("time set back"):
        # The same modification time as before: the change time still tells.
        os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    warm, results = walked(settled, config)
    assert results.misses == 1
    same(warm, lint(settled, naming_for(config), LintConfig()))


def test_a_folder_changed_just_now_is_listed_every_time(settled: Path, tmp_path: Path) -> None:
    """A folder changed within the file system's clock tick may change again without its
    time moving, so a signature that recent never stands for its listing."""
    root = settled
    os.utime(root / "edgecase")  # now
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    walked(root, config)
    warm, results = walked(root, config)
    assert results.unlisted == len([p for p in root.iterdir() if p.is_dir()]) - 2
    (root / "edgecase" / "Bad Name.py").write_text("", encoding="utf-8")
    os.utime(root / "edgecase", ns=(os.stat(root / "edgecase").st_atime_ns,
                                    os.stat(root / "edgecase").st_mtime_ns))
    warm, results = walked(root, config)
    assert "edgecase/Bad Name.py" in {f.path for f in warm.findings}


def test_a_folder_holding_a_link_is_always_listed(settled: Path, tmp_path: Path) -> None:
    """A link's target may turn from a file into a folder without the folder changing."""
    target = tmp_path / "target"
    target.write_text("", encoding="utf-8")
    link = settled / "edgecase" / "ts_2026_03_01_linked.py"
    link.symlink_to(target)
    settle(settled)
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    walked(settled, config)
    _, results = walked(settled, config)
    assert results.unlisted == len([p for p in settled.iterdir() if p.is_dir()]) - 2
    target.unlink()
    target.mkdir()
    warm, _ = walked(settled, config)
    same(warm, lint(settled, naming_for(config), LintConfig()))


# -- the bulk matches themselves -----------------------------------------------------------------

def test_split_stale_agrees_with_one_name_at_a_time() -> None:
    naming = Naming(today=TODAY)
    matches = FastMatches(naming.status_suffixes)
    before, floor = _dt.date(2025, 12, 15), _dt.date(2000, 1, 1)
    window = matches.between(before, TODAY)
    names = [f"ts_{day}_export_orders.py" for day in (
        "2025_12_15", "2025_12_14", "2024_02_29", "2023_02_29", "2000_01_01", "1999_12_31",
        "2026_03_16", "2026_03_15", "2021_04_31", "2021_13_01", "0000_01_01", "2020_06_30")]
    names += ["ts_2020_01_01_export_orders_old.py", "ts_2020_01_01_export_2.py", "x.py"]
    stale, rest = split_stale(names, window, matches.dated, day_name(before), day_name(floor))
    assert sorted(stale + rest) == sorted(n for n in names if not window(n))
    for name in names:
        day = name[3:13]
        try:
            date = _dt.date(int(day[:4]), int(day[5:7]), int(day[8:10]))
        except ValueError:
            date = None
        good = matches.temporary(name) is not None
        is_stale = good and date is not None and floor <= date < before
        # The 29th of February is left to the full rules, which count it stale themselves.
        assert (name in stale) == (is_stale and day[5:] != "02_29"), name


@pytest.mark.parametrize("words", [DEFAULT_STATUS_SUFFIXES, ("old", "ids", "do_not_use"),
                                   ("x", "ab", "old")])
def test_a_plain_shared_name_is_one_the_full_rules_pass(words: tuple[str, ...]) -> None:
    from corpus_names import _BASES, _MARKS_WITH_SIBLING, _PURPOSES

    naming = Naming(today=TODAY, status_suffixes=words)
    script = FastMatches(words).script
    candidates = {f"{base}_{mark}.py" for base in _BASES for mark in _MARKS_WITH_SIBLING}
    candidates |= {f"{name}.py" for name in (*_BASES, *_PURPOSES)} | {
        "export_orders.py", "export_top_100.py", "ts_export.py", "export_2024_06_10.py",
        "copy_of_export.py", "old_export_orders.py", "export_v2.py", "export_10jun.py",
        "export_orders_ids.py", "Export.py", "export..py", "_export.py", "export_2a.py"}
    proved = [n for n in sorted(candidates) if script(n)]
    assert len(proved) > 10
    for name in proved:
        for kind in ("recycle", "unrecycle"):
            assert naming.check_script_name(name, kind, original=lambda base: "x") is None, \
                name


# -- the [tool.opsctl] table kept beside the caches ----------------------------------------------

def test_the_opsctl_table_is_kept_and_an_edit_is_seen(tmp_path: Path) -> None:
    from opsctl.config import load_config

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.opsctl]\nstale_days = 7\n", encoding="utf-8")
    assert load_config(tmp_path, environ={}).stale_days == 7
    assert not (tmp_path / ".opsctl_cache").exists()  # reading a setting never makes it
    (tmp_path / ".opsctl_cache").mkdir()
    assert load_config(tmp_path, environ={}).stale_days == 7
    assert (tmp_path / ".opsctl_cache" / "pyproject").is_file()
    assert load_config(tmp_path, environ={}).stale_days == 7  # from the kept table
    pyproject.write_text("[tool.opsctl]\nstale_days = 8\n", encoding="utf-8")
    assert load_config(tmp_path, environ={}).stale_days == 8
    pyproject.write_text("[tool.opsctl]\nlaunched = 2024-06-10\n", encoding="utf-8")
    with pytest.raises(Exception, match="unknown key"):  # a date is not kept, still read
        load_config(tmp_path, environ={})


def test_a_warm_lint_does_not_load_tomllib(tmp_path: Path) -> None:
    import subprocess
    import sys

    project = tmp_path / "proj"
    generate_tree(project / "offline_script", 100, seed=2, **LEGACY)  # type: ignore[arg-type]
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    code = ("import sys; from opsctl.cli.main import main; sys.argv = ['opsctl', 'lint']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('tomllib' in sys.modules, 'datetime' in sys.modules, file=sys.stderr)")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                           text=True) for _ in range(3)]
    # The first run makes the cache folder, the second keeps the table there. Without
    # tomllib (which loads it), nothing loads the pure-Python half of datetime either
    # (opsctl.light.datetime is its C half).
    assert [r.stderr.strip().splitlines()[-1] for r in runs] == ["True True", "True True",
                                                                 "False False"]
    assert runs[0].stdout == runs[2].stdout and runs[0].stdout


def test_the_fast_patterns_have_no_possessive_repeats() -> None:
    """CPython 3.11 before 3.11.5 (which opsctl supports) matches a possessive repeat of a
    group wrongly: ``ts_2024_06_10_export_.py`` was taken as a good name. The suite runs on
    a newer 3.11, where the names' own tests cannot see it, so the patterns are checked."""
    import re

    from opsctl.lint import bulk

    for name in ("_TS_GOOD_WHAT", "_SCRIPT_GOOD_NAME"):
        pattern = getattr(bulk, name)
        assert not re.search(r"[*+?}]\+", pattern), (name, pattern)


def test_the_shared_names_are_held_as_one_string_a_folder(tmp_path: Path) -> None:
    """The evidence index and the names cache's copy of recycle/ and unrecycle/ hold each
    folder's names as one string, not a string a name, and still answer as the lists did."""
    from opsctl.lint.bulk import ListedStems, SortedNames

    stems = ListedStems({"recycle": ["b_c.py", "a_b.py", "notes.txt"], "unrecycle": ["a_b.py",
                                                                                     "z.py"]})
    assert all(type(names) is SortedNames and type(names.text) is str
               for _, names in stems.folders)
    assert [stems.get(s) for s in ("a_b", "b_c", "z", "notes", "zz", "")] == [
        "recycle/a_b.py", "recycle/b_c.py", "unrecycle/z.py", None, None, None]
    root = tmp_path / "offline_script"
    generate_tree(root, 200, seed=1, today=TODAY, **LEGACY)  # type: ignore[arg-type]
    config = LintConfig(cache_dir=str(tmp_path / "cache"))
    settle(root)
    first = lint(root, naming_for(config), config)
    with open(tmp_path / "cache" / "names", "rb") as fh:
        marshal.load(fh)  # the header
        kept = read_frames(fh.read())[SHARED_KEY][2]
    assert [(f, type(names)) for f, names, _ in kept[2]] == [("recycle", str), ("unrecycle", str)]
    assert sorted(kept[2][0][1].split("\0")) == sorted(p.name for p in (root / "recycle").iterdir()
                                                       if p.is_file())
    assert lint(root, naming_for(config), config) == first  # replayed from the joined names
