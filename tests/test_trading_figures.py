"""Trading figures are counted in the declared zone, over whole days, on sargable ranges, and
match a reference implementation (empyrical-reloaded); the tool's own scans are not the platform's."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.procedures import performance_review as pr
from smc_maint.procedures import trading_summary as ts
from smc_maint.result import Status
from smc_maint.runner import run_group

from .conftest import PgServer

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # a Friday afternoon, UTC


def _trades(pg: PgServer, db: str, rows: list[tuple[datetime, float]]) -> None:
    """Replace the trades with ``rows`` (timestamp, pnl), all filled."""
    with pg.connect(db) as conn:
        user, session = conn.execute("SELECT user_id, id FROM trading_sessions LIMIT 1").fetchone()  # type: ignore[misc]
        conn.execute("DELETE FROM trades")
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO trades (session_id, user_id, symbol, side, order_type, quantity, price,
                   executed_price, executed_quantity, status, commission, pnl, "timestamp")
                   VALUES (%s, %s, 'BTCUSDT', 'buy', 'market', 1, 100, 100, 1, 'filled', 0, %s, %s)""",
                [(session, user, pnl, at) for at, pnl in rows])


def _set_session_zone(pg: PgServer, db: str, zone: str) -> None:
    with pg.connect(db) as conn:
        conn.execute(f"ALTER DATABASE \"{db}\" SET timezone = '{zone}'")


def _summary(cfg: LoadedConfig, at: datetime = NOW) -> Any:
    (res,) = run_group(cfg, "daily", only=["trading-summary"], clock=FixedClock(at)).procedures
    return res.result


# Trades around midnight UTC, 15:00 the day before (Tokyo's midnight) and 05:00 UTC (New York's).
EDGES = [(datetime(2026, 11, d, h, m, tzinfo=UTC), pnl)
         for d in range(10, 21) for h, m, pnl in ((0, 10, 10.0), (14, 50, -3.0), (15, 10, 7.0), (4, 50, 2.0),
                                                  (5, 10, -1.0), (23, 50, 5.0))
         if datetime(2026, 11, d, h, m, tzinfo=UTC) <= NOW]


@pytest.mark.parametrize("session_zone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_trading_summary_does_not_follow_the_session_time_zone(
        make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str, session_zone: str) -> None:
    _trades(pg, trading_db, EDGES)
    _set_session_zone(pg, trading_db, session_zone)
    result = _summary(make_config())
    # 7 days in UTC, today so far included: 2026-11-14 00:00 UTC up to NOW
    start = datetime(2026, 11, 14, tzinfo=UTC)
    expected = [p for at, p in EDGES if start <= at <= NOW]
    assert result.figures["trades_7d"] == len(expected)
    assert result.figures["pnl_7d"] == pytest.approx(sum(expected))
    assert result.details["days"][0]["date"] == "2026-11-20"
    assert result.details["timezone"] == "UTC" and "today so far" in result.details["window"]


def test_trading_summary_counts_days_in_the_declared_zone(
        make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    _trades(pg, trading_db, EDGES)
    _set_session_zone(pg, trading_db, "America/New_York")  # the session's zone must not matter
    result = _summary(make_config({"timezone": "Asia/Tokyo"}))
    # NOW is 2026-11-21 00:30 in Tokyo: the window is Tokyo's 2026-11-15..21, from 2026-11-14 15:00 UTC
    start = datetime(2026, 11, 14, 15, tzinfo=UTC)
    expected = [p for at, p in EDGES if start <= at <= NOW]
    assert result.figures["trades_7d"] == len(expected)
    assert result.figures["pnl_7d"] == pytest.approx(sum(expected))
    days = {d["date"]: d["trades"] for d in result.details["days"]}
    assert days["2026-11-21"] == 1  # only 15:10 UTC on the 20th is Tokyo's 21st so far


def test_performance_review_uses_whole_days_whatever_the_hour(
        make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    rng = random.Random(7)
    rows = [(datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=h), round(rng.uniform(-300, 320), 2))
            for h in range(0, 24 * 51, 3)]
    _trades(pg, trading_db, rows)
    cfg = make_config()
    results = []
    for at in (datetime(2026, 11, 20, 0, 5, tzinfo=UTC), datetime(2026, 11, 20, 23, 55, tzinfo=UTC)):
        (res,) = run_group(cfg, "monthly", only=["performance-review"], clock=FixedClock(at)).procedures
        results.append(res.result)
    early, late = results
    assert early.figures["sharpe_ratio_annualised"] == late.figures["sharpe_ratio_annualised"]
    assert early.details["window"] == late.details["window"] == "30 whole days 2026-10-21..2026-11-19 (UTC)"
    start, end = datetime(2026, 10, 21, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    assert early.details["total_trades"] == sum(1 for at, _ in rows if start <= at < end)


def test_window_queries_can_use_the_timestamp_index(pg: PgServer, trading_db: str) -> None:
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
    params = {"start": start, "end": end, "tz": "UTC"}
    with pg.connect(trading_db) as conn:
        conn.execute("SET enable_seqscan = off")
        for query in (ts.QUERY, pr.TRADE_STATS, pr.PNL_BY_DAY):
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query, params).fetchall())
            assert "Seq Scan on trades" not in plan, plan


def _seq_scans(pg: PgServer, db: str) -> dict[str, int]:
    with pg.connect(db) as conn:
        rows = conn.execute("SELECT relname, seq_scan FROM pg_stat_user_tables").fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _settled_seq_scans(pg: PgServer, db: str) -> dict[str, int]:
    """Counters once the other backends' statistics are flushed (they flush when they exit)."""
    last: dict[str, int] = {}
    for _ in range(50):
        now = _seq_scans(pg, db)
        if now == last:
            return now
        last = now
        time.sleep(0.2)
    return last


def test_the_tools_own_scans_are_not_counted_against_the_platform(
        make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    cfg = make_config({"procedures": {"performance-review": {"min_table_rows": 0}}})
    first = run_group(cfg, "monthly", only=["performance-review"], clock=FixedClock(NOW)).procedures[0].result
    assert "baseline" in first.details["scan_basis"] and first.details["seq_scan_findings"] == []
    before = _settled_seq_scans(pg, trading_db)
    later = NOW + timedelta(hours=1)
    outcome = run_group(cfg, "daily", only=["backup", "metrics-snapshot"], clock=FixedClock(later))
    assert [p.result.status for p in outcome.procedures] == [Status.OK, Status.OK], \
        [p.result.summary for p in outcome.procedures]
    after = _settled_seq_scans(pg, trading_db)
    own: dict[str, float] = {}
    for p in outcome.procedures:
        for name, value in p.result.figures.items():
            if name.startswith("own_seq_scans."):
                own[name.removeprefix("own_seq_scans.")] = own.get(name.removeprefix("own_seq_scans."), 0) + value
    # what the procedures say they scanned is exactly what the server counted
    assert {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)} == \
        {t: int(n) for t, n in own.items() if n}
    second = run_group(cfg, "monthly", only=["performance-review"],
                       clock=FixedClock(later + timedelta(hours=1))).procedures[0].result
    scans = {s["table"]: s["seq_scan"] for s in second.details["scans_since_previous"]}
    assert scans["trades"] == 0 and second.details["seq_scan_findings"] == []
    # the platform's own full scans of trades are still seen
    with pg.connect(trading_db) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        for _ in range(5):
            conn.execute("SELECT sum(pnl) FROM trades")
    _settled_seq_scans(pg, trading_db)
    third = run_group(cfg, "monthly", only=["performance-review"],
                      clock=FixedClock(later + timedelta(hours=2))).procedures[0].result
    scans = {s["table"]: s["seq_scan"] for s in third.details["scans_since_previous"]}
    assert scans["trades"] == 5
    assert any(f.startswith("trades:") for f in third.details["seq_scan_findings"])


def test_figures_match_empyrical_to_1e_9() -> None:
    import empyrical  # the reference implementation (a test-only dependency)
    import numpy as np

    rng = random.Random(42)
    start = date(2026, 1, 1)
    pnl = {start + timedelta(days=i): rng.gauss(150, 2500) for i in range(365) if rng.random() > 0.1}
    capital = 250_000.0
    returns = pr.daily_returns(pnl, start, 365, capital)
    arr = np.array(returns)
    rf = 0.04
    assert pr.sharpe_ratio(returns, rf) == pytest.approx(
        empyrical.sharpe_ratio(arr, risk_free=rf / 365, annualization=365), abs=1e-9, rel=0)
    assert pr.sortino_ratio(returns, rf) == pytest.approx(
        empyrical.sortino_ratio(arr, required_return=rf / 365, annualization=365), abs=1e-9, rel=0)
    assert pr.max_drawdown(returns) == pytest.approx(-empyrical.max_drawdown(arr), abs=1e-9, rel=0)
    assert pr.total_return(returns) == pytest.approx(empyrical.cum_returns_final(arr), abs=1e-9, rel=0)
    # returns on equity compound to exactly the P&L over the capital
    assert pr.total_return(returns) == pytest.approx(sum(pnl.values()) / capital, abs=1e-9, rel=0)
