"""A sharded run's parent and children in the ledger (:mod:`opsctl.ledger.shards`), on each
ledger database: the link, the shared split, the children's progress summed, and the parent
ended once, by the last child, whatever order and concurrency the children end in."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from opsctl.ledger.queued import NotQueued
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import LockBusy, Process, Run

SCRIPT = "recycle/backfill_totals"


def me() -> Process:
    return Process.current("alice")


def sharded(book: Ledger, count: int) -> tuple[Run, list[Run]]:
    """A running parent holding the script's lock, and ``count`` children started."""
    parent = book.start(script=SCRIPT, process=me(), args=[])
    children = []
    for index in range(1, count + 1):
        child = book.enqueue(script=SCRIPT, process=me(), args=[], sha256=None)
        book.link_shard(child.id, parent_id=parent.id, index=index, count=count)
        children.append(book.start_shard(child.id, process=me()))
    return parent, children


def test_children_are_linked_started_without_the_lock_and_summed(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        parent, children = sharded(book, 3)
        assert [c.status for c in children] == ["running"] * 3
        assert [c.id for c in book.children(parent.id)] == [c.id for c in children]
        assert book.shard_of(children[1].id) == (parent.id, 2, 3, None)
        assert book.shard_of(parent.id) is None
        # The lock is the parent's: a plain run of the script is refused.
        with pytest.raises(LockBusy):
            book.start(script=SCRIPT, process=me(), args=[])
        # A child already started is not started twice.
        with pytest.raises(NotQueued):
            book.start_shard(children[0].id, process=me())
        for n, child in enumerate(children):
            book.begin_progress(child.id, total=100)
            book.checkpoint(child.id, done=10 * (n + 1))
        summed = book.shards_progress(parent.id)
        assert summed is not None and (summed.done, summed.total) == (60, 300)
        book.checkpoint(children[0].id, done=11, total=None)
        book.begin_progress(children[2].id)  # a child that does not count its items
        summed = book.shards_progress(parent.id)
        assert summed is not None and (summed.done, summed.total) == (31, None)
        assert book.shards_progress(children[0].id) is None


def test_the_first_split_proposed_is_every_childs(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        parent, _ = sharded(book, 2)
        assert book.claim_split(parent.id, [None, 50, None]) == [None, 50, None]
        assert book.claim_split(parent.id, [None, 70, None]) == [None, 50, None]


def test_the_parent_ends_with_the_last_child_and_frees_the_lock(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        parent, children = sharded(book, 2)
        book.finish(children[0], status="succeeded", exit_code=0)
        closed = book.close_parent(parent.id)
        assert closed is not None and closed.status == "running"
        book.finish(children[1], status="succeeded", exit_code=0)
        closed = book.close_parent(parent.id)
        assert closed is not None and (closed.status, closed.exit_code) == ("succeeded", 0)
        book.start(script=SCRIPT, process=me(), args=[])  # the lock is free again


def test_one_failed_child_fails_the_parent_with_its_exit_code(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        parent, children = sharded(book, 3)
        book.finish(children[0], status="succeeded", exit_code=0)
        book.finish(children[1], status="paused", exit_code=80)
        book.finish(children[2], status="failed", exit_code=3)
        closed = book.close_parent(parent.id)
        assert closed is not None and (closed.status, closed.exit_code) == ("failed", 3)


def test_paused_and_cancelled_children_say_so_on_the_parent(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        parent, children = sharded(book, 2)
        book.finish(children[0], status="succeeded", exit_code=0)
        book.finish(children[1], status="paused", exit_code=80)
        closed = book.close_parent(parent.id)
        assert closed is not None and (closed.status, closed.exit_code) == ("paused", 80)


def end_and_close(ledger_url: str, child: Run, parent_id: int, gate: threading.Barrier,
                  errors: list[BaseException]) -> None:
    """One child's worker: its end, then the parent's close, each from its own ledger."""
    try:
        with Ledger.open(ledger_url) as own:
            gate.wait()
            own.finish(child, status="succeeded", exit_code=0)
            own.close_parent(parent_id)
    except BaseException as exc:  # reported by the test
        errors.append(exc)


@pytest.mark.slow
def test_children_ending_at_once_end_the_parent_once(ledger_url: str) -> None:
    """Each child ends and then closes the parent from its own connection, all released at
    the same moment: the parent ends exactly once, ``succeeded``, never left running."""
    with Ledger.open(ledger_url) as book:
        for _round in range(3):
            parent, children = sharded(book, 4)
            gate = threading.Barrier(len(children))
            errors: list[BaseException] = []
            threads = [threading.Thread(target=end_and_close,
                                        args=(ledger_url, c, parent.id, gate, errors))
                       for c in children]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            ended = book.run(parent.id)
            assert ended is not None and (ended.status, ended.exit_code) == ("succeeded", 0)


def gone() -> Process:
    """A process of this machine that has exited: what a lock of the asking process, or of
    a worker killed -9, is left with."""
    import socket
    import subprocess
    import sys

    from opsctl.ledger.processes import node_id

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return Process("alice", socket.gethostname(), child.pid, node_id(), None)


def test_the_parents_lock_lives_while_a_child_is_queued_or_alive(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        # Asked by a process that has exited since, as `run --queue --shards` does.
        parent = book.open_parent(script=SCRIPT, process=gone(), args=[], sha256=None)
        children = []
        for index in (1, 2):
            child = book.enqueue(script=SCRIPT, process=me(), args=[], sha256=None)
            book.link_shard(child.id, parent_id=parent.id, index=index, count=2)
            children.append(child)
        assert book.reap() == []  # queued children keep it alive
        with pytest.raises(LockBusy) as refused:
            book.start(script=SCRIPT, process=me(), args=[])
        # Said as the shards' lock, not by the pid of the process that asked, long gone.
        said = str(refused.value)
        assert said.startswith(f"run {parent.id} by alice, sharded: its shards hold it, since")
        assert "pid" not in said
        held = book.holder(SCRIPT)
        assert held is not None and held.describe() == said
        first = book.start_shard(children[0].id, process=me())
        second = book.start_shard(children[1].id, process=gone())  # its worker then died
        assert book.run(parent.id).status == "running"  # with its first child
        with pytest.raises(LockBusy):  # the first child is alive
            book.start(script=SCRIPT, process=me(), args=[])
        book.finish(first, status="succeeded", exit_code=0)
        book.close_parent(parent.id)
        # The dead child is lost by its own lock; as the last, it ends the parent failed.
        assert book.reap() == [second.id]
        ended = book.run(parent.id)
        assert ended is not None and ended.status == "failed"
        assert book.holder(SCRIPT) is None


def test_a_shard_resumed_reopens_its_parent_and_counts_as_that_shard(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        parent, (first, second) = sharded(book, 2)
        for child, done in ((first, 100), (second, 40)):
            book.begin_progress(child.id, total=100)
            book.checkpoint(child.id, done=done)
        book.link_shard(second.id, parent_id=parent.id, index=2, count=2, key_range=[50, None])
        book.finish(first, status="succeeded", exit_code=0)
        book.finish(second, status="failed", exit_code=1)
        assert book.close_parent(parent.id).status == "failed"  # type: ignore[union-attr]
        again = book.enqueue(script=SCRIPT, process=me(), args=[], sha256=None)
        assert book.relink(second.id, again.id, process=me())
        assert book.run(parent.id).status == "running"  # type: ignore[union-attr]
        assert book.shard_of(again.id) == (parent.id, 2, 2, [50, None])
        with pytest.raises(LockBusy):  # the parent's lock again
            book.start(script=SCRIPT, process=me(), args=[])
        resumed = book.start_shard(again.id, process=me())
        book.begin_progress(again.id, total=100, done=40, resumed_from=second.id)
        book.checkpoint(again.id, done=100)
        summed = book.progress_of([parent.id])[parent.id]
        assert (summed.done, summed.total) == (200, 200)  # the resumed shard counts once
        book.finish(resumed, status="succeeded", exit_code=0)
        closed = book.close_parent(parent.id)
        assert closed is not None and (closed.status, closed.exit_code) == ("succeeded", 0)
        assert not book.relink(first.id - 1000, again.id, process=me())  # not a shard


def test_a_parent_whose_last_child_has_not_closed_it_is_ended_by_its_children(
        ledger_url: str) -> None:
    """Between a child's end and its worker closing the parent, a reap (any history) must
    not mark the parent lost: it ends it as its children say."""
    with Ledger.open(ledger_url) as book:
        parent = book.open_parent(script=SCRIPT, process=gone(), args=[], sha256=None)
        child = book.enqueue(script=SCRIPT, process=me(), args=[], sha256=None)
        book.link_shard(child.id, parent_id=parent.id, index=1, count=2)
        other = book.enqueue(script=SCRIPT, process=me(), args=[], sha256=None)
        book.link_shard(other.id, parent_id=parent.id, index=2, count=2)
        for one in (child, other):
            book.finish(book.start_shard(one.id, process=me()), status="succeeded",
                        exit_code=0)
        assert book.reap() == []
        ended = book.run(parent.id)
        assert ended is not None and (ended.status, ended.exit_code) == ("succeeded", 0)
        assert book.holder(SCRIPT) is None


def claim_at_once(ledger_url: str, parent_id: int, proposal: list[object],
                  gate: threading.Barrier, kept: list[object],
                  errors: list[BaseException]) -> None:
    """One shard's first batch: its split proposed from its own ledger."""
    try:
        with Ledger.open(ledger_url) as own:
            own.run(parent_id)  # connected before the gate: the proposals cross
            gate.wait()
            kept.append(own.claim_split(parent_id, proposal))
    except BaseException as exc:  # reported by the test
        errors.append(exc)


@pytest.mark.slow
def test_shards_proposing_a_split_at_once_all_keep_one(ledger_url: str) -> None:
    """The shards of a parent that has no progress row yet propose their splits at the same
    moment, each from its own connection: one proposal is kept, every shard gets it, and
    none fails on the parent's row being made twice."""
    with Ledger.open(ledger_url) as book:
        for _round in range(5):
            parent, children = sharded(book, 4)
            gate = threading.Barrier(len(children))
            kept: list[object] = []
            errors: list[BaseException] = []
            threads = [threading.Thread(target=claim_at_once,
                                        args=(ledger_url, parent.id, [None, 10 * n, None],
                                              gate, kept, errors))
                       for n in range(1, len(children) + 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert len(kept) == 4 and all(k == kept[0] for k in kept)
            assert book.claim_split(parent.id, [None, 99, None]) == kept[0]
            for child in children:
                book.finish(child, status="succeeded", exit_code=0)
            book.close_parent(parent.id)


def resume_at_once(ledger_url: str, resumed: int, run_id: int, gate: threading.Barrier,
                   errors: list[BaseException]) -> None:
    """One ``run --queue --resume`` of a shard: its run linked to the parent from its own
    ledger, which opens the parent again if it has ended."""
    try:
        with Ledger.open(ledger_url) as own:
            own.run(resumed)  # connected before the gate: the two reopenings cross
            gate.wait()
            own.relink(resumed, run_id, process=me())
    except BaseException as exc:  # reported by the test
        errors.append(exc)


@pytest.mark.slow
def test_two_shards_of_an_ended_parent_resumed_at_once_both_go_on(ledger_url: str) -> None:
    """Two failed shards of an ended parent resumed at the same moment, each from its own
    connection: the parent is opened again once, and neither resume is refused by the lock
    the other has just taken for that same parent."""
    with Ledger.open(ledger_url) as book:
        for _round in range(4):
            parent, (first, second, third) = sharded(book, 3)
            book.finish(first, status="succeeded", exit_code=0)
            for child in (second, third):
                book.finish(child, status="failed", exit_code=1)
            assert book.close_parent(parent.id).status == "failed"  # type: ignore[union-attr]
            again = [book.enqueue(script=SCRIPT, process=me(), args=[], sha256=None)
                     for _ in (second, third)]
            gate = threading.Barrier(2)
            errors: list[BaseException] = []
            threads = [threading.Thread(target=resume_at_once,
                                        args=(ledger_url, child.id, run.id, gate, errors))
                       for child, run in zip((second, third), again, strict=True)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            reopened = book.run(parent.id)
            assert reopened is not None and reopened.status == "running"
            assert reopened.error == "opened again to resume a shard; it had ended failed"
            assert [book.shard_of(r.id)[1] for r in again] == [2, 3]  # type: ignore[index]
            holder = book.holder(SCRIPT)
            assert holder is not None and holder.run_id == parent.id
            for run in again:
                book.finish(book.start_shard(run.id, process=me()), status="succeeded",
                            exit_code=0)
            closed = book.close_parent(parent.id)
            assert closed is not None and (closed.status, closed.exit_code) == ("succeeded", 0)


def test_the_quick_read_of_a_sharded_runs_progress_is_the_ledgers(tmp_path: Path) -> None:
    """``history``'s quick sqlite3 read (:mod:`opsctl.ledger.glance`) sums a sharded run's
    shards as the ledger does at every moment of the run: from the first shard's first
    checkpoint, before any shard has split the keys, and after."""
    from opsctl.ledger.glance import glance

    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    journal = str(tmp_path / "journal")

    def both(run_ids: list[int]) -> tuple[dict[int, Any], dict[int, Any]]:
        quick = glance(url, journal)
        assert quick is not None
        try:
            return book.progress_of(run_ids), quick.progress_of(run_ids)
        finally:
            quick.close()

    with Ledger.open(url) as book:
        parent, (first, second) = sharded(book, 2)
        other = book.start(script="recycle/other", process=me(), args=[])
        ledger_read, quick_read = both([parent.id])
        assert ledger_read[parent.id].done == 0  # its shards linked, none counted yet
        assert quick_read == ledger_read
        book.begin_progress(first.id, total=100)
        book.checkpoint(first.id, done=10)
        book.begin_progress(other.id)
        ids = [other.id, parent.id, first.id]
        ledger_read, quick_read = both(ids)
        assert ledger_read[parent.id].done == 10  # no split yet: the shard's own count
        assert quick_read == ledger_read
        book.claim_split(parent.id, [None, 50, None])
        book.begin_progress(second.id, total=100)
        book.checkpoint(second.id, done=30)
        ledger_read, quick_read = both(ids)
        assert (ledger_read[parent.id].done, ledger_read[parent.id].total) == (40, 200)
        assert quick_read == ledger_read
        # Ids far apart are read a page at a time: the same sums.
        far = [parent.id, parent.id + 10_000]
        assert both(far)[1] == both(far)[0] == {parent.id: ledger_read[parent.id]}
