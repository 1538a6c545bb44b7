"""Normalise dirty order statuses: stray whitespace, upper case, "canceled".

One-off data fix, kept as the record of what was changed and how: the checkout form stored
statuses without stripping them and a batch job wrote them in upper case, so reports grouped
"paid", " Paid" and "PAID" apart. Statuses no rule can repair are listed, never guessed.
opsctl refuses to run an unrecycle script again once it has succeeded, unless --force.

    opsctl run --dry-run unrecycle/flush_order_data --verbose
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import click
from sqlalchemy import select, update

from opsctl import current_run, report, track
from opsctl.demo import db
from opsctl.demo.models import ORDER_STATUSES, Order, normalise_status


# NamedTuples rather than dataclasses: a dataclass needs its module in sys.modules, and a
# script may be loaded from its file without being registered there.
class Change(NamedTuple):
    """One order's status, before and after."""

    order_id: int
    old: str
    new: str


class Cleanup(NamedTuple):
    """What the fix did: the changes made, and how many orders had each status it could not
    repair."""

    changes: tuple[Change, ...]
    unrepairable: dict[str, int]


def flush_order_data() -> Cleanup:
    """Rewrite every order status that is not exactly a canonical one.

    The caller commits. Requires an active application context.
    """
    # Compared in Python, not with ``status NOT IN (...)`` in SQL: MySQL's default collations
    # compare case- and trailing-space-insensitively, and would hide exactly these rows.
    rows = db.session.execute(select(Order.id, Order.status).order_by(Order.id)).all()
    changes: list[Change] = []
    unrepairable: Counter[str] = Counter()
    for order_id, status in track(rows, description="flush_order_data", total=len(rows)):
        if status in ORDER_STATUSES:
            continue
        new = normalise_status(status)
        if new is None:
            unrepairable[status] += 1
        else:
            changes.append(Change(order_id, status, new))
    if changes:
        # One executemany UPDATE ... WHERE id = ? for all rows (SQLAlchemy's bulk update by
        # primary key), not one round trip per order.
        db.session.execute(update(Order), [{"id": c.order_id, "status": c.new}
                                           for c in changes])
    return Cleanup(changes=tuple(changes), unrepairable=dict(unrepairable))


@click.command()
@click.option("-v", "--verbose", is_flag=True, help="List every order changed.")
def main(verbose: bool) -> None:
    """Normalise dirty order statuses (whitespace, case, "canceled").

    Statuses no rule can repair are listed and left as they are.

    \b
    Example:
      opsctl run --dry-run unrecycle/flush_order_data --verbose
    """
    run = current_run()
    result = flush_order_data()
    db.session.commit()
    if verbose:
        for change in result.changes:
            click.echo(f"order {change.order_id}: {change.old!r} -> {change.new!r}")
    note = " (dry run: rolled back)" if run.dry_run else ""
    click.echo(f"normalised {len(result.changes)} order statuses{note}")
    for status, count in sorted(result.unrepairable.items()):
        click.echo(f"left {count} orders with unknown status {status!r}", err=True)
    report(fixed=len(result.changes), unrepairable=sum(result.unrepairable.values()),
           unrepairable_statuses=sorted(result.unrepairable))


if __name__ == "__main__":
    # `python offline_script/unrecycle/flush_order_data.py` runs exactly like
    # `opsctl run unrecycle/flush_order_data`: app context, ledger, lock.
    from opsctl import run_directly

    run_directly(__file__)
