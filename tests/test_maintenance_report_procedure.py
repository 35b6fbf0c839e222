"""``smc-maint run monthly``: the report for the previous month is written and a summary alert delivered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history

from .conftest import Receiver
from .obs_history import GROUPS, SCRIPTS, install, record_october, run_at


@pytest.fixture
def cfg(make_config: Callable[..., LoadedConfig], monkeypatch: pytest.MonkeyPatch,
        webhook: Receiver) -> LoadedConfig:
    install(monkeypatch, GROUPS, SCRIPTS)
    monkeypatch.setenv("OBS_TEST_WEBHOOK", webhook.url)
    config = make_config({"alerts": {"channels": {"default": {"url_env": "OBS_TEST_WEBHOOK"}}}})
    record_october(config)
    webhook.requests.clear()
    return config


def test_monthly_run_writes_last_months_report_and_alerts(cfg: LoadedConfig, webhook: Receiver) -> None:
    outcome = run_at(cfg, "monthly", datetime(2026, 11, 1, 4, tzinfo=UTC))
    report = next(p for p in outcome.procedures if p.procedure_id == "maintenance-report")
    assert report.result.status.value == "warning"  # open findings and missed slots in October
    paths = [Path(p) for p in report.result.artifacts]
    assert sorted(p.name for p in paths) == ["maintenance_report_2026-10.html", "maintenance_report_2026-10.json",
                                             "maintenance_report_2026-10.md"]
    assert all(p.parent == cfg.report_dir / "monthly" for p in paths)
    assert "health: 30/31 days" in (cfg.report_dir / "monthly" / "maintenance_report_2026-10.md").read_text()
    texts = [t for t in webhook.texts if "maintenance-report" in t]
    assert len(texts) == 1
    assert "2026-10:" in texts[0] and "backups 97% ok" in texts[0] and "open issue" in texts[0]
    stored = open_history(cfg).figure_series("report_runs_completed")
    assert stored and stored[-1].value == report.result.figures["report_runs_completed"]


def test_dry_run_writes_nothing(cfg: LoadedConfig) -> None:
    outcome = run_at(cfg, "monthly", datetime(2026, 11, 1, 4, tzinfo=UTC), dry_run=True,
                     only=["maintenance-report"])
    result = outcome.procedures[0].result
    assert result.summary.startswith("dry run: would write")
    assert not (cfg.report_dir / "monthly").exists()


def test_bad_month_setting_is_a_config_error(make_config: Callable[..., LoadedConfig]) -> None:
    from smc_maint.errors import ConfigError

    with pytest.raises(ConfigError, match=r"procedures.maintenance-report.month"):
        make_config({"procedures": {"maintenance-report": {"month": "last"}}})


def test_month_without_backup_checks_or_restore_tests_warns(make_config: Callable[..., LoadedConfig]) -> None:
    """Nothing scheduled was missed and nothing is open, but recoverability was never checked."""
    from smc_maint.result import Status
    from smc_maint.runner import run_group

    unscheduled = {g: {"enabled": False} for g in ("daily", "weekly", "monthly", "quarterly")}
    cfg = make_config({"procedures": {"maintenance-report": {"month": "2026-09"}},
                       "schedule": {"groups": unscheduled}})  # nothing scheduled, so nothing missed
    result = run_group(cfg, "monthly", only=["maintenance-report"]).procedures[0].result
    assert result.summary.startswith("2026-09: 0/0 scheduled runs completed, no backup checks, 0 restore test(s)")
    assert result.status is Status.WARNING
    assert "no backup checks and no restore test recorded" in result.summary


def test_a_month_with_backup_checks_and_a_restore_test_is_not_flagged(cfg: LoadedConfig) -> None:
    outcome = run_at(cfg, "monthly", datetime(2026, 11, 1, 4, tzinfo=UTC), only=["maintenance-report"])
    assert "recorded" not in outcome.procedures[0].result.summary.split("open issue(s)")[1]
