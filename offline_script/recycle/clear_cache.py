"""Delete cache entries that expired more than a given time ago and report how many.

Recurring script: run it again whenever it is needed. Before copying it, extend it:
one script per purpose keeps recycle/ small.

    opsctl run recycle/clear_cache --help
    opsctl run --dry-run recycle/clear_cache
    opsctl run recycle/clear_cache --older-than 7d
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import click
from sqlalchemy import delete, select

from opsctl import current_run, report, track
from opsctl.demo import db
from opsctl.demo.models import CacheEntry, utcnow

_DURATION_RE = re.compile(r"(\d+)([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_BATCH = 500


class Duration(click.ParamType):
    """A length of time such as ``7d``, ``12h`` or ``1d12h`` (units: w d h m s)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        text = str(value).strip().lower()
        # The parts must cover the whole text, so "7 days" or "7d3" are refused, not half read.
        if not text or _DURATION_RE.sub("", text):
            self.fail(f"{value!r} is not a duration such as 7d, 12h or 1d12h "
                      "(units: w, d, h, m, s)", param, ctx)
        parts = {_UNITS[unit]: 0 for unit in _UNITS}
        for number, unit in _DURATION_RE.findall(text):
            parts[_UNITS[unit]] += int(number)
        return dt.timedelta(**parts)


def clear_cache(expired_before: dt.datetime) -> int:
    """Delete the cache entries that expired before ``expired_before``; return how many.

    Entries without an expiry are never deleted. The caller commits. Requires an active
    application context.
    """
    keys = db.session.scalars(
        select(CacheEntry.key).where(CacheEntry.expires_at < expired_before)
        .order_by(CacheEntry.key)
    ).all()
    # Batches keep each statement's parameter list within every driver's limits on a large
    # cache, and give the progress bar something to count.
    batches = [keys[i:i + _BATCH] for i in range(0, len(keys), _BATCH)]
    for batch in track(batches, description="clear_cache"):
        db.session.execute(delete(CacheEntry).where(CacheEntry.key.in_(batch)))
    return len(keys)


@click.command()
@click.option("--older-than", "older_than", type=Duration(), default="0d", show_default=True,
              metavar="DURATION",
              help="Delete entries that expired more than this long ago: 7d, 12h, 1d12h. "
                   "0d deletes every expired entry.")
def main(older_than: dt.timedelta) -> None:
    """Delete expired cache entries and report how many.

    Entries that never expire are kept.

    \b
    Examples:
      opsctl run --dry-run recycle/clear_cache       see the count, change nothing
      opsctl run recycle/clear_cache --older-than 7d
    """
    run = current_run()
    expired_before = utcnow() - older_than
    deleted = clear_cache(expired_before)
    db.session.commit()
    note = " (dry run: rolled back)" if run.dry_run else ""
    click.echo(f"deleted {deleted} cache entries that expired before "
               f"{expired_before:%Y-%m-%d %H:%M:%S} UTC{note}")
    report(deleted=deleted, expired_before=expired_before.isoformat(timespec="seconds"))


if __name__ == "__main__":
    # `python offline_script/recycle/clear_cache.py` runs exactly like
    # `opsctl run recycle/clear_cache`: app context, ledger, lock.
    from opsctl import run_directly

    run_directly(__file__)
