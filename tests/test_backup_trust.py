"""Retention and verification trust integrity and not the clock (issue 11, items 1 and 3).

Real backups of the suite's PostgreSQL into a real store; the prune runs through the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from smc_maint.adapters.clock import FixedClock
from smc_maint.backups.create import create_backup
from smc_maint.backups.manifest import Manifest
from smc_maint.backups.restore_test import RestoreTestSettings, pick
from smc_maint.backups.retention import Entry, plan
from smc_maint.config.loader import LoadedConfig
from smc_maint.config.model import RetentionConfig
from smc_maint.procedures import backup_verify
from smc_maint.result import Status
from smc_maint.stores.factory import open_store

from .backup_support import backup_config, make_ctx

__all__ = ["backup_config"]


def _cli(cfg: LoadedConfig, *args: str) -> subprocess.CompletedProcess[str]:
    assert cfg.source is not None
    env = {**os.environ, "SMC_MAINT_CONFIG": str(cfg.source)}
    return subprocess.run([sys.executable, "-m", "smc_maint", "backup", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _corrupt(cfg: LoadedConfig, manifest: Manifest) -> None:
    """Flip bytes in the middle of the archive, keeping its size (only the sha256 can tell)."""
    archive = cfg.store_path / manifest.backup_id / manifest.artifacts[0].name
    data = bytearray(archive.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 16] = bytes(b ^ 0xFF for b in data[mid:mid + 16])
    archive.write_bytes(bytes(data))


def test_prune_keeps_the_good_backup_when_a_later_one_the_same_day_is_corrupted(
        backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"backup": {"retention": {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12}}})
    store = open_store(cfg)
    # yesterday, 01:00 and 02:00: both in the past for the CLI's real clock at any hour (today's 01:00
    # is in the future between midnight and 01:00 UTC, and then both are rightly "future-dated")
    morning = (datetime.now(UTC) - timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    good = create_backup(cfg, store, clock=FixedClock(morning))
    bad = create_backup(cfg, store, clock=FixedClock(morning + timedelta(hours=1)))
    _corrupt(cfg, bad)

    dry = _cli(cfg, "prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert good.backup_id in report["keep"] and "newest" in report["keep"][good.backup_id]
    assert "daily" in report["keep"][good.backup_id]
    assert "sha256 mismatch" in report["rejected"][bad.backup_id]

    real = _cli(cfg, "prune")
    assert real.returncode == 0, real.stderr
    assert (cfg.store_path / good.backup_id / "manifest.json").is_file()
    assert f"not trusted {bad.backup_id}: fails verification" in real.stdout


def test_retention_never_fills_a_bucket_with_a_backup_that_fails_verification() -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    entries = [Entry("old-tested", now - timedelta(days=3), restore_tested=True),
               Entry("good", now - timedelta(hours=5)), Entry("bad", now - timedelta(hours=1), restore_tested=True)]
    p = plan(entries, RetentionConfig(keep_daily=1, keep_weekly=0, keep_monthly=0), now=now,
             check=lambda i: ["archive: sha256 mismatch"] if i == "bad" else [])
    assert p.keep == {"good": ["newest", "daily"], "old-tested": ["newest restore-tested"]}
    assert p.delete == ["bad"]


def test_a_future_dated_backup_is_a_finding_and_hides_nothing(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"backup": {"retention": {"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0}}})
    store = open_store(cfg)
    now = datetime.now(UTC).replace(microsecond=0)
    future = create_backup(cfg, store, clock=FixedClock(now + timedelta(days=30)))  # host clock ran 30 days fast
    today = create_backup(cfg, store, clock=FixedClock(now - timedelta(hours=1)))

    result = backup_verify.run(make_ctx(cfg, clock=FixedClock(now)), backup_verify.Settings())
    assert result.status is Status.WARNING, result.summary
    assert result.details["newest"] == today.backup_id
    assert f"backup {future.backup_id} claims to be created 720.0 h in the future" in result.summary
    assert 3500 < result.figures["backup_age_seconds"] < 3700  # the real newest, never negative

    assert pick(store, None, now=now).id == today.backup_id
    assert RestoreTestSettings().backup_id is None

    report = json.loads(_cli(cfg, "prune", "--dry-run", "--json").stdout)
    assert "newest" in report["keep"][today.backup_id]
    assert report["keep"][future.backup_id] == ["future-dated: kept for inspection"]
    assert "future" in report["rejected"][future.backup_id]


def test_only_future_dated_backups_is_critical_without_an_emergency_backup(
        backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    now = datetime.now(UTC).replace(microsecond=0)
    create_backup(cfg, open_store(cfg), clock=FixedClock(now + timedelta(days=2)))
    result = backup_verify.run(make_ctx(cfg, clock=FixedClock(now)), backup_verify.Settings(emergency_backup=False))
    assert result.status is Status.CRITICAL
    assert "no backup dated up to now" in result.summary and "48.0 h in the future" in result.summary


def test_a_small_skew_is_tolerated(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"backup": {"max_clock_skew_seconds": 120}})
    now = datetime.now(UTC).replace(microsecond=0)
    made = create_backup(cfg, open_store(cfg), clock=FixedClock(now + timedelta(seconds=60)))
    result = backup_verify.run(make_ctx(cfg, clock=FixedClock(now)), backup_verify.Settings())
    assert result.status is Status.OK, result.summary
    assert result.details["newest"] == made.backup_id


def test_a_deeply_nested_manifest_is_unreadable_not_a_crash(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    store = open_store(cfg)
    good = create_backup(cfg, store)
    hostile = cfg.store_path / "20260101T000000Z-abcdef"
    hostile.mkdir()
    (hostile / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    listed = _cli(cfg, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert [b["id"] for b in body["backups"]] == [good.backup_id]
    assert "nested too deeply" in body["unreadable"][0]["reason"]
    assert "Traceback" not in listed.stderr
