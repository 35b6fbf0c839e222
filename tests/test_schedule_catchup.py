"""Catch-up after downtime and missed-run detection, against a real history file and real runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smc_maint.adapters.clock import FixedClock, parse_iso
from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history
from smc_maint.scheduling.catchup import plan_catch_up
from smc_maint.scheduling.daemon import run_due, run_slot
from smc_maint.scheduling.missed import RunFact, detect_missed, missed_run_findings

from .conftest import PgServer, plant_trades

DAY = timedelta(days=1)
H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- the policy as a pure function ------------------------------------------------------------
SLOTS = [utc(2026, 11, d, 2) for d in (25, 26, 27, 28)]
NOW = utc(2026, 11, 28, 10)  # the machine was down from the 25th until 10:00 on the 28th


def test_skip_drops_every_late_slot_but_runs_one_on_time() -> None:
    assert plan_catch_up("skip", SLOTS, NOW, grace=H, max_age=None) == []
    assert plan_catch_up("skip", SLOTS, utc(2026, 11, 28, 2, 20), grace=H, max_age=None) == [SLOTS[-1]]


def test_latest_runs_only_the_newest_missed_slot_within_max_age() -> None:
    assert plan_catch_up("latest", SLOTS, NOW, grace=H, max_age=48 * H) == [SLOTS[-1]]
    assert plan_catch_up("latest", SLOTS, NOW + 3 * DAY, grace=H, max_age=48 * H) == []


def test_all_runs_each_missed_slot_within_max_age_oldest_first() -> None:
    assert plan_catch_up("all", SLOTS, NOW, grace=H, max_age=48 * H) == SLOTS[-2:]
    assert plan_catch_up("all", SLOTS, NOW, grace=H, max_age=100 * H) == SLOTS


def test_monthly_default_runs_a_restore_test_missed_two_weeks_ago() -> None:
    missed = [utc(2026, 11, 1, 4)]
    assert plan_catch_up("latest", missed, utc(2026, 11, 15), grace=H, max_age=27 * 24 * H) == missed


# -- against real history and the real runner --------------------------------------------------
@pytest.fixture
def sched_config(make_config: Callable[..., LoadedConfig], pg: PgServer, trading_db: str
                 ) -> Callable[..., LoadedConfig]:
    # trading-summary (the group's one procedure) needs trades in the pinned week, whatever today is
    plant_trades(pg, trading_db, utc(2026, 11, 15), utc(2026, 12, 1))

    def build(**daily: Any) -> LoadedConfig:
        group = {"cron": "0 2 * * *", "only": ["trading-summary"], **daily}
        return make_config({"schedule": {"groups": {"daily": group, "weekly": {"enabled": False},
                                                    "monthly": {"enabled": False},
                                                    "quarterly": {"enabled": False}}}})
    return build


def _slots_run(cfg: LoadedConfig) -> dict[datetime, tuple[str, str]]:
    return {parse_iso(r.slot): (r.trigger, r.status) for r in open_history(cfg).runs(group="daily", limit=100)
            if r.slot}


@pytest.mark.parametrize(("policy", "max_age", "expected"), [
    ("skip", 48, []),
    ("latest", 48, [utc(2026, 11, 28, 2)]),
    ("all", 50, [utc(2026, 11, 27, 2), utc(2026, 11, 28, 2)]),  # the 26th is 56 h old
])
def test_catch_up_after_downtime_runs_what_the_policy_says(sched_config: Callable[..., LoadedConfig],
                                                           policy: str, max_age: float,
                                                           expected: list[datetime]) -> None:
    cfg = sched_config(catch_up=policy, max_age_hours=max_age)
    # The scheduler last ran the slot of the 25th, then the machine was down until the 28th 10:00.
    seeded = run_slot(cfg, "daily", utc(2026, 11, 25, 2), "scheduler", clock=FixedClock(utc(2026, 11, 25, 2, 0, 5)))
    assert seeded.state == "ran"

    outcomes = run_due(cfg, source="scheduler", clock=FixedClock(NOW))
    assert [o.slot for o in outcomes] == expected
    assert all(o.state == "ran" and o.trigger == "scheduler-catch-up" for o in outcomes)
    ran = _slots_run(cfg)
    assert sorted(ran) == [utc(2026, 11, 25, 2), *expected]
    assert all(status == "ok" for _, status in ran.values())

    # A restart right after runs nothing again; the next on-time slot runs as "scheduler".
    assert run_due(cfg, source="scheduler", clock=FixedClock(NOW + timedelta(minutes=5))) == []
    on_time = run_due(cfg, source="scheduler", clock=FixedClock(utc(2026, 11, 29, 2, 0, 3)))
    assert [(o.slot, o.trigger, o.state) for o in on_time] == [(utc(2026, 11, 29, 2), "scheduler", "ran")]


def test_first_start_does_not_replay_the_past(sched_config: Callable[..., LoadedConfig]) -> None:
    cfg = sched_config()
    assert run_due(cfg, source="scheduler", clock=FixedClock(NOW)) == []
    assert [o.slot for o in run_due(cfg, source="scheduler", clock=FixedClock(utc(2026, 11, 29, 2, 30)))] == [
        utc(2026, 11, 29, 2)]


def test_missed_and_failed_slots_are_found_and_a_later_good_run_resolves_them(
        sched_config: Callable[..., LoadedConfig]) -> None:
    cfg = sched_config(catch_up="skip")
    hist = open_history(cfg)
    run_slot(cfg, "daily", utc(2026, 11, 25, 2), "scheduler", clock=FixedClock(utc(2026, 11, 25, 2, 0, 5)))
    # The run of the 26th was killed mid-way: recorded as running, then closed as interrupted.
    hist.begin_run("killed-run", "daily", utc(2026, 11, 26, 2, 0, 5), ["trading-summary"], trigger="scheduler",
                   slot=utc(2026, 11, 26, 2), pid=999_999, host="other-host")
    hist.finish_run("killed-run", "interrupted", utc(2026, 11, 26, 2, 5), 300.0, "stopped by signal")

    findings = missed_run_findings(cfg, hist, NOW)
    assert [(f.slot, f.kind, f.severity) for f in findings] == [
        (utc(2026, 11, 26, 2), "failed", "critical"),
        (utc(2026, 11, 27, 2), "missed", "critical"),
        (utc(2026, 11, 28, 2), "missed", "critical"),
    ]
    assert findings[0].run_id == "killed-run"
    assert "did not run" in findings[1].message

    # Within its grace period the next slot is not missed yet; once it ran well, all is resolved.
    run_slot(cfg, "daily", utc(2026, 11, 29, 2), "scheduler", clock=FixedClock(utc(2026, 11, 29, 2, 0, 5)))
    assert missed_run_findings(cfg, hist, utc(2026, 11, 29, 4)) == []


def test_fresh_history_expects_nothing(sched_config: Callable[..., LoadedConfig]) -> None:
    cfg = sched_config()
    assert missed_run_findings(cfg, open_history(cfg), NOW) == []


def test_detect_missed_rules() -> None:
    slots = [utc(2026, 11, d, 2) for d in (26, 27, 28)]
    good = RunFact("r1", slots[0] + H, "warning")
    # One bad slot after a good one: a warning, not yet critical.
    one = detect_missed("daily", slots, {slots[0]: good, slots[1]: RunFact("r2", slots[1], "ok")}, [])
    assert [(f.slot, f.kind, f.severity) for f in one] == [(slots[2], "missed", "warning")]
    # A complete manual run after a missed slot covers it; an --only run does not.
    manual_ok = RunFact("m1", slots[2] + 3 * H, "ok", complete=True)
    partial = RunFact("m2", slots[2] + 3 * H, "ok", complete=False)
    assert detect_missed("daily", slots, {slots[0]: good, slots[1]: good}, [manual_ok]) == []
    assert len(detect_missed("daily", slots, {slots[0]: good, slots[1]: good}, [partial])) == 1
    # A critical result is a run that did its work (its own alert fired): not a missed slot.
    assert detect_missed("daily", slots, dict.fromkeys(slots, RunFact("r", slots[0], "critical")), []) == []


def test_a_slot_blocked_by_a_manual_run_holding_the_lock_runs_on_the_next_wake(
        sched_config: Callable[..., LoadedConfig]) -> None:
    from smc_maint.lock import group_lock

    cfg = sched_config()
    at = FixedClock(utc(2026, 11, 29, 2, 0, 2))
    with group_lock(cfg.lock_dir, "daily"):  # a manual `smc-maint run daily` is in progress
        blocked = run_due(cfg, source="scheduler", clock=at)
    assert [(o.slot, o.state) for o in blocked] == [(utc(2026, 11, 29, 2), "locked")]
    assert _slots_run(cfg) == {}
    at.advance(60)
    retried = run_due(cfg, source="scheduler", clock=at)
    assert [(o.slot, o.state, o.trigger) for o in retried] == [(utc(2026, 11, 29, 2), "ran", "scheduler")]
