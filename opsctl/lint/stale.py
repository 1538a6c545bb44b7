"""Stale temporary scripts: each date's state, and the stale scripts counted for the one
summary a lint reports unless ``--show-stale`` asks for each."""

from __future__ import annotations

from ..light import datetime as _dt

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..naming import Naming
    from .settings import LintConfig

# Date states, cached per distinct date string: a tree of 100,000 scripts has a few thousand.
OK, STALE, BAD = 0, 1, 2


class StaleScripts:
    """The stale scripts of one lint (a part of :class:`opsctl.lint.collector.Collector`)."""

    config: LintConfig
    naming: Naming
    today: _dt.date
    stale_before: _dt.date | None
    dates: dict[str, int]
    enabled: frozenset[str]
    stale_count: int
    stale_oldest: tuple[str, str] | None
    ignored: Callable[[str], object] | None

    def add(self, path: str, code: str, message: str, fix: str | None = None,
            line: int | None = None, found: str | None = None) -> None:
        raise NotImplementedError  # the collector's

    def stale(self, rel: str, day: str) -> None:
        if self.config.show_stale:
            self.add(rel, "OPS401", *_stale_text(day, self.config.stale_days))
            return
        if "OPS401" not in self.enabled or (self.ignored is not None and self.ignored(rel)):
            return
        self.stale_count += 1
        if self.stale_oldest is None or (day, rel) < self.stale_oldest:
            self.stale_oldest = (day, rel)

    def count_stale(self, folder: str, count: int, first: str) -> None:
        """``count`` stale scripts of ``folder``, ``first`` the least of their names."""
        self.stale_count += count
        oldest = (first[3:13], f"{folder}/{first}")
        if self.stale_oldest is None or oldest < self.stale_oldest:
            self.stale_oldest = oldest

    def date_state(self, text: str) -> int:
        state = self.dates.get(text)
        if state is None:
            try:
                day = _dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
            except ValueError:
                state = BAD
            else:
                if day > self.today or day < self.naming.date_floor:
                    state = BAD
                elif self.stale_before is not None and day < self.stale_before:
                    state = STALE
                else:
                    state = OK
            self.dates[text] = state
        return state

    def summarise_stale(self) -> None:
        """One finding for every stale script: how many, the oldest, where to see them."""
        if self.stale_oldest is None:
            return
        day, rel = self.stale_oldest
        message, fix = _stale_text(day, self.config.stale_days)
        if self.stale_count > 1:
            message = (f"the oldest of {self.stale_count:,} temporary scripts older than "
                       f"stale_days ({self.config.stale_days}), from {day.replace('_', '-')}; "
                       "'opsctl stale' lists them (or 'opsctl lint --show-stale')")
            fix = "delete them (opsctl clean), or promote what is still needed (opsctl promote)"
        self.add(rel, "OPS401", message, fix)
        self.stale_oldest = None


def _stale_text(day: str, stale_days: int) -> tuple[str, str]:
    return (f"a temporary script from {day.replace('_', '-')}, older than stale_days "
            f"({stale_days})",
            "delete it (opsctl clean), or promote it if it is still needed (opsctl promote)")
