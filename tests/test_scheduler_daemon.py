"""The foreground daemon: runs due slots, pings a dead-man's switch, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history

from .conftest import PgServer, plant_trades, wait_for

OFF = {"enabled": False}


def start_scheduler(cfg: LoadedConfig, tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / "scheduler.stderr"
    proc = subprocess.Popen([sys.executable, "-m", "smc_maint", "scheduler", "--config", str(cfg.source)],
                            stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True, env=dict(os.environ))
    return proc, log


def test_sigterm_during_a_run_marks_it_interrupted_and_pings_fail(
        make_config: Callable[..., LoadedConfig], tmp_path: Path, pg: Any, trading_db: str, webhook: Any,
        monkeypatch: Any) -> None:
    monkeypatch.setenv("SMC_MAINT_TEST_PING", webhook.url)
    cfg = make_config({"schedule": {"groups": {
        "daily": {"cron": "0 * * * *", "grace_minutes": 120, "only": ["trading-summary"],
                  "ping_url_env": "SMC_MAINT_TEST_PING"},
        "weekly": OFF, "monthly": OFF, "quarterly": OFF}}})
    blocker = psycopg.connect(host="127.0.0.1", port=pg.port, user="postgres", password=pg.password,
                              dbname=trading_db)
    blocker.execute("LOCK TABLE trades IN ACCESS EXCLUSIVE MODE")
    try:
        proc, log = start_scheduler(cfg, tmp_path)
        # On start the slot of this hour is due: the run starts, pings start, and waits on the lock.
        wait_for(lambda: any(r["path"].endswith("/start") for r in webhook.requests), "the start ping")
        wait_for(lambda: [r.status for r in open_history(cfg).runs(group="daily")] == ["running"], "a running run")
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        blocker.rollback()
        blocker.close()
    stderr = log.read_text()
    assert proc.returncode == 130, stderr
    runs = open_history(cfg).runs(group="daily")
    assert [(r.status, r.trigger, r.note) for r in runs] == [("interrupted", "scheduler", "stopped by signal")]
    assert runs[0].slot is not None
    assert "slot" in stderr and "starting" in stderr
    assert "recorded as interrupted" in stderr
    assert [r["path"].rsplit("/", 1)[-1] for r in webhook.requests] == ["start", "fail"]
    assert webhook.url not in stderr and "XXXX" not in stderr  # the ping URL is a secret


def test_sigterm_while_idle_exits_cleanly(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    cfg = make_config({"schedule": {"groups": {
        "daily": {"cron": "0 0 29 2 *", "grace_minutes": 1, "only": ["trading-summary"]},
        "weekly": OFF, "monthly": OFF, "quarterly": OFF}}})
    proc, log = start_scheduler(cfg, tmp_path)
    wait_for(lambda: "scheduler started" in log.read_text(), "the scheduler to start")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()
    assert "scheduler stopped" in log.read_text()
    assert open_history(cfg).runs() == []


def test_run_slot_pings_success_with_the_exit_code(make_config: Callable[..., LoadedConfig], webhook: Any,
                                                   monkeypatch: Any, pg: PgServer, trading_db: str) -> None:
    from datetime import UTC, datetime, timedelta

    from smc_maint.adapters.clock import FixedClock
    from smc_maint.scheduling.daemon import run_slot

    monkeypatch.setenv("SMC_MAINT_TEST_PING", webhook.url)
    cfg = make_config({"schedule": {"groups": {"daily": {"only": ["trading-summary"],
                                                         "ping_url_env": "SMC_MAINT_TEST_PING"}}}})
    slot = datetime(2026, 11, 28, 2, tzinfo=UTC)
    plant_trades(pg, trading_db, slot - timedelta(days=8), slot)  # the pinned week has trades, whatever today is
    first = run_slot(cfg, "daily", slot, "scheduler", clock=FixedClock(slot))
    again = run_slot(cfg, "daily", slot, "scheduler", clock=FixedClock(slot))
    assert (first.state, again.state) == ("ran", "taken")
    assert first.run is not None and first.run.status.value == "ok"
    # start + exit code 0 for the run; nothing for the duplicate (it never started).
    assert [r["path"].rsplit("/", 1)[-1] for r in webhook.requests] == ["start", "0"]
