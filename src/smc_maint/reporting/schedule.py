"""Expected run slots from the cron schedule: what 'scheduled' means in reports and the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import croniter

_EPS = timedelta(microseconds=1)


def slots_between(expr: str, since: datetime, until: datetime) -> list[datetime]:
    """Every slot of cron ``expr`` (UTC) in [since, until)."""
    it = croniter(expr, since.astimezone(UTC) - _EPS)
    out: list[datetime] = []
    while True:
        slot = it.get_next(datetime).astimezone(UTC)
        if slot >= until:
            return out
        if slot >= since:
            out.append(slot)


def next_slot(expr: str, after: datetime) -> datetime:
    """The first slot of ``expr`` strictly after ``after``."""
    slot: datetime = croniter(expr, after.astimezone(UTC)).get_next(datetime)
    return slot.astimezone(UTC)


def previous_slot(expr: str, before: datetime) -> datetime:
    """The latest slot of ``expr`` at or before ``before``."""
    slot: datetime = croniter(expr, before.astimezone(UTC) + _EPS).get_prev(datetime)
    return slot.astimezone(UTC)
