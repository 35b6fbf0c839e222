"""trading-summary and performance-review against a real trading database, and their pure maths."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.procedures import performance_review as pr
from smc_maint.result import Status
from smc_maint.runner import run_group

from .conftest import PgServer


def test_trading_summary_matches_an_independent_query(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                      trading_db: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)  # the demo data ends at the real now; pinned for the run
    outcome = run_group(make_config(), "daily", only=["trading-summary"], clock=FixedClock(now))
    (res,) = outcome.procedures
    assert res.result.status is Status.OK
    days = res.result.details["days"]
    with pg.connect(trading_db) as conn:
        expected = conn.execute(
            """SELECT count(*), sum(pnl) FROM trades WHERE status = 'filled'
               AND ("timestamp" AT TIME ZONE 'UTC')::date >= %s::date - 6 AND "timestamp" <= %s""",
            (now.date(), now)).fetchone()
    assert expected is not None
    assert sum(d["trades"] for d in days) == expected[0]
    assert sum(d["total_pnl"] for d in days) == pytest.approx(float(expected[1]))
    assert days == sorted(days, key=lambda d: d["date"], reverse=True)


def test_trading_summary_warns_when_there_are_no_trades(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                        trading_db: str) -> None:
    with pg.connect(trading_db) as conn:
        conn.execute("DELETE FROM trades")
    (res,) = run_group(make_config(), "daily", only=["trading-summary"]).procedures
    assert res.result.status is Status.WARNING and "no filled trades" in res.result.summary


def test_trading_summary_unreachable_database_is_critical_with_reason(
        make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"database": {"port": 1}})
    (res,) = run_group(cfg, "daily", only=["trading-summary"]).procedures
    assert res.result.status is Status.CRITICAL and "unreachable" in res.result.summary


def test_sharpe_is_annualised_on_daily_returns_not_per_trade() -> None:
    returns = [0.01, -0.005, 0.002, 0.0, 0.004]
    mean = sum(returns) / 5
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / 4)
    assert pr.sharpe_ratio(returns) == pytest.approx(mean / sd * math.sqrt(365))
    assert pr.sharpe_ratio([0.01, 0.01]) is None  # no variance: undefined, not infinite


def test_days_without_trades_count_as_zero_returns() -> None:
    start = date(2026, 11, 1)
    returns = pr.daily_returns({date(2026, 11, 1): 1000.0, date(2026, 11, 3): -500.0}, start, 4, 100_000)
    assert returns == [0.01, 0.0, -500 / 101_000, 0.0]  # on the equity at the start of each day
    assert pr.max_drawdown(returns) == pytest.approx(500 / 101_000)
    assert pr.max_drawdown_of_capital(returns) == pytest.approx(0.005)
    assert pr.total_return(returns) == pytest.approx(0.005)


def test_performance_review_on_real_data(make_config: Callable[..., LoadedConfig]) -> None:
    (res,) = run_group(make_config(), "monthly", only=["performance-review"]).procedures
    assert res.result.status in (Status.OK, Status.WARNING)
    d = res.result.details
    assert d["total_trades"] > 0 and 0 < d["win_rate"] < 1
    assert d["sharpe_ratio"] is not None and "365-day" in d["sharpe_basis"]
    assert {t["table"] for t in d["tables"]} >= {"trades", "users", "smc_signals"}
