"""Test helpers for reporting: small scripted procedures and a month of recorded runs.

The procedures are real modules run by the real runner; each returns the Result the test
scripts for it (per day), so history is built exactly as production builds it.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smc_maint import registry
from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.config.model import Section
from smc_maint.context import Context
from smc_maint.result import Result, Status
from smc_maint.runner import RunOutcome, run_group

Script = Callable[[Context], Result]


class _Settings(Section):
    pass


def install(monkeypatch: pytest.MonkeyPatch, groups: Mapping[str, list[str]],
            scripts: Mapping[str, Script]) -> None:
    """Register scripted procedures under their ids and set the groups (restored after the test)."""
    procedures = dict(registry.PROCEDURES)
    for pid, script in scripts.items():
        name = f"obs_scripted_{pid.replace('-', '_')}"
        module = types.ModuleType(name)
        module.Settings = _Settings  # type: ignore[attr-defined]
        module.run = lambda ctx, settings, _s=script: _s(ctx)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)
        procedures[pid] = name
    monkeypatch.setattr(registry, "PROCEDURES", procedures)
    new_groups = {g: [] for g in registry.GROUPS}
    new_groups.update({g: list(ids) for g, ids in groups.items()})
    monkeypatch.setattr(registry, "GROUPS", new_groups)


def run_at(cfg: LoadedConfig, group: str, at: datetime, **kw: Any) -> RunOutcome:
    return run_group(cfg, group, clock=FixedClock(at), trigger="schedule", **kw)


OCT = datetime(2026, 10, 1, tzinfo=UTC)
# "now" for readers of the recorded October (dashboard, /metrics, reports): the morning after its last run.
AFTER_OCTOBER = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
MISSED_DAY = 14          # no daily run at all on 2026-10-14
API_DOWN_DAY = 21        # health critical on 2026-10-21 (api down), ok again the next day
STALE_BACKUP_DAY = 9     # backup-verify: newest backup stale, emergency backup taken (warning)
BACKUP_FAILED_DAY = 10   # backup-verify: critical
CVE_CRITICAL = 2.0


def day_of(ctx: Context) -> int:
    return ctx.clock.now().day


def health(ctx: Context) -> Result:
    up = 0.0 if day_of(ctx) == API_DOWN_DAY else 1.0
    figures = {"db_up": 1.0, "db_latency_seconds": 0.004, "endpoints_total": 2.0, "endpoints_up": 1.0 + up,
               "endpoint_up.api": up, "endpoint_up.web": 1.0}
    if up:
        return Result(Status.OK, "database and 2/2 endpoints up", {}, figures)
    return Result(Status.CRITICAL, "api: connection refused", {"down": ["api"]}, figures)


def backup_verify(ctx: Context) -> Result:
    day = day_of(ctx)
    size = 70e6 + day * 1e6
    if day == STALE_BACKUP_DAY:
        return Result(Status.WARNING, "newest backup 50 h old; emergency backup created",
                      {}, {"backup_age_seconds": 60.0, "backup_size_bytes": size, "emergency_backup": 1.0})
    if day == BACKUP_FAILED_DAY:
        return Result(Status.CRITICAL, "newest backup fails its checksum", {}, {"emergency_backup": 0.0})
    return Result(Status.OK, "newest backup 2 h old, intact", {},
                  {"backup_age_seconds": 7200.0, "backup_size_bytes": size, "emergency_backup": 0.0})


def metrics_snapshot(ctx: Context) -> Result:
    day = day_of(ctx)
    return Result(Status.OK, "snapshot stored", {}, {
        "db_size_bytes": 200e6 + day * 2e6, "disk_used_bytes": 40e9 + day * 1e8, "disk_total_bytes": 100e9,
        "disk_percent": 40.0, "cpu_percent": 12.5, "memory_percent": 50.0, "db_connections": 7.0,
        "trades_rows": 1000.0 * day, "table_bytes.trades": 150e6, "table_bytes.smc_signals": 20e6})


def vulnerability_review(ctx: Context) -> Result:
    return Result(Status.WARNING, f"{CVE_CRITICAL:.0f} critical vulnerabilities", {}, {
        "vulnerabilities_critical": CVE_CRITICAL, "vulnerabilities_high": 5.0, "vulnerabilities_medium": 9.0,
        "vulnerabilities_low": 20.0, "vulnerabilities_unknown": 0.0, "fixable_critical_high": 4.0})


def trading_summary(ctx: Context) -> Result:
    today = ctx.clock.now().date()
    days = [{"date": (today - timedelta(days=i)).isoformat(), "trades": 10, "winning_trades": 6,
             "total_pnl": 100.0 if (today - timedelta(days=i)).day % 3 else -50.0} for i in range(7)]
    return Result(Status.OK, "7 days of trades", {"days": days}, {"trades_7d": 70.0, "pnl_7d": 400.0,
                                                                  "win_rate_7d": 0.6})


def restore_test(ctx: Context) -> Result:
    return Result(Status.OK, "restored exactly in 42.0 s", {}, {
        "restore_seconds": 42.0, "download_seconds": 3.0, "verify_seconds": 5.0, "restore_ok": 1.0,
        "backup_age_seconds": 7200.0})


def db_maintenance(ctx: Context) -> Result:
    return Result(Status.OK, "3 tables vacuumed", {}, {})


SCRIPTS: dict[str, Script] = {
    "health": health, "backup-verify": backup_verify, "metrics-snapshot": metrics_snapshot,
    "vulnerability-review": vulnerability_review, "trading-summary": trading_summary,
    "restore-test": restore_test, "db-maintenance": db_maintenance,
}
GROUPS = {
    "daily": ["health", "backup-verify", "metrics-snapshot", "vulnerability-review", "trading-summary"],
    "weekly": ["db-maintenance"],
    "monthly": ["restore-test", "maintenance-report"],
}


def record_october(cfg: LoadedConfig) -> list[RunOutcome]:
    """October 2026 as the scheduler would have run it, with the incidents named above."""
    outcomes = []
    for day in range(1, 32):
        at = OCT.replace(day=day, hour=2)
        if day != MISSED_DAY:
            outcomes.append(run_at(cfg, "daily", at))
        if at.weekday() == 6:  # Sunday 03:00
            outcomes.append(run_at(cfg, "weekly", at.replace(hour=3)))
    outcomes.append(run_at(cfg, "monthly", OCT.replace(hour=4), only=["restore-test"]))
    return outcomes
