"""``trading-summary``: the runbook's 7-day daily P&L (trades, wins, total, average) from ``trades``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field

from ..adapters.postgres import DatabaseUnavailable
from ..config.model import Section
from ..context import Context
from ..days import Window, days_to_now
from ..result import Result, Status


class Settings(Section):
    days: int = Field(7, ge=1, le=366, description="how many days back, today included")
    warn_on_loss_days: int = Field(0, ge=0, description="warn when this many days in the window lost money "
                                   "(0 = never: P&L is reported, not judged)")


@dataclass(frozen=True)
class DayPnl:
    day: date
    trades: int
    winning: int
    total: Decimal
    average: Decimal | None


# Bounds are two instants computed in the declared zone (sargable on the timestamptz column, and
# independent of the session's TimeZone); days are bucketed in that same zone.
QUERY = """
SELECT ("timestamp" AT TIME ZONE %(tz)s)::date AS day,
       count(*) AS trades,
       count(*) FILTER (WHERE pnl > 0) AS winning,
       coalesce(sum(pnl), 0) AS total,
       avg(pnl) AS average
FROM trades
WHERE "timestamp" >= %(start)s AND "timestamp" < %(end)s
  AND status IN ('filled', 'partially_filled')
GROUP BY 1
ORDER BY 1 DESC
"""


def summarize(days: list[DayPnl], settings: Settings, window: Window | None = None) -> Result:
    """Pure decision: the table, the totals, and a warning only if configured."""
    total = sum((d.total for d in days), Decimal(0))
    trades = sum(d.trades for d in days)
    wins = sum(d.winning for d in days)
    losing_days = sum(1 for d in days if d.total < 0)
    rows = [[d.day.isoformat(), d.trades, d.winning, f"{d.total:.2f}",
             f"{d.average:.2f}" if d.average is not None else "-"] for d in days]
    details: dict[str, Any] = {
        "days": [{"date": d.day.isoformat(), "trades": d.trades, "winning_trades": d.winning,
                  "total_pnl": float(d.total), "avg_pnl": float(d.average) if d.average is not None else None}
                 for d in days],
        "table": {"columns": ["date", "trades", "wins", "total P&L", "avg P&L"], "rows": rows},
        "losing_days": losing_days,
    }
    if window is not None:
        details["window"] = window.describe()
        details["timezone"] = window.tz.key
    figures = {"trades_7d": float(trades), "pnl_7d": float(total),
               "win_rate_7d": (wins / trades) if trades else 0.0}
    summary = (f"{settings.days} days: {trades} trades, {wins} winning "
               f"({(wins / trades * 100) if trades else 0:.1f}%), P&L {total:+.2f}, {losing_days} losing days")
    if not days:
        return Result(Status.WARNING, f"no filled trades in the last {settings.days} days", details, figures)
    if settings.warn_on_loss_days and losing_days >= settings.warn_on_loss_days:
        return Result(Status.WARNING, summary, details, figures)
    return Result(Status.OK, summary, details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    window = days_to_now(ctx.clock.now(), settings.days, ctx.cfg.config.zone())
    try:
        with ctx.connect() as conn:
            rows = conn.execute(QUERY, {"tz": window.tz.key, "start": window.start, "end": window.end}).fetchall()
    except DatabaseUnavailable as exc:
        return Result(Status.CRITICAL, f"database unreachable: {exc}")
    days = [DayPnl(r[0], int(r[1]), int(r[2]), Decimal(r[3]), Decimal(r[4]) if r[4] is not None else None)
            for r in rows]
    return summarize(days, settings, window)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"days": 7}
