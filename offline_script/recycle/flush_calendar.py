"""Recompute the calendar's per-day order counts and revenue from the orders.

Recurring script: run it again whenever it is needed. Before copying it, extend it:
one script per purpose keeps recycle/ small.

    opsctl run recycle/flush_calendar --help
    opsctl run --dry-run recycle/flush_calendar
    opsctl run recycle/flush_calendar --days 90
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import click
from sqlalchemy import func, select

from opsctl import current_run, report, track
from opsctl.demo import db
from opsctl.demo.models import VOID_STATUSES, CalendarDay, Order, normalise_status, utcnow


# A NamedTuple rather than a dataclass: a dataclass needs its module in sys.modules, and a
# script may be loaded from its file without being registered there.
class Flushed(NamedTuple):
    """What a recompute did: rows created, rows whose figures changed, rows already right."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def day_figures(first: dt.date, last: dt.date) -> dict[dt.date, tuple[int, int]]:
    """Return ``{day: (order_count, revenue_cents)}`` for the days with orders.

    Revenue leaves out cancelled and refunded orders, however their status is spelled.
    Requires an active application context.
    """
    day = func.date(Order.created_at)
    # Summed per day and status in SQL; statuses classified here, since dirty spellings
    # (" Cancelled", "canceled", "refunded\n") defeat any portable SQL trim or lower.
    rows = db.session.execute(
        select(day, Order.status, func.count(Order.id), func.sum(Order.amount_cents))
        .where(Order.created_at >= dt.datetime.combine(first, dt.time()),
               Order.created_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()))
        .group_by(day, Order.status)
    ).all()
    figures: dict[dt.date, tuple[int, int]] = {}
    for raw_day, status, n, amount in rows:
        # SQLite's date() returns text, PostgreSQL's and MySQL's a date.
        key = raw_day if isinstance(raw_day, dt.date) else dt.date.fromisoformat(raw_day)
        count, revenue = figures.get(key, (0, 0))
        void = normalise_status(status) in VOID_STATUSES
        figures[key] = (count + int(n), revenue + (0 if void else int(amount or 0)))
    return figures


def flush_calendar(days: int, *, today: dt.date | None = None) -> Flushed:
    """Recompute the calendar rows of the last ``days`` days, ``today`` included.

    Creates missing rows, sets ``computed_at`` on every row it visits. The caller commits.
    Requires an active application context.
    """
    last = today or utcnow().date()
    first = last - dt.timedelta(days=days - 1)
    figures = day_figures(first, last)
    existing = {row.day: row for row in db.session.scalars(
        select(CalendarDay).where(CalendarDay.day.between(first, last)))}
    now = utcnow()
    created = updated = unchanged = 0
    span = [first + dt.timedelta(days=i) for i in range(days)]
    for day in track(span, description="flush_calendar", total=days):
        count, revenue = figures.get(day, (0, 0))
        row = existing.get(day)
        if row is None:
            row = CalendarDay(day=day)
            db.session.add(row)
            created += 1
        elif (row.order_count, row.revenue_cents, row.is_weekend) == (
                count, revenue, day.weekday() >= 5):
            unchanged += 1
        else:
            updated += 1
        row.order_count, row.revenue_cents = count, revenue
        row.is_weekend = day.weekday() >= 5
        row.computed_at = now
    return Flushed(created=created, updated=updated, unchanged=unchanged)


@click.command()
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True,
              help="How many days back to recompute, today included.")
def main(days: int) -> None:
    """Recompute the calendar's order counts and revenue for the last N days.

    Missing days are created; rows already right keep their figures.

    \b
    Example:
      opsctl run recycle/flush_calendar --days 90
    """
    run = current_run()
    result = flush_calendar(days)
    db.session.commit()
    note = " (dry run: rolled back)" if run.dry_run else ""
    click.echo(f"calendar: {result.updated} rows updated, {result.created} created, "
               f"{result.unchanged} unchanged over {days} days{note}")
    report(days=days, rows_updated=result.updated, rows_created=result.created,
           rows_unchanged=result.unchanged)


if __name__ == "__main__":
    # `python offline_script/recycle/flush_calendar.py` runs exactly like
    # `opsctl run recycle/flush_calendar`: app context, ledger, lock.
    from opsctl import run_directly

    run_directly(__file__)
