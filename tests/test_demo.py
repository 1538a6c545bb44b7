"""The demo app (opsctl.demo) and the example offline scripts written against it.

The scripts are loaded from their files the way a runner would, and their Click ``main`` is
invoked inside the demo app's context. opsctl's run API inside each script (``current_run``,
``report``, ``track``) is replaced by a stand-in, so these tests pin the scripts' own
behaviour (data changed, files written, dry-run respected) independently of the runner; one
test at the end runs the README's first command through opsctl itself.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import importlib.util
import io
import json
import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, TypeVar

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask

from opsctl.demo import create_app, db
from opsctl.demo import seed as demo_seed
from opsctl.demo.models import (
    ORDER_STATUSES,
    CacheEntry,
    CalendarDay,
    Customer,
    Order,
    normalise_status,
    utcnow,
)

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = {
    "clear_cache": REPO / "offline_script/recycle/clear_cache.py",
    "flush_calendar": REPO / "offline_script/recycle/flush_calendar.py",
    "flush_order_data": REPO / "offline_script/unrecycle/flush_order_data.py",
    "export": REPO / "offline_script/yuzaoyah/ts_2024_06_10_export_custom_s.py",
    "export_orders": REPO / "offline_script/recycle/export_order_id_and_custom_name.py",
    "add_order_day": REPO / "offline_script/unrecycle/add_order_day.py",
    "backfill_order_day": REPO / "offline_script/recycle/backfill_order_day.py",
}

T = TypeVar("T")


# -- fixtures -------------------------------------------------------------------------------

@pytest.fixture
def instance_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every app made in the test its instance folder under tmp_path, not the repo's."""
    path = tmp_path / "instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(path))
    for name in ("DEMO_DATABASE_URL", "DEMO_ENV"):
        monkeypatch.delenv(name, raising=False)
    return path


@contextlib.contextmanager
def disposing(app: Flask) -> Iterator[Flask]:
    """Yield ``app``, then close its engines' connections (pytest turns leaks into errors)."""
    try:
        yield app
    finally:
        with app.app_context():
            engines = list(db.engines.values())
        for engine in engines:
            engine.dispose()


@pytest.fixture
def db_file(instance_path: Path) -> Path:
    return instance_path / "demo.sqlite3"


@pytest.fixture
def app(db_file: Path) -> Iterator[Flask]:
    """The demo app on a fresh, seeded SQLite file (the default URL, in tmp's instance)."""
    with disposing(create_app({"TESTING": True})) as app:
        yield app


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@dataclass
class FakeRun:
    """What ``current_run()`` returns to a script."""

    dry_run: bool = False
    operator: str = "tester"
    id: int = 1
    reason: str | None = None
    #: ``current_run().progress``: outside a run, batches() records none.
    progress: Any = field(default_factory=lambda: SimpleNamespace(done=0, total=None))


@dataclass
class FakeApi:
    """opsctl's script API as the scripts see it: a run to hand out, the reports kept."""

    run: FakeRun = field(default_factory=FakeRun)
    reports: list[dict[str, Any]] = field(default_factory=list)
    tracked: list[str] = field(default_factory=list)

    def current_run(self) -> FakeRun:
        return self.run

    def report(self, **summary: Any) -> None:
        json.dumps(summary)  # the ledger stores the summary as JSON
        self.reports.append(summary)

    def track(self, iterable: Iterable[T], description: str = "",
              total: int | None = None) -> Iterable[T]:
        self.tracked.append(description)
        return iterable


def load_script(name: str) -> ModuleType:
    """Import an example script from its file, as a runner does (not via a package)."""
    path = SCRIPTS[name]
    spec = importlib.util.spec_from_file_location(f"offline_script_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


def invoke_script(app: Flask, api: FakeApi, monkeypatch: pytest.MonkeyPatch, name: str,
                  *args: str) -> Result:
    """Load a script, hand it ``api`` for opsctl's, and invoke its ``main`` in ``app``."""
    module = load_script(name)
    for attr in ("current_run", "report", "track"):
        if hasattr(module, attr):
            monkeypatch.setattr(module, attr, getattr(api, attr))
    with app.app_context():
        return CliRunner().invoke(module.main, list(args), catch_exceptions=False)


@pytest.fixture
def run_script(app: Flask, api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run_script("clear_cache", "--older-than", "7d")``: its ``main`` in the app context."""

    def _run(name: str, *args: str) -> Result:
        return invoke_script(app, api, monkeypatch, name, *args)

    return _run


def as_date(value: Any) -> dt.date:
    """A DATE as a driver returns it (SQLite: text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def as_datetime(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def count(model: type[Any]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def get_one(model: type[T], key: int) -> T:
    """The row ``key`` of ``model``, which must exist (``Session.get_one`` is SQLAlchemy
    2.0.22+; the floor is older)."""
    row = db.session.get(model, key)
    assert row is not None, (model, key)
    return row


# -- the demo app ---------------------------------------------------------------------------

def test_first_use_creates_the_database_in_the_instance_folder(app: Flask,
                                                               db_file: Path) -> None:
    assert Path(app.instance_path) == db_file.parent
    assert db_file.is_file()
    with app.app_context():
        assert (count(Customer), count(Order), count(CalendarDay), count(CacheEntry)) == (
            demo_seed.CUSTOMERS, demo_seed.ORDERS, demo_seed.DAYS, 40)


def test_seeding_is_idempotent_and_one_query_when_done(app: Flask) -> None:
    with app.app_context():
        get_one(Customer, 1).name = "Renamed Once"
        db.session.commit()

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        with disposing(create_app({"TESTING": True})) as again:
            pass
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert len(statements) == 1, statements
    with again.app_context():
        assert demo_seed.ensure_seeded() is False
        assert count(Customer) == demo_seed.CUSTOMERS
        assert count(Order) == demo_seed.ORDERS
        # Not reseeded over the top: the edit made after the first seeding is still there.
        assert get_one(Customer, 1).name == "Renamed Once"


def test_in_memory_database_is_seeded_too(instance_path: Path) -> None:
    with (disposing(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})) as app,
          app.app_context()):
        assert count(Order) == demo_seed.ORDERS
    assert not instance_path.exists()  # nothing written for an in-memory database


def test_demo_data_is_deterministic_and_dirty_where_intended() -> None:
    now = dt.datetime(2024, 6, 10, 12, 0)

    def snapshot(rows: list[object]) -> list[tuple[Any, ...]]:
        return [tuple(sorted((k, v) for k, v in vars(r).items() if not k.startswith("_")))
                for r in rows]

    rows = demo_seed.demo_rows(now)
    assert snapshot(rows) == snapshot(demo_seed.demo_rows(now))

    statuses = [r.status for r in rows if isinstance(r, Order)]
    dirty = [s for s in statuses if s not in ORDER_STATUSES]
    assert len(dirty) == 29
    assert dirty.count("ON HOLD") == 2
    assert {"canceled", " Paid", "SHIPPED "} <= set(dirty)
    assert any(s.endswith("\n") for s in dirty)

    expiries = [r.expires_at for r in rows if isinstance(r, CacheEntry)]
    assert sum(e is not None and e < now for e in expiries) == 20
    assert sum(e is not None and e < now - dt.timedelta(days=7) for e in expiries) == 10
    assert sum(e is None for e in expiries) == 5


def test_configuration_sources(instance_path: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    with disposing(create_app({"DEMO_SEED": False})) as app:
        assert app.config["ENV"] == "development"
        assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///demo.sqlite3"

    from_env = tmp_path / "from_env.sqlite3"
    monkeypatch.setenv("DEMO_DATABASE_URL", f"sqlite:///{from_env}")
    monkeypatch.setenv("DEMO_ENV", "staging")
    with disposing(create_app()) as app:
        assert app.config["ENV"] == "staging"
        with app.app_context():
            assert db.engine.url.database == str(from_env)
    assert from_env.is_file()

    with disposing(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "ENV": "production",
                               "DEMO_SEED": False})) as app:
        assert app.config["ENV"] == "production"  # test_config beats the environment
        with app.app_context():
            assert db.engine.url.database in (None, "")
            assert not demo_seed.is_seeded()  # DEMO_SEED False: no tables made


def test_routes(app: Flask) -> None:
    client = app.test_client()
    with app.app_context():
        order = get_one(Order, 1)
        expected_customer = order.customer_id
    response = client.get("/orders/1")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["id"] == 1 and response.json["customer_id"] == expected_customer
    assert client.get("/orders/99999").status_code == 404

    customer = client.get(f"/customers/{expected_customer}").json
    assert customer is not None and customer["orders"] >= 1
    assert client.get("/customers/99999").status_code == 404


def test_init_db_command_starts_over(app: Flask) -> None:
    with app.app_context():
        db.session.execute(sa.delete(CacheEntry))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Initialized" in result.output
    with app.app_context():
        assert count(CacheEntry) == 40 and count(Customer) == demo_seed.CUSTOMERS


# -- importing the scripts --------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_importing_a_script_has_no_side_effects(name: str, app: Flask, db_file: Path,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    before = hashlib.sha256(db_file.read_bytes()).hexdigest(), db_file.stat().st_mtime_ns
    files_before = sorted(Path(app.instance_path).iterdir())
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        with app.app_context():
            module = load_script(name)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)

    assert statements == []
    assert capfd.readouterr() == ("", "")
    assert (hashlib.sha256(db_file.read_bytes()).hexdigest(),
            db_file.stat().st_mtime_ns) == before
    assert sorted(Path(app.instance_path).iterdir()) == files_before
    assert isinstance(module.main, click.Command)
    assert module.__doc__ and module.__doc__.splitlines()[0].strip()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_script_has_help_for_each_option(name: str) -> None:
    main = load_script(name).main
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage:")
    for param in main.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{name}: option {param.opts} has no help"


# -- recycle/clear_cache ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("0d", dt.timedelta(0)),
    ("7d", dt.timedelta(days=7)),
    ("12h", dt.timedelta(hours=12)),
    ("1d12h", dt.timedelta(days=1, hours=12)),
    (" 2W ", dt.timedelta(weeks=2)),
    ("90m", dt.timedelta(minutes=90)),
    ("30s", dt.timedelta(seconds=30)),
])
def test_duration_parses(text: str, expected: dt.timedelta) -> None:
    assert load_script("clear_cache").Duration().convert(text, None, None) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7 days", "7d 3h", "-1d", "1.5h", "7y"])
def test_duration_refuses(text: str) -> None:
    with pytest.raises(click.BadParameter, match="is not a duration"):
        load_script("clear_cache").Duration().convert(text, None, None)


def expired_keys(before: dt.datetime) -> set[str]:
    return set(db.session.scalars(sa.select(CacheEntry.key)
                                  .where(CacheEntry.expires_at < before)))


def test_clear_cache_deletes_every_expired_entry(app: Flask, api: FakeApi,
                                                 run_script: Any) -> None:
    with app.app_context():
        keep = set(db.session.scalars(sa.select(CacheEntry.key))) - expired_keys(utcnow())
    result = run_script("clear_cache")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("deleted 20 cache entries that expired before ")
    assert api.reports == [{"deleted": 20, "expired_before": api.reports[0]["expired_before"]}]
    with app.app_context():
        assert expired_keys(utcnow()) == set()
        assert set(db.session.scalars(sa.select(CacheEntry.key))) == keep
        assert count(CacheEntry) == 20
        # Entries that never expire are never cleared.
        assert db.session.scalar(sa.select(sa.func.count()).where(
            CacheEntry.expires_at.is_(None))) == 5


def test_clear_cache_older_than_keeps_recently_expired(app: Flask, api: FakeApi,
                                                       run_script: Any) -> None:
    result = run_script("clear_cache", "--older-than", "7d")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("deleted 10 cache entries")
    assert api.reports[0]["deleted"] == 10
    with app.app_context():
        assert expired_keys(utcnow() - dt.timedelta(days=7)) == set()
        assert len(expired_keys(utcnow())) == 10  # expired 1h and 2d ago: still there


def test_clear_cache_bad_duration_is_a_usage_error(app: Flask, api: FakeApi,
                                                   run_script: Any) -> None:
    result = run_script("clear_cache", "--older-than", "a week")
    assert result.exit_code == 2
    assert "is not a duration" in result.stderr
    assert api.reports == []
    with app.app_context():
        assert count(CacheEntry) == 40


def test_clear_cache_says_dry_run(api: FakeApi, run_script: Any) -> None:
    api.run.dry_run = True
    result = run_script("clear_cache")
    assert result.exit_code == 0, result.output
    assert "(dry run: rolled back)" in result.stdout
    assert api.tracked == ["clear_cache"]


# -- recycle/flush_calendar -------------------------------------------------------------------

def expected_calendar(first: dt.date, last: dt.date) -> dict[dt.date, tuple[int, int]]:
    """The figures recomputed in plain Python from every order, the slow obvious way."""
    figures: dict[dt.date, tuple[int, int]] = {}
    for order in db.session.scalars(sa.select(Order)):
        day = order.created_at.date()
        if first <= day <= last:
            n, revenue = figures.get(day, (0, 0))
            void = order.status.strip().lower() in ("cancelled", "canceled", "refunded")
            figures[day] = (n + 1, revenue + (0 if void else order.amount_cents))
    return figures


def test_flush_calendar_recomputes_from_orders(app: Flask, api: FakeApi,
                                               run_script: Any) -> None:
    result = run_script("flush_calendar", "--days", "30")
    assert result.exit_code == 0, result.output
    summary = api.reports[0]
    with app.app_context():
        last = db.session.scalar(sa.select(sa.func.max(CalendarDay.day)))
        assert last is not None
        first = last - dt.timedelta(days=29)
        expected = expected_calendar(first, last)
        rows = {r.day: r for r in db.session.scalars(
            sa.select(CalendarDay).where(CalendarDay.day >= first))}
        assert sorted(rows) == [first + dt.timedelta(days=i) for i in range(30)]
        for day, row in rows.items():
            assert (row.order_count, row.revenue_cents) == expected.get(day, (0, 0)), day
            assert row.is_weekend == (day.weekday() >= 5)
            assert row.computed_at is not None
        # Seeded rows were all zero: exactly the days with orders changed.
        assert summary["rows_updated"] == len(expected) > 0
        assert sum(n for n, _ in expected.values()) > 100
        # Older rows are outside --days and stay as seeded.
        older = db.session.scalars(sa.select(CalendarDay).where(CalendarDay.day < first)).all()
        assert older and all(r.computed_at is None for r in older)
    assert summary["days"] == 30
    assert summary["rows_updated"] + summary["rows_created"] + summary["rows_unchanged"] == 30
    assert f"{summary['rows_updated']} rows updated" in result.stdout


def test_flush_calendar_again_changes_nothing_and_fills_gaps(app: Flask, api: FakeApi,
                                                             run_script: Any) -> None:
    assert run_script("flush_calendar", "--days", "30").exit_code == 0
    assert run_script("flush_calendar", "--days", "30").exit_code == 0
    assert api.reports[1]["rows_updated"] == 0
    assert api.reports[1]["rows_unchanged"] == 30

    with app.app_context():
        seeded_days = count(CalendarDay)
    result = run_script("flush_calendar", "--days", "90")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert api.reports[2]["rows_created"] == count(CalendarDay) - seeded_days >= 30


def test_flush_calendar_refuses_zero_days(api: FakeApi, run_script: Any) -> None:
    result = run_script("flush_calendar", "--days", "0")
    assert result.exit_code == 2
    assert api.reports == []


# -- unrecycle/flush_order_data ---------------------------------------------------------------

@pytest.mark.parametrize(("status", "expected"), [
    ("paid", "paid"), (" Paid", "paid"), ("SHIPPED ", "shipped"), ("refunded\n", "refunded"),
    ("canceled", "cancelled"), ("  Cancelled\t", "cancelled"), ("ON HOLD", None), ("", None),
])
def test_normalise_status(status: str, expected: str | None) -> None:
    assert normalise_status(status) == expected


def test_flush_order_data_normalises_statuses(app: Flask, api: FakeApi,
                                              run_script: Any) -> None:
    with app.app_context():
        before = {o.id: (o.status, o.amount_cents, o.customer_id)
                  for o in db.session.scalars(sa.select(Order))}
    result = run_script("flush_order_data", "--verbose")
    assert result.exit_code == 0, result.output
    assert "normalised 27 order statuses" in result.stdout
    assert "order 11: " in result.stdout  # --verbose lists each change
    assert "'ON HOLD'" in result.stderr
    assert api.reports == [{"fixed": 27, "unrepairable": 2,
                            "unrepairable_statuses": ["ON HOLD"]}]
    with app.app_context():
        after = {o.id: (o.status, o.amount_cents, o.customer_id)
                 for o in db.session.scalars(sa.select(Order))}
    changed = {i for i in before if before[i] != after[i]}
    assert len(changed) == 27
    for i in changed:
        old, new = before[i][0], after[i][0]
        assert new in ORDER_STATUSES
        assert new == ("cancelled" if old == "canceled" else old.strip().lower())
        assert before[i][1:] == after[i][1:]  # only the status is touched
    assert sorted(s for s, *_ in after.values() if s not in ORDER_STATUSES) == ["ON HOLD"] * 2


def test_flush_order_data_second_run_finds_nothing(api: FakeApi, run_script: Any) -> None:
    assert run_script("flush_order_data").exit_code == 0
    result = run_script("flush_order_data")
    assert result.exit_code == 0
    assert "normalised 0 order statuses" in result.stdout
    assert api.reports[1]["fixed"] == 0


# -- yuzaoyah/ts_2024_06_10_export_custom_s ---------------------------------------------------

def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_writes_every_customer(app: Flask, api: FakeApi, run_script: Any,
                                      tmp_path: Path) -> None:
    out = tmp_path / "exports" / "customers.csv"
    result = run_script("export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {demo_seed.CUSTOMERS} customers to {out}\n"
    assert api.reports == [{"rows": demo_seed.CUSTOMERS, "file": str(out), "written": True}]
    assert not out.with_name("customers.csv.part").exists()

    rows = read_csv(out.read_text(encoding="utf-8"))
    assert list(rows[0]) == ["id", "name", "email", "created_at", "orders", "total_cents"]
    with app.app_context():
        emails = set(db.session.scalars(sa.select(Customer.email)))
        total = db.session.scalar(sa.select(sa.func.sum(Order.amount_cents)))
        one = get_one(Customer, 1)
        one_orders = [o.amount_cents for o in one.orders]
    assert {r["email"] for r in rows} == emails
    assert sum(int(r["orders"]) for r in rows) == demo_seed.ORDERS
    assert sum(int(r["total_cents"]) for r in rows) == total
    row_one = next(r for r in rows if r["id"] == "1")
    assert (int(row_one["orders"]), int(row_one["total_cents"])) == (len(one_orders),
                                                                     sum(one_orders))
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)


def test_export_since_filters_customers(app: Flask, api: FakeApi, run_script: Any) -> None:
    with app.app_context():
        created = sorted(db.session.scalars(sa.select(Customer.created_at)))
    since = created[len(created) // 2].date()
    result = run_script("export", "--out", "-", "--since", since.isoformat())
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout)
    assert len(rows) == sum(c.date() >= since for c in created) < len(created)
    assert all(r["created_at"] >= since.isoformat() for r in rows)


def test_export_dry_run_writes_no_file(app: Flask, api: FakeApi, run_script: Any,
                                       tmp_path: Path) -> None:
    api.run.dry_run = True
    out = tmp_path / "customers.csv"
    result = run_script("export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"dry run: would write {demo_seed.CUSTOMERS} customers to {out}\n"
    assert not out.exists()
    assert api.reports == [{"rows": demo_seed.CUSTOMERS, "file": str(out), "written": False}]

    # To stdout, a dry run still shows the data: nothing outside the process changes.
    result = run_script("export", "--out", "-")
    assert len(read_csv(result.stdout)) == demo_seed.CUSTOMERS


def test_export_defaults_to_the_instance_folder(app: Flask, api: FakeApi,
                                                run_script: Any) -> None:
    result = run_script("export")
    assert result.exit_code == 0, result.output
    path = Path(api.reports[0]["file"])
    assert path.parent == Path(app.instance_path)
    assert path.name.startswith("customers_") and path.suffix == ".csv"
    assert len(read_csv(path.read_text(encoding="utf-8"))) == demo_seed.CUSTOMERS


# -- recycle/export_order_id_and_custom_name ---------------------------------------------------

def test_export_orders_writes_each_order_s_id_and_customer_name(
        app: Flask, api: FakeApi, run_script: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # --out is relative to where it runs, as for any command
    result = run_script("export_orders")
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"wrote {demo_seed.ORDERS} orders to orders.csv: order_id, "
                             "custom_name\n")
    assert api.reports == [{"rows": demo_seed.ORDERS, "file": "orders.csv",
                            "fields": ["order_id", "custom_name"]}]
    rows = read_csv((tmp_path / "orders.csv").read_text(encoding="utf-8"))
    assert list(rows[0]) == ["order_id", "custom_name"]
    with app.app_context():
        names = {o.id: o.customer.name for o in db.session.scalars(sa.select(Order))}
    assert {int(r["order_id"]): r["custom_name"] for r in rows} == names
    assert not (tmp_path / "orders.csv.part").exists()


def test_export_orders_since_and_dry_run(app: Flask, api: FakeApi, run_script: Any,
                                         tmp_path: Path) -> None:
    with app.app_context():
        placed = sorted(db.session.scalars(sa.select(Order.created_at)))
    since = placed[len(placed) // 2].date()
    expected = sum(p.date() >= since for p in placed)
    api.run.dry_run = True
    out = tmp_path / "june.csv"
    result = run_script("export_orders", "--since", since.isoformat(), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"dry run: would write {expected} orders to {out}: order_id, "
                             "custom_name\n")
    assert 0 < expected < demo_seed.ORDERS and not out.exists()


# -- on each database -------------------------------------------------------------------------

def test_demo_and_scripts_on_each_database(ledger_url: str, instance_path: Path, api: FakeApi,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """First use, date() and string comparison differ by database; the results must not.

    ``ledger_url`` is conftest's fresh empty database on SQLite, PostgreSQL and MariaDB.
    """
    with disposing(create_app({"SQLALCHEMY_DATABASE_URI": ledger_url})) as app:
        with (disposing(create_app({"SQLALCHEMY_DATABASE_URI": ledger_url})) as again,
              again.app_context()):
            assert count(Order) == demo_seed.ORDERS  # seeded once, not twice
        for name, args in [("clear_cache", ()), ("flush_order_data", ()),
                           ("flush_calendar", ("--days", "60")), ("add_order_day", ()),
                           ("backfill_order_day", ("--size", "40"))]:
            result = invoke_script(app, api, monkeypatch, name, *args)
            assert result.exit_code == 0, result.output
        with app.app_context():
            days = db.session.execute(sa.text("SELECT created_at, day FROM orders")).all()
            last = db.session.scalar(sa.select(sa.func.max(CalendarDay.day)))
            assert last is not None
            expected = expected_calendar(last - dt.timedelta(days=59), last)
            computed = {r.day: (r.order_count, r.revenue_cents)
                        for r in db.session.scalars(sa.select(CalendarDay))
                        if r.order_count}
    assert api.reports[0]["deleted"] == 20
    assert api.reports[1]["fixed"] == 27 and api.reports[1]["unrepairable"] == 2
    assert computed == expected
    # The backfill: the column added, then every order's day filled in, in batches of 40.
    assert api.reports[3:] == [{"added": True, "orders": demo_seed.ORDERS},
                               {"filled": demo_seed.ORDERS}]
    assert len(days) == demo_seed.ORDERS
    assert all(as_date(day) == as_datetime(created).date() for created, day in days)


# -- through opsctl itself --------------------------------------------------------------------

@pytest.mark.slow  # a fresh virtual environment
def test_readme_first_command_on_a_fresh_machine(tmp_path: Path, python: str) -> None:
    """``opsctl run recycle/clear_cache`` with nothing set up: the demo seeds itself, a dry
    run changes nothing, the real run does, and the ledger holds what the script reported."""
    env = {**os.environ, "DEMO_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "OPSCTL_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
           "OPSCTL_DEVELOPER": "tester", "NO_COLOR": "1"}
    for name in ("OPSCTL_ENV", "DEMO_ENV", "FLASK_APP", "OPSCTL_PROJECT"):
        env.pop(name, None)

    def opsctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, "-m", "opsctl", "--project", str(REPO), *args],
                              env=env, capture_output=True, text=True, timeout=120)

    dry = opsctl("run", "--dry-run", "recycle/clear_cache")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("deleted 20 cache entries")
    assert "(dry run: rolled back)" in dry.stdout

    real = opsctl("run", "recycle/clear_cache")
    assert real.returncode == 0, real.stderr
    assert real.stdout.startswith("deleted 20 cache entries")  # the dry run left all 20

    # `python <script>.py` runs the same way, through the __main__ block.
    direct = subprocess.run([python, str(SCRIPTS["clear_cache"]), "--older-than", "1h"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout.startswith("deleted 0 cache entries")

    history = opsctl("history", "--json", "recycle/clear_cache")
    assert history.returncode == 0, history.stderr
    runs = json.loads(history.stdout)
    assert [(r["dry_run"], r["summary"]["deleted"], r["args"]) for r in runs] == [
        (False, 0, ["--older-than", "1h"]), (False, 20, []), (True, 20, [])]
