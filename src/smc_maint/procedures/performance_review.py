"""``performance-review`` (monthly): trading statistics done right, table scan statistics, trends.

The runbook's "Sharpe ratio" is mean/stddev of per-trade P&L. A Sharpe ratio is computed on
period returns and annualised: here daily returns (P&L over the configured capital, every
calendar day counted — crypto trades 24/7, so a year is 365 days, and a day with no trades is a
0 return, not a missing one).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from ..adapters.postgres import DatabaseUnavailable
from ..config.model import Section
from ..context import Context
from ..result import Result, Status, worst

DAYS_PER_YEAR = 365


class Settings(Section):
    days: int = Field(30, ge=2, le=366, description="review window in days")
    capital: float = Field(100_000.0, gt=0, description="capital base that turns daily P&L into returns")
    risk_free_rate: float = Field(0.0, ge=0, description="annual risk-free rate, e.g. 0.04")
    seq_scan_ratio_warning: float = Field(
        0.5, ge=0, le=1, description="flag tables (over min_table_rows) where sequential scans exceed this share")
    min_table_rows: int = Field(10_000, ge=0)
    # The runbook's Prometheus half (platform_usage.py); unset URL = not reviewed, with the reason
    prometheus_url: str | None = Field(None, description="Prometheus base URL, e.g. http://prometheus:9090")
    prometheus_timeout_seconds: float = Field(30.0, gt=0, description="total deadline of all Prometheus queries")
    container_selector: str = Field('namespace="smc-trading",container!=""',
                                    description="PromQL label matchers of the platform's containers (cAdvisor)")
    latency_selector: str = Field('job="smc-api"', description="label matchers of the API's request histogram")
    rate_window: str = Field("5m", description="rate() window for container CPU (>= 4 scrape intervals)")


@dataclass(frozen=True)
class TradeStats:
    total_trades: int
    winning_trades: int
    avg_pnl: float | None
    best_trade: float | None
    worst_trade: float | None


@dataclass(frozen=True)
class TableScans:
    table: str
    seq_scan: int
    idx_scan: int
    live_rows: int


def daily_returns(pnl_by_day: dict[date, float], start: date, days: int, capital: float) -> list[float]:
    """One return per calendar day of the window; a day without trades returns 0."""
    return [pnl_by_day.get(start + timedelta(days=i), 0.0) / capital for i in range(days)]


def sharpe_ratio(returns: list[float], risk_free_rate: float = 0.0) -> float | None:
    """Annualised Sharpe ratio of daily returns (365-day year); None when undefined."""
    if len(returns) < 2:
        return None
    daily_rf = risk_free_rate / DAYS_PER_YEAR
    excess = [r - daily_rf for r in returns]
    sd = statistics.stdev(excess)
    if sd == 0:
        return None
    return statistics.fmean(excess) / sd * math.sqrt(DAYS_PER_YEAR)


def max_drawdown(returns: list[float]) -> float:
    """Largest peak-to-trough fall of cumulative P&L, as a share of capital."""
    peak = equity = 0.0
    worst = 0.0
    for r in returns:
        equity += r
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst


def scan_findings(tables: list[TableScans], settings: Settings) -> list[str]:
    """Large tables read mostly by sequential scans: candidates for an index."""
    found = []
    for t in tables:
        scans = t.seq_scan + t.idx_scan
        if t.live_rows >= settings.min_table_rows and scans and t.seq_scan / scans > settings.seq_scan_ratio_warning:
            found.append(f"{t.table}: {t.seq_scan} of {scans} scans sequential over {t.live_rows} rows")
    return found


def review(stats: TradeStats, returns: list[float], tables: list[TableScans], settings: Settings) -> Result:
    sharpe = sharpe_ratio(returns, settings.risk_free_rate)
    win_rate = stats.winning_trades / stats.total_trades if stats.total_trades else 0.0
    findings = scan_findings(tables, settings)
    figures: dict[str, float] = {"trades_30d": float(stats.total_trades), "win_rate_30d": win_rate,
                                 "max_drawdown_ratio": max_drawdown(returns)}
    if sharpe is not None:
        figures["sharpe_ratio_annualised"] = sharpe
    details: dict[str, Any] = {
        "window_days": settings.days, "total_trades": stats.total_trades, "winning_trades": stats.winning_trades,
        "win_rate": win_rate, "avg_pnl": stats.avg_pnl, "best_trade": stats.best_trade,
        "worst_trade": stats.worst_trade, "sharpe_ratio": sharpe, "sharpe_basis":
            f"daily returns on capital {settings.capital:g}, {DAYS_PER_YEAR}-day year",
        "total_return": sum(returns), "max_drawdown": figures["max_drawdown_ratio"],
        "seq_scan_findings": findings,
        "tables": [{"table": t.table, "seq_scan": t.seq_scan, "idx_scan": t.idx_scan, "live_rows": t.live_rows}
                   for t in tables],
    }
    sharpe_text = f"{sharpe:.2f}" if sharpe is not None else "n/a"
    summary = (f"{settings.days} days: {stats.total_trades} trades, win rate {win_rate:.1%}, "
               f"Sharpe {sharpe_text} (annualised, daily returns), max drawdown {max_drawdown(returns):.2%}")
    if findings:
        return Result(Status.WARNING, summary + f"; {len(findings)} table(s) mostly sequentially scanned",
                      details, figures)
    if stats.total_trades == 0:
        return Result(Status.WARNING, f"no trades in the last {settings.days} days", details, figures)
    return Result(Status.OK, summary, details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    start = ctx.clock.now().date() - timedelta(days=settings.days - 1)
    try:
        with ctx.connect() as conn:
            row = conn.execute(
                """SELECT count(*), count(*) FILTER (WHERE pnl > 0), avg(pnl), max(pnl), min(pnl)
                   FROM trades WHERE ("timestamp" AT TIME ZONE 'UTC')::date >= %s AND pnl IS NOT NULL""",
                (start,)).fetchone()
            by_day = conn.execute(
                """SELECT ("timestamp" AT TIME ZONE 'UTC')::date, sum(pnl) FROM trades
                   WHERE ("timestamp" AT TIME ZONE 'UTC')::date >= %s AND pnl IS NOT NULL GROUP BY 1""",
                (start,)).fetchall()
            scans = conn.execute(
                """SELECT relname, coalesce(seq_scan, 0), coalesce(idx_scan, 0), n_live_tup
                   FROM pg_stat_user_tables ORDER BY seq_scan DESC NULLS LAST""").fetchall()
    except DatabaseUnavailable as exc:
        return Result(Status.CRITICAL, f"database unreachable: {exc}")
    assert row is not None

    def num(v: Any) -> float | None:
        return float(v) if v is not None else None

    stats = TradeStats(int(row[0]), int(row[1]), num(row[2]), num(row[3]), num(row[4]))
    returns = daily_returns({d: float(p) for d, p in by_day}, start, settings.days, settings.capital)
    tables = [TableScans(r[0], int(r[1]), int(r[2]), int(r[3])) for r in scans]
    return with_platform_usage(review(stats, returns, tables, settings), ctx, settings)


def with_platform_usage(res: Result, ctx: Context, settings: Settings) -> Result:
    """Add the Prometheus half as its own ``platform`` section of the details (a problem is a warning)."""
    from ..platform_usage import UsageQueries, review_platform

    queries = UsageQueries(settings.days, settings.container_selector, settings.latency_selector,
                           settings.rate_window)
    details, figures, problem = review_platform(settings.prometheus_url, queries, ctx.clock.now(),
                                                settings.prometheus_timeout_seconds)
    status, summary = res.status, res.summary
    if problem:
        status = worst([status, Status.WARNING])
        summary = f"{summary}; {problem}"
    return dataclasses.replace(res, status=status, summary=summary, details={**res.details, "platform": details},
                               figures={**res.figures, **figures})


def demo_settings(home: Path) -> dict[str, Any]:
    return {"days": 30, "capital": 250_000.0}
