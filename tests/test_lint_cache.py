"""The content cache (issue 15): a warm lint parses nothing, and the cache never gives an
answer for bytes it was not computed from: an edit, a rename, a same-size rewrite set back to
the same modification time, a corrupt file, another opsctl's file. Two processes writing it at
once never tear it, git never sees it, and a cold run over several processes finds what one
process finds."""

from __future__ import annotations

import datetime as _dt
import json
import marshal
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from opsctl import filecache
from opsctl.filecache import FileCache
from opsctl.lint import cache as lint_cache
from opsctl.lint import workers
from opsctl.lint.cache import ContentFacts
from opsctl.lint.content import check_files
from opsctl.lint.rules import LintReport
from opsctl.lint.settings import LintConfig
from opsctl.lint.walk import Linter
from opsctl.lint.workers import check_in_parallel
from opsctl.naming import Kind, Naming

TODAY = _dt.date(2026, 3, 15)
REPO = Path(__file__).resolve().parent.parent

CLEAN = '"""Export order data."""\n\n\ndef main() -> None:\n    pass\n\n\nx = 1234567\n'
#: The same size as CLEAN, with work done on import (OPS601).
EFFECT = '"""Export order data."""\n\n\ndef main() -> None:\n    pass\n\n\nmain() # xx\n'
assert len(CLEAN) == len(EFFECT)


def make_project(tmp_path: Path, scripts: dict[str, str]) -> Path:
    project = tmp_path / "proj"
    (project / "offline_script" / "recycle").mkdir(parents=True)
    (project / "offline_script" / "unrecycle").mkdir()
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    for rel, text in scripts.items():
        (project / "offline_script" / rel).write_text(text, encoding="utf-8")
    return project


def lint_once(project: Path, cache: Path | None = None) -> tuple[LintReport, ContentFacts]:
    folder = cache if cache is not None else project / ".opsctl_cache"
    linter = Linter(str(project / "offline_script"), Naming(today=TODAY),
                    LintConfig(cache_dir=str(folder)))
    linter.walk_tree()
    return linter.report(), linter.facts


def found(report: LintReport) -> set[tuple[str, str]]:
    return {(f.path, f.code) for f in report.findings}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"recycle/export_order_data.py": CLEAN,
                                   "recycle/flush_cache_rows.py": EFFECT,
                                   "unrecycle/fix_refund_totals.py": CLEAN})


def test_a_warm_lint_parses_nothing_and_finds_the_same(project: Path) -> None:
    cold, facts = lint_once(project)
    assert facts.checked == 3 and facts.hits == 0
    assert found(cold) == {("recycle/flush_cache_rows.py", "OPS601")}
    warm, facts = lint_once(project)
    assert facts.checked == 0 and facts.hits == 3
    assert warm.findings == cold.findings


def test_an_edit_is_seen(project: Path) -> None:
    lint_once(project)
    script = project / "offline_script" / "recycle" / "export_order_data.py"
    script.write_text(CLEAN + "print('imported')\n", encoding="utf-8")
    report, facts = lint_once(project)
    assert facts.checked == 1
    assert ("recycle/export_order_data.py", "OPS601") in found(report)


def test_a_rename_is_seen_and_the_old_name_forgotten(project: Path) -> None:
    lint_once(project)
    recycle = project / "offline_script" / "recycle"
    (recycle / "flush_cache_rows.py").rename(recycle / "purge_cache_rows.py")
    report, facts = lint_once(project)
    assert found(report) == {("recycle/purge_cache_rows.py", "OPS601")}
    assert facts.cache is not None
    assert "recycle/flush_cache_rows.py" not in FileCache(
        str(project / ".opsctl_cache"), "content", facts.cache.stamp).entries


def test_a_lint_with_the_content_rules_off_leaves_the_cache_alone(project: Path) -> None:
    lint_once(project)
    before = _cache_file(project).read_bytes()
    linter = Linter(str(project / "offline_script"), Naming(today=TODAY),
                    LintConfig(cache_dir=str(project / ".opsctl_cache"),
                               content_kinds=frozenset()))
    linter.walk_tree()
    linter.report()
    assert _cache_file(project).read_bytes() == before
    _, facts = lint_once(project)
    assert facts.hits == 3


def test_two_same_size_scripts_swapping_names_are_seen(project: Path) -> None:
    lint_once(project)
    recycle = project / "offline_script" / "recycle"
    a, b = recycle / "export_order_data.py", recycle / "flush_cache_rows.py"
    a.rename(recycle / "swap.tmp")
    b.rename(a)
    (recycle / "swap.tmp").rename(b)
    report, _ = lint_once(project)
    assert found(report) == {("recycle/export_order_data.py", "OPS601")}


def test_a_same_size_rewrite_set_back_to_the_same_time_is_seen(project: Path) -> None:
    """Same size, the modification time put back to the nanosecond with os.utime: only the
    inode-change time (which utime cannot set) tells the bytes changed."""
    lint_once(project)
    script = project / "offline_script" / "recycle" / "export_order_data.py"
    before = script.stat()
    script.write_text(EFFECT, encoding="utf-8")  # in place: the same inode
    os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = script.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == \
        (before.st_size, before.st_mtime_ns, before.st_ino)
    report, facts = lint_once(project)
    assert ("recycle/export_order_data.py", "OPS601") in found(report)
    assert facts.checked == 1


def test_new_times_on_the_same_bytes_are_a_hit_by_digest(project: Path) -> None:
    """A fresh checkout (or a touch) changes every time but not the bytes: the file is read
    and its digest compared, not parsed."""
    first, _ = lint_once(project)
    script = project / "offline_script" / "recycle" / "flush_cache_rows.py"
    os.utime(script, ns=(1_000_000_000, 1_000_000_000))
    again, facts = lint_once(project)
    assert (facts.checked, facts.rehashed, facts.hits) == (0, 1, 2)
    assert again.findings == first.findings
    _, facts = lint_once(project)  # the new signature was stored
    assert (facts.checked, facts.rehashed, facts.hits) == (0, 0, 3)


def _cache_file(project: Path) -> Path:
    return project / ".opsctl_cache" / "content"


def _valid(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "not a table",
                                    "flipped byte"])
def test_a_corrupt_cache_is_ignored_and_replaced(project: Path, damage: str) -> None:
    expected, _ = lint_once(project)
    path = _cache_file(project)
    data = path.read_bytes()
    path.write_bytes({
        "empty": b"",
        "garbage": b"\x00\xffnot marshal at all" * 10,
        "truncated": data[: len(data) // 2],
        "not a table": marshal.dumps([1, 2, 3]),
        "flipped byte": data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:],
    }[damage])
    report, facts = lint_once(project)
    assert facts.cache is not None and facts.cache.rejected
    assert facts.checked == 3
    assert report.findings == expected.findings
    _, facts = lint_once(project)  # rewritten whole
    assert facts.cache is not None and not facts.cache.rejected and facts.hits == 3


def _poison(project: Path) -> None:
    """Rewrite the cache so it says the script with a side effect has no finding, keeping its
    signature: a lint that trusts the file reports nothing."""
    _, facts = lint_once(project)
    assert facts.cache is not None
    cache = FileCache(str(project / ".opsctl_cache"), "content", facts.cache.stamp)
    sig, data_digest, description, items = cache.entries["recycle/flush_cache_rows.py"]
    assert items
    cache.put("recycle/flush_cache_rows.py", (sig, data_digest, description, ()))
    cache.save()


def test_a_cache_is_trusted_when_it_matches(project: Path) -> None:
    """The control for the next tests: a poisoned cache of the right version is believed,
    so ignoring one is something the lint does, not an accident."""
    _poison(project)
    report, facts = lint_once(project)
    assert facts.hits == 3 and found(report) == set()


def test_a_cache_from_another_opsctl_version_is_ignored(project: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(filecache, "OPSCTL_VERSION", "0.0.0-older")
        _poison(project)
    report, facts = lint_once(project)
    assert facts.cache is not None and facts.cache.rejected
    assert found(report) == {("recycle/flush_cache_rows.py", "OPS601")}


def test_a_cache_of_another_format_or_python_is_ignored(project: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(filecache, "FORMAT", filecache.FORMAT + 1)
        _poison(project)
    report, _ = lint_once(project)
    assert found(report) == {("recycle/flush_cache_rows.py", "OPS601")}
    header = FileCache(None, "x")._header()
    assert header[3] == sys.version_info[:2]


def test_a_change_to_the_rules_code_makes_the_cache_a_miss(project: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules.py"
    rules.write_text("# the rules\n", encoding="utf-8")
    monkeypatch.setattr(lint_cache, "_RULE_MODULES", (str(rules),))
    _poison(project)
    rules.write_text("# the rules, changed\n", encoding="utf-8")
    report, facts = lint_once(project)
    assert facts.cache is not None and facts.cache.rejected
    assert found(report) == {("recycle/flush_cache_rows.py", "OPS601")}


WRITER = textwrap.dedent('''
    import os, sys
    from opsctl.filecache import FileCache
    folder, me, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torn = 0
    for i in range(rounds):
        cache = FileCache(folder, "content", ("stamp",))
        entries = cache.entries
        torn += cache.rejected
        # Every entry any writer stored is whole: its value names its own key.
        torn += sum(entry[1:] != ("v" * 500, key) for key, entry in entries.items())
        cache.put(f"{me}/{i}", (i, "v" * 500, f"{me}/{i}"))
        cache.save()
    print(torn)
''')


def test_two_processes_writing_at_once_never_tear_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(folder), name, "150"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("a", "b")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    assert [out.strip() for out, _ in outs] == ["0", "0"]
    final = FileCache(str(folder), "content", ("stamp",))
    assert not final.rejected and final.entries
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_two_lints_at_once_on_a_cold_cache_agree(project: Path) -> None:
    env = {**os.environ, "OPSCTL_PROJECT": str(project)}
    expected = subprocess.run([sys.executable, "-m", "opsctl", "lint", "--no-cache",
                               "--format", "json"], env=env, capture_output=True, text=True,
                              check=False).stdout
    for _ in range(3):
        shutil.rmtree(project / ".opsctl_cache", ignore_errors=True)
        procs = [subprocess.Popen([sys.executable, "-m", "opsctl", "lint", "--format", "json"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120)[0] for p in procs]
        assert outs == [expected, expected]
        _, facts = lint_once(project)
        assert facts.cache is not None and not facts.cache.rejected and facts.hits == 3


def test_the_cache_is_git_ignored(project: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is needed for this test")
    subprocess.run([git, "init", "-q"], cwd=project, check=True)
    lint_once(project)
    assert (project / ".opsctl_cache" / "content").is_file()
    status = subprocess.run([git, "status", "--porcelain", "--untracked-files=all"],
                            cwd=project, capture_output=True, text=True, check=True).stdout
    assert ".opsctl_cache" not in status and "offline_script/recycle" in status
    assert subprocess.run([git, "check-ignore", "-q", ".opsctl_cache/content"],
                          cwd=project, check=False).returncode == 0


def _cli(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCTL_")}
    return subprocess.run([sys.executable, "-m", "opsctl", "--project", str(project), *args],
                          env={**environ, **env}, capture_output=True, text=True, check=False)


def test_no_cache_reads_and_writes_none(project: Path) -> None:
    assert _cli(project, "lint", "--no-cache").returncode == 1
    assert not (project / ".opsctl_cache").exists()
    assert _cli(project, "lint", "--no-cache", "--format", "json").returncode == 1
    assert not (project / ".opsctl_cache").exists()


def test_the_cache_folder_is_configurable(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    assert _cli(project, "lint", OPSCTL_CACHE_DIR=str(elsewhere)).returncode == 1
    assert (elsewhere / "content").is_file() and (elsewhere / ".gitignore").is_file()
    assert not (project / ".opsctl_cache").exists()
    (project / "pyproject.toml").write_text('[tool.opsctl]\ncache_dir = "build/cache"\n',
                                            encoding="utf-8")
    assert _cli(project, "lint").returncode == 1
    assert (project / "build" / "cache" / "content").is_file()


def test_a_read_only_cache_folder_costs_nothing_but_time(project: Path) -> None:
    (project / ".opsctl_cache").write_text("a file where the folder would go\n")
    report, facts = lint_once(project)
    assert found(report) == {("recycle/flush_cache_rows.py", "OPS601")}


def test_a_warm_lint_never_loads_the_content_rules(project: Path) -> None:
    code = ("import sys\nfrom opsctl.lint.fast import run_fast\n"
            f"code = run_fast(['--project', {str(project)!r}, 'lint'])\n"
            "print(code, 'opsctl.lint.content' in sys.modules, 'ast' in sys.modules, "
            "file=sys.stderr)\n")
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert cold.stderr.splitlines()[-1] == "1 True True"
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert warm.stderr.splitlines()[-1] == "1 False False"
    assert warm.stdout == cold.stdout


# -- the summary a warm lint reads instead of the table ---------------------------------------

def test_a_warm_lint_reads_the_summary_and_never_loads_the_table(project: Path) -> None:
    cold, _ = lint_once(project)
    warm, facts = lint_once(project)
    assert facts.summarised and facts.cache is not None and not facts.cache.loaded
    assert (facts.checked, facts.hits) == (0, 3)
    assert warm.findings == cold.findings
    assert facts.seen == []  # no path made for the scripts the summary answered for


@pytest.mark.parametrize("change", ["edit", "rename", "same-size same-time rewrite"])
def test_a_changed_script_makes_the_summary_a_miss(project: Path, change: str) -> None:
    lint_once(project)
    lint_once(project)  # the summary answered
    recycle = project / "offline_script" / "recycle"
    script = recycle / "export_order_data.py"
    if change == "edit":
        script.write_text(EFFECT + "print('imported')\n", encoding="utf-8")
    elif change == "rename":
        script.rename(recycle / "export_order_rows.py")
        script = recycle / "export_order_rows.py"
        script.write_text(EFFECT, encoding="utf-8")
    else:
        before = script.stat()
        script.write_text(EFFECT, encoding="utf-8")
        os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))
    report, facts = lint_once(project)
    assert not facts.summarised and facts.checked == 1
    assert (f"recycle/{script.name}", "OPS601") in found(report)
    _, facts = lint_once(project)  # summarised again, with the change
    assert facts.summarised and (f"recycle/{script.name}", "OPS601") in found(report)


def _poison_summary(project: Path) -> None:
    """Rewrite the summary so it says no script has a finding, keeping everything else."""
    _, facts = lint_once(project)
    assert facts.summary is not None
    summary = FileCache(str(project / ".opsctl_cache"), "summary", facts.summary.stamp)
    table, scripts, sigs, _found, twins = summary.entries[lint_cache.SUMMARY_KEY]
    summary.put(lint_cache.SUMMARY_KEY, (table, scripts, sigs, (), twins))
    summary.save()


def test_a_summary_is_trusted_when_it_matches(project: Path) -> None:
    """The control for the next test: a poisoned summary that matches is believed."""
    _poison_summary(project)
    report, facts = lint_once(project)
    assert facts.summarised and found(report) == set()


def test_a_rewritten_table_makes_the_summary_a_miss(project: Path) -> None:
    _poison_summary(project)
    table = project / ".opsctl_cache" / "content"
    data = table.read_bytes()
    table.unlink()
    table.write_bytes(data)  # the same bytes, another file
    report, facts = lint_once(project)
    assert not facts.summarised
    assert found(report) == {("recycle/flush_cache_rows.py", "OPS601")}


def test_a_warm_lint_keeps_near_twins_without_reading_a_description(tmp_path: Path) -> None:
    """Twins by description: the pairs kept in the summary are replayed while both scripts
    are unchanged, and found again (here: none) once a description changes."""
    project = make_project(tmp_path, {
        "recycle/dump_orders.py": '"""Export every order to a CSV file."""\n',
        "recycle/orders_csv.py": '"""Export every order to a CSV file!"""\n'})
    recycle = project / "offline_script" / "recycle"
    os.utime(recycle / "dump_orders.py", (1_000_000, 1_000_000))
    cold, _ = lint_once(project)
    assert found(cold) == {("recycle/dump_orders.py", "OPS303")}
    reads: list[str] = []
    with pytest.MonkeyPatch.context() as m:
        m.setattr(lint_cache, "read_description", lambda path: reads.append(path) or "")
        warm, facts = lint_once(project)
    assert facts.summarised and reads == [] and warm.findings == cold.findings
    (recycle / "orders_csv.py").write_text('"""Delete stale sessions."""\n', encoding="utf-8")
    changed, facts = lint_once(project)
    assert not facts.summarised and found(changed) == set()
    again, facts = lint_once(project)
    assert facts.summarised and found(again) == set()


# -- a cold run over several processes --------------------------------------------------------

def _many(tmp_path: Path, count: int) -> tuple[Path, list[tuple[str, Kind]]]:
    scripts = {}
    for i in range(count):
        body = [CLEAN, EFFECT, "def broken(:\n", "\x00binary", '"""Doc."""\nimport os\n'][i % 5]
        scripts[f"recycle/script_{chr(97 + i % 26)}_{i}.py"] = body
    project = make_project(tmp_path, scripts)
    return project / "offline_script", [(rel, "recycle") for rel in scripts]


def test_several_processes_find_what_one_finds(tmp_path: Path) -> None:
    root, scripts = _many(tmp_path, 60)
    alone = check_files(str(root), scripts)
    assert check_in_parallel(str(root), scripts, processes=2) == alone
    assert check_in_parallel(str(root), scripts, processes=3) == alone


def test_a_process_pool_where_forking_is_not_safe(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root, scripts = _many(tmp_path, 20)
    monkeypatch.setattr(workers.sys, "platform", "darwin")
    assert check_in_parallel(str(root), scripts, processes=2) == check_files(str(root), scripts)


def test_no_fork_while_threads_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """opsctl embedded in a threaded program: forking could copy a lock another thread holds,
    so new interpreters check the other shares."""
    import threading

    root, scripts = _many(tmp_path, 20)

    def no_fork(*args: object) -> None:
        raise AssertionError("forked while a thread ran")

    monkeypatch.setattr(workers, "_forked", no_fork)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert check_in_parallel(str(root), scripts, processes=2) == \
            check_files(str(root), scripts)
    finally:
        stop.set()
        thread.join()


def test_a_share_whose_process_failed_is_checked_here() -> None:
    def fails() -> list[object]:
        raise RuntimeError("the child fails")

    def works() -> list[object]:
        return ["/r", [3, "x"]]

    assert workers._forked(fails)() is None
    assert list(workers._forked(works)() or ()) == ["/r", [3, "x"]]


def test_processes_are_only_started_for_enough_scripts() -> None:
    assert workers.processes_for(workers.PER_PROCESS - 1) == 1
    assert workers.processes_for(10_000) == min(len(os.sched_getaffinity(0)), 10_000 //
                                                    workers.PER_PROCESS)


def test_the_version_in_the_cache_header_is_the_package_s() -> None:
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert filecache.OPSCTL_VERSION == pyproject["project"]["version"]
    from importlib.metadata import version

    assert filecache.OPSCTL_VERSION == version("opsctl")


def test_the_json_of_a_warm_lint_is_the_json_of_no_cache(project: Path) -> None:
    _cli(project, "lint")
    warm = _cli(project, "lint", "--format", "json")
    assert json.loads(warm.stdout) == json.loads(
        _cli(project, "lint", "--no-cache", "--format", "json").stdout)


def test_the_signature_tells_each_of_its_four_numbers_apart() -> None:
    from types import SimpleNamespace

    def sig(size: int = 10, mtime: int = 2, ino: int = 3, ctime: int = 4) -> int:
        return filecache.signature(SimpleNamespace(  # type: ignore[arg-type]
            st_size=size, st_mtime_ns=mtime, st_ino=ino, st_ctime_ns=ctime))

    base = sig()
    changed = [sig(size=11), sig(mtime=3), sig(ino=4), sig(ctime=5), sig(mtime=-2),
               sig(mtime=1 << 62), sig(ino=(1 << 64) - 1), sig(size=10 + (1 << 40))]
    assert base not in changed and len(set(changed)) == len(changed)
    assert filecache.size_of(base) == 10 and filecache.size_of(sig(size=1 << 40)) == 1 << 40


def test_signatures_of_many_files_are_each_file_s_with_none_where_one_is_gone(
        project: Path) -> None:
    root = project / "offline_script"
    rels = ["recycle/export_order_data.py", "recycle/gone.py", "unrecycle/fix_refund_totals.py"]
    expected = [filecache.signature(os.stat(root / rel)) if (root / rel).exists() else None
                for rel in rels]
    assert expected[1] is None and None not in (expected[0], expected[2])
    assert filecache.signatures(rels, str(root)) == expected
    assert filecache.signatures([str(root / rel) for rel in rels]) == expected
    assert filecache.signatures(rels, str(root / "missing")) == [None, None, None]
    present = [rels[0], rels[2]]
    assert filecache.signatures(present, str(root)) == [expected[0], expected[2]]
