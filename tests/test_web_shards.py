"""The dashboard's run page of a sharded run (:mod:`opsctl.web.pages`): the parent lists its
shards with their status and progress, its own progress their sum; a shard's page says which
shard of which run it is, and its keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process
from tests.webkit import ledger_of, mounted, web_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return web_project(tmp_path)


@pytest.fixture
def ledger(project: Path) -> Iterator[Ledger]:
    with ledger_of(project) as opened:
        yield opened


def everyone(user: Any, action: str, script: str | None) -> bool:
    return True


def test_a_sharded_runs_page_lists_its_shards_and_sums_their_progress(
        project: Path, ledger: Ledger) -> None:
    me = Process.current("carol")
    parent = ledger.open_parent(script="recycle/clear_cache", process=me, args=[], sha256=None)
    children = []
    for index in (1, 2, 3):
        child = ledger.enqueue(script="recycle/clear_cache", process=me, args=[], sha256=None)
        ledger.link_shard(child.id, parent_id=parent.id, index=index, count=3)
        children.append(child)
    bounds = ledger.claim_split(parent.id, [None, 100, 200, None])
    for index, child in enumerate(children[:2], 1):
        started = ledger.start_shard(child.id, process=me)
        ledger.link_shard(child.id, parent_id=parent.id, index=index, count=3,
                          key_range=bounds[index - 1:index + 1])
        ledger.begin_progress(child.id, total=100)
        ledger.checkpoint(child.id, done=25 * index)
        if index == 1:
            ledger.finish(started, status="succeeded", exit_code=0)
    client = mounted(project, everyone).test_client()
    page = client.get(f"/ops/runs/{parent.id}").get_data(as_text=True)
    assert "<h2>Shards</h2>" in page
    first, second, third = children
    for child, label, status in ((first, "1/3", "succeeded"), (second, "2/3", "running"),
                                 (third, "3/3", "queued")):
        assert (f'<tr><td data-label="Shard">{label}</td><td data-label="Run"><a href="/ops/'
                f'runs/{child.id}">run {child.id}</a></td><td data-label="Status"><span '
                f'class="status status-{status}">{status}</span>') in page
    assert "25% 25/100" in page and "50% 50/100" in page
    # The parent's own: its shards' summed, the third not counted yet (no total).
    assert '<span class="live-text">75 done' in page
    shard = client.get(f"/ops/runs/{second.id}").get_data(as_text=True)
    assert (f'<dt>Shard</dt><dd>2/3 of <a href="/ops/runs/{parent.id}">run {parent.id}</a>, '
            "keys &gt;= 100, &lt; 200</dd>") in shard
    assert "<h2>Shards</h2>" not in shard


def test_the_page_and_history_word_a_shards_keys_alike(project: Path, ledger: Ledger) -> None:
    """A shard's keys are said in the same words on its page and in ``history --run``,
    whatever ends of its range are open."""
    from opsctl.history import look_at
    from opsctl.progress import shard_lines

    me = Process.current("carol")
    parent = ledger.open_parent(script="recycle/clear_cache", process=me, args=[], sha256=None)
    client = mounted(project, everyone).test_client()
    for index, keys in enumerate(([None, 100], [100, 200], [200, None], [None, None]), 1):
        child = ledger.enqueue(script="recycle/clear_cache", process=me, args=[], sha256=None)
        ledger.link_shard(child.id, parent_id=parent.id, index=index, count=4, key_range=keys)
        [said] = shard_lines(look_at(ledger, child.id).shard, ())
        words = said.split(f"of run {parent.id}, keys ", 1)[1]
        page = client.get(f"/ops/runs/{child.id}").get_data(as_text=True)
        shown = words.replace("<", "&lt;").replace(">", "&gt;")
        assert (f'<dt>Shard</dt><dd>{index}/4 of <a href="/ops/runs/{parent.id}">run '
                f'{parent.id}</a>, keys {shown}</dd>') in page
