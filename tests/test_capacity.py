"""capacity: metrics-snapshot figures inserted into a real History (SQLite) with timestamps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.capacity_forecast import forecast, trend
from smc_maint.config.loader import LoadedConfig
from smc_maint.history.store import History, open_sqlite
from smc_maint.result import Result, Status
from smc_maint.runner import run_group

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GIB = 2**30


@pytest.fixture
def history(tmp_path: Path) -> History:
    return open_sqlite(tmp_path / "history.sqlite3")


def record(h: History, at: datetime, **figures: float) -> None:
    run_id = f"run-{at:%Y%m%d%H%M}"
    h.begin_run(run_id, "daily", at, ["metrics-snapshot"])
    h.add_result(run_id, "metrics-snapshot", "ok", "snapshot", at, 0.1, {}, figures)
    h.finish_run(run_id, "ok", at, 0.1)


def daily(h: History, days: int, **per_day: tuple[float, float]) -> None:
    """``name=(start, growth per day)`` for each of the last ``days`` days, newest today."""
    for i in range(days):
        at = NOW - timedelta(days=days - 1 - i, hours=1)
        record(h, at, **{n: start + step * i for n, (start, step) in per_day.items()})


def weekly(cfg: LoadedConfig, h: History, now: datetime = NOW) -> Result:
    return run_group(cfg, "weekly", only=["capacity"], history=h, clock=FixedClock(now)).procedures[0].result


def test_regression_and_forecast_are_exact_on_a_line() -> None:
    pts = [(NOW + timedelta(days=d), 100.0 + 10 * d) for d in range(5)]
    tr = trend(pts)
    assert tr is not None and tr.slope_per_day == pytest.approx(10)
    fc = forecast(tr, 200)
    assert fc.days_left == pytest.approx(6) and fc.reached_at == NOW + timedelta(days=10)
    assert forecast(trend([(NOW, 5.0), (NOW + timedelta(days=1), 4.0)]), 10).days_left is None  # type: ignore[arg-type]


def test_disk_full_within_horizon_warns_with_the_date(history: History,
                                                      make_config: Callable[..., LoadedConfig]) -> None:
    daily(history, 20, db_size_bytes=(1 * GIB, 50 * 2**20), disk_used_bytes=(80 * GIB, 0.5 * GIB),
          disk_total_bytes=(100 * GIB, 0), trades_rows=(100_000, 1000))
    result = weekly(make_config(), history)
    assert result.status is Status.WARNING
    disk = result.details["disk"]
    assert disk["days_left"] == pytest.approx(11, abs=0.01)  # (95 - 89.5) GiB at 0.5 GiB/day
    assert "disk (95 %) limit reached in 11 days (2026-12-09)" in result.summary
    assert result.figures["disk_growth_bytes_per_day"] == pytest.approx(0.5 * GIB)
    assert result.details["trades"]["per_day"] == pytest.approx(1000)


def test_configured_database_limit_is_critical_when_close(history: History,
                                                          make_config: Callable[..., LoadedConfig]) -> None:
    daily(history, 10, db_size_bytes=(1.5 * GIB, 0.05 * GIB), disk_used_bytes=(10 * GIB, 0),
          disk_total_bytes=(100 * GIB, 0))
    cfg = make_config({"procedures": {"capacity": {"db_size_limit_bytes": 2 * GIB}}})
    result = weekly(cfg, history)
    assert result.status is Status.CRITICAL
    assert result.details["database"]["days_left"] == pytest.approx(1, abs=0.01)  # 1.95 -> 2 GiB at 0.05/day
    assert "disk 10% used, not growing" in result.summary


def test_steady_platform_is_ok_and_trade_volume_trend_is_reported(history: History,
                                                                   make_config: Callable[..., LoadedConfig]) -> None:
    for i in range(30):  # trade volume doubled in the last two weeks
        at = NOW - timedelta(days=29 - i)
        rows = 1000 * i if i < 15 else 1000 * 14 + 2000 * (i - 14)
        record(history, at, db_size_bytes=GIB + i * 2**20, disk_used_bytes=10 * GIB + i * 2**20,
               disk_total_bytes=100 * GIB, trades_rows=rows)
    result = weekly(make_config(), history)
    assert result.status is Status.OK, result.summary
    assert result.details["trades"]["per_day"] == pytest.approx(2000, rel=0.01)
    assert result.details["trades"]["per_day_before"] == pytest.approx(1000, rel=0.01)
    assert "2000 trades/day (was 1000)" in result.summary


def test_no_history_is_unknown_and_too_little_is_skipped(history: History,
                                                         make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config()
    assert weekly(cfg, history).status is Status.UNKNOWN
    record(history, NOW - timedelta(hours=3), db_size_bytes=GIB)
    record(history, NOW - timedelta(hours=2), db_size_bytes=GIB)
    result = weekly(cfg, history)
    assert result.status is Status.SKIPPED and "2 snapshot(s)" in result.summary


def test_stale_snapshots_warn(history: History, make_config: Callable[..., LoadedConfig]) -> None:
    daily(history, 10, db_size_bytes=(GIB, 0), disk_used_bytes=(GIB, 0), disk_total_bytes=(100 * GIB, 0))
    result = weekly(make_config(), history, now=NOW + timedelta(days=6))
    assert result.status is Status.WARNING and "metrics-snapshot has stopped recording" in result.summary
