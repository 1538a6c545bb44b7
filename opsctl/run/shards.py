"""A query's key space cut into shards, for a sharded run: each child run pages only the rows
of its own part, so the children together read every row once.

The key must be one integer column (a table's usual primary key). The boundaries are the
key's quantiles (:func:`split`): the keys found at every ``1/count`` of the rows in key order,
so each shard has about as many rows as the others even where the keys are skewed (a
min/max split into equal widths would leave shards empty around a far outlier). Each range
is half-open, ``[lo, hi)``; the first has no lower bound and the last no upper one, so a row
added after the split still belongs to exactly one shard. A key that is not one integer
column (a string, a UUID, several columns) is refused (:func:`integer_key`), saying so.

A child narrows its query with its range (:func:`narrowed`, ``WHERE key >= lo AND key <
hi``), which keyset pagination then pages as any query (:mod:`.keyset`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Query

if TYPE_CHECKING:
    from .course import Course

#: A shard's key range: ``(lo, hi)``, ``None`` for an open end.
Range = tuple[int | None, int | None]


def split(source: Any, key: Any, count: int, session: Any = None) -> list[int | None]:
    """The ``count + 1`` boundaries of ``count`` shards of the rows ``source`` selects: the
    first and the last None (open ends), between them the ``key`` at every ``1/count`` of the
    rows in key order (one count and ``count - 1`` single-row reads, once per sharded run).
    Shard ``i`` (from 1) is ``[bounds[i - 1], bounds[i])``. ``session`` reads a ``select``
    (a ``Query`` has its own)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"shards: the number of shards must be a whole number >= 1, "
                         f"not {count!r}")
    keys = _keys_of(source, key)
    run = source.session.scalar if isinstance(source, Query) else session.scalar
    rows = int(run(sa.select(sa.func.count()).select_from(keys.subquery())))
    if not rows:  # nothing yet: the first shard takes keys below 0, the last the others
        return [None, *[0] * (count - 1), None]
    inner = [int(run(keys.offset(rows * i // count).limit(1))) for i in range(1, count)]
    return [None, *inner, None]


def _keys_of(source: Any, key: Any) -> Any:
    """``source``'s keys alone, in key order, as a ``select``."""
    if isinstance(source, Query):
        return source.with_entities(key).order_by(None).order_by(key).statement
    return source.with_only_columns(key).order_by(None).order_by(key)


def shard_range(bounds: list[int | None], index: int) -> Range:
    """Shard ``index`` (from 1) of ``bounds`` (:func:`split`)."""
    if not 1 <= index < len(bounds):
        raise ValueError(f"shards: there is no shard {index} of {len(bounds) - 1}")
    return bounds[index - 1], bounds[index]


def integer_key(keys: list[Any]) -> Any:
    """The one integer column of ``keys`` (a keyset's); refuses any other key."""
    if len(keys) == 1:
        column = getattr(keys[0], "expression", keys[0])
        try:
            kind = column.type.python_type
        except (AttributeError, NotImplementedError):
            kind = None
        if kind is int:
            return keys[0]
    names = ", ".join(str(getattr(k, "key", k)) for k in keys)
    raise ValueError(f"opsctl.batches(): a sharded run cuts the key into integer ranges, and "
                     f"the key here ({names}) is not one integer column; run it unsharded, or "
                     "pass key= an integer column that is unique and never NULL")


def narrowed(source: Any, key: Any, shard: Range) -> Any:
    """``source`` limited to the rows whose ``key`` is in ``shard``."""
    low, high = shard
    conditions = [c for c in (None if low is None else key >= low,
                              None if high is None else key < high) if c is not None]
    if not conditions:
        return source
    return source.filter(*conditions) if isinstance(source, Query) else source.where(*conditions)


def narrowed_for(course: Course, source: Any, key: Any, session: Any = None) -> Any:
    """``source`` (a ``select`` or ``Query``) limited to the key range of the shard
    ``course`` runs: the range it kept (a resumed shard's), else its part of the parent's
    split, which the first child to get here computes and proposes
    (:meth:`~opsctl.ledger.shards.Shards.claim_split`: every child uses the one kept
    first); the range is then recorded on the child's row. A key that is not one integer
    column is refused (:func:`integer_key`)."""
    from .keyset import Keyset

    shard, ledger, run_id = course.shard, course.ledger, course.run_id
    assert shard is not None and ledger is not None and run_id is not None
    keyset = Keyset(source, key, session)
    column = integer_key(keyset.keys)
    if shard.key_range is None:
        bounds = ledger.split_of(shard.parent_id)
        if bounds is None:
            reader = None if isinstance(source, Query) else keyset.session()
            bounds = ledger.claim_split(shard.parent_id,
                                        split(source, column, shard.shards, reader))
        found = shard_range(bounds, shard.number)
        ledger.link_shard(run_id, parent_id=shard.parent_id, index=shard.number,
                          count=shard.shards, key_range=list(found))
        course.shard = shard = shard._replace(key_range=list(found))
    low, high = shard.key_range
    return narrowed(source, column, (low, high))
