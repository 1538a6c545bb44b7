"""``opsctl.batches`` and ``opsctl.rows`` in process: keyset pages of real databases, CSV and
iterable cursors, and a run's course (checkpoints, --limit, pause and cancel asked through the
ledger, track() progress, exactly-once checkpoints) on a real ledger."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from runkit import ledger
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    relationship,
    scoped_session,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.pool import NullPool

from opsctl import batches, rows, track
from opsctl.ledger import apart as apart_sql
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process
from opsctl.run import course as courses
from opsctl.run.course import Course, Start, Stop
from opsctl.run.exactly import NotSameDatabase


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "thing"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    seen: Mapped[int] = mapped_column(default=0)


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(sa.ForeignKey("thing.id"))


Thing.notes = relationship(Note)  # type: ignore[attr-defined]


class Pair(Base):
    __tablename__ = "pair"
    a: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    b: Mapped[str] = mapped_column(sa.String(5), primary_key=True)
    label: Mapped[str | None] = mapped_column(sa.String(5), nullable=True)


@pytest.fixture
def engine(ledger_url: str) -> Iterator[sa.engine.Engine]:
    """The app's database: the test's database on each of the three (the ledger's too)."""
    made = sa.create_engine(ledger_url, poolclass=NullPool)
    Base.metadata.create_all(made)
    with Session(made) as session:
        session.add_all(Thing(id=i, status=" Open " if i % 3 else "done") for i in range(1, 31))
        session.add_all(Pair(a=a, b=b, label=None if (a, b) == (2, "y") else "x")
                        for a in (1, 2, 3) for b in ("z", "y", "x"))
        session.commit()
    yield made
    made.dispose()


@pytest.fixture
def statements(engine: sa.engine.Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", note)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", note)


def test_keyset_pages_follow_the_primary_key_without_offset(engine: sa.engine.Engine,
                                                            statements: list[Any]) -> None:
    """Rows changed so they no longer match the query, and rows inserted during the run
    after the cursor, are neither skipped nor done twice."""
    query = sa.select(Thing).where(Thing.status != sa.func.lower(sa.func.trim(Thing.status)))
    done: list[int] = []
    with Session(engine) as session:
        for batch in batches(query, size=7, session=session):
            for thing in batch:
                thing.status = thing.status.strip().lower()
                thing.seen += 1
                done.append(thing.id)
            if len(done) == 7:  # inserted after the cursor, during the run
                session.add(Thing(id=40, status=" New"))
            session.commit()
        assert done == [i for i in range(1, 31) if i % 3] + [40]
        assert session.scalars(sa.select(Thing.seen).order_by(Thing.id)).all() == \
            [0 if i % 3 == 0 else 1 for i in range(1, 31)] + [1]
    pages = [(s, p) for s, p in statements if re.search(r"ORDER BY thing\.id\s+LIMIT", s)]
    assert len(pages) == 4  # 21 rows in pages of 7, then an empty one
    # SQLAlchemy 2.1 writes "LIMIT ? OFFSET ?" for SQLite, with 0: nothing is ever skipped.
    assert all("OFFSET" not in s or list(p)[-1] == 0 for s, p in pages)


def test_a_composite_key_and_a_core_select(engine: sa.engine.Engine) -> None:
    with Session(engine) as session:
        got = [[(p.a, p.b) for p in batch] for batch in
               batches(sa.select(Pair), size=2, session=session)]
        assert got == [[(1, "x"), (1, "y")], [(1, "z"), (2, "x")], [(2, "y"), (2, "z")],
                       [(3, "x"), (3, "y")], [(3, "z")]]
        table = Pair.__table__
        core = [row.b for batch in batches(sa.select(table.c.a, table.c.b).where(table.c.a > 1),
                                           size=4, session=session) for row in batch]
        assert core == ["x", "y", "z", "x", "y", "z"]
        legacy = [p.a for batch in batches(session.query(Pair).filter(Pair.a == 2), size=1)
                  for p in batch]
        assert legacy == [2, 2, 2]
        session.add_all(Note(id=i, thing_id=1 + i % 2) for i in range(1, 5))
        session.commit()
        eager = sa.select(Thing).options(joinedload(Thing.notes))  # type: ignore[attr-defined]
        assert [[(t.id, len(t.notes)) for t in batch] for batch in
                batches(eager.where(Thing.id <= 3), size=2, session=session)] == \
            [[(1, 2), (2, 2)], [(3, 0)]]


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_unusable_keys_are_refused(engine: sa.engine.Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(ValueError, match="NULL"):
            list(batches(sa.select(Pair), size=2, key=(Pair.label, Pair.b), session=session))
        with pytest.raises(ValueError, match="not among the selected columns"):
            list(batches(sa.select(Thing.status), size=2, key=Thing.id.expression,
                         session=session))
    with pytest.raises(ValueError, match="key= pages"):
        batches([1, 2], key="id")
    with pytest.raises(ValueError, match="size"):
        batches([1, 2], size=0)


def test_csv_rows_and_iterables(tmp_path: Path) -> None:
    csv_file = tmp_path / "input.csv"
    csv_file.write_text("sku,qty\n" + "".join(f"s{i},{i}\n" for i in range(5)), encoding="utf-8")
    assert [[r["sku"] for r in b] for b in batches(rows(csv_file), size=2)] == \
        [["s0", "s1"], ["s2", "s3"], ["s4"]]
    assert [len(b) for b in batches(iter(range(7)), size=3)] == [3, 3, 1]


# ---------------------------------------------------------------------- a run's course


def started(book: Ledger) -> int:
    """A new running run (of a script of its own: each holds its own lock)."""
    key = f"recycle/backfill_{len(book.runs()) + 1}"
    return book.start(script=key, process=Process.current("ann"), args=[]).id


@pytest.fixture
def book(ledger_url: str) -> Iterator[Ledger]:
    """A ledger in the app's database, on each of the three."""
    with ledger(ledger_url) as opened:
        yield opened


@pytest.fixture
def local_book(tmp_path: Path) -> Iterator[Ledger]:
    """A SQLite ledger, for what the course does whatever the database (the ledger's own
    calls are tested on the three in tests/test_ledger*.py)."""
    with ledger(f"sqlite:///{tmp_path / 'local.sqlite3'}") as opened:
        yield opened


def in_run(course: Course) -> Any:
    courses.begin(course)
    return course


@pytest.fixture(autouse=True)
def no_course_left() -> Iterator[None]:
    yield
    courses.end()


def test_limit_pauses_and_a_resume_skips_nothing(local_book: Ledger, tmp_path: Path) -> None:
    csv_file = tmp_path / "input.csv"
    csv_file.write_text("n\n" + "".join(f"{i}\n" for i in range(10)), encoding="utf-8")
    first = started(local_book)
    course = in_run(Course(local_book, first, limit=5))
    seen: list[str] = []
    with pytest.raises(Stop) as stop:
        for batch in batches(rows(csv_file), size=3):
            seen.extend(r["n"] for r in batch)
            if len(seen) == 3:  # the checkpoint of the first batch is written on asking
                assert local_book.progress(first).done == 0
    assert (stop.value.status, stop.value.exit_code) == ("paused", 80)
    assert seen == ["0", "1", "2", "3", "4"]
    progress = local_book.progress(first)
    assert (progress.done, progress.total, progress.cursor) == (5, 10, 5)
    assert course.progress == (5, 10, 5)

    second = started(local_book)
    in_run(Course(local_book, second, start=Start(progress.done, progress.cursor,
                                                  progress.total, resumed_from=first)))
    for batch in batches(rows(csv_file), size=3):
        seen.extend(r["n"] for r in batch)
    assert seen == [str(i) for i in range(10)]
    after = local_book.progress(second)
    assert (after.done, after.total, after.cursor, after.resumed_from) == (10, 10, 10, first)
    assert local_book.resumed_by(first) == [second]


def test_a_query_resumes_after_its_key(book: Ledger, engine: sa.engine.Engine) -> None:
    run = started(book)
    in_run(Course(book, run, limit=8))
    with Session(engine) as session, pytest.raises(Stop):
        for _batch in batches(sa.select(Pair), size=3, session=session):
            pass
    assert book.progress(run).cursor == {"key": ["pair.a", "pair.b"], "after": [3, "y"]}
    # A checkpoint written before the key was kept with the position: a bare list.
    courses.begin(Course(book, started(book), start=Start(8, [3, "y"], 9, run)))
    with Session(engine) as session:
        rest = [(p.a, p.b) for b in batches(sa.select(Pair), size=3, session=session) for p in b]
    assert rest == [(3, "z")]


@pytest.mark.parametrize("action", ["pause", "cancel"])
def test_a_stop_asked_through_the_ledger_ends_the_loop_at_the_next_boundary(
        local_book: Ledger, action: str) -> None:
    run = started(local_book)
    in_run(Course(local_book, run))
    seen = []
    with pytest.raises(Stop) as stop:
        for batch in batches(range(100), size=10):
            seen.extend(batch)
            if len(seen) == 20:
                local_book.request(run, action, operator="bob")
    assert len(seen) == 20
    assert stop.value.status == {"pause": "paused", "cancel": "cancelled"}[action]
    assert stop.value.exit_code == {"pause": 80, "cancel": 81}[action]
    assert local_book.progress(run).done == 20


def test_track_records_progress_and_a_second_loop_is_refused(local_book: Ledger) -> None:
    run = started(local_book)
    in_run(Course(local_book, run))
    assert sum(track(range(5))) == 10
    progress = local_book.progress(run)
    assert (progress.done, progress.total) == (5, 5)
    growing = [1, 2, 3]
    for batch in batches(growing, size=2):
        if batch == [1, 2]:
            growing.append(4)  # an item added during the run: the total grows with it
    grown = local_book.progress(run)
    assert grown is not None and (grown.done, grown.total) == (4, 4)
    with pytest.raises(RuntimeError, match="one batches"):
        list(batches([1], size=1))


AT_10 = {"key": ["thing.id"], "after": [10]}


def test_exactly_once_commits_the_checkpoint_with_the_batch(tmp_path: Path, book: Ledger,
                                                            engine: sa.engine.Engine) -> None:
    run = started(book)
    in_run(Course(book, run))
    with Session(engine) as session:
        loop = batches(sa.select(Thing), size=10, session=session, exactly_once=True)
        first = next(loop)
        for thing in first:
            thing.seen = 1
        session.commit()  # the checkpoint rides on this commit, before the loop asks
        assert (book.progress(run).done, book.progress(run).cursor) == (10, AT_10)
        for thing in next(loop):
            thing.seen = 1
        session.rollback()  # the second batch dies uncommitted: its checkpoint with it
        loop.close()
    assert (book.progress(run).done, book.progress(run).cursor) == (10, AT_10)
    # The app's session on another database than the ledger's: refused, naming both.
    elsewhere = sa.create_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}", poolclass=NullPool)
    Base.metadata.create_all(elsewhere)
    with Session(elsewhere) as other, pytest.raises(NotSameDatabase, match="other.sqlite3"):
        batches(sa.select(Thing), size=10, session=other, exactly_once=True)
    elsewhere.dispose()


def test_exactly_once_grows_the_total_with_rows_inserted_during_the_run(
        book: Ledger, engine: sa.engine.Engine) -> None:
    """The checkpoint written in the script's transaction carries the total too when rows
    inserted after the cursor took the items done past the count made at the start."""
    run = started(book)
    in_run(Course(book, run))
    with Session(engine) as session:
        for batch in batches(sa.select(Thing), size=20, session=session, exactly_once=True):
            for thing in batch:
                thing.seen = 1
            if batch[0].id == 1:
                session.add_all(Thing(id=i, status="new") for i in range(31, 36))
            session.commit()
            progress = book.progress(run)
            assert progress is not None
            assert (progress.done, progress.total) == ((20, 30) if batch[0].id == 1 else
                                                       (35, 35))
        assert session.scalar(sa.select(sa.func.min(Thing.seen))) == 1


def test_a_dry_run_rolls_back_each_batch_at_its_end(engine: sa.engine.Engine) -> None:
    """The dry-run guard's rewind at each boundary: the next batch sees none of the changes
    of the one before, and nothing is committed."""
    from opsctl.run.dryguard import Guard, rewind

    guard = Guard()
    guard.start()
    seen: list[int] = []
    try:
        in_run(Course(None, None, dry_run=True)).rewind = lambda: rewind(guard)
        with Session(engine) as session:
            for batch in batches(sa.select(Thing).where(Thing.id <= 3), size=1,
                                 session=session):
                if batch[0].id > 1:
                    seen.append(session.get(Thing, batch[0].id - 1).seen)  # type: ignore[union-attr]
                batch[0].seen = 5
                session.commit()
    finally:
        guard.end()
    assert seen == [0, 0]
    assert (guard.escapes, guard.refusals) == ([], [])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.max(Thing.seen))).scalar() == 0


def test_the_pace_between_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """--throttle, pause= (the longer wins) and --max-rate ask for these sleeps (what was
    asked is checked, not how long anything took)."""
    asked: list[float] = []
    monkeypatch.setattr(courses.time, "sleep", asked.append)
    Course(None, None, throttle=0.5).rest(10, courses.time.monotonic(), 0.2)
    Course(None, None).rest(10, courses.time.monotonic(), 0.2)
    Course(None, None, max_rate=4).rest(10, courses.time.monotonic() - 1, None)
    Course(None, None).rest(10, courses.time.monotonic(), None)
    assert asked[:2] == [0.5, 0.2]
    assert 1.4 < asked[2] <= 1.5 and len(asked) == 3


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_batch_left_uncommitted_is_warned_about(local_book: Ledger, engine: sa.engine.Engine,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    in_run(Course(local_book, started(local_book)))
    with Session(engine) as session:
        for batch in batches(sa.select(Thing).where(Thing.id <= 4), size=2, session=session):
            batch[0].seen = 7  # never committed
    warned = capsys.readouterr().err
    assert warned.count("warning: opsctl.batches(): the batch ending at item 2 has changes "
                        "the session has not committed") == 1


def test_a_ledger_that_fails_is_left_alone_for_a_while(local_book: Ledger,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A checkpoint the ledger cannot take is said once; the next ones do not wait out the
    outage again until the quiet time has passed, and then the checkpoints go on."""
    run = started(local_book)
    course = in_run(Course(local_book, run))
    local_book.retry_seconds = 0
    sent: list[str] = []
    sa.event.listen(local_book.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *args: sent.append(statement))
    loop = batches(range(10), size=2)
    next(loop)
    with local_book.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE opsctl_progress RENAME TO away"))
    sent.clear()
    next(loop)
    next(loop)
    assert len([s for s in sent if "opsctl_progress" in s]) == 1  # the one that failed
    assert capsys.readouterr().err.count("could not be recorded in the ledger") == 1
    with local_book.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE away RENAME TO opsctl_progress"))
    course._quiet_until = 0.0  # the quiet time has passed
    next(loop)
    assert local_book.progress(run).done == 6  # type: ignore[union-attr]


# ---------------------------------------------------------------------- review findings


def test_no_sleep_after_the_last_batch_nor_before_a_limit_stop(
        local_book: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """--throttle sleeps between batches only: not once the items are all done, and not
    before a run that --limit stops anyway."""
    asked: list[float] = []
    monkeypatch.setattr(courses.time, "sleep", asked.append)
    in_run(Course(local_book, started(local_book), throttle=5))
    assert [len(b) for b in batches(range(6), size=3)] == [3, 3]
    assert asked == [5]  # between the two batches, not after the second
    asked.clear()
    in_run(Course(local_book, started(local_book), throttle=5, limit=3))
    with pytest.raises(Stop):
        for _batch in batches(range(6), size=3):
            pass
    assert asked == []


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_query_with_its_own_limit_or_offset_is_refused(engine: sa.engine.Engine) -> None:
    """Keyset pages replace a LIMIT: the whole table would be done where 5 rows were meant."""
    with Session(engine) as session:
        for query in (sa.select(Thing).limit(5), sa.select(Thing).offset(5),
                      session.query(Thing).limit(5)):
            with pytest.raises(ValueError, match=r"LIMIT.*--limit"):
                list(batches(query, size=2, session=session))


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_cursor_of_another_key_is_refused(local_book: Ledger,
                                            engine: sa.engine.Engine) -> None:
    """A run paused on key (id) resumed by a script now paging on (a, b): said, not an
    IndexError."""
    in_run(Course(local_book, started(local_book), start=Start(3, [3], 9, None)))
    with Session(engine) as session, pytest.raises(ValueError, match="1 value.*2 columns"):
        list(batches(sa.select(Pair), size=2, session=session))


def test_a_cursor_of_another_key_of_the_same_width_is_refused(
        book: Ledger, engine: sa.engine.Engine) -> None:
    """A run paused paging on its id, resumed by a script now paging on key=Thing.seen (one
    integer column too): its position means nothing on that key, so it is refused, naming
    both keys; resumed on the key it had, it goes on after its checkpoint."""
    run = started(book)
    in_run(Course(book, run, limit=4))
    with Session(engine) as session, pytest.raises(Stop):
        for _batch in batches(sa.select(Thing), size=2, session=session):
            pass
    progress = book.progress(run)
    assert progress is not None and progress.cursor == {"key": ["thing.id"], "after": [4]}
    start = Start(4, progress.cursor, 30, run)
    for key in (Thing.seen, Thing.id.desc()):
        refused = started(book)
        in_run(Course(book, refused, start=start))
        with Session(engine) as session, pytest.raises(
                ValueError, match=r"on the key \(thing\.id\), but this loop pages on "
                                  r"\(thing\.(seen|id DESC)\): the run resumed paged on another"):
            next(batches(sa.select(Thing), size=2, key=key, session=session))
        courses.end()
        # The refused run carries the checkpoint on: resuming it goes on from there.
        kept = book.progress(refused)
        assert kept is not None and (kept.done, kept.cursor, kept.resumed_from) == \
            (4, progress.cursor, run)
    in_run(Course(book, started(book), start=start))
    with Session(engine) as session:
        rest = [t.id for b in batches(sa.select(Thing), size=10, key=Thing.id,
                                      session=session) for t in b]
    assert rest == list(range(5, 31))


def test_a_key_in_descending_order(book: Ledger, engine: sa.engine.Engine) -> None:
    """key=(Pair.a.desc(), Pair.b): mixed directions page in that order, and resume."""
    key = (Pair.a.desc(), Pair.b)
    run = started(book)
    in_run(Course(book, run, limit=4))
    seen: list[tuple[int, str]] = []
    with Session(engine) as session, pytest.raises(Stop):
        for batch in batches(sa.select(Pair), size=2, key=key, session=session):
            seen.extend((p.a, p.b) for p in batch)
    progress = book.progress(run)
    assert progress is not None and \
        progress.cursor == {"key": ["pair.a DESC", "pair.b"], "after": [2, "x"]}
    in_run(Course(book, started(book), start=Start(4, progress.cursor, 9, run)))
    with Session(engine) as session:
        table = Pair.__table__
        core = batches(sa.select(table.c.a, table.c.b), size=2,
                       key=(table.c.a.desc(), table.c.b), session=session)
        seen.extend((r.a, r.b) for batch in core for r in batch)
    assert seen == [(a, b) for a in (3, 2, 1) for b in ("x", "y", "z")]


@pytest.mark.parametrize("action", ["pause", "cancel"])
def test_a_track_loop_stops_when_asked(local_book: Ledger, action: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """opsctl pause/cancel accept a run that recorded track() progress, and say it will stop:
    the track() loop looks for the ask when it writes its progress."""
    monkeypatch.setattr(courses, "TRACK_WRITE_SECONDS", 0.0)
    run = started(local_book)
    in_run(Course(local_book, run))
    seen = []
    with pytest.raises(Stop) as stop:
        for item in track(range(100)):
            seen.append(item)
            if item == 9:
                local_book.request(run, action, operator="bob")
    assert seen == list(range(10))
    assert stop.value.status == {"pause": "paused", "cancel": "cancelled"}[action]
    # Its end does not say a resume goes on from there: track() has no cursor.
    from opsctl.run.outcome import outcome_of

    ended = outcome_of(stop.value, None, None)  # type: ignore[arg-type]
    assert ended.resumes == "starts it again from its first item (track() keeps no cursor)"


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_batch_flushed_but_not_committed_is_warned_about(
        local_book: Ledger, engine: sa.engine.Engine,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A query in the batch autoflushes its changes: still not committed, still warned."""
    in_run(Course(local_book, started(local_book)))
    with Session(engine) as session:
        for batch in batches(sa.select(Thing).where(Thing.id <= 6), size=2, session=session):
            batch[0].seen = 7
            session.scalar(sa.select(sa.func.count()).select_from(Thing))  # autoflushes
            if batch[0].id == 3:
                session.commit()
    assert capsys.readouterr().err.count("the batch ending at item 2 has changes") == 1


@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
def test_a_join_that_repeats_an_entity_counts_and_yields_it_once(
        local_book: Ledger, engine: sa.engine.Engine) -> None:
    run = started(local_book)
    in_run(Course(local_book, run))
    with Session(engine) as session:
        session.add_all(Note(id=i, thing_id=1 + i % 2) for i in range(1, 7))
        session.commit()
        joined = sa.select(Thing).join(Note).where(Thing.id <= 3)
        got = [[t.id for t in b] for b in batches(joined, size=2, session=session)]
        assert [i for b in got for i in b] == [1, 2]
    progress = local_book.progress(run)
    assert progress is not None and (progress.done, progress.total) == (2, 2)


def test_a_resumed_run_stopped_by_limit_says_what_it_did_itself(local_book: Ledger) -> None:
    """--limit 2 on a run that resumed one with 5 items done: 2 items, not 7."""
    in_run(Course(local_book, started(local_book), limit=2, start=Start(5, 5, 10, None)))
    with pytest.raises(Stop) as stop:
        for _batch in batches(range(10), size=2):
            pass
    assert stop.value.why == "paused after 2 items (--limit 2; 7 done with the runs resumed)"


def test_exactly_once_looks_at_the_database_the_entity_is_bound_to(
        tmp_path: Path, local_book: Ledger) -> None:
    """A session whose default bind is the ledger's database, and Thing bound to another
    (Flask-SQLAlchemy's binds): the checkpoint cannot commit with Thing's changes."""
    elsewhere = sa.create_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}", poolclass=NullPool)
    ledgers = sa.create_engine(f"sqlite:///{tmp_path / 'local.sqlite3'}", poolclass=NullPool)
    Base.metadata.create_all(elsewhere)
    in_run(Course(local_book, started(local_book)))
    with Session(bind=ledgers, binds={Thing: elsewhere}) as session, \
            pytest.raises(NotSameDatabase, match="other.sqlite3"):
        batches(sa.select(Thing), size=10, session=session, exactly_once=True)
    elsewhere.dispose()
    ledgers.dispose()


def test_a_null_key_met_in_a_page_is_refused_wherever_it_sorts(
        engine: sa.engine.Engine) -> None:
    """A key that is an expression may be NULL in a row: refused when met, whether the
    database sorts NULLs first or last. In the first column it is at an end of the page;
    in a later one, in the middle (the rows of a = 2 are its end)."""
    upper = sa.func.upper(Pair.label).label("ul")
    with Session(engine) as session:
        with pytest.raises(ValueError, match="key column ul is NULL in a row"):
            list(batches(sa.select(upper, Pair.a, Pair.b), size=10, key=upper,
                         session=session))
        with pytest.raises(ValueError, match="key column ul is NULL in a row"):
            list(batches(sa.select(Pair.a, upper), size=10, key=(Pair.a, upper),
                         session=session))
        # Without the NULL, the same keys page through every row.
        clean = sa.select(upper, Pair.a, Pair.b).where(Pair.label.is_not(None))
        assert sum(len(batch) for batch in batches(clean, size=3, key=(upper, Pair.a, Pair.b),
                                                   session=session)) == 8


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_a_checkpoint_connection_the_server_dropped_falls_back_to_the_ledger(
        book: Ledger) -> None:
    """PostgreSQL's checkpoints go through a connection of their own, without a pre-ping: when
    the server drops it, the checkpoint is still written, through the ledger's own engine
    (which waits out an outage as every write does), and so are the ones after it."""
    run = started(book)
    book.begin_progress(run, total=30)
    book.checkpoint(run, done=5, cursor=5)
    answer = book.send_checkpoint(run, done=10, cursor=10)  # sent, its answer read after
    assert book.progress(run).done in (5, 10)  # type: ignore[union-attr]
    assert answer() is None
    assert book.progress(run).done == 10  # type: ignore[union-attr]
    apart = book._apart()
    assert apart is not None
    pid = apart._raw.info.backend_pid
    with book.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar() is True
    assert book.send_checkpoint(run, done=20, cursor=20)() is None
    assert book._apart() is None  # the ledger's own engine from now on
    assert book.progress(run).done == 20  # type: ignore[union-attr]
    book.request(run, "pause", operator="bob")
    assert book.checkpoint(run, done=30, cursor=30) == "pause"
    progress = book.progress(run)
    assert progress is not None and (progress.done, progress.cursor) == (30, 30)


def _counted_where(engine: sa.engine.Engine, scoped: Any, *, dry_run: bool = False,
                   book: Ledger) -> tuple[int, int | None, bool]:
    """Items a run's loop over the open things pages, the total its ledger ends with, and
    whether the count ran in a thread other than the pages'."""
    threads: dict[str, int] = {}

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        kind = "count" if "count(*)" in statement.lower() else "page"
        threads.setdefault(kind, threading.get_ident())

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        run = started(book)
        in_run(Course(book, run, dry_run=dry_run))
        seen = sum(len(batch) for batch in batches(sa.select(Thing), size=7, session=scoped))
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    progress = book.progress(run)
    assert progress is not None
    return seen, progress.total, threads.get("count") not in (None, threads["page"])


def test_a_servers_count_runs_apart_with_the_sessions_own_events(
        engine: sa.engine.Engine, book: Ledger) -> None:
    """On a database server, a run's loop counts its items on a session of its own, in a
    thread of its own, so the first batch does not wait for the count: the session comes
    from the same factory, so the factory's events (here a criteria hiding what is done, as
    soft deletion does) count what the pages read; the total is in the ledger by the loop's
    end. SQLite, and a dry run, count in line."""
    factory = sessionmaker(engine)

    @sa.event.listens_for(factory, "do_orm_execute")
    def open_only(state: Any) -> None:
        if state.is_select:
            state.statement = state.statement.options(
                with_loader_criteria(Thing, Thing.status != "done"))

    scoped = scoped_session(factory)
    server = engine.dialect.name != "sqlite"
    try:
        assert _counted_where(engine, scoped, book=book) == (20, 20, server)
        assert _counted_where(engine, scoped, dry_run=True, book=book) == (20, 20, False)
    finally:
        scoped.remove()
    # A session given as it is (not a scoped one) is counted in line too.
    with factory() as session:
        assert _counted_where(engine, session, book=book) == (20, 20, False)


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_a_count_that_fails_apart_leaves_the_run_going_without_a_total(
        engine: sa.engine.Engine, book: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    factory = sessionmaker(engine)

    @sa.event.listens_for(factory, "do_orm_execute")
    def no_counts(state: Any) -> None:
        if "count(*)" in str(state.statement).lower():
            raise RuntimeError("counting is not allowed here")

    scoped = scoped_session(factory)
    try:
        assert _counted_where(engine, scoped, book=book)[:2] == (30, None)
    finally:
        scoped.remove()
    err = capsys.readouterr().err
    assert "could not be counted (counting is not allowed here)" in err
    assert "the run goes on, its progress without a total" in err


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)
def test_a_run_stopped_before_its_count_is_known_does_not_wait_for_it(
        engine: sa.engine.Engine, book: Ledger) -> None:
    """A pause, a cancel or --limit ends the run at its batch boundary, not after a count
    still running apart (here one that takes two seconds): its progress has no total."""
    factory = sessionmaker(engine)

    @sa.event.listens_for(factory, "do_orm_execute")
    def slow_counts(state: Any) -> None:
        if "count(*)" in str(state.statement).lower():
            state.statement = state.statement.having(sa.func.pg_sleep(2).is_not(None))

    scoped = scoped_session(factory)
    run = started(book)
    in_run(Course(book, run, limit=14))
    try:
        with pytest.raises(Stop):
            for _ in batches(sa.select(Thing), size=7, session=scoped):
                pass
        progress = book.progress(run)
        assert progress is not None and (progress.done, progress.total) == (14, None)
    finally:
        scoped.remove()
        for thread in threading.enumerate():
            if thread.name == "opsctl-count":
                thread.join()


def test_a_batch_boundary_writes_its_checkpoint_and_reads_a_stop_in_one_statement(
        book: Ledger) -> None:
    """The checkpoint's UPDATE returns the stop asked of the run (RETURNING), so a boundary
    costs one statement on the progress row; MariaDB, which has no UPDATE ... RETURNING,
    reads it with a second. PostgreSQL writes it on a connection of its own, in autocommit
    (no BEGIN nor COMMIT: one round trip) and without waiting for its WAL flush, which the
    ledger's other writes still wait for."""
    run = started(book)
    in_run(Course(book, run))
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(book.engine, "before_cursor_execute", note)
    try:
        with pytest.raises(Stop):
            for batch in batches(range(50), size=10):
                if batch[0] == 0:
                    del seen[:]  # from the end of the first batch on
                if batch[0] == 20:
                    book.request(run, "pause", operator="bob")
                    del seen[:]
    finally:
        sa.event.remove(book.engine, "before_cursor_execute", note)
    assert book.progress(run).done == 30
    progress = [s for s in seen if "opsctl_progress" in s]
    dialect = book.engine.dialect.name
    assert not [s for s in seen if "synchronous_commit" in s]
    if dialect == "postgresql":
        # Not on the ledger's engine: the stop's own read of who asked is all it saw.
        assert not [s for s in progress if s.startswith("UPDATE")]
        # Nor the stop's read: it came back with the checkpoint (UPDATE ... RETURNING).
        assert not [s for s in progress if s.startswith("SELECT opsctl_progress.request ")]
        apart = book._apart()
        assert apart is not None
        raw = apart._raw
        assert raw.autocommit is True
        with raw.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "off"
            # Parsed and planned once per connection, not at every batch.
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [" ".join(s.split()) for s, in cursor.fetchall()]
            assert [s for s in prepared if s.startswith("UPDATE opsctl_progress")] == \
                [apart_sql.numbered(False)]
        with book.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        return
    # The third batch's checkpoint, which reads the pause; then the stop's own read of who.
    assert progress[0].startswith("UPDATE opsctl_progress")
    if dialect in ("mysql", "mariadb"):
        assert progress[1].startswith("SELECT opsctl_progress.request")
    else:
        assert re.search(r" RETURNING (opsctl_progress\.)?request$", progress[0])
        assert not progress[1].startswith("SELECT opsctl_progress.request ")


@pytest.mark.parametrize("descending", [False, True])
def test_a_null_expression_key_past_the_first_page_is_refused(
        engine: sa.engine.Engine, descending: bool) -> None:
    """NULLs sort together at one end: PostgreSQL puts them last (ascending), SQLite and
    MariaDB last when descending. Past the first page, ``key > :last`` never matches a NULL:
    those rows would be skipped without a word, so the loop refuses them before its first
    batch, as a nullable key column is refused."""
    upper = sa.func.upper(Pair.label).label("ul")
    key = (upper.desc() if descending else upper, Pair.a, Pair.b)
    done: list[Any] = []
    with Session(engine) as session, \
            pytest.raises(ValueError, match="key column ul is NULL in a row"):
        for batch in batches(sa.select(upper, Pair.a, Pair.b), size=2, key=key,
                             session=session):
            done.extend(batch)
    assert done == []


def test_a_select_of_several_tables_not_joined_needs_its_key(engine: sa.engine.Engine) -> None:
    """Tables selected side by side, not joined, give each row of one with every row of the
    other: the first table's primary key repeats in the rows, and pages of it would skip most
    of them. No table's key is the rows' key: refused before anything is read, until key=
    names columns unique together in those rows."""
    with Session(engine) as session:
        session.add_all(Note(id=i, thing_id=i) for i in (1, 2))
        session.commit()
        both = sa.select(Thing.id, Note.id.label("note_id")).where(Thing.id <= 3)
        for source in (both, sa.select(Thing, Note).where(Thing.id <= 3),
                       session.query(Thing, Note).filter(Thing.id <= 3)):
            with pytest.raises(ValueError, match=r"several tables not joined \(thing, note\)"):
                batches(source, size=2, session=session)
        # Tables linked by a WHERE are not joined either: their rows are the notes.
        linked = sa.select(Note.id, Thing.status).where(Thing.id == Note.thing_id)
        with pytest.raises(ValueError, match=r"several tables not joined \(note, thing\)"):
            batches(linked, size=1, session=session)
        pairs = [tuple(r) for b in batches(linked, size=1, key=Note.id, session=session)
                 for r in b]
        assert pairs == [(1, " Open "), (2, " Open ")]
