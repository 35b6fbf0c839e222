"""Slot keys: one UTC instant per scheduled run, also across DST changes in both directions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smc_maint.config.loader import load_config
from smc_maint.errors import ConfigError
from smc_maint.scheduling.slots import DstEffect, dst_affected, latest_slot, next_slots, slots_between

WARSAW = ZoneInfo("Europe/Warsaw")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_spring_forward_runs_the_skipped_wall_time_once_after_the_gap() -> None:
    # 2026-03-29 in Warsaw: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    slots = slots_between("30 2 * * *", WARSAW, utc(2026, 3, 27), utc(2026, 3, 31))
    assert [s.utc for s in slots] == [utc(2026, 3, 27, 1, 30), utc(2026, 3, 28, 1, 30),
                                      utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    skipped = slots[2]
    assert skipped.effect is DstEffect.SHIFTED
    assert skipped.local(WARSAW).strftime("%H:%M %Z") == "03:30 CEST"
    assert [s.effect for s in slots if s is not skipped] == [DstEffect.NONE] * 3


def test_fall_back_runs_the_doubled_wall_time_once_at_its_first_occurrence() -> None:
    # 2026-10-25 in Warsaw: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    slots = slots_between("30 2 * * *", WARSAW, utc(2026, 10, 24), utc(2026, 10, 27))
    assert [s.utc for s in slots] == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert slots[1].effect is DstEffect.ONCE_OF_TWO
    assert slots[1].local(WARSAW).strftime("%H:%M %Z") == "02:30 CEST"


def test_every_half_hour_across_the_fold_has_no_duplicate_and_no_gap_in_keys() -> None:
    # New York falls back 2026-11-01 02:00 EDT -> 01:00 EST: wall 01:00 and 01:30 happen twice.
    slots = slots_between("*/30 * * * *", NEW_YORK, utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))
    keys = [s.utc for s in slots]
    assert len(keys) == len(set(keys))
    # The doubled wall hour ran once: 01:00 and 01:30 EDT, then 02:00 EST (an hour and a half later).
    assert [s.local(NEW_YORK).strftime("%H:%M") for s in slots] == ["00:30", "01:00", "01:30", "02:00",
                                                                    "02:30", "03:00"]
    assert keys[3] - keys[2] == timedelta(minutes=90)


def test_every_half_hour_across_the_gap_merges_wall_times_that_land_on_one_instant() -> None:
    # New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT: 02:00 and 02:30 do not exist.
    slots = slots_between("*/30 * * * *", NEW_YORK, utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))
    keys = [s.utc for s in slots]
    assert len(keys) == len(set(keys))
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(keys))


def test_utc_schedule_is_never_touched_by_dst() -> None:
    assert dst_affected("0 2 * * *", ZoneInfo("UTC"), utc(2026, 1, 1)) == []
    flagged = dst_affected("0 2 * * *", WARSAW, utc(2026, 1, 1))
    assert [(s.wall.date().isoformat(), s.effect) for s in flagged] == [("2026-03-29", DstEffect.SHIFTED),
                                                                        ("2026-10-25", DstEffect.ONCE_OF_TWO)]


def test_sunday_schedules_in_new_york_are_flagged_on_the_change_days() -> None:
    assert dst_affected("0 3 * * 0", ZoneInfo("UTC"), utc(2026, 1, 1)) == []
    # New York changes on Sundays at 02:00: 02:30 is skipped in March, 01:30 doubled in November.
    skipped = dst_affected("30 2 * * 0", NEW_YORK, utc(2026, 1, 1))
    assert [(s.wall.date().isoformat(), s.effect) for s in skipped] == [("2026-03-08", DstEffect.SHIFTED)]
    doubled = dst_affected("30 1 * * 0", NEW_YORK, utc(2026, 1, 1))
    assert [(s.wall.date().isoformat(), s.effect) for s in doubled] == [("2026-11-01", DstEffect.ONCE_OF_TWO)]


def test_next_and_latest_slot() -> None:
    now = utc(2026, 11, 28, 15, 0)
    assert [s.utc for s in next_slots("0 5 1 1,4,7,10 *", ZoneInfo("UTC"), now, 2)] == [utc(2027, 1, 1, 5),
                                                                                         utc(2027, 4, 1, 5)]
    latest = latest_slot("0 5 1 1,4,7,10 *", ZoneInfo("UTC"), now)
    assert latest is not None and latest.utc == utc(2026, 10, 1, 5)
    exact = latest_slot("0 2 * * *", WARSAW, utc(2026, 10, 25, 0, 0))
    assert exact is not None and exact.utc == utc(2026, 10, 25, 0, 0)


def test_defaults_are_the_runbook_times_in_utc() -> None:
    sched = load_config(text="").config.schedule
    assert sched.timezone == "UTC"
    assert {g: s.cron for g, s in sched.groups.items()} == {
        "daily": "0 2 * * *", "weekly": "0 3 * * 0", "monthly": "0 4 1 * *", "quarterly": "0 5 1 1,4,7,10 *"}
    assert {g: s.catch_up for g, s in sched.groups.items()} == dict.fromkeys(sched.groups, "latest")


def test_partial_group_config_keeps_the_other_defaults() -> None:
    sched = load_config(text="schedule:\n  groups:\n    daily:\n      cron: '15 1 * * *'\n").config.schedule
    assert sched.groups["daily"].cron == "15 1 * * *"
    assert sched.groups["daily"].max_age_hours == 48
    assert sched.groups["weekly"].cron == "0 3 * * 0"


@pytest.mark.parametrize(("yaml_text", "needle"), [
    ("schedule:\n  timezone: Mars/Olympus\n", "unknown time zone 'Mars/Olympus'"),
    ("schedule:\n  groups:\n    daily:\n      cron: '61 2 * * *'\n", "not a valid cron expression"),
    ("schedule:\n  groups:\n    daily:\n      cron: '0 2 * *'\n", "need five cron fields"),
    ("schedule:\n  groups:\n    daily:\n      catch_up: all\n      max_age_hours: null\n", "needs max_age_hours"),
    ("schedule:\n  groups:\n    hourly:\n      cron: '0 * * * *'\n", "unknown group 'hourly'"),
    ("schedule:\n  groups:\n    daily:\n      catch_up: sometimes\n", "schedule.groups.daily.catch_up"),
    ("schedule:\n  groups:\n    daily:\n      bogus: 1\n", "unknown key"),
])
def test_bad_schedule_config_is_a_clear_error_with_the_line(yaml_text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text=yaml_text)
    assert needle in str(info.value)
    assert "line" in str(info.value)
