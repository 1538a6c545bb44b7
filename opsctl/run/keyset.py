"""Keyset pagination over a SQLAlchemy ``select`` or a (Flask-SQLAlchemy) ``Query``: each page
is the next ``size`` rows after the last key seen, ``WHERE key > :last ORDER BY key LIMIT
:size`` — never ``OFFSET``, so a page costs the same at row 10 and at row 10,000,000, and rows
changed so they no longer match the query, or deleted, move nothing.

The key is the primary key of the first entity (or table) selected, or the columns given:
they must be ordered, unique together and never NULL (a NULL key cannot be compared: a key
that may be NULL, an expression, is looked for NULLs once before the first page, and
refused). A key of several columns ``(a, b)`` pages with ``a >= :a AND (a > :a OR (a = :a
AND b > :b))``, which every database can answer from an index on ``(a, b)``; a key column
given as ``col.desc()`` pages downwards (``<``). A query's own LIMIT or OFFSET is refused:
the pages would replace it.

The position (the last key seen) is stored as JSON in the run's checkpoint: dates, times,
decimals and UUIDs are tagged so they come back with their type.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import operator
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Query, Session, scoped_session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression


def is_query(source: object) -> bool:
    """Whether ``source`` is something :class:`Keyset` pages: a ``select`` or a ``Query``."""
    return isinstance(source, (sa.Select, Query))


class Keyset:
    """Pages of ``source`` in key order, after a position."""

    def __init__(self, source: Any, key: Any = None, session: Any = None) -> None:
        self.source = source
        self.orm_query = isinstance(source, Query)
        descriptions = source.column_descriptions
        first = descriptions[0] if descriptions else {}
        entity = first.get("entity")
        #: Whole ORM objects come out (one entity selected), else rows.
        self.objects = len(descriptions) == 1 and entity is not None and \
            first.get("expr") is entity
        _refuse_limits(source)
        #: The key's columns, and which of them go in descending order (``key=col.desc()``).
        self.keys, self.descending = _directions(_keys(source, key, entity))
        for k in self.keys:
            column = getattr(k, "expression", k)
            if getattr(column, "nullable", False) is True:
                raise ValueError(
                    f"opsctl.batches(): the key column {column} may be NULL; keyset "
                    "pagination needs key columns declared NOT NULL (a NULL key is never "
                    "after any other, so its row would be skipped): pass key= NOT NULL "
                    "columns that are unique together")
        self.names = [str(getattr(k, "key", None) or getattr(k, "name", k)) for k in self.keys]
        #: What the key is, kept with the position in a checkpoint (a resume on another key
        #: is refused): each column's table and name (an expression's SQL), `` DESC`` if so.
        self.identity = [_identity(k) + (" DESC" if down else "")
                         for k, down in zip(self.keys, self.descending, strict=True)]
        self._getters = [self._getter(k) for k in self.keys]
        #: The page queries built (:meth:`_paging`), and their position's parameters.
        self._pages: dict[tuple[bool, int], Any] = {}
        self._param_names = [f"opsctl_after_{i}" for i in range(len(self.keys))]
        self._session = session
        #: How the session picks the engine the rows live in (its binds, per mapper).
        self.bind_arguments: dict[str, Any] = \
            {"mapper": sa.inspect(entity)} if entity is not None else {"clause": source}

    # ------------------------------------------------------------------ reading

    def page(self, after: tuple[Any, ...] | None, size: int) -> list[Any]:
        """The next ``size`` items after position ``after`` (None: from the start)."""
        statement = self._paging(after is not None, size)
        params = {} if after is None else self._params(after)
        if self.orm_query:
            return list(statement.params(**params).all() if params else statement.all())
        result = self.session().execute(statement, params)
        # unique(): what SQLAlchemy asks of joined eager loads of collections (ORM objects
        # are unique by identity anyway; rows are not, and are kept as they come).
        return list(result.unique().scalars().all() if self.objects else result.all())

    def _paging(self, after: bool, size: int) -> Any:
        """The page query, built once per shape, its position bound: one compiled statement."""
        found = self._pages.get((after, size))
        if found is None:
            query = self.source
            if after:
                condition = after_clause(self.keys, [sa.bindparam(name) for name in
                                                     self._param_names], self.descending)
                query = query.filter(condition) if self.orm_query else query.where(condition)
            order = [k.desc() if down else k for k, down in zip(self.keys, self.descending,
                                                                 strict=True)]
            found = query.order_by(None).order_by(*order).limit(size)
            if len(self._pages) > 4:  # sizes vary only as --limit cuts the last batch
                self._pages.clear()
            self._pages[(after, size)] = found
        return found

    def _params(self, after: tuple[Any, ...]) -> dict[str, Any]:
        self._check_length(after)
        return dict(zip(self._param_names, after, strict=True))

    def counting(self, after: tuple[Any, ...] | None) -> Any:
        """The rows to count after ``after``, objects once each (:mod:`.counting`)."""
        query = self._after(after).order_by(None)
        if self.objects and bool(getattr(self.source, "_setup_joins", None)):  # joined rows
            query = (query.with_entities(*self.keys) if self.orm_query
                     else query.with_only_columns(*self.keys)).distinct()
        return query

    def check(self, page: list[Any]) -> None:
        """Refuse a page where a key is NULL (it would be skipped, or repeated, by the next
        page's comparison). Every database sorts NULLs together, before or after all values,
        and ``key > :last`` never matches one: a NULL in the key's first column can only be
        at an end of a page, so its two ends are looked at. A later column's NULL sorts at an
        end of its run of equal first columns, anywhere in a page: those columns are read
        whole, one C-level pass each (``itemgetter``/``attrgetter`` mapped over the page)."""
        if not page:
            return
        first, *others = self._page_getters(page[0])
        for item in (page[0], page[-1]):
            if first(item) is None:
                self.position(item)
        for get in others:
            if None in map(get, page):
                self.position(next(i for i in page if get(i) is None))

    def refuse_nulls(self) -> None:
        """Refuse a source where a key that may be NULL (an expression, not a column declared
        NOT NULL) is NULL in a row, before the first page: one query, once per loop. Where
        the database sorts NULLs after all values (PostgreSQL ascending, SQLite and MariaDB
        descending), no page after the first ever meets them (``key > :last`` never matches
        NULL), so :meth:`check` alone would let those rows be skipped."""
        unknown = [(k, name) for k, name in zip(self.keys, self.names, strict=True)
                   if getattr(getattr(k, "expression", k), "nullable", None) is not False]
        if not unknown:
            return
        condition = sa.or_(*[k.is_(None) for k, _ in unknown])
        if self.orm_query:
            query = self.source.filter(condition).order_by(None)
            found = self.source.session.query(query.exists()).scalar()
        else:
            found = self.session().execute(
                sa.select(self.source.where(condition).order_by(None).exists())).scalar()
        if found:
            names = " or ".join(name for _, name in unknown)
            raise ValueError(
                f"opsctl.batches(): the key column {names} is NULL in a row; keyset "
                "pagination needs key columns that are never NULL (filter the NULLs out, "
                "or pass key= NOT NULL columns that are unique together)")

    def _page_getters(self, first: Any) -> list[Callable[[Any], Any]]:
        """The key's getters for a page whose first item is ``first``: C-level where the
        key's place in the rows is known, else the slow ones (which say what is wrong)."""
        if self.objects:
            return [operator.attrgetter(_attribute_name(k)) for k in self.keys]
        parent = getattr(first, "_parent", None)
        places = [_index_of(parent, k) for k in self.keys]
        if None in places:
            return self._getters
        return [operator.itemgetter(place) for place in places]

    def position(self, item: Any) -> tuple[Any, ...]:
        """The key of ``item``, the position the next page starts after."""
        values = tuple(get(item) for get in self._getters)
        for name, value in zip(self.names, values, strict=True):
            if value is None:
                raise ValueError(
                    f"opsctl.batches(): the key column {name} is NULL in a row; keyset "
                    "pagination needs key columns that are never NULL (filter the NULLs out, "
                    "or pass key= NOT NULL columns that are unique together)")
        return values

    def scoped(self) -> scoped_session[Any] | None:
        """The scoped session (``db.session`` by default) the pages' session comes from."""
        found = None if self.orm_query else self.session() and self._session
        return found if isinstance(found, scoped_session) else None

    def session(self) -> Session:
        """The session the pages are read with: ``session=``, the Query's, or the Flask
        app's Flask-SQLAlchemy ``db.session``."""
        if self.orm_query:
            return self.source.session  # type: ignore[no-any-return]
        found = self._session
        if found is None:
            # Flask-SQLAlchemy's db.session, a scoped_session: kept (asking the app for it
            # costs more than a page's own work), and asked for its session each time.
            found = self._session = _flask_session()
        if isinstance(found, scoped_session):
            found = found()
        return found  # type: ignore[no-any-return]

    def _after(self, after: tuple[Any, ...] | None) -> Any:
        if after is None:
            return self.source
        self._check_length(after)
        condition = after_clause(self.keys, list(after), self.descending)
        return self.source.filter(condition) if self.orm_query else self.source.where(condition)

    def _check_length(self, after: tuple[Any, ...]) -> None:
        if len(after) != len(self.keys):
            raise ValueError(
                f"opsctl.batches(): the checkpoint's cursor {list(after)!r} has {len(after)} "
                f"value{'' if len(after) == 1 else 's'}, but the key ({', '.join(self.names)}) "
                f"has {len(self.keys)} column{'' if len(self.keys) == 1 else 's'}: the run "
                "resumed paged on another key; resume with the key it had, or start a new run")

    def _getter(self, key: Any) -> Callable[[Any], Any]:
        if self.objects:
            name = _attribute_name(key)
            return lambda item: getattr(item, name)

        # The key's place in the rows of a result, found once per result's columns: a
        # lookup in each row's mapping by column would cost more than the page's read.
        found: list[Any] = [None, None]

        def from_row(row: Any) -> Any:
            parent = getattr(row, "_parent", None)
            if parent is not found[0]:
                found[:] = [parent, _index_of(parent, key)]
            if found[1] is not None:
                return row[found[1]]
            try:
                return row._mapping[key]
            except KeyError:
                raise ValueError(
                    f"opsctl.batches(): the key column {key} is not among the selected "
                    "columns; select it too (keyset pagination reads it from each row)"
                ) from None

        return from_row


def _index_of(columns: Any, key: Any) -> int | None:
    """Where ``key`` is in rows of ``columns`` (a result's metadata); None when not found
    (the row's mapping is asked then, and says why)."""
    try:
        return int(columns._index_for_key(key, True))
    except Exception:  # noqa: BLE001 - SQLAlchemy's own lookup; the slow path tells
        return None


def after_clause(keys: Sequence[Any], values: Sequence[Any],
                 descending: Sequence[bool] = ()) -> Any:
    """Rows whose ``keys`` come after ``values`` in key order (each key ascending unless
    ``descending`` says otherwise)."""
    first, value = keys[0], values[0]
    down = bool(descending) and descending[0]
    beyond = first < value if down else first > value
    if len(keys) == 1:
        return beyond
    rest = after_clause(keys[1:], values[1:], descending[1:])
    reached = first <= value if down else first >= value
    return sa.and_(reached, sa.or_(beyond, sa.and_(first == value, rest)))


def _directions(keys: list[Any]) -> tuple[list[Any], list[bool]]:
    """The key's columns without ``.desc()``/``.asc()``, and which were descending."""
    columns, descending = [], []
    for k in keys:
        modifier = getattr(k, "modifier", None)
        if isinstance(k, UnaryExpression) and modifier in (operators.desc_op,
                                                            operators.asc_op):
            columns.append(k.element)
            descending.append(modifier is operators.desc_op)
        else:
            columns.append(k)
            descending.append(False)
    return columns, descending


def _refuse_limits(source: Any) -> None:
    """A query's own LIMIT or OFFSET would be replaced by the pages' (all its rows done)."""
    if getattr(source, "_limit_clause", None) is not None or \
            getattr(source, "_offset_clause", None) is not None:
        raise ValueError("opsctl.batches(): the query has its own LIMIT or OFFSET, which keyset "
                         "pages replace (every row it matches would be done): drop it, and "
                         "narrow the query with a WHERE, or stop after N items with "
                         "'opsctl run --limit N'")


def _keys(source: Any, key: Any, entity: Any) -> list[Any]:
    if key is not None:
        keys = list(key) if isinstance(key, (tuple, list)) else [key]
        if not keys:
            raise ValueError("opsctl.batches(): key= names no column")
        return keys
    statement = source.statement if isinstance(source, Query) else source
    froms = statement.get_final_froms() if isinstance(statement, sa.Select) else []
    if len(froms) > 1:
        names = ", ".join(str(getattr(f, "name", None) or f) for f in froms)
        raise ValueError(f"opsctl.batches(): the query selects from several tables not joined "
                         f"({names}): its rows are not one table's, so no table's primary key "
                         "is sure to be unique in them; join them, or pass key= the "
                         "columns unique together in its rows (key=(A.id, B.id))")
    if entity is not None:
        mapper = sa.inspect(entity)
        return [getattr(entity, mapper.get_property_by_column(c).key)
                for c in mapper.primary_key]
    for table in froms:
        primary = list(getattr(table, "primary_key", ()))
        if primary:
            return primary
    raise ValueError("opsctl.batches(): the query selects from no table with a primary key; "
                     "pass key= the ordered unique column (or tuple of columns) to page on")


def _identity(key: Any) -> str:
    column = getattr(key, "expression", key)
    table = getattr(getattr(column, "table", None), "name", None)
    name = getattr(column, "name", None)
    return f"{table}.{name}" if isinstance(table, str) and isinstance(name, str) else str(column)


def _attribute_name(key: Any) -> str:
    name = getattr(key, "key", None)
    if not isinstance(name, str):
        raise ValueError(f"opsctl.batches(): key {key!r} is not a mapped attribute of the "
                         "selected entity")
    return name


def _flask_session() -> Any:
    try:
        from flask import current_app

        db = current_app.extensions.get("sqlalchemy")
    except RuntimeError:  # no app context
        db = None
    session = getattr(db, "session", None)
    if session is None:
        raise ValueError("opsctl.batches(): no session to read the select with: pass "
                         "session= (the app has no Flask-SQLAlchemy db.session here)")
    return session


# ---------------------------------------------------------------------- positions as JSON


def encode(values: tuple[Any, ...], key: list[str]) -> dict[str, Any]:
    """A position on ``key`` (:attr:`Keyset.identity`), JSON-ready (other types tagged)."""
    return {"key": key, "after": [_encode(v) for v in values]}


def decode(stored: Any, key: list[str]) -> tuple[Any, ...] | None:
    """A position from a checkpoint (None: from the start), refused when it was on another
    ``key``; a bare list is a position written before the key was kept with it."""
    if stored is None:
        return None
    if isinstance(stored, dict) and set(stored) == {"key", "after"}:
        if stored["key"] != key:
            raise ValueError(
                f"opsctl.batches(): the checkpoint's cursor is on the key "
                f"({', '.join(map(str, stored['key']))}), but this loop pages on ({', '.join(key)})"
                ": the run resumed paged on another key; resume with the key it had, or start "
                "a new run")
        stored = stored["after"]
    if not isinstance(stored, list):
        raise ValueError(f"opsctl.batches(): the checkpoint's cursor {stored!r} is not a key "
                         "position (did the script change from another kind of source?)")
    return tuple(_decode(v) for v in stored)


_TAGS: dict[str, Callable[[str], Any]] = {
    "datetime": _dt.datetime.fromisoformat, "date": _dt.date.fromisoformat,
    "time": _dt.time.fromisoformat, "decimal": decimal.Decimal, "uuid": uuid.UUID,
    "bytes": bytes.fromhex,
}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    for tag, kind in (("datetime", _dt.datetime), ("date", _dt.date), ("time", _dt.time)):
        if isinstance(value, kind):
            return {tag: value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    raise ValueError(f"opsctl.batches(): a key value of type {type(value).__name__} cannot be "
                     "kept in a checkpoint; page on a column of a plain type")


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, text), = value.items()
        if tag in _TAGS:
            return _TAGS[tag](text)
    return value
