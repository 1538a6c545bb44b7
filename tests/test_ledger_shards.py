"""A sharded run's parent and children in the ledger (:mod:`opsctl.ledger.shards`), on each
ledger database: the link, the shared split, the children's progress summed, and the parent
ended once, by the last child, whatever order and concurrency the children end in."""

from __future__ import annotations

import threading

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
