"""PostgreSQL's minor releases: the second Thursday of February, May, August and November."""

from __future__ import annotations

from datetime import date, timedelta

MONTHS = (2, 5, 8, 11)


def second_thursday(year: int, month: int) -> date:
    first = date(year, month, 1)
    to_thursday = (3 - first.weekday()) % 7  # Monday = 0, Thursday = 3
    return first + timedelta(days=to_thursday + 7)


def next_minor_release(today: date) -> date:
    """The next scheduled minor release on or after ``today`` (out-of-cycle releases are not planned)."""
    for year in (today.year, today.year + 1):
        for month in MONTHS:
            day = second_thursday(year, month)
            if day >= today:
                return day
    raise AssertionError("unreachable: a scheduled release falls within any 12 months")
