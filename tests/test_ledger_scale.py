"""The ledger's reads at scale: each walks an index of the runs newest first and stops at its
limit (the query plans say so, on every database), streams when asked to, never reads the
output tails for a summary of runs, and counts per script in the database.

Every test takes ``ledger_url``, so each runs once per database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from bench import fill_ledger

from opsctl.ledger import rows as ledger_rows
from opsctl.ledger.store import Ledger
from opsctl.ledger.values import Process, Run, ScriptStats

KEYS = [f"recycle/job_{i:02d}" for i in range(60)]
#: The indexes of the runs: a server's planner may walk another one than the read's own when
#: its statistics say it serves the order as well (SQLite is held to the read's own).
RUN_INDEXES = ["ix_opsctl_runs_script_start", "ix_opsctl_runs_script_status",
               "ix_opsctl_runs_start", "ix_opsctl_runs_status_start"]
RUNS_FILLED = 3_000


@pytest.fixture
def filled(ledger_url: str) -> Iterator[Ledger]:
    """A ledger of 3,000 runs over 60 scripts, its statistics up to date for the planner."""
    fill_ledger(ledger_url, RUNS_FILLED, KEYS, tail=100)
    book = Ledger.open(ledger_url)
    with book.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE TABLE opsctl_runs" if _mysql(conn) else "ANALYZE")
    yield book
    book.close()


def _mysql(conn: sa.engine.Connection) -> bool:
    return conn.dialect.name in ("mysql", "mariadb")


@contextmanager
def statements(book: Ledger) -> Iterator[list[tuple[str, Any]]]:
    """The statements the ledger sends meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: object, cursor: object, statement: str, parameters: Any,
               context: object, executemany: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(book.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(book.engine, "before_cursor_execute", record)


def plan(book: Ledger, statement: str, parameters: Any) -> str:
    """How the database runs ``statement``: SQLite's ``EXPLAIN QUERY PLAN`` details,
    PostgreSQL's ``EXPLAIN`` lines, MariaDB's ``EXPLAIN`` as ``table key extra`` lines."""
    with book.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            return "\n".join(str(r[-1]) for r in found)
        result = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        if _mysql(conn):
            return "\n".join(f"{r['table']} {r['key']} {r['Extra']}"
                             for r in result.mappings())
        return "\n".join(str(r[0]) for r in result)


def the_read(book: Ledger, read: Any) -> tuple[str, str]:
    """The one statement on the runs that ``read()`` sends, and its plan."""
    with statements(book) as seen:
        read()
    on_runs = [(s, p) for s, p in seen if "opsctl_runs" in s]
    assert len(on_runs) == 1, [s for s, _ in on_runs]
    statement, parameters = on_runs[0]
    return statement, plan(book, statement, parameters)


def assert_index_walk(book: Ledger, explained: str, index: str, walks: int = 1) -> None:
    """The plan walks ``index`` in its order (``walks`` times), and stops: no scan of the
    table, no sort. On a server, any index of the runs will do (see :data:`RUN_INDEXES`)."""
    name = book.engine.dialect.name
    either = "|".join(RUN_INDEXES)
    if name == "sqlite":
        found = re.findall(rf"\bUSING (?:COVERING )?INDEX {index}\b", explained)
        assert "TEMP B-TREE" not in explained and "SCAN opsctl_runs\n" not in explained + "\n"
    elif name == "postgresql":
        found = re.findall(rf"Limit .*\n\s*->  Index (?:Only )?Scan (?:Backward )?using "
                           rf"(?:{either}) on opsctl_runs", explained)
        assert "Seq Scan" not in explained and "Sort" not in explained, explained
    else:
        found = re.findall(rf"^opsctl_runs (?:{either}) ", explained, re.M)
        assert "filesort" not in explained and "temporary" not in explained, explained
    assert len(found) == walks, explained


def assert_no_table_scan(book: Ledger, explained: str) -> None:
    name = book.engine.dialect.name
    if name == "sqlite":
        assert "SCAN opsctl_runs\n" not in explained + "\n", explained
    elif name == "postgresql":
        assert "Seq Scan" not in explained, explained
    else:
        assert "opsctl_runs None" not in explained, explained


@pytest.mark.parametrize(("call", "index"), [
    ({}, "ix_opsctl_runs_start"),
    ({"status": "failed"}, "ix_opsctl_runs_status_start"),
    ({"key": KEYS[3]}, "ix_opsctl_runs_script_start"),
    ({"key": KEYS[3], "status": "succeeded"}, "ix_opsctl_runs_script_status"),
])
def test_history_is_one_limited_walk_of_an_index(filled: Ledger, call: dict[str, str],
                                                 index: str) -> None:
    """``opsctl history`` (20 rows), with ``--status``, of a script, of a script with
    ``--status``: one statement with its LIMIT, walking an index newest first."""
    statement, explained = the_read(filled, lambda: filled.runs(limit=20, **call))
    assert re.search(r"\bLIMIT\b", statement), statement
    assert_index_walk(filled, explained, index)
    everything = filled.iter_runs()  # streamed, unlimited: every run, newest first
    expected = [r.id for r in everything if r.script == call.get("key", r.script)
                and r.status == call.get("status", r.status)][:20]
    assert [r.id for r in filled.runs(limit=20, **call)] == expected and expected


def test_a_moved_script_walks_each_of_its_names_to_the_limit(filled: Ledger) -> None:
    """A script with a former name and an absorbed one has three spans (the absorbed script's
    up to its absorption): one limited walk per span, the newest of those kept; only spans ×
    limit rows are ever sorted."""
    filled.record_move(KEYS[5], "recycle/renamed", "alice")
    filled.record_absorb(KEYS[6], "recycle/renamed", "alice")
    statement, explained = the_read(filled, lambda: filled.runs("recycle/renamed", limit=20))
    assert len(re.findall(r"\bLIMIT\b", statement)) == 4, statement  # three spans, the whole
    assert_no_table_scan(filled, explained)
    runs = filled.runs("recycle/renamed", limit=20)
    expected = sorted((r for r in filled.runs() if r.script in (KEYS[5], KEYS[6])),
                      key=lambda r: (r.started_at, r.id), reverse=True)[:20]
    assert [r.id for r in runs] == [r.id for r in expected]


def test_last_runs_walk_each_key_once_and_read_no_output_tail(filled: Ledger) -> None:
    """``list`` and ``stale``: one statement for a page of keys, a ``LIMIT 1`` walk of the
    script's index for each, and the output tail is not among the columns read. On
    PostgreSQL the keys are one array, unnested and joined laterally to the one walk."""
    keys = [*KEYS, "recycle/never_run"]
    statement, explained = the_read(filled, lambda: filled.last_runs(keys))
    assert "output_tail" not in statement and "error" in statement
    if filled.engine.dialect.name == "postgresql":
        assert statement.count("LIMIT") == 1 and "unnest" in statement and "LATERAL" in statement
        assert "Function Scan on unnest" in explained, explained
        assert_index_walk(filled, explained, "ix_opsctl_runs_script_start")
    else:  # the keys as constants, each walked by one correlated subquery
        assert statement.count("LIMIT 1") == 1 and statement.count("SELECT ") == len(keys) + 3
        if filled.engine.dialect.name == "sqlite":
            assert "CORRELATED SCALAR SUBQUERY" in explained, explained
            assert "SEARCH x USING COVERING INDEX ix_opsctl_runs_script_start (script=?)" \
                in explained and "TEMP B-TREE" not in explained, explained
            assert "SCAN opsctl_runs" not in explained and "SCAN x" not in explained
        else:
            assert re.search(r"^x ix_opsctl_runs_script_start ", explained, re.M), explained
            assert re.search(r"^opsctl_runs PRIMARY ", explained, re.M), explained
            assert "filesort" not in explained, explained
    last = filled.last_runs(keys)
    assert set(last) == set(KEYS) and all(r.output_tail is None for r in last.values())
    newest = filled.runs(KEYS[7], limit=1)[0]
    assert last[KEYS[7]] == newest._replace(output_tail=None)


def test_more_keys_than_a_page_are_read_a_page_at_a_time(filled: Ledger) -> None:
    from opsctl.ledger.queries import page_size

    size = page_size(filled.backend.lateral)
    keys = [*KEYS, *(f"alice/ts_2024_01_01_job_{i}" for i in range(size * 2))]
    with statements(filled) as seen:
        last = filled.last_runs(keys)
    assert len([s for s, _ in seen if "opsctl_runs" in s]) == 3  # three pages
    assert set(last) == set(KEYS)


def test_streamed_runs_come_a_chunk_at_a_time(filled: Ledger,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``history --limit 0`` and ``--json``: the rows are fetched and made into runs as they
    are consumed, never all first."""
    from opsctl.ledger import reads

    made: list[int] = []
    real = ledger_rows.run_of

    def counted(row: Any) -> Run:
        made.append(row.id)
        return real(row)

    monkeypatch.setattr(reads, "run_of", counted)
    with statements(filled) as seen:
        stream = filled.iter_runs()
        first = next(stream)
        assert len(made) == 1 and first.id == made[0]
        rest = list(stream)
    assert len(rest) == RUNS_FILLED - 1 and len(made) == RUNS_FILLED
    assert [r.started_at for r in [first, *rest]] == sorted(
        (r.started_at for r in [first, *rest]), reverse=True)
    statement = next(s for s, _ in seen if "opsctl_runs" in s)
    assert not re.search(r"\bLIMIT\b", statement)


def test_a_stream_the_database_refuses_is_one_line(filled: Ledger) -> None:
    from opsctl.errors import LedgerUnreachable

    with filled.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE opsctl_runs")
    with pytest.raises(LedgerUnreachable, match="cannot be read"):
        next(filled.iter_runs())


# -- per-script statistics, counted by the database ---------------------------------------

def reference_stats(book: Ledger) -> dict[str, ScriptStats]:
    """The statistics as opsctl computed them before, from every run in Python (a live run
    aside: set by the caller)."""
    from opsctl.ledger.spans import current_key

    moves = book._forward()
    out: dict[str, dict[str, Any]] = {}
    for run in book.runs():
        key = current_key(run.script, run.started_at, moves)
        t = out.setdefault(key, {"runs": 0, "used": 0, "days": set(), "ops": set(),
                                 "udays": set(), "uby": set(), "times": [], "utimes": [],
                                 "rtimes": [], "others": {}})
        day = run.started_at.astimezone().date()
        t["runs"] += 1
        t["days"].add(day)
        t["ops"].add(run.operator)
        t["times"].append(run.started_at)
        if not run.dry_run:
            t["rtimes"].append(run.started_at)
        if run.status == "succeeded" and not run.dry_run:
            t["used"] += 1
            t["udays"].add(day)
            t["uby"].add(run.operator)
            t["utimes"].append(run.started_at)
        else:
            what = "dry" if run.dry_run else run.status
            t["others"][what] = t["others"].get(what, 0) + 1
    order = ("dry", "failed", "interrupted", "lost", "running")
    return {k: ScriptStats(k, t["runs"], t["used"], frozenset(t["days"]), frozenset(t["ops"]),
                           min(t["times"]), max(t["times"]), False,
                           frozenset(t["udays"]), frozenset(t["uby"]),
                           max(t["utimes"], default=None), max(t["rtimes"], default=None),
                           tuple(sorted(t["others"].items(), key=lambda kv: order.index(kv[0]))))
            for k, t in out.items()}


def test_stats_are_counted_by_the_database_as_they_were_in_python(ledger_url: str) -> None:
    """Runs over 40 hours on 6 scripts, by three operators, around midnights, some dry, a
    script moved and then its old name reused, one absorbed: the database's groups add up to
    what counting every run gave, and far fewer rows come back than there are runs."""
    keys = [f"alice/ts_2024_01_01_job_{i}" for i in range(6)]
    fill_ledger(ledger_url, 2_400, keys, tail=0)  # one a minute for the last 40 hours
    with Ledger.open(ledger_url) as book:
        book.record_move(keys[0], "recycle/job", "alice")
        book.record_absorb(keys[1], "recycle/job", "bob")
        again = book.start(script=keys[0], process=Process.current("dave"), args=[])
        book.finish(again, status="succeeded", exit_code=0)
        book.start(script=keys[2], process=Process.current("erin"), args=[])  # live
        with statements(book) as seen:
            stats = book.stats()
        expected = reference_stats(book)
        expected[keys[2]] = expected[keys[2]]._replace(running=True)
        assert stats == expected
        assert set(stats) == {"recycle/job", *keys[2:], keys[0]}
        assert stats[keys[0]].runs == 1 and stats["recycle/job"].runs == 800
        counted = next(s for s, _ in seen if "GROUP BY" in s)
        with book.engine.connect() as conn:
            groups = conn.exec_driver_sql(counted, next(p for s, p in seen if s == counted))
            assert len(groups.all()) < 2_400 / 3


def test_owners_count_only_the_runs_before_a_move_away(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as book:
        def ran(key: str) -> Run:
            run = book.start(script=key, process=Process.current("alice"), args=[])
            book.finish(run, status="succeeded", exit_code=0)
            return run

        ran("recycle/report")
        ran("recycle/report")
        book.record_move("recycle/report", "unrecycle/report", "alice")
        ran("recycle/report")  # another script took the name
        book.record_move("recycle/report", "recycle/summary", "alice")
        ran("recycle/report")
        assert book.owners("recycle/report") == [("unrecycle/report", 2),
                                                 ("recycle/summary", 1)]
        assert book.owners("recycle/summary") == []
        assert dt.datetime.now(dt.UTC) > book.runs()[0].started_at
