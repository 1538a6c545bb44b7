"""``batches()`` and ``rows()``: a long data job as batches, each one checkpointed in the ledger
when the script asks for the next, so a run that dies can be resumed where it stopped.

Three kinds of source, each with its cursor (where the next batch starts):

- a SQLAlchemy ``select`` or a Flask-SQLAlchemy ``Query``: keyset pagination
  (:mod:`.keyset`); the cursor is the key of the last row done;
- ``rows("input.csv")``: a CSV file's rows as dicts; the cursor is the number of rows done;
- any other iterable: the cursor is the number of items done, and a resume skips that many
  (so the iterable must give its items in the same order every time).

In a run (:mod:`.course`), each boundary between batches writes the checkpoint, may stop the
run (``--limit``, ``opsctl pause``/``cancel``) and sleeps as asked (``--throttle``,
``--max-rate``, ``pause=``); a resumed run starts after its predecessor's checkpoint. Outside
a run, ``batches()`` just pages, so a script's logic stays testable.
"""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .. import output
from . import course as courses


class Rows:
    """A CSV file's rows as dicts (``csv.DictReader``), the first line naming the fields."""

    def __init__(self, path: str | Path, *, encoding: str = "utf-8-sig",
                 **reader_options: Any) -> None:
        self.path = Path(path)
        self.encoding = encoding
        self.reader_options = reader_options

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self.path.open(newline="", encoding=self.encoding) as handle:
            yield from csv.DictReader(handle, **self.reader_options)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def rows(path: str | Path, *, encoding: str = "utf-8-sig", **reader_options: Any) -> Rows:
    """The rows of the CSV file at ``path`` as dicts, for ``batches(rows(path), size=N)``
    (the cursor is the row number). ``reader_options`` go to ``csv.DictReader``."""
    return Rows(path, encoding=encoding, **reader_options)


def batches(source: Any, size: int = 100, *, key: Any = None, total: bool = True,
            pause: float | None = None, session: Any = None,
            exactly_once: bool = False) -> Iterator[list[Any]]:
    """Lists of at most ``size`` items of ``source``; the batch just yielded is done when the
    loop asks for the next one, and its checkpoint is written then.

    ``key``: the ordered unique column (or tuple of columns) to page a query on, instead of
    its primary key. ``total``: count the items once at the start (for progress). ``pause``:
    seconds to sleep between batches. ``session``: the session to read a ``select`` with
    (default: Flask-SQLAlchemy's ``db.session``). ``exactly_once``: write each checkpoint in
    the session's own transaction, when the ledger lives in the app's database (:mod:`.exactly`).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"opsctl.batches(): size must be a whole number of items >= 1, "
                         f"not {size!r}")
    from .keyset import is_query

    course = courses.current()
    shard = course.shard if course is not None and course.ledger is not None else None
    feed: Feed
    if is_query(source):
        if shard is not None:  # a shard of a sharded run pages its own key range
            from .shards import narrowed_for

            assert course is not None
            source = narrowed_for(course, source, key, session)
        feed = QueryFeed(source, key, session)
    elif shard is not None:
        raise ValueError(f"opsctl.batches(): a sharded run cuts a query's integer key into "
                         f"ranges, and this loop pages a {type(source).__name__}, not a "
                         "SQLAlchemy select or Query; run the script unsharded")
    elif key is not None:
        raise ValueError("opsctl.batches(): key= pages a SQLAlchemy select or Query; "
                         f"{type(source).__name__} has no columns")
    elif isinstance(source, Iterable):
        feed = ItemFeed(source)
    else:
        raise TypeError(f"opsctl.batches(): cannot page a {type(source).__name__}: give a "
                        "SQLAlchemy select or Query, rows('file.csv'), or an iterable")
    hook = None
    if exactly_once and course is not None and course.ledger is not None:
        if not isinstance(feed, QueryFeed):
            raise ValueError("opsctl.batches(): exactly_once=True needs a SQLAlchemy select or "
                             "Query (its session's transaction carries the checkpoint)")
        from .exactly import SameTransaction

        hook = SameTransaction(course, feed.keyset)
    return _loop(feed, size, total, pause, course, hook)


def _loop(feed: Feed, size: int, count: bool, pause: float | None,
          course: courses.Course | None, hook: Any) -> Iterator[list[Any]]:
    start = course.claim() if course is not None else courses.Start()
    total = None
    try:
        feed.resume(start.cursor, start.done)
        # In a run that records it, a server counts while the first batches go (.counting).
        if count and hook is None and course is not None and course.ledger is not None and \
                not course.dry_run:
            course.counting = feed.remaining_apart(start.done)
        if count and (course is None or course.counting is None):
            remaining = feed.remaining()
            total = None if remaining is None else start.done + remaining
    except ValueError:
        if course is not None and start.resumed_from is not None:
            # Refused before its first batch (a cursor on another key): the run keeps the
            # checkpoint it resumed, so a resume of it, the script fixed, goes on from there.
            course.begin(start.total, start.cursor)
        raise
    done = start.done
    warned = False
    ended = False  # no page left, not stopped (pause, cancel, --limit) nor by an error
    if course is not None:
        course.begin(total, feed.cursor())
    try:
        while True:
            room = course.room() if course is not None else None
            if room == 0:
                if course is not None:
                    course.boundary(feed.more)
                return  # the limit is reached, and nothing remains
            page = feed.take(size if room is None else min(size, room))
            if course is not None:
                # After the read: the answer to the checkpoint just sent is read here, its
                # round trip overlapping the page's; a stop still comes before the batch.
                course.boundary(feed.more)
            if not page:
                ended = True
                return
            began = time.monotonic()
            if hook is not None:
                hook.pending(done + len(page), feed.cursor())
            yield page
            done += len(page)
            if course is not None and not warned and feed.uncommitted():
                warned = True
                output.warn(f"opsctl.batches(): the batch ending at item {done:,} has changes "
                            "the session has not committed: the checkpoint counts the batch "
                            "as done, so a resume would skip them; commit each batch before "
                            "the loop asks for the next")
            if course is not None:
                course.advanced(done, feed.cursor(),
                                written=hook is not None and hook.written())
                # Only between batches: not after the last one, nor before a --limit stop.
                if course.paced(pause) and course.room() != 0 and feed.more():
                    course.rest(len(page), began, pause)
            elif pause and feed.more():
                time.sleep(pause)
    finally:
        if course is not None:
            course.settle(ended)
        feed.close()
        if hook is not None:
            hook.close()


class Feed:
    """Where a loop's items come from, and its cursor."""

    def resume(self, cursor: Any, done: int) -> None:
        raise NotImplementedError

    def remaining(self) -> int | None:
        raise NotImplementedError

    def remaining_apart(self, base: int) -> Any:
        """The count of :meth:`remaining` started apart (:mod:`.counting`), or None."""
        return None

    def take(self, size: int) -> list[Any]:
        raise NotImplementedError

    def more(self) -> bool:
        raise NotImplementedError

    def cursor(self) -> Any:
        raise NotImplementedError

    def uncommitted(self) -> bool:
        """Whether the batch just done left changes its session has not committed."""
        return False

    def close(self) -> None:
        """The loop has ended."""


class QueryFeed(Feed):
    """Pages of a query, by key."""

    def __init__(self, source: Any, key: Any, session: Any) -> None:
        from .keyset import Keyset

        self.keyset = Keyset(source, key, session)
        self.after: tuple[Any, ...] | None = None
        #: Changes flushed (a query in the batch autoflushes) and not committed since.
        self.flushed = False
        self._watched: Any = None

    def resume(self, cursor: Any, done: int) -> None:
        from .keyset import decode

        self.keyset.refuse_nulls()
        self.after = decode(cursor, self.keyset.identity)

    def remaining(self) -> int | None:
        from .counting import count_inline

        return count_inline(self.keyset, self.after)

    def remaining_apart(self, base: int) -> Any:
        from .counting import count_apart

        return count_apart(self.keyset, self.after, base)

    def take(self, size: int) -> list[Any]:
        if self._watched is None:
            from sqlalchemy import event

            self._watched = self.keyset.session()
            for name, handler in self._handlers():
                event.listen(self._watched, name, handler)
        page = self.keyset.page(self.after, size)
        if page:
            self.keyset.check(page)
            self.after = self.keyset.position(page[-1])
        return page

    def more(self) -> bool:
        return bool(self.keyset.page(self.after, 1))

    def uncommitted(self) -> bool:
        session = self.keyset.session()
        return self.flushed or bool(session.new or session.dirty or session.deleted)

    def close(self) -> None:
        if self._watched is not None:
            from sqlalchemy import event

            for name, handler in self._handlers():
                if event.contains(self._watched, name, handler):
                    event.remove(self._watched, name, handler)
            self._watched = None

    def _handlers(self) -> list[tuple[str, Any]]:
        return [("after_flush", self._on_flush), ("after_commit", self._on_end),
                ("after_rollback", self._on_end)]

    def _on_flush(self, *_: Any) -> None:
        self.flushed = True

    def _on_end(self, *_: Any) -> None:
        self.flushed = False

    def cursor(self) -> Any:
        from .keyset import encode

        return None if self.after is None else encode(self.after, self.keyset.identity)


class ItemFeed(Feed):
    """Items of an iterable (a CSV file's rows included), counted."""

    def __init__(self, source: Iterable[Any]) -> None:
        self.source = source
        self.items: Iterator[Any] = iter(())
        self.taken = 0
        self._ahead: list[Any] = []

    def resume(self, cursor: Any, done: int) -> None:
        if cursor is not None and (isinstance(cursor, bool) or not isinstance(cursor, int)):
            raise ValueError(f"opsctl.batches(): the checkpoint's cursor {cursor!r} is not a "
                             "count of items (did the script change from a query to an "
                             "iterable?)")
        skip = cursor or 0
        self.items = iter(self.source)
        if skip:
            skipped = sum(1 for _ in itertools.islice(self.items, skip))
            if skipped < skip:
                raise ValueError(f"opsctl.batches(): the run resumed had done {skip:,} items, "
                                 f"but this source has only {skipped:,}")
        self.taken = skip

    def remaining(self) -> int | None:
        try:
            length = len(self.source)  # type: ignore[arg-type]
        except TypeError:
            return None
        return max(0, length - self.taken)

    def take(self, size: int) -> list[Any]:
        page = self._ahead[:size]
        del self._ahead[:size]
        page.extend(itertools.islice(self.items, size - len(page)))
        self.taken += len(page)
        return page

    def more(self) -> bool:
        if not self._ahead:
            self._ahead.extend(itertools.islice(self.items, 1))
        return bool(self._ahead)

    def cursor(self) -> Any:
        return self.taken
