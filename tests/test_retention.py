"""Grandfather-father-son retention: the pure decision, then ``backup prune`` on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smc_maint.backups.create import create_backup
from smc_maint.backups.manifest import RESTORE_MARK, RestoreMark
from smc_maint.backups.retention import Entry, Leftover, plan
from smc_maint.config.loader import LoadedConfig
from smc_maint.config.model import RetentionConfig
from smc_maint.stores.factory import open_store

from .backup_support import backup_config

__all__ = ["backup_config"]
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def daily_backups(days: int) -> list[Entry]:
    """Two backups a day (02:00 and 14:00) for ``days`` days up to NOW."""
    out = []
    for d in range(days):
        day = (NOW - timedelta(days=d)).replace(hour=2)
        out += [Entry(f"b{d:03d}-02", day), Entry(f"b{d:03d}-14", day + timedelta(hours=12))]
    return [e for e in out if e.created_at <= NOW]


def test_gfs_keeps_newest_per_day_week_month() -> None:
    entries = daily_backups(400)
    p = plan(entries, RetentionConfig(keep_daily=7, keep_weekly=4, keep_monthly=12), now=NOW)
    days_kept = {e.created_at.date() for e in entries if e.id in p.keep}
    # 7 daily + up to 4 weekly + 12 monthly, overlapping
    assert len(p.keep) <= 7 + 4 + 12
    assert {NOW.date() - timedelta(days=i) for i in range(7)} <= days_kept
    months = {(e.created_at.year, e.created_at.month) for e in entries if e.id in p.keep}
    assert len(months) == 12
    # within a day only the newest is kept
    for e in entries:
        if e.id in p.keep and "newest" not in p.keep[e.id]:
            same_day_newer = [x for x in entries if x.created_at.date() == e.created_at.date()
                              and x.created_at > e.created_at]
            assert not same_day_newer or "monthly" in p.keep[e.id] or "weekly" in p.keep[e.id]
    assert set(p.keep) | set(p.delete) == {e.id for e in entries}
    assert not set(p.keep) & set(p.delete)


def test_never_deletes_newest_or_newest_restore_tested_even_with_zero_retention() -> None:
    entries = daily_backups(60)
    tested = entries[50]
    entries[50] = Entry(tested.id, tested.created_at, restore_tested=True)
    entries.append(Entry("older-tested", NOW - timedelta(days=300), restore_tested=True))
    p = plan(entries, RetentionConfig(keep_daily=0, keep_weekly=0, keep_monthly=0), now=NOW)
    newest = max(entries, key=lambda e: e.created_at)
    assert set(p.keep) == {newest.id, tested.id}
    assert p.keep[tested.id] == ["newest restore-tested"]
    assert "older-tested" in p.delete


def test_leftovers_are_deleted_only_after_grace_and_only_with_a_known_start() -> None:
    leftovers = [Leftover("20261128T110000Z-aaaaaa", NOW - timedelta(hours=1), "no manifest"),
                 Leftover("20261120T110000Z-bbbbbb", NOW - timedelta(days=8), "no manifest"),
                 Leftover("someone-elses-dir", None, "no manifest")]
    p = plan([], RetentionConfig(), now=NOW, leftovers=leftovers)
    assert p.delete_leftovers == ["20261120T110000Z-bbbbbb"]
    assert p.keep == {} and p.delete == []


def test_empty_store_plans_nothing() -> None:
    p = plan([], RetentionConfig(), now=NOW)
    assert p.keep == {} and p.delete == [] and p.delete_leftovers == []


def _cli(cfg: LoadedConfig, *args: str) -> subprocess.CompletedProcess[str]:
    assert cfg.source is not None
    env = {**os.environ, "SMC_MAINT_CONFIG": str(cfg.source)}
    return subprocess.run([sys.executable, "-m", "smc_maint", "backup", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_prune_cli_dry_run_then_real(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"backup": {"retention": {"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0}}})
    store = open_store(cfg)
    from smc_maint.adapters.clock import FixedClock

    oldest = create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=40)))
    tested = create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=20)))
    store.write_bytes(f"{tested.backup_id}/{RESTORE_MARK}", RestoreMark(
        backup_id=tested.backup_id, tested_at=datetime.now(UTC), restore_seconds=1.0).model_dump_json().encode())
    middle = create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=10)))
    newest = create_backup(cfg, store)

    dry = _cli(cfg, "prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert sorted(report["delete"]) == sorted([oldest.backup_id, middle.backup_id])
    assert report["deleted"] == []
    assert {p.name for p in cfg.store_path.iterdir()} == {oldest.backup_id, tested.backup_id, middle.backup_id,
                                                         newest.backup_id}
    real = _cli(cfg, "prune")
    assert real.returncode == 0, real.stderr
    assert "deleted 2 backup(s)" in real.stdout
    assert {p.name for p in cfg.store_path.iterdir()} == {tested.backup_id, newest.backup_id}

    listed = _cli(cfg, "list", "--json")
    ids = [b["id"] for b in json.loads(listed.stdout)["backups"]]
    assert ids == [newest.backup_id, tested.backup_id]
    assert json.loads(listed.stdout)["backups"][1]["restore_tested_at"] is not None


def test_cli_create_verify_and_bad_id(backup_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    cfg = backup_config()
    made = _cli(cfg, "create", "--json")
    assert made.returncode == 0, made.stderr
    backup_id = json.loads(made.stdout)["id"]
    assert made.stderr == ""  # silent when not interactive
    ok = _cli(cfg, "verify", backup_id)
    assert ok.returncode == 0 and "checksums match" in ok.stdout
    archive = next((cfg.store_path / backup_id).glob("database.dump*"))
    archive.write_bytes(archive.read_bytes()[:-10])
    bad = _cli(cfg, "verify", "--json")
    assert bad.returncode == 2
    assert "truncated" in json.loads(bad.stdout)["problems"][0]
    missing = _cli(cfg, "verify", "no-such-backup")
    assert missing.returncode == 2 and "no backup no-such-backup" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_cli_restore_test_runs_via_runner(backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config()
    assert _cli(cfg, "create").returncode == 0
    run = _cli(cfg, "restore-test", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    out = json.loads(run.stdout)
    assert out["group"] == "monthly" and out["procedures"][0]["id"] == "restore-test"
    assert out["procedures"][0]["status"] == "ok"


def _old_backups(cfg: LoadedConfig, days: tuple[int, ...]) -> list[str]:
    from smc_maint.adapters.clock import FixedClock

    store = open_store(cfg)
    return [create_backup(cfg, store, clock=FixedClock(datetime.now(UTC) - timedelta(days=d))).backup_id
            for d in days]


def test_prune_never_deletes_a_backup_whose_manifest_it_cannot_read(
        backup_config: Callable[..., LoadedConfig]) -> None:
    """A newer format (extra fields) or a store error is doubt, not proof: keep, report, exit non-zero."""
    cfg = backup_config({"backup": {"retention": {"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0,
                                                  "partial_grace_hours": 1}}})
    newer, broken, expired, newest = _old_backups(cfg, (40, 35, 30, 0))
    newer_manifest = cfg.store_path / newer / "manifest.json"
    data = json.loads(newer_manifest.read_text())
    newer_manifest.write_text(json.dumps({**data, "format_version": 2, "encryption": {"key_id": "k1"}}))
    broken_manifest = cfg.store_path / broken / "manifest.json"
    broken_manifest.unlink()
    broken_manifest.mkdir()  # exists, but reading it fails (a store error)
    interrupted = cfg.store_path / "20200101T000000Z-abcdef"  # no manifest at all: a leftover
    interrupted.mkdir()

    dry = _cli(cfg, "prune", "--dry-run", "--json")
    assert dry.returncode == 1, dry.stdout + dry.stderr
    report = json.loads(dry.stdout)
    assert report["delete"] == [expired]
    assert sorted(report["unreadable"]) == sorted([newer, broken])
    assert report["delete_leftovers"] == []  # not while the store answers badly for some manifests

    real = _cli(cfg, "prune")
    assert real.returncode == 1, real.stdout + real.stderr
    assert "manifest unreadable" in real.stderr
    assert {p.name for p in cfg.store_path.iterdir()} == {newer, broken, newest, interrupted.name}
    listed = json.loads(_cli(cfg, "list", "--json").stdout)
    assert {x["id"] for x in listed["unreadable"]} == {newer, broken}
    assert [x["id"] for x in listed["incomplete"]] == [interrupted.name]


def test_prune_deletes_an_old_manifest_less_leftover_when_everything_reads(
        backup_config: Callable[..., LoadedConfig]) -> None:
    cfg = backup_config({"backup": {"retention": {"partial_grace_hours": 1}}})
    (newest,) = _old_backups(cfg, (0,))
    interrupted = cfg.store_path / "20200101T000000Z-abcdef"
    interrupted.mkdir()
    (interrupted / "database.dump.zst").write_bytes(b"partial")
    real = _cli(cfg, "prune", "--json")
    assert real.returncode == 0, real.stdout + real.stderr
    assert json.loads(real.stdout)["deleted"] == [interrupted.name]
    assert {p.name for p in cfg.store_path.iterdir()} == {newest}
