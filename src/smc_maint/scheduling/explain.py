"""``schedule explain``: the next runs per group in UTC and local time, with DST effects flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .config import ScheduleConfig
from .slots import DstEffect, Slot, dst_affected, next_slots


@dataclass(frozen=True)
class GroupPlan:
    group: str
    cron: str
    enabled: bool
    catch_up: str
    max_age_hours: float | None
    upcoming: list[Slot]
    dst_flags: list[Slot]  # within the next year


def dst_note(slot: Slot) -> str:
    if slot.effect is DstEffect.SHIFTED:
        return f"DST skips {slot.wall:%H:%M} on {slot.wall:%Y-%m-%d}: runs once, after the gap"
    if slot.effect is DstEffect.ONCE_OF_TWO:
        return f"DST doubles {slot.wall:%H:%M} on {slot.wall:%Y-%m-%d}: runs once, at the first"
    return ""


def explain(sched: ScheduleConfig, now: datetime, count: int) -> list[GroupPlan]:
    zone = sched.zone()
    return [GroupPlan(name, gs.cron, gs.enabled, gs.catch_up, gs.max_age_hours,
                      next_slots(gs.cron, zone, now, count), dst_affected(gs.cron, zone, now))
            for name, gs in sched.groups.items()]


def to_json(sched: ScheduleConfig, plans: list[GroupPlan]) -> dict[str, Any]:
    zone = sched.zone()

    def slot(s: Slot) -> dict[str, Any]:
        return {"utc": s.utc.isoformat(), "local": s.local(zone).isoformat(), "dst": s.effect.value,
                "note": dst_note(s) or None}

    return {"timezone": sched.timezone, "groups": [
        {"group": p.group, "cron": p.cron, "enabled": p.enabled, "catch_up": p.catch_up,
         "max_age_hours": p.max_age_hours, "next": [slot(s) for s in p.upcoming],
         "dst_within_year": [slot(s) for s in p.dst_flags]} for p in plans]}
