"""DR drills in the monthly report, the dashboard and /metrics: RTO and RPO per drill with the trend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import generate_latest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history
from smc_maint.reporting.month import Month
from smc_maint.reporting.publish import registry_from_config
from smc_maint.reporting.render import render
from smc_maint.reporting.service import monthly_report
from smc_maint.web.views import dashboard_context

from .test_reporting_metrics import value

DRILLS = [("d1", datetime(2026, 4, 1, 5, tzinfo=UTC), "ok", 200.0, 3600.0),
          ("d2", datetime(2026, 7, 1, 5, tzinfo=UTC), "warning", 300.0, 7200.0),
          ("d3", datetime(2026, 10, 1, 5, tzinfo=UTC), "ok", 240.0, 1800.0)]


def _recorded(make_config: Callable[..., LoadedConfig]) -> LoadedConfig:
    cfg = make_config()
    hist = open_history(cfg)
    for run_id, at, status, rto, rpo in DRILLS:
        hist.begin_run(run_id, "quarterly", at, ["dr-drill"])
        hist.add_result(run_id, "dr-drill", status, f"drill {run_id}", at, rto, {},
                        {"rto_seconds": rto, "rpo_seconds": rpo})
        hist.finish_run(run_id, status, at, rto + 5)
    return cfg


def test_report_lists_every_drill_with_its_change(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = _recorded(make_config)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    report = monthly_report(cfg, open_history(cfg), Month(2026, 10), now)
    assert [(d.run_id, d.rto_seconds, d.rpo_seconds) for d in report.dr_drills] == \
        [("d1", 200.0, 3600.0), ("d2", 300.0, 7200.0), ("d3", 240.0, 1800.0)]
    assert [d.rto_change_percent for d in report.dr_drills] == [None, 50.0, -20.0]
    assert [d.rpo_change_percent for d in report.dr_drills] == [None, 100.0, -75.0]
    md = render(report, "md")
    assert "## Disaster-recovery drills" in md and "-20.0 %" in md and "+100.0 %" in md
    html = render(report, "html")
    assert "Disaster-recovery drills" in html and "-75.0 %" in html
    earlier = monthly_report(cfg, open_history(cfg), Month(2026, 5), now)  # only drills up to that month
    assert [d.run_id for d in earlier.dr_drills] == ["d1"]


def test_dashboard_and_metrics_show_the_last_drill(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = _recorded(make_config)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    ctx = dashboard_context(open_history(cfg), cfg, now)
    assert [d.run_id for d in ctx["dr_drills"]] == ["d1", "d2", "d3"]
    assert [v for _, v in ctx["dr_chart"]["RTO"]] == [200.0, 300.0, 240.0]
    text = generate_latest(registry_from_config(cfg, FixedClock(now))).decode()
    assert value(text, "smc_maint_dr_rto_seconds") == 240.0
    assert value(text, "smc_maint_dr_rpo_seconds") == 1800.0
