"""Slot arithmetic: which UTC instants a cron expression in a time zone names.

Cron is read in wall-clock time of the zone; each wall time becomes one UTC instant, the key of
the run. A wall time that a DST change skips runs at the first instant after the gap; a wall
time that a DST change doubles runs once, at its first occurrence. Different wall times that land
on the same instant are one slot. So every scheduler, replica and restart agrees on the keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from croniter import croniter

# Zone offsets differ from UTC by at most 26 h; scanning wall time this much beyond the UTC
# window catches every wall time that lands inside it.
_MARGIN = timedelta(hours=27)


class DstEffect(StrEnum):
    NONE = "none"
    SHIFTED = "shifted"  # the wall time does not exist that day: runs right after the gap
    ONCE_OF_TWO = "once-of-two"  # the wall time happens twice that day: runs at the first


@dataclass(frozen=True)
class Slot:
    """One scheduled run: its key (``utc``), the wall time cron named, and any DST effect."""

    utc: datetime
    wall: datetime  # naive wall-clock time in the zone, as cron named it
    effect: DstEffect = DstEffect.NONE

    def local(self, zone: ZoneInfo) -> datetime:
        return self.utc.astimezone(zone)


def wall_to_utc(wall: datetime, zone: ZoneInfo) -> tuple[datetime, DstEffect]:
    """The instant a naive wall time names in ``zone`` (fold=0 rule), and how DST touched it."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    utc = first.astimezone(UTC)
    if first.utcoffset() == second.utcoffset():
        return utc, DstEffect.NONE
    # Offsets differ: the wall time is either in a gap (does not round-trip) or in a fold.
    if utc.astimezone(zone).replace(tzinfo=None) != wall:
        return utc, DstEffect.SHIFTED
    return utc, DstEffect.ONCE_OF_TWO


def _walls(cron: str, start: datetime, *, backwards: bool = False) -> Iterator[datetime]:
    it = croniter(cron, start)
    while True:
        nxt = it.get_prev(datetime) if backwards else it.get_next(datetime)
        yield nxt


def _to_wall(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def slots_between(cron: str, zone: ZoneInfo, after: datetime, until: datetime) -> list[Slot]:
    """Slots with ``after < utc <= until``, oldest first, one per distinct instant."""
    if until <= after:
        return []
    found: dict[datetime, Slot] = {}
    end_wall = _to_wall(until, zone) + _MARGIN
    for wall in _walls(cron, _to_wall(after, zone) - _MARGIN):
        if wall > end_wall:
            break
        utc, effect = wall_to_utc(wall, zone)
        if after < utc <= until and utc not in found:
            found[utc] = Slot(utc, wall, effect)
    return [found[k] for k in sorted(found)]


def next_slots(cron: str, zone: ZoneInfo, after: datetime, count: int) -> list[Slot]:
    """The next ``count`` slots strictly after ``after``."""
    out: list[Slot] = []
    seen: set[datetime] = set()
    for wall in _walls(cron, _to_wall(after, zone) - _MARGIN):
        utc, effect = wall_to_utc(wall, zone)
        if utc <= after or utc in seen:
            continue
        seen.add(utc)
        out.append(Slot(utc, wall, effect))
        # wall times are increasing; instants can be out of order by at most the DST jump
        if len(out) >= count + 2:
            break
    out.sort(key=lambda s: s.utc)
    return out[:count]


def latest_slot(cron: str, zone: ZoneInfo, at: datetime) -> Slot | None:
    """The newest slot with ``utc <= at`` (None if cron never fired in the last ~5 years)."""
    best: Slot | None = None
    limit = _to_wall(at, zone) - timedelta(days=5 * 366)
    for wall in _walls(cron, _to_wall(at, zone) + _MARGIN, backwards=True):
        if wall < limit:
            break
        utc, effect = wall_to_utc(wall, zone)
        if utc <= at and (best is None or utc > best.utc):
            best = Slot(utc, wall, effect)
        if best is not None and wall < _to_wall(best.utc, zone) - _MARGIN:
            break
    return best


def dst_affected(cron: str, zone: ZoneInfo, after: datetime, days: int = 366) -> list[Slot]:
    """Slots within ``days`` that a DST change shifts or that run once of a doubled wall time."""
    return [s for s in slots_between(cron, zone, after, after + timedelta(days=days))
            if s.effect is not DstEffect.NONE]
