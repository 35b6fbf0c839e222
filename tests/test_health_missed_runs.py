"""The daily health check reports scheduled runs that were missed or failed, and alerts on them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history
from smc_maint.result import Status
from smc_maint.runner import run_group

from .conftest import Receiver

# A pinned "now": a Thursday whose last three days hold no weekly (Sunday) or monthly (1st) slot.
NOW = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
RELAXED = {"cpu_percent": {"warning": 101, "critical": 101}, "memory_percent": {"warning": 101, "critical": 101},
           "disk_percent": {"warning": 101, "critical": 101}, "cpu_sample_seconds": 0.1}


def record(cfg: LoadedConfig, run_id: str, group: str, slot: datetime, status: str) -> None:
    hist = open_history(cfg)
    hist.begin_run(run_id, group, slot, ["health"], trigger="scheduled", slot=slot)
    hist.add_result(run_id, "health", status, "recorded", slot, 1.0, {}, {})
    hist.finish_run(run_id, status, slot + timedelta(minutes=1), 60.0)


def test_missed_daily_slots_make_health_critical_and_alert(make_config: Callable[..., LoadedConfig],
                                                           webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = make_config({"procedures": {"health": RELAXED}})
    now = NOW
    last_good = (now - timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
    record(cfg, "good", "daily", last_good, "ok")
    (res,) = run_group(cfg, "daily", only=["health"], clock=FixedClock(now)).procedures
    missed = res.result.details["missed_runs"]
    assert len(missed) >= 2 and all(m["group"] == "daily" and m["kind"] == "missed" for m in missed)
    assert res.result.status is Status.CRITICAL  # two or more in a row
    assert res.result.figures["missed_runs"] == len(missed)
    assert any("daily" in t and "CRITICAL" in t for t in webhook.texts)


def test_failed_slot_is_reported_and_fresh_install_is_quiet(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"procedures": {"health": RELAXED}})
    (fresh,) = run_group(cfg, "daily", only=["health"], clock=FixedClock(NOW)).procedures
    assert fresh.result.details["missed_runs"] == []  # nothing recorded yet: nothing is expected
    now = NOW
    slot = (now - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    scheduled_cfg = make_config({"procedures": {"health": RELAXED},
                                   "schedule": {"groups": {"daily": {"cron": f"0 {slot.hour} * * *",
                                                                    "grace_minutes": 30}}}})
    record(scheduled_cfg, "good", "daily", slot - timedelta(days=1), "ok")
    record(scheduled_cfg, "failed", "daily", slot, "interrupted")  # critical findings alert on their own
    (res,) = run_group(scheduled_cfg, "daily", only=["health"], clock=FixedClock(now)).procedures
    kinds = [m["kind"] for m in res.result.details["missed_runs"]]
    assert kinds == ["failed"]
    assert res.result.status is Status.WARNING
