"""``smc-maint schedule explain|systemd|missed`` as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smc_maint.errors import ConfigError
from smc_maint.scheduling.systemd import on_calendar

from .conftest import need


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SMC_MAINT_CONFIG"}
    return subprocess.run([sys.executable, "-m", "smc_maint", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "smc-maint.yaml"
    path.write_text(f"home: {tmp_path}/home\n{body}")
    return path


def test_explain_json_shows_utc_and_local_and_flags_dst(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "schedule:\n  timezone: Europe/Warsaw\n  groups:\n    daily:\n"
                                 "      cron: '30 2 * * *'\n")
    result = cli("schedule", "explain", "--next", "3", "--json", "--config", str(cfg), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    daily = next(g for g in data["groups"] if g["group"] == "daily")
    assert len(daily["next"]) == 3
    first = daily["next"][0]
    assert first["utc"].endswith("+00:00") and first["local"][-6:] in ("+01:00", "+02:00")
    # Within a year a daily 02:30 in Warsaw is doubled once (October) and skipped in March: once, or
    # twice when the year starts just before a March change (the CLI reads the real "now").
    kinds = sorted(s["dst"] for s in daily["dst_within_year"])
    assert kinds.count("once-of-two") == 1 and 1 <= kinds.count("shifted") <= 2, kinds
    weekly = next(g for g in data["groups"] if g["group"] == "weekly")
    assert weekly["dst_within_year"] == []  # Sunday 03:00 exists once on both change days


def test_explain_table_for_people(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "schedule:\n  timezone: America/New_York\n  groups:\n    daily:\n"
                                 "      cron: '30 1 * * *'\n")
    result = cli("schedule", "explain", "--config", str(cfg), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "daily: 30 1 * * * (America/New_York)" in result.stdout
    assert "DST doubles 01:30" in result.stdout


def test_bad_timezone_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "schedule:\n  timezone: Europe/Atlantis\n")
    result = cli("schedule", "explain", "--config", str(cfg), cwd=tmp_path)
    assert result.returncode == 78
    stderr = " ".join(result.stderr.split())  # the console wraps long lines
    assert "line 3" in stderr and "Europe/Atlantis" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(("cron", "tz", "expected"), [
    ("0 2 * * *", "UTC", "*-*-* 02:00:00 UTC"),
    ("0 3 * * 0", "UTC", "Sun *-*-* 03:00:00 UTC"),
    ("0 4 1 * *", "Europe/Warsaw", "*-*-01 04:00:00 Europe/Warsaw"),
    ("0 5 1 1,4,7,10 *", "UTC", "*-01,04,07,10-01 05:00:00 UTC"),
    ("*/15 9-17 * * 1-5", "UTC", "Mon,Tue,Wed,Thu,Fri *-*-* 09,10,11,12,13,14,15,16,17:00,15,30,45:00 UTC"),
])
def test_cron_to_on_calendar(cron: str, tz: str, expected: str) -> None:
    assert on_calendar(cron, tz) == expected


def test_on_calendar_agrees_with_systemd(tmp_path: Path) -> None:
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze")
    for cron in ("0 2 * * *", "0 3 * * 0", "0 4 1 * *", "0 5 1 1,4,7,10 *"):
        spec = on_calendar(cron, "UTC")
        result = subprocess.run(["systemd-analyze", "calendar", spec], capture_output=True, text=True)
        assert result.returncode == 0, f"{spec}: {result.stderr}"
        assert "Next elapse" in result.stdout


def test_cron_with_both_day_fields_is_refused_for_systemd() -> None:
    with pytest.raises(ConfigError, match="ORs them"):
        on_calendar("0 2 1 * 1", "UTC")


def test_systemd_writes_service_and_timer_per_group(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "schedule:\n  timezone: Europe/Warsaw\n")
    out = tmp_path / "units"
    result = cli("schedule", "systemd", "--output-dir", str(out), "--executable", "/opt/smc/bin/smc-maint",
                 "--config", str(cfg), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    service = (out / "smc-maint-daily.service").read_text()
    timer = (out / "smc-maint-daily.timer").read_text()
    assert f"ExecStart=/opt/smc/bin/smc-maint schedule run daily --trigger systemd --config {cfg}" in service
    assert "Type=oneshot" in service and "User=smc-maint" in service and "SuccessExitStatus=1 2 3" in service
    assert "OnCalendar=*-*-* 02:00:00 Europe/Warsaw" in timer and "Persistent=true" in timer
    if shutil.which("systemd-analyze"):
        for unit in out.glob("*.timer"):
            line = next(x for x in unit.read_text().splitlines() if x.startswith("OnCalendar="))
            check = subprocess.run(["systemd-analyze", "calendar", line.split("=", 1)[1]], capture_output=True,
                                   text=True)
            assert check.returncode == 0, check.stderr


def test_missed_cli_reports_a_failed_slot_with_exit_code(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from smc_maint.history import open_sqlite

    cfg = write_config(tmp_path, "schedule:\n  groups:\n    daily:\n      cron: '0 * * * *'\n"
                                 "      grace_minutes: 10\n")
    hist = open_sqlite(tmp_path / "home" / "history.sqlite3")
    now = datetime.now(UTC)
    slot = (now - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    hist.begin_run("old", "daily", slot - timedelta(hours=5), ["trading-summary"], trigger="manual")
    hist.finish_run("old", "ok", slot - timedelta(hours=5), 1.0)
    result = cli("schedule", "missed", "--json", "--config", str(cfg), cwd=tmp_path)
    findings = json.loads(result.stdout)["findings"]
    assert result.returncode == 2  # several hourly slots in a row did not run
    assert {f["kind"] for f in findings} == {"missed"} and len(findings) >= 2
    assert all(f["group"] == "daily" for f in findings)


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze")
    cfg = write_config(tmp_path, "schedule:\n  timezone: Europe/Warsaw\n")
    out = tmp_path / "units"
    exe = str(Path(sys.executable).parent / "smc-maint")
    result = cli("schedule", "systemd", "--output-dir", str(out), "--executable", exe, "--config", str(cfg),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    units = sorted(str(p) for p in out.iterdir())
    assert units
    check = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "Failed" not in check.stderr and "Unknown" not in check.stderr, check.stderr
