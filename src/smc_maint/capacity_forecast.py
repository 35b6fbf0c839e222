"""Linear growth and the day a limit is reached, from time series of recorded figures. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Trend:
    points: int
    span_days: float
    slope_per_day: float  # least-squares slope
    last_value: float
    last_at: datetime


@dataclass(frozen=True)
class Forecast:
    limit: float
    days_left: float | None  # None: not growing, the limit is never reached on this trend
    reached_at: datetime | None
    already_reached: bool


def trend(series: Sequence[tuple[datetime, float]]) -> Trend | None:
    """Least-squares line through ``series``; None with fewer than two distinct times."""
    if len(series) < 2:
        return None
    t0 = series[0][0]
    xs = [(at - t0).total_seconds() / 86400 for at, _ in series]
    ys = [v for _, v in series]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return Trend(n, xs[-1] - xs[0], slope, ys[-1], series[-1][0])


def forecast(tr: Trend, limit: float) -> Forecast:
    """When the last value, growing at the trend's slope, reaches ``limit``."""
    if tr.last_value >= limit:
        return Forecast(limit, 0.0, tr.last_at, True)
    if tr.slope_per_day <= 0:
        return Forecast(limit, None, None, False)
    days = (limit - tr.last_value) / tr.slope_per_day
    return Forecast(limit, days, tr.last_at + timedelta(days=days), False)
