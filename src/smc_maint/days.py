"""Calendar days in the one declared time zone (``timezone``), never the database session's.

A day is a half-open range of instants ``[start, end)`` computed here in Python from the
configured zone, so SQL compares ``timestamptz`` columns with two instants (sargable: an index
on the column serves it) and buckets with ``AT TIME ZONE <zone>`` (independent of the session's
TimeZone). A window of whole days ends at the start of today: figures over it do not move with
the hour the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError with a reason when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as UTC or Europe/Warsaw)") from None


def day_of(at: datetime, tz: ZoneInfo) -> date:
    """The calendar day ``at`` falls on in ``tz``."""
    return at.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``, as aware UTC (23, 24 or 25 hours apart over DST)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """Days ``first``..``last`` (inclusive) in zone ``tz``; instants ``[start, end)``."""

    first: date
    last: date
    start: datetime
    end: datetime
    tz: ZoneInfo
    complete: bool  # False when the last day is today, still running

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def describe(self) -> str:
        kind = "whole days" if self.complete else "days, today so far included"
        return f"{self.days} {kind} {self.first.isoformat()}..{self.last.isoformat()} ({self.tz.key})"


def whole_days(now: datetime, days: int, tz: ZoneInfo) -> Window:
    """The ``days`` completed days before today (in ``tz``): ends at the start of today."""
    today = day_of(now, tz)
    last = today - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    return Window(first, last, day_start(first, tz), day_start(today, tz), tz, True)


def days_to_now(now: datetime, days: int, tz: ZoneInfo) -> Window:
    """The last ``days`` days including today so far: ends at ``now``."""
    today = day_of(now, tz)
    first = today - timedelta(days=days - 1)
    return Window(first, today, day_start(first, tz), now.astimezone(UTC), tz, False)
