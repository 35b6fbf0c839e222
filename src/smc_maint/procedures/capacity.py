"""``capacity``: growth of database size and disk use from the metrics snapshots in history, the
date disk or a configured database size limit is reached, and the trend of trade volume."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from ..capacity_forecast import Forecast, Trend, forecast, trend
from ..config.model import Section
from ..context import Context
from ..history import History
from ..result import Result, Status, worst

SOURCE = "metrics-snapshot"


class Settings(Section):
    window_days: float = Field(30, gt=0, description="fit the trend over this many days of snapshots")
    min_points: int = Field(3, ge=2)
    min_span_days: float = Field(1, ge=0, description="snapshots must cover at least this long")
    horizon_days: float = Field(30, gt=0, description="warn when a limit is reached within this many days")
    critical_days: float = Field(7, ge=0)
    disk_limit_percent: float = Field(95, gt=0, le=100, description="disk counts as full at this use")
    db_size_limit_bytes: int | None = Field(None, gt=0, description="e.g. the volume or plan size of the database")
    stale_after_days: float = Field(3, gt=0, description="warn when the newest snapshot is older")


def _series(history: History, name: str, since: datetime) -> list[tuple[datetime, float]]:
    return [(p.at, p.value) for p in history.figure_series(name, since=since, procedure_id=SOURCE)]


def _judge(label: str, fc: Forecast, tr: Trend, settings: Settings) -> tuple[Status, str | None]:
    if fc.already_reached:
        return Status.CRITICAL, f"{label} limit already reached ({tr.last_value:.0f} >= {fc.limit:.0f})"
    if fc.days_left is None or fc.reached_at is None:
        return Status.OK, None
    when = f"{label} limit reached in {fc.days_left:.0f} days ({fc.reached_at:%Y-%m-%d})"
    if fc.days_left <= settings.critical_days:
        return Status.CRITICAL, when
    if fc.days_left <= settings.horizon_days:
        return Status.WARNING, when
    return Status.OK, None


def assess(series: dict[str, list[tuple[datetime, float]]], now: datetime, settings: Settings) -> Result:
    """Pure: trends, forecasts and statuses from the figure series (oldest first)."""
    db = series.get("db_size_bytes", [])
    if not any(series.values()):
        return Result(Status.UNKNOWN, f"no {SOURCE} figures in history: run the daily group (metrics-snapshot) "
                      "so capacity has data")
    newest = max(s[-1][0] for s in series.values() if s)
    if len(db) < settings.min_points or (db[-1][0] - db[0][0]).total_seconds() < settings.min_span_days * 86400:
        return Result(Status.SKIPPED, f"not enough history yet: {len(db)} snapshot(s) of db_size_bytes, need "
                      f"{settings.min_points} over {settings.min_span_days:g} day(s)")
    statuses = [Status.OK]
    problems: list[str] = []
    details: dict[str, Any] = {}
    figures: dict[str, float] = {}
    if now - newest > timedelta(days=settings.stale_after_days):
        statuses.append(Status.WARNING)
        problems.append(f"newest metrics snapshot is from {newest:%Y-%m-%d}: {SOURCE} has stopped recording")

    db_trend = trend(db)
    if db_trend:
        figures["db_growth_bytes_per_day"] = db_trend.slope_per_day
        details["database"] = {"size_bytes": db_trend.last_value, "growth_bytes_per_day": round(db_trend.slope_per_day),
                               "points": db_trend.points, "span_days": round(db_trend.span_days, 2)}
        if settings.db_size_limit_bytes:
            fc = forecast(db_trend, settings.db_size_limit_bytes)
            details["database"].update(limit_bytes=settings.db_size_limit_bytes, days_left=fc.days_left,
                                       reached_at=fc.reached_at.isoformat() if fc.reached_at else None)
            if fc.days_left is not None:
                figures["db_limit_days_left"] = fc.days_left
            status, msg = _judge("database size", fc, db_trend, settings)
            statuses.append(status)
            if msg:
                problems.append(msg)

    used, total = series.get("disk_used_bytes", []), series.get("disk_total_bytes", [])
    disk_trend = trend(used)
    if disk_trend and total:
        limit = total[-1][1] * settings.disk_limit_percent / 100
        fc = forecast(disk_trend, limit)
        figures["disk_growth_bytes_per_day"] = disk_trend.slope_per_day
        if fc.days_left is not None:
            figures["disk_days_left"] = fc.days_left
        details["disk"] = {"used_bytes": disk_trend.last_value, "total_bytes": total[-1][1],
                           "limit_bytes": round(limit), "growth_bytes_per_day": round(disk_trend.slope_per_day),
                           "days_left": fc.days_left, "full_at": fc.reached_at.isoformat() if fc.reached_at else None}
        status, msg = _judge(f"disk ({settings.disk_limit_percent:g} %)", fc, disk_trend, settings)
        statuses.append(status)
        if msg:
            problems.append(msg)

    trades = series.get("trades_rows", [])
    cut = now - timedelta(days=settings.window_days / 2)
    recent, earlier = trend([p for p in trades if p[0] >= cut]), trend([p for p in trades if p[0] < cut])
    if recent:
        figures["trades_per_day"] = recent.slope_per_day
        details["trades"] = {"rows": recent.last_value, "per_day": round(recent.slope_per_day, 1),
                             "per_day_before": round(earlier.slope_per_day, 1) if earlier else None}

    parts = []
    if db_trend:
        parts.append(f"database {db_trend.last_value / 2**20:.0f} MiB, {db_trend.slope_per_day / 2**20:+.1f} MiB/day")
    if "disk" in details:
        d = details["disk"]
        parts.append(f"disk {d['used_bytes'] / d['total_bytes']:.0%} used, "
                     + (f"full in {d['days_left']:.0f} days" if d["days_left"] is not None else "not growing"))
    if recent:
        parts.append(f"{recent.slope_per_day:.0f} trades/day"
                     + (f" (was {earlier.slope_per_day:.0f})" if earlier else ""))
    details["problems"] = problems
    summary = ", ".join(parts) + ("; " + "; ".join(problems) if problems else "")
    return Result(worst(statuses), summary, details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    now = ctx.clock.now()
    since = now - timedelta(days=settings.window_days)
    names = ("db_size_bytes", "disk_used_bytes", "disk_total_bytes", "trades_rows")
    return assess({n: _series(ctx.history, n, since) for n in names}, now, settings)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"horizon_days": 30, "db_size_limit_bytes": 2 * 2**30}
