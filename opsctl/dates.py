"""Calendar dates inside names: the regex of a window of dates, and why a date is not one.

The lint proves a temporary name's date good inside its one fast match
(:func:`dates_between`), so this module costs nothing but :mod:`datetime`: no ``calendar``
(it imports ``locale``, 2 ms a lint).
"""

from __future__ import annotations

from .light import datetime as _dt


def dates_between(first: _dt.date, last: _dt.date) -> str:
    """A regex matching exactly the dates ``first`` to ``last`` as ``YYYY_MM_DD``: one
    alternative per month, the days as ranges (``2024_02_(?:2[8-9])``)."""
    months: list[str] = []
    day = first
    while day <= last:
        end = min(last, day.replace(day=days_in_month(day.year, day.month)))
        ranges = []
        for tens in range(day.day // 10, end.day // 10 + 1):
            low, high = max(day.day, tens * 10), min(end.day, tens * 10 + 9)
            ranges.append(f"{tens}[{low % 10}-{high % 10}]")
        months.append(f"{day:%Y_%m}_(?:{'|'.join(ranges)})")
        day = end + _dt.timedelta(days=1)
    return f"(?:{'|'.join(months)})" if months else "(?!)"


# English whatever the locale, and no calendar module (it imports locale: 2 ms a lint).
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


def days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (_dt.date(year, month + 1, 1) - _dt.timedelta(days=1)).day


def why_not_a_date(year: int, month: int, day: int) -> str:
    """Say which part of an impossible date is wrong: ``2023_02_29`` -> not a leap year."""
    if year < 1:
        return "there is no year 0"
    if not 1 <= month <= 12:
        return f"there is no month {month:02d}"
    if month == 2 and day == 29:
        return f"{year} is not a leap year"
    if day < 1:
        return "there is no day 00"
    return f"{_MONTH_NAMES[month - 1]} has {days_in_month(year, month)} days"


#: The earliest date a temporary script's name may carry unless ``date_floor`` says otherwise:
#: ``ts_0001_01_01`` is a calendar date, but no script was written then.
DEFAULT_DATE_FLOOR = _dt.date(2000, 1, 1)


def parse_floor(text: str) -> _dt.date | None:
    """``2015-01-01`` (or ``2015_01_01``) as a date; None when it is not one."""
    try:
        return _dt.date.fromisoformat(text.replace("_", "-"))
    except ValueError:
        return None
