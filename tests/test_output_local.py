"""Times as tables show them (:func:`opsctl.output.local`): local, with the zone, the same
whichever road the zone takes (a zone that is UTC and never was anything else is written
without asking the system)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from opsctl import output

TIMES = [dt.datetime(2026, 11, 29, 14, 38, 11, 798371, tzinfo=dt.UTC),
         dt.datetime(2026, 7, 1, 0, 0, tzinfo=dt.UTC),
         dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC),
         dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=5)))]


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


def expected(when: dt.datetime, seconds: bool) -> str:
    there = when.astimezone()
    offset = int(there.utcoffset().total_seconds())  # type: ignore[union-attr]
    text = there.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    if not offset:
        return f"{text} UTC"
    sign, minutes = ("-", -offset // 60) if offset < 0 else ("+", offset // 60)
    return f"{text} {sign}{minutes // 60:02d}:{minutes % 60:02d}"


@pytest.mark.parametrize("tz", ["UTC", "Etc/UTC", "Europe/London", "Asia/Kolkata",
                                "America/St_Johns"])
def test_a_time_in_each_zone(zone: pytest.MonkeyPatch, tz: str) -> None:
    zone.setenv("TZ", tz)
    time.tzset()
    for when in TIMES:
        for seconds in (False, True):
            assert output.local(when, seconds) == expected(when, seconds), (tz, when)
    if tz in ("UTC", "Etc/UTC"):
        assert output.local(TIMES[0]) == "2026-11-29 14:38 UTC"
        assert output.local(TIMES[0], seconds=True) == "2026-11-29 14:38:11 UTC"
    if tz == "Europe/London":  # GMT in winter, BST in summer
        assert output.local(TIMES[0]).endswith(" UTC")
        assert output.local(TIMES[1]) == "2026-07-01 01:00 +01:00"
