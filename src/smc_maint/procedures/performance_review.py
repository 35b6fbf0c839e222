"""``performance-review`` (monthly): trading statistics done right, table scan statistics, trends.

The runbook's "Sharpe ratio" is mean/stddev of per-trade P&L. A Sharpe ratio is computed on
period returns and annualised: here daily returns (P&L over the configured capital, every
calendar day counted — crypto trades 24/7, so a year is 365 days, and a day with no trades is a
0 return, not a missing one).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from ..adapters.postgres import DatabaseUnavailable
from ..backups.own_scans import IDX_PREFIX, XACT_SCANS, totals, xact_scan_figures
from ..backups.table_facts import table_name
from ..config.model import Section
from ..context import Context
from ..days import Window, whole_days
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
    """One return per calendar day of the window, on the equity at the start of that day (capital
    plus the P&L so far: returns compound); a day without trades returns 0."""
    out = []
    equity = capital
    for i in range(days):
        pnl = pnl_by_day.get(start + timedelta(days=i), 0.0)
        out.append(pnl / equity if equity > 0 else 0.0)
        equity += pnl
    return out


def sharpe_ratio(returns: list[float], risk_free_rate: float = 0.0) -> float | None:
    """Annualised Sharpe ratio of daily returns (365-day year, sample stddev); None when undefined."""
    if len(returns) < 2:
        return None
    daily_rf = risk_free_rate / DAYS_PER_YEAR
    excess = [r - daily_rf for r in returns]
    sd = statistics.stdev(excess)
    if sd == 0:
        return None
    return statistics.fmean(excess) / sd * math.sqrt(DAYS_PER_YEAR)


def sortino_ratio(returns: list[float], risk_free_rate: float = 0.0) -> float | None:
    """Annualised Sortino ratio: mean excess return over the downside deviation (root mean square of
    the below-target returns, every day counted); None when there is no downside or too few days."""
    if len(returns) < 2:
        return None
    daily_rf = risk_free_rate / DAYS_PER_YEAR
    excess = [r - daily_rf for r in returns]
    downside = math.sqrt(statistics.fmean([min(e, 0.0) ** 2 for e in excess]))
    if downside == 0:
        return None
    return statistics.fmean(excess) / downside * math.sqrt(DAYS_PER_YEAR)


def equity_curve(returns: list[float]) -> list[float]:
    """Equity per unit of starting capital after each day (the start, 1.0, first)."""
    curve = [1.0]
    for r in returns:
        curve.append(curve[-1] * (1.0 + r))
    return curve


def max_drawdown(returns: list[float]) -> float:
    """Largest fall from peak equity (the starting capital counts as a peak), as a share of that peak."""
    peak = worst = 0.0
    for equity in equity_curve(returns):
        peak = max(peak, equity)
        worst = max(worst, (peak - equity) / peak if peak > 0 else 0.0)
    return worst


def max_drawdown_of_capital(returns: list[float]) -> float:
    """Largest fall from peak equity as a share of the *initial* capital (the older figure, kept labelled)."""
    curve = equity_curve(returns)
    peak = worst = 0.0
    for equity in curve:
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst


def total_return(returns: list[float]) -> float:
    """Compounded return over the window."""
    return equity_curve(returns)[-1] - 1.0


def scan_deltas(current: list[TableScans], previous: Mapping[str, Mapping[str, int]] | None,
                own_seq_scans: Mapping[str, float], own_idx_scans: Mapping[str, float] | None = None
                ) -> list[TableScans] | None:
    """The platform's scans since the previous review: counter growth less the tool's own scans.

    None without a previous review to measure from. A counter that went down (statistics reset or
    a server restart) counts from zero.
    """
    if previous is None:
        return None
    out = []
    for t in current:
        before = previous.get(t.table)
        seq0, idx0 = (int(before.get("seq_scan", 0)), int(before.get("idx_scan", 0))) if before else (0, 0)
        if t.seq_scan < seq0 or t.idx_scan < idx0:
            seq0 = idx0 = 0
        seq = max(0, t.seq_scan - seq0 - int(own_seq_scans.get(t.table, 0)))
        idx = max(0, t.idx_scan - idx0 - int((own_idx_scans or {}).get(t.table, 0)))
        out.append(TableScans(t.table, seq, idx, t.live_rows))
    return out


def scan_findings(tables: list[TableScans], settings: Settings) -> list[str]:
    """Large tables read mostly by sequential scans: candidates for an index."""
    found = []
    for t in tables:
        scans = t.seq_scan + t.idx_scan
        if t.live_rows >= settings.min_table_rows and scans and t.seq_scan / scans > settings.seq_scan_ratio_warning:
            found.append(f"{t.table}: {t.seq_scan} of {scans} scans sequential over {t.live_rows} rows")
    return found


def review(stats: TradeStats, returns: list[float], tables: list[TableScans], settings: Settings,
           window: Window | None = None, deltas: list[TableScans] | None = None,
           since: datetime | None = None) -> Result:
    """Pure decision over the window's figures. ``tables`` are the cumulative counters; ``deltas``
    the platform's own scans since ``since`` (the previous review): only those are judged."""
    sharpe = sharpe_ratio(returns, settings.risk_free_rate)
    sortino = sortino_ratio(returns, settings.risk_free_rate)
    drawdown = max_drawdown(returns)
    compounded = total_return(returns)
    win_rate = stats.winning_trades / stats.total_trades if stats.total_trades else 0.0
    findings = scan_findings(deltas, settings) if deltas is not None else []
    figures: dict[str, float] = {"trades_30d": float(stats.total_trades), "win_rate_30d": win_rate,
                                 "max_drawdown_ratio": drawdown, "total_return_ratio": compounded}
    if sharpe is not None:
        figures["sharpe_ratio_annualised"] = sharpe
    if sortino is not None:
        figures["sortino_ratio_annualised"] = sortino
    days = window.days if window is not None else settings.days
    details: dict[str, Any] = {
        "window_days": days, "total_trades": stats.total_trades, "winning_trades": stats.winning_trades,
        "win_rate": win_rate, "avg_pnl": stats.avg_pnl, "best_trade": stats.best_trade,
        "worst_trade": stats.worst_trade, "sharpe_ratio": sharpe, "sortino_ratio": sortino, "sharpe_basis":
            f"daily returns on equity (capital {settings.capital:g} plus P&L so far), {DAYS_PER_YEAR}-day year",
        "total_return": compounded, "total_return_basis": "compounded over the window",
        "max_drawdown": drawdown, "max_drawdown_basis": "largest fall from peak equity, share of that peak",
        "max_drawdown_of_initial_capital": max_drawdown_of_capital(returns),
        "seq_scan_findings": findings,
        "tables": [{"table": t.table, "seq_scan": t.seq_scan, "idx_scan": t.idx_scan, "live_rows": t.live_rows}
                   for t in tables],
        "scan_counters": {t.table: {"seq_scan": t.seq_scan, "idx_scan": t.idx_scan} for t in tables},
    }
    if deltas is None:
        details["scan_basis"] = ("first review: counters recorded as the baseline; scan shares are judged "
                                 "on the platform's scans between reviews from the next one on")
    else:
        details["scan_basis"] = (f"platform scans since the previous review ({since.isoformat() if since else '?'})"
                                 ", smc-maint's own scans left out")
        details["scans_since_previous"] = [{"table": t.table, "seq_scan": t.seq_scan, "idx_scan": t.idx_scan}
                                           for t in deltas]
    if window is not None:
        details["window"] = window.describe()
        details["timezone"] = window.tz.key
    sharpe_text = f"{sharpe:.2f}" if sharpe is not None else "n/a"
    sortino_text = f"{sortino:.2f}" if sortino is not None else "n/a"
    span = window.describe() if window is not None else f"{days} days"
    summary = (f"{span}: {stats.total_trades} trades, win rate {win_rate:.1%}, Sharpe {sharpe_text}, "
               f"Sortino {sortino_text} (annualised, daily returns), return {compounded:+.2%}, "
               f"max drawdown {drawdown:.2%}")
    if findings:
        return Result(Status.WARNING, summary + f"; {len(findings)} table(s) mostly sequentially scanned",
                      details, figures)
    if stats.total_trades == 0:
        return Result(Status.WARNING, f"no trades in {span}", details, figures)
    return Result(Status.OK, summary, details, figures)


# Instants bound the window (sargable: the index on "timestamp" serves it); days are bucketed in
# the declared zone, never the session's.
TRADE_STATS = """SELECT count(*), count(*) FILTER (WHERE pnl > 0), avg(pnl), max(pnl), min(pnl) FROM trades
WHERE "timestamp" >= %(start)s AND "timestamp" < %(end)s AND pnl IS NOT NULL"""
PNL_BY_DAY = """SELECT ("timestamp" AT TIME ZONE %(tz)s)::date, sum(pnl) FROM trades
WHERE "timestamp" >= %(start)s AND "timestamp" < %(end)s AND pnl IS NOT NULL GROUP BY 1"""


def _previous_counters(ctx: Context) -> tuple[dict[str, dict[str, int]] | None, datetime | None]:
    """The scan counters the last review recorded, and when."""
    now = ctx.clock.now()
    for row in ctx.history.procedure_results("performance-review", limit=20):
        counters = row.details.get("scan_counters") if isinstance(row.details, dict) else None
        if isinstance(counters, dict) and row.started_at < now and row.run_id != ctx.run_id:
            return counters, row.started_at
    return None, None


def run(ctx: Context, settings: Settings) -> Result:
    window = whole_days(ctx.clock.now(), settings.days, ctx.cfg.config.zone())
    bounds = {"start": window.start, "end": window.end, "tz": window.tz.key}
    try:
        with ctx.connect() as conn:
            scans = conn.execute(
                """SELECT schemaname, relname, coalesce(seq_scan, 0), coalesce(idx_scan, 0), n_live_tup
                   FROM pg_stat_user_tables ORDER BY seq_scan DESC NULLS LAST""").fetchall()
            with conn.transaction():  # this review's own scans, for the next review to leave out
                conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                row = conn.execute(TRADE_STATS, bounds).fetchone()
                by_day = conn.execute(PNL_BY_DAY, bounds).fetchall()
                own_now = xact_scan_figures(conn.execute(XACT_SCANS).fetchall())
    except DatabaseUnavailable as exc:
        return Result(Status.CRITICAL, f"database unreachable: {exc}")
    assert row is not None

    def num(v: Any) -> float | None:
        return float(v) if v is not None else None

    stats = TradeStats(int(row[0]), int(row[1]), num(row[2]), num(row[3]), num(row[4]))
    returns = daily_returns({d: float(p) for d, p in by_day}, window.first, window.days, settings.capital)
    tables = [TableScans(table_name(r[0], r[1]), int(r[2]), int(r[3]), int(r[4])) for r in scans]
    previous, since = _previous_counters(ctx)
    deltas = None
    if previous is not None and since is not None:
        recorded = {name: [p.value for p in points] for name, points in
                    ctx.history.figures_between(since, ctx.clock.now(), prefix="own_").items()}
        deltas = scan_deltas(tables, previous, totals(recorded), totals(recorded, IDX_PREFIX))
    result = review(stats, returns, tables, settings, window, deltas, since)
    return with_platform_usage(replace(result, figures={**result.figures, **own_now}), ctx, settings)


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
    return replace(res, status=status, summary=summary, details={**res.details, "platform": details},
                   figures={**res.figures, **figures})


def demo_settings(home: Path) -> dict[str, Any]:
    return {"days": 30, "capital": 250_000.0}
