"""The activity gate in the runner: a gated backup during a planted spike waits, then runs, and says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from prometheus_client import generate_latest

from smc_maint import registry
from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history
from smc_maint.reporting.publish import registry_from_config
from smc_maint.runner import run_group

from .conftest import PgServer
from .test_activity_gate import NOW, SPIKE, plant


def _gated(make_config: Callable[..., LoadedConfig], **gate: object) -> LoadedConfig:
    return make_config({"schedule": {"gate": {"enabled": True, "recheck_seconds": 60, **gate}}})


def _metric(text: str, name: str) -> float:
    (line,) = [ln for ln in text.splitlines() if ln.startswith(name + " ")]
    return float(line.split()[-1])


def test_gated_backup_waits_out_a_spike_then_runs(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                  trading_db: str) -> None:
    plant(pg, trading_db, NOW, days=28, spike=SPIKE)
    cfg = _gated(make_config, max_deferral_minutes=120)
    clock = FixedClock(NOW)
    outcome = run_group(cfg, "daily", only=["backup"], clock=clock, sleep=clock.advance)
    (backup,) = outcome.procedures
    assert backup.result.status.value == "ok", backup.result.summary
    gate = backup.result.details["gate"]
    # the 15-minute window has left the spike (ending NOW+20 min) behind by NOW+35 min
    assert 25 * 60 <= gate["deferred_seconds"] <= 36 * 60 and not gate["forced"] and gate["error"] is None
    assert "usual" in gate["reasons"][0]
    assert "deferred 3" in backup.result.summary and "ran anyway" not in backup.result.summary
    assert backup.started_at >= NOW + timedelta(minutes=25)  # the procedure started after the wait
    # history keeps the deferral with the result, and the metrics show it
    hist = open_history(cfg)
    (row,) = [r for r in hist.results(outcome.run_id) if r.procedure_id == "backup"]
    assert row.details["gate"]["checks"] >= 26 and "deferred 3" in row.summary
    figures = hist.latest_figures()
    assert figures["gate_deferrals"].value == 1.0
    assert figures["gate_deferred_seconds"].value == backup.result.figures["gate_deferred_seconds"]
    text = generate_latest(registry_from_config(cfg, FixedClock(clock.now()))).decode()
    assert _metric(text, "smc_maint_gate_last_deferred_seconds") == gate["deferred_seconds"]
    assert "deferred 3" in outcome.log_path.read_text()


def test_gated_backup_runs_anyway_at_the_maximum_deferral(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                          trading_db: str) -> None:
    plant(pg, trading_db, NOW, days=28, spike=SPIKE)
    cfg = _gated(make_config, max_deferral_minutes=10)
    clock = FixedClock(NOW)
    (backup,) = run_group(cfg, "daily", only=["backup"], clock=clock, sleep=clock.advance).procedures
    assert backup.result.status.value == "ok", backup.result.summary
    assert backup.result.details["gate"]["forced"] and backup.result.figures["gate_deferred_seconds"] == 600
    assert "ran anyway at the maximum deferral" in backup.result.summary


def test_gate_without_a_readable_trades_table_opens(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                    trading_db: str) -> None:
    with pg.connect(trading_db) as conn:
        conn.execute("ALTER TABLE trades RENAME TO trades_elsewhere")
    cfg = _gated(make_config)
    clock = FixedClock(NOW)
    (backup,) = run_group(cfg, "daily", only=["backup"], clock=clock, sleep=clock.advance).procedures
    assert backup.result.status.value == "ok", backup.result.summary
    assert "trades could not be read" in backup.result.summary and "trades" in backup.result.details["gate"]["error"]
    assert backup.result.figures["gate_deferrals"] == 0.0 and clock.now() == NOW


def test_dry_runs_and_ungated_procedures_never_wait(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                    trading_db: str) -> None:
    plant(pg, trading_db, NOW, days=28, spike=SPIKE)
    cfg = _gated(make_config, procedures=["backup"])
    clock = FixedClock(NOW)
    outcome = run_group(cfg, "daily", only=["backup", "backup-verify"], dry_run=True, clock=clock,
                        sleep=clock.advance)
    assert clock.now() == NOW and all("gate" not in o.result.details for o in outcome.procedures)


def test_longest_run_includes_the_maximum_deferral(make_config: Callable[..., LoadedConfig]) -> None:
    ids = registry.GROUPS["daily"]
    plain = make_config().config
    gated = _gated(make_config, max_deferral_minutes=30).config
    assert plain.longest_run_seconds(ids) == plain.runner.longest_run_seconds(ids)
    assert gated.longest_run_seconds(ids) == gated.runner.longest_run_seconds(ids) + 30 * 60 + 60  # backup only


def test_activity_heat_map_from_history_in_dashboard_and_report(make_config: Callable[..., LoadedConfig],
                                                               pg: PgServer, trading_db: str) -> None:
    from smc_maint.reporting.monthly import Month
    from smc_maint.reporting.render import environment, render
    from smc_maint.reporting.service import monthly_report
    from smc_maint.web.views import dashboard_context

    plant(pg, trading_db, NOW, days=28)
    cfg = make_config({"procedures": {"metrics-snapshot": {"platform_usage": False, "cpu_sample_seconds": 0.1}}})
    run_group(cfg, "daily", only=["metrics-snapshot"], clock=FixedClock(NOW))
    hist = open_history(cfg)
    later = NOW + timedelta(hours=1)
    # drawn from the recorded snapshot: the production database is gone by render time
    with pg.connect(trading_db) as conn:
        conn.execute("DELETE FROM trades")
    html = environment("smc_maint.web").get_template("dashboard.html.j2").render(
        **dashboard_context(hist, cfg, later), triggered=[])
    assert 'class="chart heat-map"' in html
    assert "Sun 04:00: 1 trades" in html and "Wed 10:00: 20 trades" in html  # the quiet window and a busy hour
    report_html = render(monthly_report(cfg, hist, Month.of(NOW), later), "html")
    assert "Trading activity" in report_html and "Sun 05:00: 1 trades" in report_html
