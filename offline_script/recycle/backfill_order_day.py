"""Fill in orders.day (the day each order was placed) for the orders that have none.

A backfill in batches: each batch is one UPDATE of the orders it holds, committed, and opsctl
checkpoints the run between batches, so it can stop (`--limit`, `opsctl pause`, a kill) and
go on with `opsctl run --resume`. Running a batch twice sets the same days again, and orders
already filled in are never read: run it as often as needed.

unrecycle/add_order_day adds the column; the model does not map it yet, so the table is named
here with SQLAlchemy Core.

    opsctl run --limit 100 recycle/backfill_order_day
    opsctl run --resume RUN_ID
"""

from __future__ import annotations

import click
import sqlalchemy as sa

from opsctl import batches, current_run, report
from opsctl.demo import db

ORDERS = sa.table("orders", sa.column("id", sa.Integer), sa.column("created_at", sa.DateTime),
                  sa.column("day", sa.Date))


@click.command()
@click.option("--size", type=click.IntRange(min=1), default=50, show_default=True,
              help="Orders per batch.")
def main(size: int) -> None:
    """Fill in orders.day from each order's created_at, SIZE orders per batch."""
    empty = sa.select(ORDERS.c.id).where(ORDERS.c.day.is_(None))
    filled = 0
    for batch in batches(empty, size=size, key=ORDERS.c.id):
        ids = [row.id for row in batch]
        db.session.execute(ORDERS.update().where(ORDERS.c.id.in_(ids))
                           .values(day=sa.func.date(ORDERS.c.created_at)))
        db.session.commit()
        filled += len(ids)
    progress = current_run().progress  # this run's orders and those of the runs it resumed
    click.echo(f"filled in the day of {filled} orders ({progress.done} of {progress.total} "
               "in all)")
    report(filled=filled)


if __name__ == "__main__":
    from opsctl import run_directly

    run_directly(__file__)
