"""The platform's own trading activity, read from ``trades``: per hour of the week, and right now.

Reads only (two aggregate queries on sargable ``timestamp`` ranges, under a short statement
timeout); the decisions over these facts are in ``quiet`` (windows) and ``gate`` (deferral).
Hours of the week are counted in a given zone: Monday 00:00 is hour 0, Sunday 23:00 hour 167.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

HOURS_PER_WEEK = 168

# One bucket per hour (date_bin on the timestamptz itself: no per-row zone conversion), aligned to
# the zone's local hours by ``origin`` (a local midnight); buckets map to hours of the week in Python.
# notional = executed quantity x executed price (falls back to the order's when not executed)
HEAT_QUERY = """
SELECT date_bin('1 hour', "timestamp", %(origin)s) AS bucket,
       count(*) AS trades,
       coalesce(sum(abs(coalesce(executed_quantity, quantity) * coalesce(executed_price, price))), 0) AS notional
FROM trades
WHERE "timestamp" >= %(start)s AND "timestamp" < %(end)s
GROUP BY 1
"""

RECENT_QUERY = """SELECT count(*) FROM trades WHERE "timestamp" >= %(start)s AND "timestamp" < %(end)s"""


@dataclass(frozen=True)
class HeatMap:
    """Mean trades and notional per occurrence of each hour of the week, over ``days`` days."""

    zone: str
    days: int
    start: datetime
    end: datetime
    trades: tuple[float, ...]  # 168 values, hour of week -> mean trades in that hour
    notional: tuple[float, ...]

    def cell(self, dow: int, hour: int) -> float:
        return self.trades[dow * 24 + hour]

    @property
    def total_trades(self) -> float:
        return sum(self.trades)


def hour_of_week(at: datetime, tz: ZoneInfo) -> int:
    local = at.astimezone(tz)
    return local.weekday() * 24 + local.hour


def occurrences(start: datetime, end: datetime, tz: ZoneInfo) -> list[int]:
    """How many times each hour of the week occurs in ``[start, end)`` (local hours, DST included)."""
    counts = [0] * HOURS_PER_WEEK
    at = start.replace(minute=0, second=0, microsecond=0)
    if at < start:
        at += timedelta(hours=1)
    while at < end:
        counts[hour_of_week(at, tz)] += 1
        at += timedelta(hours=1)
    return counts


def hourly(conn: psycopg.Connection[Any], start: datetime, end: datetime, tz: ZoneInfo
           ) -> list[tuple[datetime, float, float]]:
    """(hour bucket start, trades, notional) for every local hour of ``[start, end)`` that had trades."""
    origin = datetime.combine(start.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    rows = conn.execute(HEAT_QUERY, {"origin": origin, "start": start, "end": end}).fetchall()
    return [(r[0], float(r[1]), float(r[2])) for r in rows]


def read_heat_map(conn: psycopg.Connection[Any], now: datetime, days: int, tz: ZoneInfo) -> HeatMap:
    """Activity per hour of the week over the ``days`` days before ``now``."""
    end = now
    start = now - timedelta(days=days)
    trades = [0.0] * HOURS_PER_WEEK
    notional = [0.0] * HOURS_PER_WEEK
    for bucket, count, value in hourly(conn, start, end, tz):
        trades[hour_of_week(bucket, tz)] += count
        notional[hour_of_week(bucket, tz)] += value
    seen = occurrences(start, end, tz)
    return HeatMap(tz.key, days, start, end,
                   tuple(t / n if n else 0.0 for t, n in zip(trades, seen, strict=True)),
                   tuple(v / n if n else 0.0 for v, n in zip(notional, seen, strict=True)))


def read_recent(conn: psycopg.Connection[Any], now: datetime, minutes: float) -> int:
    """Trades in the last ``minutes`` before ``now``."""
    row = conn.execute(RECENT_QUERY, {"start": now - timedelta(minutes=minutes), "end": now}).fetchone()
    return int(row[0]) if row else 0


Connect = Callable[[], "psycopg.Connection[Any]"]
