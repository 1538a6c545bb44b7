"""Add the column orders.day, the calendar day an order counts for, empty in every order.

One-off schema change, the first half of a backfill: in a project with migrations,
`flask db upgrade` adds the column; the demo has none, so this script does. Then
recycle/backfill_order_day fills it in, batch by batch, where it can be stopped and resumed.

    opsctl run unrecycle/add_order_day
"""

from __future__ import annotations

import click
import sqlalchemy as sa

from opsctl import report
from opsctl.demo import db


@click.command()
def main() -> None:
    """Add the empty column orders.day (a DATE) unless it is there."""
    columns = {column["name"] for column in sa.inspect(db.engine).get_columns("orders")}
    if "day" in columns:
        click.echo("orders.day is there already")
        report(added=False)
        return
    db.session.execute(sa.text("ALTER TABLE orders ADD COLUMN day DATE"))
    db.session.commit()
    orders = db.session.scalar(sa.text("SELECT COUNT(*) FROM orders"))
    click.echo(f"added orders.day, empty in {orders} orders")
    report(added=True, orders=orders)


if __name__ == "__main__":
    from opsctl import run_directly

    run_directly(__file__)
