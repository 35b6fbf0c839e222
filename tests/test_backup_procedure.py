"""Daily ``backup``: a regular backup every scheduled day, verified, then pruned by retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from smc_maint import registry
from smc_maint.adapters.clock import FixedClock
from smc_maint.backups.catalog import load_catalog
from smc_maint.backups.create import create_backup
from smc_maint.config.loader import LoadedConfig
from smc_maint.procedures import backup
from smc_maint.result import Status
from smc_maint.runner import run_group
from smc_maint.stores.factory import open_store

from .backup_support import backup_config, make_ctx
from .conftest import Receiver
from .procedure_run import run_one, stored_figure

__all__ = ["backup_config"]
KEEP_ONE = {"backup": {"retention": {"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0}}}


def test_backup_runs_daily_before_backup_verify() -> None:
    daily = registry.GROUPS["daily"]
    assert daily.index("backup") < daily.index("backup-verify")
    assert registry.group_of("backup") == "daily"


def test_scheduled_daily_run_takes_a_regular_backup_that_backup_verify_accepts(
        backup_config: Callable[..., LoadedConfig]) -> None:
    """Before this procedure existed, a fresh deployment only ever got emergency backups."""
    cfg = backup_config()
    outcome = run_group(cfg, "daily", only=["backup", "backup-verify"])
    by_id = {p.procedure_id: p.result for p in outcome.procedures}
    assert [p.procedure_id for p in outcome.procedures] == ["backup", "backup-verify"]
    assert by_id["backup"].status is Status.OK, by_id["backup"].summary
    assert by_id["backup-verify"].status is Status.OK, by_id["backup-verify"].summary
    assert by_id["backup-verify"].figures["emergency_backup"] == 0.0
    backups = load_catalog(open_store(cfg)).backups
    assert len(backups) == 1 and not backups[0].manifest.emergency
    assert stored_figure(cfg, "backup_size_bytes")[0] == backups[0].manifest.size_bytes
    assert stored_figure(cfg, "backup_seconds")[0] == backups[0].manifest.duration_seconds > 0


def test_backup_prunes_by_retention_after_a_verified_backup(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config(KEEP_ONE)
    store = open_store(cfg)
    old = create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=3)))
    result, _ = run_one(cfg, "backup")
    assert result.status is Status.OK, result.summary
    assert "pruned 1" in result.summary
    ids = [b.id for b in load_catalog(store).backups]
    assert len(ids) == 1 and old.backup_id not in ids
    assert result.details["prune"]["deleted"] == [old.backup_id]


def test_dry_run_plans_but_creates_and_deletes_nothing(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config(KEEP_ONE)
    store = open_store(cfg)
    older = create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=3)))
    newer = create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=1)))
    result = backup.run(make_ctx(cfg, dry_run=True), backup.Settings())
    assert result.status is Status.OK
    assert "would take a backup" in result.summary and "prune 1 backup(s)" in result.summary
    assert result.details["plan"]["prune"]["delete"] == [older.backup_id]
    assert sorted(b.id for b in load_catalog(store).backups) == sorted([older.backup_id, newer.backup_id])


def test_failed_backup_is_critical_alerts_and_prunes_nothing(
        backup_config: Callable[..., LoadedConfig], webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    good = backup_config(KEEP_ONE)
    old = create_backup(good, open_store(good), clock=FixedClock(datetime.now(UTC) - timedelta(days=3)))
    cfg = backup_config({**KEEP_ONE, "database": {"dbname": "gone_db"}})
    result, _ = run_one(cfg, "backup")
    assert result.status is Status.CRITICAL and result.force_alert
    assert "backup FAILED" in result.summary and "gone_db" in result.summary
    assert [b.id for b in load_catalog(open_store(cfg)).backups] == [old.backup_id]
    assert webhook.requests, "a failed backup must alert"


def test_prune_problems_make_a_good_backup_a_warning(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    store = open_store(cfg)
    unreadable = create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=2)))
    (cfg.store_path / unreadable.backup_id / "manifest.json").write_text("{not json")
    result, _ = run_one(cfg, "backup")
    assert result.status is Status.WARNING
    assert "taken and verified" in result.summary and "manifest unreadable" in result.summary
    assert (cfg.store_path / unreadable.backup_id).is_dir()
