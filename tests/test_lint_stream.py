"""A lint of a large tree streams (issue 15): scripts are checked a chunk at a time over
several processes and their results handed on as they come, the content table is written as
the lint goes, and none of it changes a byte of what the lint says: cold, warm and without a
cache, on a generated tree with every kind of finding."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from treegen import LEGACY, generate_tree

from opsctl.filecache import SIGNATURE_SIZE, FileCache
from opsctl.lint import cache as lint_cache
from opsctl.lint import tablerun, workers
from opsctl.lint.content import check_files
from opsctl.lint.settings import LintConfig
from opsctl.lint.twins import _may_be_in_git
from opsctl.lint.walk import Linter
from opsctl.naming import Naming

#: Content findings of every kind, beside the tree's own: a missing docstring, work on
#: import, a call the lint cannot judge, a syntax error, a binary file, undecodable bytes.
CONTENT = {
    "recycle/export_broken_rows.py": b"def broken(:\n",
    "recycle/export_binary_rows.py": b"\x00\x01binary",
    "unrecycle/fix_latin_totals.py": b'"""Fix totals."""\nname = "caf\xe9"\n',
    "unrecycle/fix_effect_totals.py": b'"""Fix totals."""\nimport os\nos.remove("x")\n',
    "recycle/export_plain_rows.py": b"from somewhere import setup\nsetup()\n",
}


def _project(base: Path, n: int) -> Path:
    project = base / "proj"
    root = project / "offline_script"
    generate_tree(root, n, seed=7, **LEGACY)  # type: ignore[arg-type]
    (project / "pyproject.toml").write_text("[tool.opsctl]\n", encoding="utf-8")
    for rel, data in CONTENT.items():
        (root / rel).write_bytes(data)
    # Settled folders, as a real tree's are: a warm lint then replays them unlisted.
    past = time.time() - 3600
    for folder, _, _ in os.walk(root):
        os.utime(folder, (past, past))
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Enough shared scripts that each of two processes checks more than one chunk.
    return _project(tmp_path_factory.mktemp("stream"), 5 * workers.CHUNK * 2 + 300)


def _lint(project: Path, *args: str) -> tuple[int, bytes, bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCTL_")}
    done = subprocess.run([sys.executable, "-m", "opsctl", "lint", *args], cwd=project,
                          capture_output=True, env=env, check=False)
    return done.returncode, done.stdout, done.stderr


def test_cold_warm_and_no_cache_say_the_same_bytes(project: Path) -> None:
    bare = _lint(project, "--no-cache")
    codes = {line.split()[0] for line in bare[1].decode().splitlines()
             if line.startswith("  OPS")}
    assert {"OPS601", "OPS602", "OPS603", "OPS604", "OPS401"} <= codes
    cold = _lint(project)
    assert (project / ".opsctl_cache" / "content").is_file()
    warm = _lint(project)
    again = _lint(project)
    assert cold == bare and warm == bare and again == bare
    for fmt in ("json", "github"):
        assert _lint(project, "--format", fmt) == _lint(project, "--format", fmt, "--no-cache")


def test_the_table_a_cold_lint_writes_holds_every_script_and_no_other(tmp_path: Path) -> None:
    project = _project(tmp_path, 2000)
    root = project / "offline_script"
    cache = project / ".opsctl_cache"
    stale = FileCache(str(cache), "content", _stamp(root, cache))
    stale.put("recycle/gone_long_ago.py", (b"x" * 32, b"", None, ()))
    stale.save()
    linter = Linter(str(root), Naming(), LintConfig(cache_dir=str(cache)))
    linter.walk_tree()
    linter.report()
    assert linter.facts.checked > workers.CHUNK
    entries = FileCache(str(cache), "content", linter.facts.cache.stamp).entries  # type: ignore[union-attr]
    scripts = {f"{folder}/{name}" for folder in ("recycle", "unrecycle")
               for name in os.listdir(root / folder) if name.endswith(".py")}
    assert set(entries) - {lint_cache.PAIRS_KEY} == scripts


def _stamp(root: Path, cache: Path) -> object:
    facts = lint_cache.ContentFacts(str(root), str(cache))
    assert facts.cache is not None
    return facts.cache.stamp


def test_an_unchanged_table_is_not_written_again(tmp_path: Path) -> None:
    """A lint whose summary is gone but whose table answers for every script leaves the
    table's file as it was (the summary it writes stands on that file)."""
    project = _project(tmp_path, 300)
    assert _lint(project)[0] in (0, 1)
    table = project / ".opsctl_cache" / "content"
    before = table.stat()
    (project / ".opsctl_cache" / "summary").unlink()
    first = _lint(project)
    after = table.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    linter = Linter(str(project / "offline_script"), Naming(),
                    LintConfig(cache_dir=str(project / ".opsctl_cache")))
    linter.walk_tree()
    linter.report()
    assert linter.facts.summarised
    assert _lint(project) == first


def test_findings_are_handed_on_before_every_script_is_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The content rules' results come a chunk at a time, in one process as in several: the
    first finding arrives when one chunk has been checked, not the whole tree."""
    project = _project(tmp_path, 3000)
    root = str(project / "offline_script")
    checked: list[int] = []

    def counting(root: str, scripts: list[tuple[str, str]]) -> object:
        checked.append(len(scripts))
        return check_files(root, scripts)  # type: ignore[arg-type]

    monkeypatch.setattr("opsctl.lint.content.check_files", counting)
    monkeypatch.setattr(workers, "processes_for", lambda count, per=0: 1)
    facts = lint_cache.ContentFacts(root, str(project / ".opsctl_cache"), whole_tree=True)
    scripts = [(f"{folder}/{name}", folder) for folder in ("recycle", "unrecycle")
               for name in sorted(os.listdir(Path(root, folder))) if name.endswith(".py")]
    assert len(scripts) > 2 * workers.CHUNK
    findings = facts.findings(scripts)  # type: ignore[arg-type]
    next(findings)
    assert sum(checked) < len(scripts)
    rest = list(findings)
    assert sum(checked) == len(scripts) and rest


@pytest.mark.parametrize("processes", [2, 3])
def test_several_processes_over_many_chunks_find_what_one_finds(tmp_path: Path,
                                                                processes: int) -> None:
    root = tmp_path / "offline_script"
    (root / "recycle").mkdir(parents=True)
    bodies = [b'"""Doc."""\n', b"def broken(:\n", b"\x00", b'"""Doc."""\nimport os\nos.x()\n']
    scripts = []
    for i in range(2 * processes * workers.CHUNK + 11):
        (root / "recycle" / f"script_{i}.py").write_bytes(bodies[i % len(bodies)])
        scripts.append((f"recycle/script_{i}.py", "recycle"))
    alone = check_files(str(root), scripts)  # type: ignore[arg-type]
    assert workers.check_in_parallel(str(root), scripts, processes) == alone  # type: ignore[arg-type]
    places = [i for i, *_ in workers.check_stream(str(root), lambda: scripts, len(scripts),
                                                  processes)]  # type: ignore[arg-type,return-value]
    assert sorted(places) == list(range(len(scripts)))


def test_a_frame_of_the_table_holds_a_few_hundred_scripts() -> None:
    assert 0 < tablerun.FRAME <= 1024 and 0 < workers.CHUNK <= 1024


def test_git_is_only_asked_where_a_work_tree_may_be(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(name)
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    outside = not any((p / ".git").exists() for p in [folder, *folder.parents])
    assert _may_be_in_git(str(folder)) is not outside
    (tmp_path / "a" / ".git").mkdir()
    assert _may_be_in_git(str(folder))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    (tmp_path / "a" / ".git").rmdir()
    assert _may_be_in_git(str(folder))


def test_the_summary_takes_the_signatures_as_kept_not_a_copy(tmp_path: Path) -> None:
    """The signatures of 100,000 scripts are megabytes: the summary hands on the buffer they
    were written into, which marshal keeps as the bytes a warm lint reads back."""
    import marshal

    from opsctl.filecache import SIGNATURE_SIZE

    run = tablerun.TableRun(FileCache(str(tmp_path), "content"), whole_tree=False)
    run.places(2)
    kept = run.sigs
    run.record(1, "recycle/b.py", (b"2" * SIGNATURE_SIZE, b"", "", (("x",),)), False)
    run.record(0, "recycle/a.py", (b"1" * SIGNATURE_SIZE, b"", "", ()), False)
    sigs, found = run.summary()
    assert sigs is kept and run.sigs is None
    assert found == (("recycle/b.py", (("x",),)),)
    assert marshal.loads(marshal.dumps(sigs)) == b"1" * SIGNATURE_SIZE + b"2" * SIGNATURE_SIZE


def test_the_summary_keeps_its_signatures_a_part_a_frame(tmp_path: Path) -> None:
    """Marshalled whole, the signatures of 100,000 scripts were the cold lint's peak: the
    summary writes them a part of lint_cache._CHUNK scripts at a time, each a frame, and a
    warm lint compares them a part at a time; a script changed in the last part is seen."""
    root = tmp_path / "offline_script"
    (root / "recycle").mkdir(parents=True)
    scripts = []
    for i in range(2 * lint_cache._CHUNK + 5):
        (root / "recycle" / f"script_{i}.py").write_bytes(b'"""Doc."""\n' if i % 3 else b"x=1\n")
        scripts.append((f"recycle/script_{i}.py", "recycle"))
    folder = str(tmp_path / ".opsctl_cache")
    os.mkdir(folder)
    cold = lint_cache.ContentFacts(str(root), folder, whole_tree=True)
    found = sorted(cold.findings(scripts))  # type: ignore[arg-type]
    cold.save(whole_tree=True)
    assert found and cold.checked == len(scripts)
    assert cold.cache is not None
    kept = FileCache(folder, "summary", cold.cache.stamp).entries
    key = lint_cache.SUMMARY_KEY
    assert sorted(kept) == [key, f"{key}\0" "0", f"{key}\0" "1", f"{key}\0" "2"]
    assert kept[key][2] == 3 and len(kept[f"{key}\0" "2"][0]) == 5 * SIGNATURE_SIZE

    warm = lint_cache.ContentFacts(str(root), folder, whole_tree=True)
    assert sorted(warm.findings(scripts)) == found  # type: ignore[arg-type]
    assert warm.summarised and warm.checked == 0

    last = root / scripts[-1][0]
    later = last.stat().st_mtime_ns + 5_000_000_000
    os.utime(last, ns=(later, later))
    again = lint_cache.ContentFacts(str(root), folder, whole_tree=True)
    assert sorted(again.findings(scripts)) == found  # type: ignore[arg-type]
    assert not again.summarised
