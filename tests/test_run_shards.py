"""A query's key space cut into a sharded run's ranges (:mod:`opsctl.run.shards`), on a real
SQLite database: the shards' pages together hold every row exactly once, rows added after
the split included, and a key that is not one integer column is refused."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from opsctl import batches
from opsctl.run.keyset import Keyset
from opsctl.run.shards import integer_key, narrowed, shard_range, split


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)


#: 20,000 keys, uneven: a run of negatives, gaps, and a far outlier.
KEYS = [*range(-500, 0), *range(1, 40_000, 2)[:19_000], *range(100_000, 100_499), 5_000_000]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.sqlite3'}")
    Base.metadata.create_all(engine)
    with Session(engine) as made:
        made.execute(sa.insert(Item), [{"id": k, "code": f"c{k}"} for k in KEYS])
        made.commit()
        yield made
    engine.dispose()


def shard_keys(session: Session, source: object, count: int) -> list[list[int]]:
    """Each shard's keys, paged 1,000 at a time by ``batches()`` as a child run would."""
    key = integer_key(Keyset(source, session=session).keys)
    bounds = split(source, key, count, session)
    found = []
    for index in range(1, count + 1):
        part = narrowed(source, key, shard_range(bounds, index))
        pages = batches(part, size=1000, session=session)
        found.append([row.id for page in pages for row in page])
    return found


def test_four_shards_of_a_select_hold_every_row_once(session: Session) -> None:
    assert len(KEYS) == 20_000
    found = shard_keys(session, sa.select(Item), 4)
    assert Counter(k for keys in found for k in keys) == Counter(KEYS)
    # As many rows in each, skewed keys and the far outlier notwithstanding.
    assert [len(keys) for keys in found] == [5_000] * 4
    # Disjoint ranges, in key order: each shard's keys all below the next one's.
    assert all(max(a) < min(b) for a, b in zip(found, found[1:], strict=False))


def test_shards_of_a_query_with_a_filter_hold_its_rows_once(session: Session) -> None:
    query = session.query(Item).filter(Item.id % 3 == 0)
    found = shard_keys(session, query, 3)
    assert sorted(k for keys in found for k in keys) == [k for k in KEYS if k % 3 == 0]


def test_rows_added_after_the_split_fall_in_exactly_one_shard(session: Session) -> None:
    source = sa.select(Item)
    key = integer_key(Keyset(source, session=session).keys)
    bounds = split(source, key, 4, session)
    session.execute(sa.insert(Item), [{"id": -10_000, "code": "low"},
                                      {"id": 9_000_000, "code": "high"}])
    session.commit()
    seen = Counter(row.id for index in range(1, 5)
                   for page in batches(narrowed(source, key, shard_range(bounds, index)),
                                       size=1000, session=session)
                   for row in page)
    assert seen[-10_000] == 1 and seen[9_000_000] == 1 and sum(seen.values()) == 20_002


def test_more_shards_than_rows_leaves_some_empty_but_loses_none(session: Session) -> None:
    query = session.query(Item).filter(Item.id.in_([-5, 7, 100_001]))
    found = shard_keys(session, query, 5)
    assert sorted(k for keys in found for k in keys) == [-5, 7, 100_001]
    assert len(found) == 5 and [] in found


def test_a_key_that_is_not_one_integer_column_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match=r"key here \(code\) is not one integer column"):
        integer_key(Keyset(sa.select(Item), key=Item.code, session=session).keys)
    with pytest.raises(ValueError, match="not one integer column"):
        integer_key(Keyset(sa.select(Item), key=(Item.id, Item.code), session=session).keys)
    with pytest.raises(ValueError, match="whole number >= 1"):
        split(sa.select(Item), Item.id, 0, session)
    # Nothing selected: still disjoint ranges (never every shard open at both ends).
    assert split(sa.select(Item).where(Item.id > 10**9), Item.id, 3, session) == \
        [None, 0, 0, None]
