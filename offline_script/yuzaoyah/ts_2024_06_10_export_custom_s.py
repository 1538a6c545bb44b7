"""Export customers with their order count and total to a CSV file.

Temporary script by yuzaoyah, written 2024-06-10. Scratch: not reused, not shared.
If it keeps being needed, promote it:  opsctl promote yuzaoyah/ts_2024_06_10_export_custom_s

    opsctl run --dry-run yuzaoyah/ts_2024_06_10_export_custom_s
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

import click
from flask import current_app
from sqlalchemy import func, select

from opsctl import current_run, report, track
from opsctl.demo import db
from opsctl.demo.models import Customer, Order

COLUMNS = ("id", "name", "email", "created_at", "orders", "total_cents")


def customer_rows(since: dt.date | None = None) -> list[tuple[object, ...]]:
    """Return one row per customer (see :data:`COLUMNS`), oldest customer first.

    ``since`` keeps customers created on or after that day. Requires an active application
    context.
    """
    query = (
        select(Customer.id, Customer.name, Customer.email, Customer.created_at,
               func.count(Order.id), func.coalesce(func.sum(Order.amount_cents), 0))
        .outerjoin(Order, Order.customer_id == Customer.id)
        .group_by(Customer.id, Customer.name, Customer.email, Customer.created_at)
        .order_by(Customer.created_at, Customer.id)
    )
    if since is not None:
        query = query.where(Customer.created_at >= dt.datetime.combine(since, dt.time()))
    return [(cid, name, email, created.isoformat(timespec="seconds"), int(n), int(total))
            for cid, name, email, created, n, total in db.session.execute(query)]


def write_csv(rows: Iterable[Sequence[object]], out: TextIO) -> int:
    """Write the header and ``rows`` as CSV to ``out``; return the number of rows."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    written = 0
    for row in rows:
        writer.writerow(row)
        written += 1
    return written


def export_to(path: Path, rows: Sequence[Sequence[object]]) -> int:
    """Write ``rows`` to ``path`` as CSV, all or nothing; return the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A half-written export that looks complete is worse than none: write beside, then rename.
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as fh:
            written = write_csv(track(rows, description="export customers", total=len(rows)),
                                fh)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return written


@click.command()
@click.option("--out", "out", metavar="PATH", default=None,
              help="Where to write the CSV; '-' for stdout. Default: "
                   "customers_<today>.csv in the app's instance folder.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="Only customers created on or after this day.")
def main(out: str | None, since: dt.datetime | None) -> None:
    """Export customers with their order count and total (cents) to CSV.

    A dry run writes no file: it says where it would write and how many rows. With
    --out - the CSV goes to stdout, dry run or not.

    \b
    Example:
      opsctl run yuzaoyah/ts_2024_06_10_export_custom_s --since 2024-01-01 --out customers.csv
    """
    run = current_run()
    rows = customer_rows(since.date() if since else None)
    if out == "-":
        count = write_csv(rows, sys.stdout)
        report(rows=count, file="-")
        return
    path = (Path(out) if out else
            Path(current_app.instance_path) / f"customers_{dt.date.today():%Y_%m_%d}.csv"
            ).absolute()
    if run.dry_run:
        click.echo(f"dry run: would write {len(rows)} customers to {path}")
        report(rows=len(rows), file=str(path), written=False)
        return
    count = export_to(path, rows)
    click.echo(f"wrote {count} customers to {path}")
    report(rows=count, file=str(path), written=True)


if __name__ == "__main__":
    # `python offline_script/yuzaoyah/ts_2024_06_10_export_custom_s.py` runs exactly like
    # `opsctl run yuzaoyah/ts_2024_06_10_export_custom_s`: app context, ledger, lock.
    from opsctl import run_directly

    run_directly(__file__)
