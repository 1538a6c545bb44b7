"""Export orders to CSV: the order id and the customer's name.

Recurring script: run it again whenever it is needed. Before copying it, extend it:
one script per purpose keeps recycle/ small.

    opsctl run recycle/export_order_id_and_custom_name --out orders.csv
    opsctl run --dry-run recycle/export_order_id_and_custom_name --since 2024-06-01
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import click
from sqlalchemy import select

from opsctl import current_run, report, track
from opsctl.demo import db
from opsctl.demo.models import Customer, Order

#: The columns it can export, by name.
COLUMNS = {
    "order_id": Order.id,
    "custom_name": Customer.name,
}


def order_rows(fields: Sequence[str], since: dt.date | None = None) -> list[tuple[object, ...]]:
    """Return the ``fields`` of every order, oldest first.

    ``since`` keeps the orders placed on or after that day. Requires an active application
    context.
    """
    query = (select(*(COLUMNS[f] for f in fields))
             .select_from(Order).join(Customer, Order.customer_id == Customer.id)
             .order_by(Order.created_at, Order.id))
    if since is not None:
        query = query.where(Order.created_at >= dt.datetime.combine(since, dt.time()))
    return [tuple(row) for row in db.session.execute(query)]


def write_csv(path: Path, fields: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Write the header and ``rows`` to ``path`` as CSV, all or nothing."""
    # A half-written export that looks complete is worse than none: write beside, then rename.
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(fields)
            writer.writerows(track(rows, description="export orders", total=len(rows)))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@click.command()
@click.option("--out", metavar="PATH", default="orders.csv", show_default=True,
              help="Where to write the CSV.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only orders placed on or after this day.")
def main(out: str, since: dt.datetime | None) -> None:
    """Export orders to CSV: the order id and the customer's name.

    A dry run writes no file: it says where it would write and how many orders.

    \b
    Example:
      opsctl run recycle/export_order_id_and_custom_name --since 2024-06-01 --out june.csv
    """
    fields = ("order_id", "custom_name")
    rows = order_rows(fields, since.date() if since else None)
    what = f"{len(rows)} orders to {out}: {', '.join(fields)}"
    if current_run().dry_run:
        click.echo(f"dry run: would write {what}")
    else:
        write_csv(Path(out), fields, rows)
        click.echo(f"wrote {what}")
    report(rows=len(rows), file=out, fields=list(fields))


if __name__ == "__main__":
    # `python offline_script/recycle/export_order_id_and_custom_name.py` runs exactly like
    # `opsctl run recycle/export_order_id_and_custom_name`: app context, ledger, lock.
    from opsctl import run_directly

    run_directly(__file__)
