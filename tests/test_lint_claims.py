"""The content check shared among forked processes through a queue of claims
(:class:`opsctl.lint.workers.Checking`): the children start as soon as the check is made, so a
cold lint parses recycle/ and unrecycle/ while it walks the developer folders; no process waits
on another's share; a child that fails leaves its scripts to this process; a check stopped
early leaves no process behind; and none of it changes what is found."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from opsctl.lint import cache as lint_cache
from opsctl.lint import content, workers
from opsctl.lint.content import check_files

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not sys.platform.startswith("linux"),
                                reason="the claims queue is for forked processes (Linux)")

BODIES = [b'"""Doc."""\n', b"def broken(:\n", b"\x00", b'"""Doc."""\nimport os\nos.x()\n',
          b"import requests\nrequests.get('http://x')\n"]


def _scripts(tmp_path: Path, n: int) -> tuple[str, list[tuple[str, str]]]:
    root = tmp_path / "offline_script"
    (root / "recycle").mkdir(parents=True)
    scripts = []
    for i in range(n):
        (root / "recycle" / f"script_{i}.py").write_bytes(BODIES[i % len(BODIES)])
        scripts.append((f"recycle/script_{i}.py", "recycle"))
    return str(root), scripts


def _ordered(results: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [tuple(done) for _, *done in sorted(results, key=lambda r: r[0])]  # type: ignore[index]


def _recording(monkeypatch: pytest.MonkeyPatch, log: Path, delay: float = 0.0) -> None:
    """check_files, noting in ``log`` which process checked how many scripts."""
    def recorded(root: str, chunk: list[tuple[str, str]]) -> object:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {len(chunk)}\n")
        time.sleep(delay)
        return check_files(root, chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(content, "check_files", recorded)


def _wait_for(condition: object, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("processes", [2, 3])
def test_claims_give_what_one_process_finds(tmp_path: Path, processes: int) -> None:
    root, scripts = _scripts(tmp_path, 5 * workers.CLAIM + 7)
    alone = check_files(root, scripts)  # type: ignore[arg-type]
    checking = workers.Checking(root, lambda: scripts, len(scripts), processes)  # type: ignore[arg-type,return-value]
    assert checking.queue >= 0 and len(checking.children) == processes - 1
    results = list(checking.results())
    assert sorted(i for i, *_ in results) == list(range(len(scripts)))
    assert _ordered(results) == alone


def test_children_start_before_the_results_are_asked(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root, scripts = _scripts(tmp_path, 6 * workers.CLAIM)
    log = tmp_path / "log"
    _recording(monkeypatch, log)
    checking = workers.Checking(root, lambda: scripts, len(scripts), 2)  # type: ignore[arg-type,return-value]
    me = str(os.getpid())
    # Nothing asked yet: only a child can have checked anything.
    assert _wait_for(lambda: log.exists() and log.read_text().strip()), "no child started"
    assert all(line.split()[0] != me for line in log.read_text().splitlines())
    results = list(checking.results())
    assert _ordered(results) == check_files(root, scripts)  # type: ignore[arg-type]
    counts = [int(line.split()[1]) for line in log.read_text().splitlines()]
    assert sum(counts) == len(scripts)  # each script checked once, by whoever claimed it


def test_a_child_that_fails_leaves_its_scripts_to_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, scripts = _scripts(tmp_path, 8 * workers.CLAIM)
    me, log = os.getpid(), tmp_path / "failed"

    def failing_in_children(root: str, chunk: list[tuple[str, str]]) -> object:
        if os.getpid() != me:
            log.write_text(str(len(chunk)))
            raise RuntimeError("a child fails on its first claim")
        time.sleep(0.05)  # this process slow enough that the child claims something
        return check_files(root, chunk)  # type: ignore[arg-type]

    monkeypatch.setattr(content, "check_files", failing_in_children)
    results = list(workers.Checking(root, lambda: scripts, len(scripts), 2).results())  # type: ignore[arg-type,return-value]
    assert log.exists()  # the child claimed scripts, and failed
    assert sorted(i for i, *_ in results) == list(range(len(scripts)))
    monkeypatch.undo()
    assert _ordered(results) == check_files(root, scripts)  # type: ignore[arg-type]


def test_a_stopped_check_leaves_no_process(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root, scripts = _scripts(tmp_path, 40 * workers.CLAIM)
    _recording(monkeypatch, tmp_path / "log", delay=0.2)
    checking = workers.Checking(root, lambda: scripts, len(scripts), 2)  # type: ignore[arg-type,return-value]
    pids = [child.pid for child in checking.children]
    assert pids and all(pid > 0 for pid in pids)
    results = checking.results()
    next(results)  # this process's first claim
    results.close()  # the reader goes away
    for pid in pids:
        with pytest.raises(ProcessLookupError):  # ended and reaped
            os.kill(pid, 0)
    checking2 = workers.Checking(root, lambda: scripts, len(scripts), 2)  # type: ignore[arg-type,return-value]
    pids = [child.pid for child in checking2.children]
    checking2.stop()  # never read at all
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_cold_cache_begins_the_check_early_and_a_filled_one_does_not(tmp_path: Path) -> None:
    root, scripts = _scripts(tmp_path, 2 * workers.PER_PROCESS)
    folder = str(tmp_path / ".opsctl_cache")
    os.mkdir(folder)
    cold = lint_cache.ContentFacts(root, folder, whole_tree=True)
    cold.begin(scripts)  # type: ignore[arg-type]
    assert cold._early is not None
    found = sorted(cold.findings(scripts))  # type: ignore[arg-type]
    assert cold._early is None and cold.checked == len(scripts)
    cold.save(whole_tree=True)
    assert found == sorted(lint_cache.ContentFacts(root, None).findings(scripts))  # type: ignore[arg-type]

    warm = lint_cache.ContentFacts(root, folder, whole_tree=True)
    warm.begin(scripts)  # type: ignore[arg-type]
    assert warm._early is None  # the table may answer: nothing started
    assert sorted(warm.findings(scripts)) == found  # type: ignore[arg-type]
    assert warm.checked == 0


def test_a_check_begun_on_other_scripts_is_stopped_not_used(tmp_path: Path) -> None:
    root, scripts = _scripts(tmp_path, 2 * workers.PER_PROCESS)
    facts = lint_cache.ContentFacts(root, None)
    facts.begin(scripts[:-1])  # type: ignore[arg-type]
    assert facts._early is not None
    pids = [child.pid for child in facts._early[1].children]
    found = sorted(facts.findings(scripts))  # type: ignore[arg-type]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert found == sorted(lint_cache.ContentFacts(root, None).findings(list(scripts)))  # type: ignore[arg-type]


def test_children_stop_when_this_process_ends_without_reading(tmp_path: Path) -> None:
    """An interrupted lint (or one killed) ends before it asks for the results: its children
    stop claiming instead of parsing the rest of the tree for no one."""
    import subprocess

    root, scripts = _scripts(tmp_path, 200 * workers.CLAIM)
    code = f"""
import os, sys, time
from opsctl.lint import content, workers
real = content.check_files
def slow(root, chunk):
    time.sleep(0.1)
    return real(root, chunk)
content.check_files = slow
scripts = [(f"recycle/script_{{i}}.py", "recycle") for i in range({len(scripts)})]
checking = workers.Checking({root!r}, lambda: scripts, len(scripts), 2)
with open({str(tmp_path / "pids")!r}, "w") as fh:
    fh.write(" ".join(str(child.pid) for child in checking.children))
time.sleep(0.3)
os._exit(0)
"""
    # No pipe a child could hold open: the run ends when this process does.
    subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=60)
    pids = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
    assert pids

    def ended(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except FileNotFoundError:
            return True

    # 200 claims of a tenth of a second each: twenty seconds for a child that went on.
    assert _wait_for(lambda: all(map(ended, pids)), seconds=5), "a child went on claiming"
