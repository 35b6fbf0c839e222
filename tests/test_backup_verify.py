"""Daily ``backup-verify``: fresh and intact, or an emergency backup into the store with an alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.backups.catalog import load_catalog
from smc_maint.backups.create import create_backup
from smc_maint.config.loader import LoadedConfig
from smc_maint.procedures import backup_verify
from smc_maint.result import Status
from smc_maint.runner import run_group
from smc_maint.stores.factory import open_store

from .backup_support import backup_config, make_ctx
from .conftest import Receiver

__all__ = ["backup_config"]


def test_fresh_intact_backup_is_ok(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    result = backup_verify.run(make_ctx(cfg), backup_verify.Settings())
    assert result.status is Status.OK, result.summary
    assert result.figures["emergency_backup"] == 0.0
    assert result.figures["backup_size_bytes"] == manifest.size_bytes
    assert 0 <= result.figures["backup_age_seconds"] < 600
    assert len(load_catalog(open_store(cfg)).backups) == 1


def test_no_backup_takes_an_emergency_backup_into_the_store_and_alerts(
        backup_config: Callable[..., LoadedConfig], webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", webhook.url)
    cfg = backup_config()
    outcome = run_group(cfg, "daily", only=["backup-verify"])
    result = outcome.procedures[0].result
    assert result.status is Status.WARNING
    assert "emergency backup" in result.summary and "verified" in result.summary
    assert result.figures["emergency_backup"] == 1.0
    backups = load_catalog(open_store(cfg)).backups
    assert len(backups) == 1 and backups[0].manifest.emergency
    assert (cfg.store_path / backups[0].id).is_dir()
    assert str(cfg.store_path).startswith(str(cfg.home))
    assert webhook.requests, "a missing backup must alert"


def test_stale_backup_by_manifest_time_triggers_emergency(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    old = create_backup(cfg, open_store(cfg))
    later = FixedClock(old.created_at + timedelta(hours=27))
    result = backup_verify.run(make_ctx(cfg, clock=later), backup_verify.Settings())
    assert result.status is Status.WARNING
    assert "27.0 h old" in result.summary
    assert result.force_alert
    assert len(load_catalog(open_store(cfg)).backups) == 2


def test_newest_is_found_by_manifest_time_not_by_name(backup_config: Callable[..., LoadedConfig]) -> None:
    """A backup with a later-sorting name but an older manifest time must not count as newest."""
    cfg = backup_config()
    store = open_store(cfg)
    fresh = create_backup(cfg, store)
    stale = create_backup(cfg, store, clock=FixedClock(datetime(2020, 1, 1, tzinfo=UTC)))
    # rename the stale one so that its name sorts after the fresh one
    (cfg.store_path / stale.backup_id).rename(cfg.store_path / "zzzz")
    manifest_path = cfg.store_path / "zzzz" / "manifest.json"
    manifest_path.write_text(manifest_path.read_text().replace(stale.backup_id, "zzzz"))
    catalog = load_catalog(store)
    assert [b.id for b in catalog.backups] == [fresh.backup_id, "zzzz"]


def test_corrupted_newest_backup_triggers_emergency(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    manifest = create_backup(cfg, open_store(cfg))
    archive = cfg.store_path / manifest.backup_id / manifest.artifacts[0].name
    data = bytearray(archive.read_bytes())
    data[100] ^= 0x01
    archive.write_bytes(bytes(data))
    result = backup_verify.run(make_ctx(cfg), backup_verify.Settings())
    assert result.status is Status.WARNING
    assert "sha256 mismatch" in result.summary
    assert result.figures["emergency_backup"] == 1.0


def test_dry_run_reports_but_takes_no_backup(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    result = backup_verify.run(make_ctx(cfg, dry_run=True), backup_verify.Settings())
    assert result.status is Status.WARNING
    assert "WOULD be taken" in result.summary
    assert load_catalog(open_store(cfg)).backups == []


def test_failed_emergency_backup_is_critical(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"database": {"dbname": "gone_db"}})
    result = backup_verify.run(make_ctx(cfg), backup_verify.Settings())
    assert result.status is Status.CRITICAL
    assert "emergency backup FAILED" in result.summary
    assert result.force_alert
    assert load_catalog(open_store(cfg)).backups == []
    assert open_store(cfg).backup_ids() == []


def test_demo_settings_are_valid(tmp_path: Path) -> None:
    backup_verify.Settings(**backup_verify.demo_settings(Path("/nonexistent")))


def _rewrite_manifest(cfg: LoadedConfig, backup_id: str, **changes: object) -> None:
    from smc_maint.backups.catalog import read_manifest

    store = open_store(cfg)
    manifest = read_manifest(store, backup_id).model_copy(update=changes)
    store.write_bytes(f"{backup_id}/manifest.json", manifest.to_bytes())


def test_backup_of_another_database_does_not_count(backup_config: Callable[..., LoadedConfig]) -> None:
    """A fresh, intact backup of the wrong database (a shared or mis-pointed store) is no backup of ours."""
    cfg = backup_config()
    made = create_backup(cfg, open_store(cfg))
    _rewrite_manifest(cfg, made.backup_id, database="billing")
    result = backup_verify.run(make_ctx(cfg), backup_verify.Settings(emergency_backup=False))
    assert result.status is Status.CRITICAL
    assert f"database 'billing', not the configured '{cfg.config.database.dbname}'" in result.summary


def test_backup_from_another_server_does_not_count(backup_config: Callable[..., LoadedConfig]) -> None:
    """Same database name on another cluster (e.g. staging writing into production's store)."""
    cfg = backup_config()
    made = create_backup(cfg, open_store(cfg))
    assert made.system_identifier
    _rewrite_manifest(cfg, made.backup_id, system_identifier="7123456789012345678")
    result = backup_verify.run(make_ctx(cfg), backup_verify.Settings())
    assert result.status is Status.WARNING  # an emergency backup of the right server was taken
    assert "another server (system identifier 7123456789012345678" in result.summary
    assert result.figures["emergency_backup"] == 1.0


def test_assess_compares_identity_only_when_known() -> None:
    from smc_maint.backups.catalog import BackupInfo, Catalog
    from smc_maint.backups.manifest import Artifact, Manifest

    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    manifest = Manifest(backup_id="b1", created_at=now, tool_version="1", database="smc", server_version="16.4",
                        server_version_num=160000, database_size_bytes=1, snapshot="s", dump_format="custom",
                        pg_dump_version="16", duration_seconds=1.0,
                        artifacts=[Artifact(name="d", size=1, sha256="0" * 64)], tables={})
    catalog = Catalog([BackupInfo(manifest, None)], [])
    ok = backup_verify.assess(catalog, [], now, backup_verify.Settings(), database="smc", system_identifier="42")
    assert ok.problems == []  # an old manifest without an identifier is compared by name only
    with_id = Catalog([BackupInfo(manifest.model_copy(update={"system_identifier": "41"}), None)], [])
    bad = backup_verify.assess(with_id, [], now, backup_verify.Settings(), database="smc", system_identifier="42")
    assert len(bad.problems) == 1 and "another server" in bad.problems[0]
    unknown = backup_verify.assess(with_id, [], now, backup_verify.Settings(), database="smc")
    assert unknown.problems == []
