"""The S3 store against moto's S3 server over real HTTP on 127.0.0.1 (multipart included)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smc_maint.backups.catalog import load_catalog, verify_backup
from smc_maint.backups.create import create_backup
from smc_maint.config.loader import LoadedConfig
from smc_maint.procedures import backup_verify, restore_test
from smc_maint.result import Status
from smc_maint.stores.base import StoreError
from smc_maint.stores.factory import open_store

from .backup_support import S3_SECRET, backup_config, make_ctx, moto_s3, store_cfg

__all__ = ["backup_config", "moto_s3"]


def test_backup_to_s3_lists_verifies_and_restores(backup_config: Callable[..., LoadedConfig],
                                                   moto_s3: dict[str, Any]) -> None:
    cfg = backup_config({"store": store_cfg(moto_s3)})
    store = open_store(cfg)
    assert store.description.startswith("s3://smc-backups/daily")
    manifest = create_backup(cfg, store)
    keys = [o["Key"] for o in moto_s3["client"].list_objects_v2(Bucket="smc-backups")["Contents"]]
    assert f"daily/{manifest.backup_id}/manifest.json" in keys
    assert f"daily/{manifest.backup_id}/{manifest.artifacts[0].name}" in keys
    catalog = load_catalog(store)
    assert [b.id for b in catalog.backups] == [manifest.backup_id]
    assert verify_backup(store, manifest) == []

    result = restore_test.run(make_ctx(cfg), restore_test.Settings())
    assert result.status is Status.OK, result.summary
    assert load_catalog(open_store(cfg)).backups[0].restore_mark is not None
    daily = backup_verify.run(make_ctx(cfg), backup_verify.Settings())
    assert daily.status is Status.OK, daily.summary
    assert S3_SECRET not in json.dumps(result.details) + result.summary


def test_large_artifacts_go_up_in_multipart_and_come_back_intact(moto_s3: dict[str, Any], tmp_path: Path,
                                                                  backup_config: Callable[..., LoadedConfig]) -> None:
    data = store_cfg(moto_s3)
    data["s3"]["multipart_chunk_mib"] = 5
    cfg = backup_config({"store": data})
    store = open_store(cfg)
    blob = tmp_path / "big.bin"
    blob.write_bytes(os.urandom(12 * 1024 * 1024 + 17))
    store.upload(blob, "20260101T000000Z-abcdef/database.dump.zst")
    head = moto_s3["client"].head_object(Bucket="smc-backups", Key="daily/20260101T000000Z-abcdef/database.dump.zst")
    assert head["ETag"].strip('"').endswith("-3"), "12 MiB in 5 MiB parts: a 3-part multipart upload"
    back = tmp_path / "back.bin"
    import hashlib

    digest = store.download("20260101T000000Z-abcdef/database.dump.zst", back)
    assert digest == hashlib.sha256(blob.read_bytes()).hexdigest()
    assert back.read_bytes() == blob.read_bytes()
    # no manifest: it is not a backup
    catalog = load_catalog(store)
    assert catalog.backups == [] and [x.id for x in catalog.leftovers] == ["20260101T000000Z-abcdef"]


def test_missing_bucket_gives_a_clear_error_without_the_secret(backup_config: Callable[..., LoadedConfig],
                                                                  moto_s3: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cfg_data = store_cfg(moto_s3)
    cfg_data["s3"] = {**cfg_data["s3"], "bucket": "no-such-bucket"}
    cfg = backup_config({"store": cfg_data})
    result = backup_verify.run(make_ctx(cfg), backup_verify.Settings())
    # an unknown bucket lists as empty or errors; either way no backup qualifies and nothing leaks
    assert result.status in (Status.CRITICAL, Status.WARNING)
    assert S3_SECRET not in result.summary + json.dumps(result.details)
    store = open_store(cfg)
    with pytest.raises(StoreError) as err:
        store.write_bytes("x/manifest.json", b"{}")
    assert S3_SECRET not in str(err.value)
