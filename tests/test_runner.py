"""The runner: isolation of failures, timeouts, the group lock, history, interrupted runs, secrets."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from smc_maint.config.loader import LoadedConfig
from smc_maint.errors import EXIT_LOCK_HELD, LockHeld
from smc_maint.history import open_history
from smc_maint.lock import group_lock
from smc_maint.result import Status
from smc_maint.runner import run_group

from .conftest import Receiver


def cfg_with(make_config: Callable[..., LoadedConfig], **behaviours: dict[str, object]) -> LoadedConfig:
    return make_config({"procedures": behaviours, "runner": {"timeout_seconds": 2, "timeout_grace_seconds": 1}})


def test_raising_procedure_does_not_stop_the_others(sample_group: None, make_config: Callable[..., LoadedConfig]
                                                    ) -> None:
    cfg = cfg_with(make_config, first={"behaviour": "raise"}, second={"behaviour": "db"})
    outcome = run_group(cfg, "test")
    statuses = {p.procedure_id: p.result.status for p in outcome.procedures}
    assert statuses == {"first": Status.UNKNOWN, "second": Status.OK, "third": Status.OK}
    assert outcome.status is Status.UNKNOWN
    assert "RuntimeError" in outcome.procedures[0].result.summary


def test_hanging_procedure_times_out_as_critical(sample_group: None, make_config: Callable[..., LoadedConfig]
                                                 ) -> None:
    cfg = cfg_with(make_config, second={"behaviour": "hang", "sleep_seconds": 30})
    outcome = run_group(cfg, "test")
    second = outcome.procedures[1]
    assert second.result.status is Status.CRITICAL
    assert "timed out after 2 s" in second.result.summary
    assert second.duration_seconds < 10
    assert outcome.procedures[2].result.status is Status.OK


def test_history_records_run_results_and_figures(sample_group: None, make_config: Callable[..., LoadedConfig]
                                                 ) -> None:
    cfg = cfg_with(make_config, first={"behaviour": "db"}, third={"behaviour": "critical"})
    outcome = run_group(cfg, "test", only=["first", "third"])
    hist = open_history(cfg)
    run = hist.run(outcome.run_id)
    assert run is not None and run.status == "critical" and run.finished_at is not None
    assert [r.procedure_id for r in hist.results(outcome.run_id)] == ["first", "third"]
    series = hist.figure_series("trades")
    assert len(series) == 1 and series[0].value > 0
    assert outcome.log_path is not None and outcome.log_path.name.startswith("test_")
    assert "third: CRITICAL: something is broken" in outcome.log_path.read_text()


def test_only_must_name_members_of_the_group(sample_group: None, make_config: Callable[..., LoadedConfig]) -> None:
    from smc_maint.errors import ConfigError

    with pytest.raises(ConfigError):
        run_group(cfg_with(make_config), "test", only=["health"])


def test_second_run_of_a_group_is_refused_while_locked(sample_group: None,
                                                       make_config: Callable[..., LoadedConfig]) -> None:
    cfg = cfg_with(make_config)
    with group_lock(cfg.lock_dir, "test"), pytest.raises(LockHeld):
        run_group(cfg, "test")
    # other groups are independent of that lock
    with group_lock(cfg.lock_dir, "weekly"):
        assert run_group(cfg, "test").status is Status.OK


def test_cli_exits_with_lock_code_when_group_is_locked(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config()
    assert cfg.source is not None
    with group_lock(cfg.lock_dir, "daily"):
        proc = subprocess.run([sys.executable, "-m", "smc_maint", "run", "daily", "--config", str(cfg.source)],
                              capture_output=True, text=True, env=os.environ.copy(), timeout=60)
    assert proc.returncode == EXIT_LOCK_HELD
    assert "holds the lock" in proc.stderr


def test_killed_run_is_marked_interrupted_by_the_next(sample_group: None,
                                                      make_config: Callable[..., LoadedConfig]) -> None:
    cfg = cfg_with(make_config)
    hist = open_history(cfg)
    from datetime import UTC, datetime

    hist.begin_run("dead-run", "test", datetime(2026, 1, 1, tzinfo=UTC), ["first"], pid=999999)
    run_group(cfg, "test")
    dead = hist.run("dead-run")
    assert dead is not None and dead.status == "interrupted"


def test_alert_sent_for_critical_and_recorded(sample_group: None, make_config: Callable[..., LoadedConfig],
                                              webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = cfg_with(make_config, third={"behaviour": "critical"})
    outcome = run_group(cfg, "test")
    assert len(webhook.requests) == 1
    assert "CRITICAL test/third" in webhook.texts[0] and "something is broken" in webhook.texts[0]
    alerts = open_history(cfg).alerts(outcome.run_id)
    assert alerts[0]["delivered"] == 1 and alerts[0]["channel"] == "default"


def test_dry_run_sends_no_alerts(sample_group: None, make_config: Callable[..., LoadedConfig], webhook: Receiver,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = cfg_with(make_config, third={"behaviour": "critical"})
    outcome = run_group(cfg, "test", dry_run=True)
    assert outcome.status is Status.CRITICAL
    assert webhook.requests == []
    run = open_history(cfg).run(outcome.run_id)
    assert run is not None and run.dry_run


def test_no_secret_reaches_logs_history_alerts_or_output(sample_group: None,
                                                         make_config: Callable[..., LoadedConfig],
                                                         webhook: Receiver, db_password_env: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Password and webhook URL in an exception, a log line and the alert: all masked."""
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = cfg_with(make_config, first={"behaviour": "raise"}, second={"behaviour": "db"})
    assert cfg.source is not None
    outcome = run_group(cfg, "test")
    assert outcome.procedures[0].result.status is Status.UNKNOWN
    cli = subprocess.run(
        [sys.executable, "-c",
         "import sys; sys.path.insert(0, '.'); from smc_maint import registry;"
         "registry.PROCEDURES.update({p: 'tests.sample_procedures' for p in ('first','second','third')});"
         "registry.GROUPS['test'] = ['first','second','third'];"
         "from smc_maint.cli.main import main; main(sys.argv[1:])",
         "-v", "run", "test", "--json", "--config", str(cfg.source)],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent,
    )
    assert cli.returncode == 3, cli.stderr
    body = json.loads(cli.stdout)
    assert body["status"] == "unknown" and body["procedures"][0]["status"] == "unknown"
    secrets = [db_password_env, webhook.url, webhook.url.split("//", 1)[1]]
    texts = {"stdout": cli.stdout, "stderr": cli.stderr}
    for log in cfg.log_dir.glob("*.log"):
        texts[str(log)] = log.read_text()
    conn = sqlite3.connect(cfg.history_path)
    for table in ("runs", "results", "figures", "alerts"):
        texts[f"history.{table}"] = json.dumps(conn.execute(f"SELECT * FROM {table}").fetchall())
    texts["alerts"] = json.dumps(webhook.requests)
    assert "***" in texts["stdout"]  # the password in the exception was there, and masked
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"secret leaked into {where}"
