"""Quiet windows: the hours of the week in which the platform trades least, long enough for a job.

Pure functions over a :class:`~.activity.HeatMap`: slide a window of the job's length over the
168 hours of the week (wrapping from Sunday night into Monday), score each start by the mean
activity it covers, and turn the best start into a cron expression in the schedule's zone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .activity import HOURS_PER_WEEK, HeatMap

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CRON_DOW = (1, 2, 3, 4, 5, 6, 0)  # cron's day-of-week: Sunday is 0


@dataclass(frozen=True)
class QuietWindow:
    start_hour: int  # hour of the week in the heat map's zone (Monday 00:00 = 0)
    hours: int
    mean_trades_per_hour: float
    share_of_average: float  # the window's activity over the period's mean hour (1.0 = average)
    period: int = HOURS_PER_WEEK  # 168: an hour of the week; 24: the same hours every day

    @property
    def label(self) -> str:
        end = (self.start_hour + self.hours) % self.period
        if self.period == 24:
            return f"daily {self.start_hour:02d}:00-{end:02d}:00"
        return (f"{DAY_NAMES[self.start_hour // 24]} {self.start_hour % 24:02d}:00-"
                f"{DAY_NAMES[end // 24]} {end % 24:02d}:00")


def p95(values: Sequence[float]) -> float | None:
    """The 95th percentile (nearest rank) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def window_hours(duration_seconds: float, margin: float = 1.5) -> int:
    """Whole hours a job of this duration needs, with a safety margin."""
    return max(1, min(HOURS_PER_WEEK, math.ceil(duration_seconds * margin / 3600)))


def quietest(values: Sequence[float], hours: int, count: int = 3) -> list[QuietWindow]:
    """The ``count`` quietest non-overlapping windows of ``hours`` hours, quietest first; ``values``
    is one period (168 hours of a week, or 24 of a day) that wraps around."""
    period = len(values)
    hours = min(hours, period)
    mean_hour = sum(values) / period if period else 0.0
    scores = sorted((sum(values[(s + i) % period] for i in range(hours)), s) for s in range(period))
    chosen: list[QuietWindow] = []
    taken: set[int] = set()
    for total, start in scores:
        span = {(start + i) % period for i in range(hours)}
        if span & taken:
            continue
        taken |= span
        mean = total / hours
        chosen.append(QuietWindow(start, hours, mean, mean / mean_hour if mean_hour else 0.0, period))
        if len(chosen) == count:
            break
    return chosen


def cron_for(window: QuietWindow, heat_zone: ZoneInfo, cron_zone: ZoneInfo, now: datetime,
             weekly: bool) -> str:
    """A cron expression (in ``cron_zone``) starting at the window's start: weekly on its day, or
    daily at its hour. The conversion between zones uses the next such hour after ``now``."""
    local_now = now.astimezone(heat_zone)
    monday = (local_now - timedelta(days=local_now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    at = monday + timedelta(hours=window.start_hour)
    if at <= local_now:
        at += timedelta(days=7)
    in_cron = at.astimezone(cron_zone)
    if weekly:
        return f"0 {in_cron.hour} * * {CRON_DOW[in_cron.weekday()]}"
    return f"0 {in_cron.hour} * * *"


def daily_profile(heat: HeatMap) -> list[float]:
    """Mean trades per hour of the day (over the seven days): for jobs that run daily."""
    return [sum(heat.trades[d * 24 + h] for d in range(7)) / 7 for h in range(24)]


def quietest_daily(heat: HeatMap, hours: int, count: int = 3) -> list[QuietWindow]:
    """Quietest windows for a daily job: the same hours every day (start hours 0..23, i.e. Monday's)."""
    return quietest(daily_profile(heat), hours, count)


DEFAULT_DURATION_SECONDS = 1800.0  # a heavy procedure with no recorded runs yet is planned at 30 min


@dataclass(frozen=True)
class Suggestion:
    procedure_id: str
    group: str
    duration_seconds: float
    duration_basis: str  # "p95 of N runs" or "default"
    windows: list[QuietWindow]
    cron: str | None
    zone: str

    def to_json(self) -> dict[str, object]:
        return {"procedure": self.procedure_id, "group": self.group, "duration_seconds": round(self.duration_seconds, 1),
                "duration_basis": self.duration_basis, "cron": self.cron, "cron_timezone": self.zone,
                "windows": [{"window": w.label, "start_hour": w.start_hour, "hours": w.hours,
                    "mean_trades_per_hour": round(w.mean_trades_per_hour, 2),
                    "share_of_average": round(w.share_of_average, 3)} for w in self.windows]}


def suggest(heat: HeatMap, durations: dict[str, list[float]], groups: dict[str, str], heat_zone: ZoneInfo,
            cron_zone: ZoneInfo, now: datetime) -> list[Suggestion]:
    """For each heavy procedure: its duration (p95 of recent runs), the quietest windows long enough
    for it (the same hours daily for daily procedures, an hour of the week otherwise) and a cron."""
    out = []
    for pid, group in groups.items():
        runs = durations.get(pid, [])
        duration = p95(runs)
        basis = f"p95 of {len(runs)} recorded runs" if duration is not None else "no runs recorded: 30 min assumed"
        seconds = duration if duration is not None else DEFAULT_DURATION_SECONDS
        hours = window_hours(seconds)
        daily = group == "daily"
        windows = quietest_daily(heat, hours) if daily else quietest(heat.trades, hours)
        cron = cron_for(windows[0], heat_zone, cron_zone, now, weekly=not daily) if windows and heat.total_trades \
            else None
        out.append(Suggestion(pid, group, seconds, basis, windows, cron, cron_zone.key))
    return out
