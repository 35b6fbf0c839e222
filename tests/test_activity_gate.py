"""Market-aware windows: quiet hours found from the platform's own trades, and the activity gate."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.adapters.postgres import connect
from smc_maint.config.loader import LoadedConfig
from smc_maint.scheduling import quiet
from smc_maint.scheduling.activity import read_heat_map
from smc_maint.scheduling.config import GateConfig
from smc_maint.scheduling.gate import Reading, database_reader, judge, wait_for_quiet

from .conftest import PgServer

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday noon
SPIKE = (NOW - timedelta(minutes=10), NOW + timedelta(minutes=20))


def plant(pg: PgServer, db: str, now: datetime, *, days: int = 90, spike: tuple[datetime, datetime] | None = None) -> None:
    """Trades every 3 minutes (20 an hour) for ``days`` days before ``now`` and an hour after, but one an
    hour on Sundays 04:00-06:00 UTC; during ``spike`` one every 15 seconds (12x usual)."""
    with pg.connect(db) as conn:
        user, session = conn.execute("SELECT user_id, id FROM trading_sessions LIMIT 1").fetchone()  # type: ignore[misc]
        conn.execute("DELETE FROM trades")
        conn.execute(
            """INSERT INTO trades (session_id, user_id, symbol, side, order_type, quantity, price, executed_price,
                                   executed_quantity, status, commission, pnl, "timestamp")
               SELECT %(session)s, %(user)s, 'BTCUSDT', 'buy', 'market', 0.1, 50000, 50000, 0.1, 'filled', 0, 1, t
               FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz, interval '3 minutes') AS t
               WHERE NOT (extract(isodow FROM t AT TIME ZONE 'UTC') = 7
                          AND extract(hour FROM t AT TIME ZONE 'UTC') IN (4, 5)
                          AND extract(minute FROM t AT TIME ZONE 'UTC') <> 0)""",
            {"session": session, "user": user, "start": now - timedelta(days=days), "end": now + timedelta(hours=1)})
        if spike:
            conn.execute(
                """INSERT INTO trades (session_id, user_id, symbol, side, order_type, quantity, price, executed_price,
                                       executed_quantity, status, commission, pnl, "timestamp")
                   SELECT %(session)s, %(user)s, 'ETHUSDT', 'sell', 'market', 1, 3000, 3000, 1, 'filled', 0, 1, t
                   FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz, interval '15 seconds') AS t""",
                {"session": session, "user": user, "start": spike[0], "end": spike[1]})


def test_suggest_finds_the_quiet_window(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                        trading_db: str) -> None:
    plant(pg, trading_db, NOW)
    cfg = make_config()
    with connect(cfg.config.database) as conn:
        heat = read_heat_map(conn, NOW, 90, UTC_ZONE)
    assert heat.cell(6, 4) == pytest.approx(1.0) and heat.cell(2, 10) == pytest.approx(20.0)
    found = quiet.suggest(heat, {"db-maintenance": [4000.0, 4200.0]}, {"db-maintenance": "weekly"},
                          UTC_ZONE, UTC_ZONE, NOW)
    (db_maint,) = found
    assert db_maint.windows[0].label == "Sun 04:00-Sun 06:00" and db_maint.cron == "0 4 * * 0"
    assert "p95 of 2" in db_maint.duration_basis
    # the same window, asked for a schedule read in another zone, is the same instant
    berlin = quiet.suggest(heat, {}, {"db-maintenance": "weekly"}, UTC_ZONE, ZoneInfo("Europe/Berlin"), NOW)[0]
    assert berlin.cron == "0 5 * * 0"  # 04:00 UTC in November is 05:00 in Berlin


def test_schedule_suggest_cli(make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str) -> None:
    plant(pg, trading_db, datetime.now(UTC).replace(second=0, microsecond=0), days=30)  # the CLI reads real now
    cfg = make_config()
    assert cfg.source is not None
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "schedule", "suggest", "--days", "28", "--json",
                           "-c", str(cfg.source)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    by_id = {s["procedure"]: s for s in doc["suggestions"]}
    assert by_id["db-maintenance"]["cron"] == "0 4 * * 0"  # weekly: Sunday 04:00 UTC
    assert by_id["backup"]["cron"] is not None and by_id["backup"]["group"] == "daily"
    assert len(doc["heat_map"]["trades_per_hour"]) == 7


def test_judge_relative_and_absolute() -> None:
    gate = GateConfig(max_multiple_of_usual=3.0, max_trades_per_minute=None, min_trades=30)
    assert judge(Reading(NOW, 60, 15, usual=5.0), gate).open is False
    assert judge(Reading(NOW, 10, 15, usual=1.0), gate).open is True  # under min_trades: too little to judge
    assert judge(Reading(NOW, 60, 15, usual=None), gate).open is True  # no baseline, no relative limit
    absolute = GateConfig(max_multiple_of_usual=None, max_trades_per_minute=2.0, min_trades=0)
    verdict = judge(Reading(NOW, 45, 15, usual=None), absolute)
    assert not verdict.open and "3.0 trades/min over the limit" in verdict.reason


def _gate_run(cfg: LoadedConfig, gate: GateConfig, clock: FixedClock) -> object:
    read = database_reader(lambda: connect(cfg.config.database), gate, UTC_ZONE)
    return wait_for_quiet("backup", gate, read, clock.now, clock.advance)


def test_gate_defers_during_a_spike_until_it_passes(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                    trading_db: str) -> None:
    plant(pg, trading_db, NOW, days=28, spike=SPIKE)
    cfg = make_config()
    clock = FixedClock(NOW)
    outcome = _gate_run(cfg, GateConfig(recheck_seconds=60, max_deferral_minutes=120), clock)
    # the 15-minute window leaves the spike (ending NOW+20 min) behind by NOW+35 min at the latest
    assert not outcome.forced and outcome.error is None  # type: ignore[attr-defined]
    assert 25 * 60 <= outcome.deferred_seconds <= 36 * 60  # type: ignore[attr-defined]
    assert "usual" in outcome.reasons[0] and "deferred 3" in outcome.summary()  # type: ignore[attr-defined]


def test_gate_runs_anyway_at_the_maximum_deferral(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                  trading_db: str) -> None:
    plant(pg, trading_db, NOW, days=28, spike=SPIKE)
    cfg = make_config()
    clock = FixedClock(NOW)
    outcome = _gate_run(cfg, GateConfig(recheck_seconds=60, max_deferral_minutes=10), clock)
    assert outcome.forced and outcome.deferred_seconds == 600  # type: ignore[attr-defined]
    assert "ran anyway" in outcome.summary()  # type: ignore[attr-defined]


def test_gate_opens_when_trades_cannot_be_read(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"database": {"port": 1}})
    clock = FixedClock(NOW)
    outcome = _gate_run(cfg, GateConfig(), clock)
    assert outcome.error and not outcome.deferred and "could not be read" in outcome.summary()  # type: ignore[attr-defined]


class _TickingClock(FixedClock):
    """A clock that moves on every reading, as the real one does while the gate reads trades."""

    def now(self) -> datetime:
        self.advance(0.05)
        return super().now()


def test_an_open_gate_on_a_moving_clock_is_no_deferral() -> None:
    """Reading the trades takes time: an open gate on the first look must not count that as a deferral
    (it did, and the summary then failed on an empty list of reasons)."""
    clock = _TickingClock(NOW)
    outcome = wait_for_quiet("backup", GateConfig(), lambda at: Reading(at, 3, 15, usual=2.0), clock.now,
                             clock.advance)
    assert not outcome.deferred and outcome.deferred_seconds == 0.0 and outcome.summary() == ""
    busy = iter([Reading(NOW, 500, 15, usual=10.0), Reading(NOW, 3, 15, usual=10.0)])
    deferred = wait_for_quiet("backup", GateConfig(recheck_seconds=60), lambda at: next(busy), clock.now,
                              clock.advance)
    assert deferred.deferred and deferred.deferred_seconds >= 60 and "deferred 1 min" in deferred.summary()
