"""The monthly maintenance report: every number from recorded runs, never a placeholder."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history
from smc_maint.reporting.month import Month
from smc_maint.reporting.render import render
from smc_maint.reporting.service import monthly_report

from .obs_history import (
    API_DOWN_DAY,
    BACKUP_FAILED_DAY,
    GROUPS,
    MISSED_DAY,
    SCRIPTS,
    STALE_BACKUP_DAY,
    install,
    record_october,
    run_at,
)

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
# The runbook template's placeholders: none may ever appear in a report.
PLACEHOLDERS = re.compile(r"\b(X|Y|Z%|A%|TBD|Issue 1|Recommendation 1|Priority 1)\b")




def test_report_numbers_come_from_history(october: LoadedConfig) -> None:
    report = monthly_report(october, open_history(october), Month(2026, 10), NOW)
    comp = {c.procedure: c for c in report.completions}
    assert (comp["health"].completed, comp["health"].scheduled) == (30, 31)
    assert comp["health"].missed == [f"2026-10-{MISSED_DAY}"]
    assert comp["health"].failed == 1
    assert (comp["db-maintenance"].completed, comp["db-maintenance"].scheduled) == (4, 4)  # Sundays 4, 11, 18, 25
    assert (comp["restore-test"].completed, comp["restore-test"].scheduled) == (1, 1)
    assert comp["maintenance-report"].missed == ["2026-10-01"]
    up = {u.endpoint: u for u in report.uptime}
    assert (up["api"].up, up["api"].checks) == (29, 30)
    assert up["api"].down_at == [f"2026-10-{API_DOWN_DAY} 02:00 UTC"]
    assert up["database"].ratio == 1.0
    assert (report.backups.successes, report.backups.attempts) == (29, 30)
    assert report.backups.emergency_backups == 1
    assert [t.rto_seconds for t in report.restore_tests] == [42.0]
    stats = {s.group: s for s in report.window_stats}
    assert stats["daily"].count == 30 and stats["weekly"].count == 4 and stats["monthly"].count == 1
    assert [e.started_at for e in report.emergencies] == [f"2026-10-0{STALE_BACKUP_DAY} 02:00 UTC"]
    issues = {i.procedure: i for i in report.issues}
    assert issues["health"].resolved_at == f"2026-10-{API_DOWN_DAY + 1} 02:00 UTC"
    assert issues["backup-verify"].worst_status == "critical" and issues["backup-verify"].occurrences == 2
    assert issues["backup-verify"].resolved_at == f"2026-10-{BACKUP_FAILED_DAY + 1} 02:00 UTC"
    assert issues["vulnerability-review"].open
    recs = "\n".join(report.recommendations)
    assert f"health ran 30 of 31 scheduled days (missed 2026-10-{MISSED_DAY})" in recs
    assert "1 of 30 backup checks failed" in recs
    assert "Address 2 critical vulnerabilities (4 critical/high have a fix available)" in recs
    assert any("vulnerability-review" in f for f in report.focus)
    pnl = report.charts["pnl"]
    assert pnl[0][0].startswith("2026-10-01") and pnl[-1][0].startswith("2026-10-31")
    grid = {row["procedure"]: row["cells"] for row in report.charts["status_grid"]["rows"]}
    assert grid["health"][API_DOWN_DAY - 1] == "critical" and grid["health"][MISSED_DAY - 1] is None


def test_markdown_and_html_show_the_numbers_and_no_placeholder(october: LoadedConfig) -> None:
    report = monthly_report(october, open_history(october), Month(2026, 10), NOW)
    md = render(report, "md", dashboard_url="http://dash.example:9184")
    assert "# Maintenance Report - October 2026" in md
    assert f"health: 30/31 days, 1 failed; missed 2026-10-{MISSED_DAY}" in md
    assert "- Backup success rate: 96.67% (29/30)" in md
    assert "| api | 30 | 29 | 96.67% |" in md
    assert "](http://dash.example:9184/runs/20261021T020000Z-" in md  # the failing run is linked
    assert not PLACEHOLDERS.search(md), PLACEHOLDERS.search(md)
    html = render(report, "html")
    assert not PLACEHOLDERS.search(re.sub(r"<[^>]+>", " ", html))
    assert html.count("<svg") >= 6  # status grid, durations, backup size, backup age, db size, P&L
    assert "no data recorded in this period" not in html  # every chart had data this month
    data = json.loads(render(report, "json"))
    assert data["totals"]["completed"] == report.completed_total
    assert data["backups"]["emergency_backups"] == 1


def test_a_month_without_runs_says_so_instead_of_inventing(make_config: Callable[..., LoadedConfig],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    report = monthly_report(cfg, open_history(cfg), Month(2026, 9), NOW)
    md = render(report, "md")
    assert "from 0 recorded runs" in md
    assert "No restore test was recorded this month." in md
    assert "health: 0/0 days" in md  # an empty history owes nothing (one rule with missed-run detection)
    assert "Backup success rate: no backup checks recorded" in md
    assert not PLACEHOLDERS.search(md)
    assert "no data recorded in this period" in render(report, "html")


def test_dry_runs_are_not_counted(make_config: Callable[..., LoadedConfig], monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    run_at(cfg, "daily", datetime(2026, 10, 5, 2, tzinfo=UTC), dry_run=True)
    report = monthly_report(cfg, open_history(cfg), Month(2026, 10), NOW)
    assert report.runs_total == 0 and report.completed_total == 0


def test_cli_report_writes_the_month_and_refuses_bad_input(october: LoadedConfig, tmp_path: Path) -> None:
    assert october.source is not None
    out = tmp_path / "r.html"
    base = [sys.executable, "-m", "smc_maint", "report", "-c", str(october.source)]
    ok = subprocess.run([*base, "--month", "2026-10", "--format", "html", "-o", str(out)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "Maintenance Report - October 2026" in out.read_text()
    bad = subprocess.run([*base, "--month", "2026-13"], capture_output=True, text=True)
    assert bad.returncode == 64 and "YYYY-MM" in bad.stderr and "Traceback" not in bad.stderr
    fmt = subprocess.run([*base, "--month", "2026-10", "--format", "pdf"], capture_output=True, text=True)
    assert fmt.returncode == 64 and "--format" in fmt.stderr


def test_a_slot_whose_period_is_still_open_is_pending_not_missed(
        make_config: Callable[..., LoadedConfig], monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    for day in (1, 2, 4):
        run_at(cfg, "daily", datetime(2026, 10, day, 2, tzinfo=UTC))
    # 02:30: the 5th's 02:00 slot is within its 60-minute grace (as health sees it): pending, not missed
    report = monthly_report(cfg, open_history(cfg), Month(2026, 10), datetime(2026, 10, 5, 2, 30, tzinfo=UTC))
    health = next(c for c in report.completions if c.procedure == "health")
    assert (health.completed, health.scheduled, health.missed) == (3, 4, ["2026-10-03"])  # the 5th is pending
    later = monthly_report(cfg, open_history(cfg), Month(2026, 10), datetime(2026, 10, 5, 3, 30, tzinfo=UTC))
    health = next(c for c in later.completions if c.procedure == "health")
    assert health.missed == ["2026-10-03", "2026-10-05"]  # past its grace: missed, as health says
    assert not report.complete_month and "(month in progress)" in render(report, "md")


def test_expected_slots_follow_the_scheduler_config(make_config: Callable[..., LoadedConfig],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config({"schedule": {"groups": {"weekly": {"enabled": False},
                                               "daily": {"cron": "0 2 * * 1-5", "only": ["health"]}}}})
    record_october(cfg)
    report = monthly_report(cfg, open_history(cfg), Month(2026, 10), NOW)
    procs = {c.procedure: c for c in report.completions}
    assert "db-maintenance" not in procs and "backup-verify" not in procs  # disabled group, `only`
    assert (procs["health"].completed, procs["health"].scheduled) == (21, 22)  # weekdays; the 14th missed


def test_a_fresh_install_missed_nothing_before_its_first_run(make_config: Callable[..., LoadedConfig],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """History that starts on the 20th: slots of the 1st-19th are not 'missed' (as in missed-run detection)."""
    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    hist = open_history(cfg)
    first = datetime(2026, 11, 20, 2, 0, 5, tzinfo=UTC)
    hist.begin_run("first", "daily", first, ["health"], trigger="scheduled", slot=first.replace(second=0))
    hist.add_result("first", "health", "ok", "fine", first, 1.0, {}, {})
    hist.finish_run("first", "ok", first, 1.0)
    report = monthly_report(cfg, hist, Month(2026, 11), datetime(2026, 11, 22, 2, 30, tzinfo=UTC))
    health = next(c for c in report.completions if c.procedure == "health")
    assert (health.scheduled, health.completed) == (2, 1)  # the 20th done, the 21st missed, the 22nd pending
    assert health.missed == ["2026-11-21"]


def test_a_month_before_history_began_owes_nothing(make_config: Callable[..., LoadedConfig],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The default report (last month) on a fresh install: nothing missed, nothing to recommend about it."""
    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    hist = open_history(cfg)
    first = datetime(2026, 11, 3, 2, 0, 5, tzinfo=UTC)
    hist.begin_run("first", "daily", first, ["health"], trigger="scheduled", slot=first.replace(second=0))
    hist.add_result("first", "health", "ok", "fine", first, 1.0, {}, {})
    hist.finish_run("first", "ok", first, 1.0)
    report = monthly_report(cfg, hist, Month(2026, 10), datetime(2026, 11, 4, 10, tzinfo=UTC))
    assert all(c.scheduled == 0 and c.missed == [] for c in report.completions)
    assert not any("missed" in r for r in report.recommendations), report.recommendations
    assert "missed" not in render(report, "md").lower()


def test_report_and_health_agree_on_what_was_missed(make_config: Callable[..., LoadedConfig],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """One definition: the report's missed days of the daily group are health's missed daily slots."""
    from smc_maint.scheduling.missed import missed_run_findings

    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    for day in (3, 4, 7, 9):
        run_at(cfg, "daily", datetime(2026, 11, day, 2, tzinfo=UTC))
    now = datetime(2026, 11, 10, 10, tzinfo=UTC)
    report = monthly_report(cfg, open_history(cfg), Month(2026, 11), now)
    health = next(c for c in report.completions if c.procedure == "health")
    found = missed_run_findings(cfg, open_history(cfg), now)
    daily = sorted(f.slot.date().isoformat() for f in found if f.group == "daily")
    assert health.missed == ["2026-11-05", "2026-11-06", "2026-11-08", "2026-11-10"]
    # health reports what is outstanding after the last good slot (the 9th): the 10th, past its grace
    assert [d for d in health.missed if d > "2026-11-09"] == daily == ["2026-11-10"]
