"""The restore test: fetch a backup, restore it into a scratch target, verify exactly, measure.

Everything it creates (download directory, scratch server or database) is removed on every
exit path. Failures carry a reason an operator can act on.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config.loader import LoadedConfig
from ..config.model import DatabaseConfig, Section
from ..errors import SafetyRefusal
from ..stores.base import BackupStore, StoreError
from .catalog import BackupInfo, load_catalog
from .cleanup import always
from .create import work_dir
from .manifest import RESTORE_MARK, Manifest, RestoreMark
from .progress import ProgressFn as Progress
from .restore import (
    Difference,
    compare,
    compare_schema,
    restore_archive,
    restored_facts,
    restored_objects,
    table_key_of,
)
from .scratch import ScratchServer, Target, local_binaries, local_target, server_target
from .stale import claim, reap
from .trust import DEFAULT_SKEW_SECONDS, future_dated, newest_trusted


class RestoreTestSettings(Section):
    target: Literal["local", "server"] = Field("local", description="local: a throwaway server we start; "
                                               "server: a scratch database on scratch_server")
    scratch_server: ScratchServer = ScratchServer()
    restore_jobs: int = Field(2, ge=1, le=16, description="pg_restore --jobs on a scratch database "
                              "(a local scratch server restores in one WAL-less transaction instead)")
    verify_jobs: int = Field(2, ge=1, le=16, description="connections reading restored table facts")
    require_rows: list[str] = Field(default_factory=lambda: ["trades", "users"],
                                    description="tables that must not be empty (the runbook's check)")
    backup_id: str | None = Field(None, description="test this backup instead of the newest")


class RestoreTestFailed(Exception):
    """The backup could not be tested (missing, corrupted, unrestorable); the message says why."""

    def __init__(self, message: str, *, backup_id: str | None = None, stage: str = "") -> None:
        super().__init__(message)
        self.backup_id = backup_id
        self.stage = stage


@dataclass
class RestoreReport:
    backup: BackupInfo
    target: str
    download_seconds: float
    restore_seconds: float
    verify_seconds: float
    backup_age_seconds: float
    differences: list[Difference] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    objects_checked: bool = True  # False for manifests older than format 2 (no object facts recorded)
    target_seconds: float = 0.0  # creating the scratch server or database

    @property
    def ok(self) -> bool:
        return not self.differences


def pick(store: BackupStore, backup_id: str | None, *, now: datetime,
         skew_seconds: float = DEFAULT_SKEW_SECONDS) -> BackupInfo:
    """The asked-for backup, else the newest trustworthy one (never one dated in the future)."""
    try:
        catalog = load_catalog(store)
    except StoreError as exc:
        raise RestoreTestFailed(f"cannot list backups: {exc}", stage="list") from None
    if backup_id:
        found = catalog.get(backup_id)
        if found is None:
            why = catalog.why_not_a_backup(backup_id) or "no such backup"
            raise RestoreTestFailed(f"backup {backup_id}: {why}", backup_id=backup_id, stage="manifest")
        return found
    newest = newest_trusted(catalog, now, skew_seconds)
    if newest is None:
        others = len(catalog.leftovers) + len(catalog.unreadable)
        extra = f" ({others} directories without a valid manifest)" if others else ""
        future = len(future_dated(catalog.backups, now, skew_seconds))
        extra += f" ({future} dated in the future, not trusted)" if future else ""
        raise RestoreTestFailed(f"no backup with a valid manifest in {store.description}{extra}", stage="list")
    return newest


def _download(store: BackupStore, manifest: Manifest, into: Path, progress: Progress | None) -> Path:
    """Fetch the archive, checking size and sha256 against the manifest on the way."""
    art = manifest.artifacts[0]
    local = into / art.name
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("download", done, art.size)

    try:
        digest = store.download(f"{manifest.backup_id}/{art.name}", local, tick)
    except StoreError as exc:
        raise RestoreTestFailed(f"download failed: {exc}", backup_id=manifest.backup_id, stage="download") from None
    size = local.stat().st_size
    if size != art.size:
        raise RestoreTestFailed(f"{art.name} is {size} bytes, the manifest says {art.size} (truncated)",
                                backup_id=manifest.backup_id, stage="checksum")
    if digest != art.sha256:
        raise RestoreTestFailed(f"{art.name}: sha256 mismatch, the backup is corrupted",
                                backup_id=manifest.backup_id, stage="checksum")
    return local


def run_restore_test(cfg: LoadedConfig, store: BackupStore, settings: RestoreTestSettings, *, now: datetime,
                     progress: Progress | None = None,
                     before_verify: Callable[[DatabaseConfig], None] | None = None) -> RestoreReport:
    """``before_verify`` runs against the restored scratch database before it is verified (tests
    plant faults there)."""
    with restored(cfg, store, settings, now=now, progress=progress, before_verify=before_verify) as (_, report):
        return report


@contextlib.contextmanager
def restored(cfg: LoadedConfig, store: BackupStore, settings: RestoreTestSettings, *, now: datetime,
             progress: Progress | None = None, info: BackupInfo | None = None,
             before_verify: Callable[[DatabaseConfig], None] | None = None
             ) -> Iterator[tuple[Target, RestoreReport]]:
    """Restore and verify, then yield the live scratch target with the report (the DR drill checks
    it further); the target and downloads are removed when the block ends, however it ends."""
    info = info or pick(store, settings.backup_id, now=now, skew_seconds=cfg.config.backup.max_clock_skew_seconds)
    manifest = info.manifest
    if len(manifest.artifacts) != 1:
        raise RestoreTestFailed(f"backup {info.id}: expected one archive, the manifest lists "
                                f"{len(manifest.artifacts)}", backup_id=info.id, stage="manifest")
    base = work_dir(cfg)
    reap(base)
    downloads = Path(tempfile.mkdtemp(prefix=f"restore-{info.id}-", dir=base))
    claim(downloads)
    with always(f"download directory {downloads}", lambda: shutil.rmtree(downloads, ignore_errors=True)):
        t0 = time.monotonic()
        local = _download(store, manifest, downloads, progress)
        download_seconds = time.monotonic() - t0
        if progress:
            progress("restore", 0, None)
        if settings.target == "local":
            try:
                binaries = local_binaries(cfg.config.database, cfg.config.embedded.postgres,
                                          manifest.server_version_num // 10000)
            except FileNotFoundError as exc:
                raise RestoreTestFailed(str(exc), backup_id=info.id, stage="target") from None
            scratch_parent = base / "scratch"
            scratch_parent.mkdir(exist_ok=True)
            scratch_parent.chmod(0o711)
            target_cm = local_target(scratch_parent, binaries)
        else:
            target_cm = server_target(cfg.config.database, settings.scratch_server)
        in_body = False
        try:
            t_target = time.monotonic()
            with target_cm as target:
                target_seconds = time.monotonic() - t_target
                t1 = time.monotonic()
                try:
                    restore_archive(manifest, local, target.db, secret_dir=cfg.secret_dir, bin_dir=target.binaries_dir,
                                    jobs=settings.restore_jobs, single_transaction=settings.target == "local")
                except Exception as exc:
                    raise RestoreTestFailed(f"restore failed: {exc}", backup_id=info.id, stage="restore") from None
                restore_seconds = time.monotonic() - t1
                if progress:
                    progress("restore", 1, 1)
                    progress("verify", 0, None)
                if before_verify:
                    before_verify(target.db)
                t2 = time.monotonic()
                actual = restored_facts(target.db, manifest.tables, settings.verify_jobs, table_key_of(manifest))
                differences = compare(manifest.tables, actual, tuple(settings.require_rows))
                if manifest.objects is not None:
                    differences += compare_schema(manifest.objects, restored_objects(target.db))
                verify_seconds = time.monotonic() - t2
                if progress:
                    progress("verify", 1, 1)
                report = RestoreReport(info, target.description, download_seconds, restore_seconds,
                                       verify_seconds, (now - manifest.created_at).total_seconds(), differences,
                                       len(manifest.tables), sum(t.rows for t in manifest.tables.values()),
                                       manifest.objects is not None, target_seconds=target_seconds)
                in_body = True
                yield target, report
        except (RestoreTestFailed, SafetyRefusal):
            raise
        except Exception as exc:
            if in_body:  # the caller's own failure: not the scratch target's
                raise
            raise RestoreTestFailed(f"scratch target failed: {type(exc).__name__}: {exc}", backup_id=info.id,
                                    stage="target") from None


def mark_tested(store: BackupStore, report: RestoreReport, now: datetime, run_id: str | None) -> None:
    """Record a passed test beside the backup (retention keeps the newest such backup)."""
    mark = RestoreMark(backup_id=report.backup.id, tested_at=now, restore_seconds=round(report.restore_seconds, 3),
                       run_id=run_id)
    store.write_bytes(f"{report.backup.id}/{RESTORE_MARK}", mark.model_dump_json().encode())
