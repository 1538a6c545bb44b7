"""The statements that read runs, each a walk of one index of :mod:`.schema` newest first that
stops at its limit, so what a read costs depends on what it returns, not on the ledger's size.

* :func:`newest_first`: runs, of every script or within a script's spans (its lineage), with
  a status or not, newest first. Several spans with a limit are one limited walk each, in a
  ``UNION ALL``, and the newest of those: at most spans × limit rows are ever sorted.
* :func:`newest_of_keys`: the newest run of each of a page of keys, one ``LIMIT 1`` walk per
  key, in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from . import rows
from .schema import RUNS
from .spans import Span

#: The order every read of runs gives them: newest first, the later id first on a tie.
NEWEST = (RUNS.c.started_at.desc(), RUNS.c.id.desc())
#: Every column of a run.
ALL = tuple(RUNS.c)
#: A run's columns but its output tail (up to 64 KiB each): what a summary of runs reads.
BRIEF = tuple(c for c in RUNS.c if c.name != "output_tail")
#: Keys per statement of :func:`newest_of_keys` (SQLite takes at most 500 SELECTs in one).
PAGE = 250
#: Keys per statement when they are one array parameter (PostgreSQL).
LATERAL_PAGE = 1_000

Columns = Sequence[sa.ColumnElement[Any]]


def span_clause(span: Span) -> sa.ColumnElement[bool]:
    """The runs started under the span's key within its time span."""
    key, since, until = span
    cond = [RUNS.c.script == key]
    if since is not None:
        cond.append(RUNS.c.started_at >= rows.naive(since))
    if until is not None:
        cond.append(RUNS.c.started_at < rows.naive(until))
    return sa.and_(*cond)


def newest_first(spans: Sequence[Span] | None = None, *, status: str | None = None,
                 limit: int | None = None, columns: Columns = ALL,
                 where: Sequence[sa.ColumnElement[bool]] = ()) -> sa.Select[Any]:
    """Runs newest first: every script's (``spans`` None) or those within ``spans``, of one
    ``status`` or any, also matching ``where``, at most ``limit``."""
    filters = [*where, *([RUNS.c.status == status] if status is not None else [])]
    unique = list(dict.fromkeys(spans)) if spans is not None else None
    if unique is not None and len(unique) > 1 and limit is not None:
        parts = [sa.select(*columns).where(span_clause(s), *filters).order_by(*NEWEST)
                 .limit(limit).subquery() for s in unique]
        union = sa.union_all(*(sa.select(*p.c) for p in parts)).subquery()
        return (sa.select(*union.c)
                .order_by(union.c.started_at.desc(), union.c.id.desc()).limit(limit))
    query = sa.select(*columns).where(*filters)
    if unique is not None:
        query = query.where(sa.or_(*(span_clause(s) for s in unique)) if unique else
                            sa.false())
    query = query.order_by(*NEWEST)
    return query.limit(limit) if limit is not None else query


def newest_of_keys(keys: Sequence[str], columns: Columns = BRIEF, *,
                   lateral: bool = False) -> sa.Executable:
    """The newest run recorded under each of ``keys`` (a page: at most :func:`page_size`),
    one ``LIMIT 1`` walk of the script's index each; a key without runs has no row.

    With ``lateral`` (PostgreSQL), the keys are one array parameter, unnested and joined
    laterally to the walk: one short statement, planned once, whatever the number of keys.
    Elsewhere the keys are a list of constants, each walked by a correlated subquery, as text:
    SQLAlchemy takes longer building and compiling a select per key than the database
    takes running them, and MariaDB plans a ``UNION`` of a hundred walks ten times slower.
    """
    if lateral:
        from sqlalchemy.dialects.postgresql import ARRAY

        given = sa.bindparam("keys", list(keys), type_=ARRAY(sa.String()))
        wanted = sa.func.unnest(given).table_valued("key").render_derived(name="k")
        walk = (sa.select(*columns).where(RUNS.c.script == wanted.c.key).order_by(*NEWEST)
                .limit(1).lateral("newest"))
        return sa.select(*walk.c).select_from(wanted.join(walk, sa.true()))
    listed = " UNION ALL ".join(f"SELECT :k{i} AS k" for i in range(len(keys)))
    sql = (f"SELECT {', '.join(c.name for c in columns)} FROM opsctl_runs WHERE id IN "
           f"(SELECT (SELECT x.id FROM opsctl_runs x WHERE x.script = wanted.k "
           f"ORDER BY x.started_at DESC, x.id DESC LIMIT 1) FROM ({listed}) AS wanted)")
    return (sa.text(sql).bindparams(**{f"k{i}": key for i, key in enumerate(keys)})
            .columns(*columns))


def page_size(lateral: bool) -> int:
    """Keys per statement of :func:`newest_of_keys`."""
    return LATERAL_PAGE if lateral else PAGE
