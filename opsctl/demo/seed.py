"""The demo data: the same rows every time, with the dirt the example scripts clean up.

Rows are drawn from a fixed random seed, and timestamps are offsets from the moment of seeding,
so "the last 30 days" and "expired" always have something in them whenever the demo is set up:

- 36 customers and 300 orders over the last 60 days;
- 27 of those orders with a dirty status (stray whitespace, upper case, ``canceled``) and
  2 with a status no rule can repair (``ON HOLD``), for ``unrecycle/flush_order_data``;
- 60 calendar rows whose figures were never computed, for ``recycle/flush_calendar``;
- 40 cache entries: 20 expired (10 of them more than a week ago), 15 live, 5 that never
  expire, for ``recycle/clear_cache``.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from .extensions import db
from .models import CacheEntry, CalendarDay, Customer, Order, utcnow

SEED = 20240610
CUSTOMERS = 36
ORDERS = 300
DAYS = 60

_FIRST = ("Ada", "Bo", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jia",
          "Kofi", "Lea", "Mei", "Nils", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tariq")
_LAST = ("Li", "Wang", "Novak", "Okafor", "Silva", "Tanaka", "Berg", "Haddad", "Kim", "Moreau")

# Weighted like a real shop: most orders get paid and shipped, a few go wrong.
_STATUS_WEIGHTS = {"pending": 2, "paid": 4, "shipped": 6, "cancelled": 1, "refunded": 1}

# How the dirty statuses got dirty: a form that did not strip, a batch job that shouted,
# someone who spells it the American way.
_DIRTY = (
    lambda s: f" {s.capitalize()}",
    lambda s: f"{s.upper()} ",
    lambda s: f"{s}\n",
    lambda s: s.title(),
    lambda s: "canceled",
)
_UNREPAIRABLE = "ON HOLD"

# Cache expiries relative to now, cycled over the entries: 4 expired, 3 live, 1 permanent.
_EXPIRIES: tuple[dt.timedelta | None, ...] = (
    dt.timedelta(days=-30), dt.timedelta(days=-10), dt.timedelta(days=-2),
    dt.timedelta(hours=-1), dt.timedelta(hours=1), dt.timedelta(days=3), None,
    dt.timedelta(hours=12),
)
_CACHE_ENTRIES = 40


def demo_rows(now: dt.datetime | None = None) -> list[object]:
    """Build the demo rows (not added to any session); the same rows for the same ``now``."""
    now = now or utcnow()
    midnight = dt.datetime.combine(now.date(), dt.time(), tzinfo=now.tzinfo)
    rng = random.Random(SEED)
    rows: list[object] = []

    for i in range(1, CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        rows.append(Customer(
            id=i, name=f"{first} {last}", email=f"{first}.{last}.{i}@example.com".lower(),
            created_at=now - dt.timedelta(days=DAYS + rng.randrange(365)),
        ))

    statuses, weights = list(_STATUS_WEIGHTS), list(_STATUS_WEIGHTS.values())
    for i in range(1, ORDERS + 1):
        status = rng.choices(statuses, weights)[0]
        if i % 11 == 0:
            status = _DIRTY[(i // 11) % len(_DIRTY)](status)
        if i in (150, 250):
            status = _UNREPAIRABLE
        rows.append(Order(
            id=i, customer_id=rng.randrange(1, CUSTOMERS + 1),
            amount_cents=rng.randrange(5, 500) * 100 + rng.choice((0, 50, 99)),
            status=status,
            # From the start of today: which day an order falls on does not depend on the
            # hour the demo was seeded (recycle/flush_calendar's figures neither).
            created_at=midnight - dt.timedelta(minutes=rng.randrange(DAYS * 24 * 60)),
        ))

    today = now.date()
    for back in range(DAYS):
        day = today - dt.timedelta(days=back)
        rows.append(CalendarDay(day=day, order_count=0, revenue_cents=0,
                                is_weekend=day.weekday() >= 5, computed_at=None))

    for i in range(_CACHE_ENTRIES):
        expiry = _EXPIRIES[i % len(_EXPIRIES)]
        if expiry is None:
            key, created, expires = f"config:flag_{i}", now - dt.timedelta(days=90), None
        else:
            key = f"customer:{i % CUSTOMERS + 1}:summary:{i}"
            expires = now + expiry
            created = expires - dt.timedelta(days=1)
        rows.append(CacheEntry(key=key, value=json.dumps({"n": i}), created_at=created,
                               expires_at=expires))
    return rows


def is_seeded() -> bool:
    """Whether the demo data is there: one query. Requires an active application context."""
    try:
        return db.session.execute(select(Customer.id).limit(1)).first() is not None
    except DBAPIError:
        # No tables yet (every driver words that differently). Anything worse, such as an
        # unreachable server, raises again from create_all() with its own message.
        db.session.rollback()
        return False


def ensure_seeded() -> bool:
    """Create the tables and the demo data unless they are there; return True if it seeded.

    Requires an active application context. On an already seeded database this is the one
    query of :func:`is_seeded`.
    """
    if is_seeded():
        return False
    try:
        db.create_all()
        db.session.add_all(demo_rows())
        db.session.commit()
    except DBAPIError:
        # Two first uses at the same moment: the fixed primary keys make the loser fail
        # instead of doubling the data, and the winner's rows stand.
        db.session.rollback()
        if is_seeded():
            return False
        raise
    return True


def init_db() -> None:
    """Drop the demo tables and create them again with fresh demo data.

    Requires an active application context.
    """
    db.drop_all()
    db.create_all()
    db.session.add_all(demo_rows())
    db.session.commit()


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Start the demo database over with fresh demo data."""
    init_db()
    click.echo("Initialized the demo database.")
