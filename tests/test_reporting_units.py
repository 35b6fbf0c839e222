"""Pure pieces of reporting: token check, month parsing, slots, charts, formatting."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smc_maint.reporting import charts, fmt
from smc_maint.reporting.month import Month
from smc_maint.reporting.schedule import next_slot, slots_between
from smc_maint.web.auth import check_bearer


def test_bearer_check() -> None:
    assert check_bearer("Bearer s3cret-token", "s3cret-token").allowed
    assert check_bearer(None, "s3cret-token").status == 401
    assert check_bearer("Basic czNjcmV0", "s3cret-token").status == 401
    assert check_bearer("Bearer s3cret-tokeN", "s3cret-token").status == 401
    assert check_bearer("Bearer anything", None).status == 403  # no token configured: disabled
    assert check_bearer("Bearer ", "").status == 403


def test_month_parsing_and_bounds() -> None:
    assert Month.parse("2026-02").days()[-1].day == 28
    assert Month.parse("2024-02").days()[-1].day == 29
    assert Month(2026, 1).previous() == Month(2025, 12) and Month(2026, 12).next() == Month(2027, 1)
    for bad in ("2026-13", "2026-1", "26-01", "last", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(bad)


def test_schedule_slots_half_open_and_zoned() -> None:
    oct_ = Month(2026, 10)
    assert len(slots_between("0 2 * * *", oct_.start, oct_.end)) == 31
    sundays = slots_between("0 3 * * 0", oct_.start, oct_.end)
    assert [s.day for s in sundays] == [4, 11, 18, 25]
    assert next_slot("0 4 1 * *", datetime(2026, 10, 1, 4, tzinfo=UTC)) == datetime(2026, 11, 1, 4, tzinfo=UTC)
    warsaw = slots_between("0 2 * * *", oct_.start, oct_.end, ZoneInfo("Europe/Warsaw"))
    assert warsaw[0] == datetime(2026, 10, 1, 0, tzinfo=UTC)  # 02:00 CEST
    assert warsaw[-1] == datetime(2026, 10, 31, 1, tzinfo=UTC)  # 02:00 CET after the DST change


def test_charts_escape_and_say_when_empty() -> None:
    svg = charts.line_chart({"<script>": [("2026-10-01T00:00:00+00:00", 1.0), ("2026-10-02T00:00:00+00:00", 3.0)]},
                            title="a & b")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    assert "polyline" in svg
    assert "no data recorded" in charts.line_chart({}, title="empty")
    grid = charts.status_grid({"days": ["2026-10-01"], "rows": [{"procedure": "health", "cells": ["critical"]}]})
    assert charts.STATUS_COLOURS["critical"] in grid


def test_formatting() -> None:
    assert fmt.bytes_(73 * 1024 * 1024) == "73.0 MiB"
    assert fmt.seconds(3725) == "1 h 02 min" and fmt.seconds(42) == "42.0 s"
    assert fmt.ratio(29 / 30) == "96.67%" and fmt.ratio(1.0) == "100%" and fmt.ratio(None) == "no data"
    assert fmt.money(-12.5) == "-12.50"


def test_missed_days_are_shown_as_ranges() -> None:
    days = ["2026-10-03", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-07", "2026-10-08"]
    assert fmt.day_ranges(days) == "2026-10-01 to 2026-10-03, 2026-10-05, 2026-10-07 to 2026-10-08"
    assert fmt.day_ranges([]) == ""


def test_maintenance_mode_is_on_while_an_emergency_run_is_in_progress(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from smc_maint.history import open_sqlite
    from smc_maint.reporting.metrics import registry_for

    hist = open_sqlite(tmp_path / "h.sqlite3")
    now = datetime(2026, 11, 3, 12, tzinfo=UTC)
    reg = registry_for(lambda: hist, lambda: now)
    assert "smc_maint_maintenance_mode 0.0" in generate_latest(reg).decode()
    hist.begin_run("e1", "emergency", now, ["emergency"])
    assert "smc_maint_maintenance_mode 1.0" in generate_latest(reg).decode()
    hist.finish_run("e1", "ok", now, 60.0)
    assert "smc_maint_maintenance_mode 0.0" in generate_latest(reg).decode()
