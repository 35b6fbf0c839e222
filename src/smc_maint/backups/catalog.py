"""What is in a store: valid backups (by manifest creation time), leftovers, and integrity checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..stores.base import BackupStore, StoreError
from .manifest import MANIFEST, RESTORE_MARK, Manifest, ManifestError, RestoreMark, parse

ID_TIME = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]+$")


@dataclass(frozen=True)
class BackupInfo:
    manifest: Manifest
    restore_mark: RestoreMark | None

    @property
    def id(self) -> str:
        return self.manifest.backup_id

    @property
    def created_at(self) -> datetime:
        return self.manifest.created_at

    def to_json(self) -> dict[str, object]:
        m = self.manifest
        return {
            "id": m.backup_id, "created_at": m.created_at.isoformat(), "size_bytes": m.size_bytes,
            "database": m.database, "server_version": m.server_version, "format": m.dump_format,
            "emergency": m.emergency, "tables": len(m.tables),
            "rows": sum(t.rows for t in m.tables.values()),
            "restore_tested_at": self.restore_mark.tested_at.isoformat() if self.restore_mark else None,
        }


@dataclass(frozen=True)
class Leftover:
    """A directory in the store without a manifest: an interrupted backup (the manifest is written last)."""

    id: str
    reason: str

    @property
    def started_at(self) -> datetime | None:
        match = ID_TIME.match(self.id)
        if not match:
            return None
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Unreadable:
    """A directory whose manifest exists but could not be read or parsed (store error, newer format,
    damage). It may be a valid backup: it is reported and never deleted."""

    id: str
    reason: str


@dataclass(frozen=True)
class Catalog:
    backups: list[BackupInfo]  # newest first, by manifest creation time
    leftovers: list[Leftover]
    unreadable: list[Unreadable] = field(default_factory=list)

    def newest(self) -> BackupInfo | None:
        return self.backups[0] if self.backups else None

    def get(self, backup_id: str) -> BackupInfo | None:
        return next((b for b in self.backups if b.id == backup_id), None)

    def why_not_a_backup(self, backup_id: str) -> str | None:
        """The reason ``backup_id`` is listed but not usable, if it is a leftover or unreadable."""
        reasons = {x.id: x.reason for x in self.leftovers} | {x.id: x.reason for x in self.unreadable}
        return reasons.get(backup_id)


def read_manifest(store: BackupStore, backup_id: str) -> Manifest:
    key = f"{backup_id}/{MANIFEST}"
    try:
        raw = store.read_bytes(key)
    except StoreError as exc:
        raise ManifestError(f"backup {backup_id} has no readable manifest ({exc})") from None
    manifest = parse(raw, key)
    if manifest.backup_id != backup_id:
        raise ManifestError(f"{key}: manifest names backup {manifest.backup_id!r}, not {backup_id!r}")
    return manifest


def _restore_mark(store: BackupStore, backup_id: str) -> RestoreMark | None:
    try:
        return RestoreMark.model_validate_json(store.read_bytes(f"{backup_id}/{RESTORE_MARK}"))
    except Exception:
        return None


def load_catalog(store: BackupStore) -> Catalog:
    """Sort every directory into backups, leftovers (provably no manifest) and unreadable.

    Only a directory where the store positively says there is no manifest is a leftover (which
    prune may delete); any doubt (a read error, a manifest we cannot parse) makes it unreadable.
    """
    backups: list[BackupInfo] = []
    leftovers: list[Leftover] = []
    unreadable: list[Unreadable] = []
    for backup_id in store.backup_ids():
        try:
            manifest = read_manifest(store, backup_id)
        except ManifestError as exc:
            try:
                has_manifest = store.exists(f"{backup_id}/{MANIFEST}")
            except StoreError as check:
                unreadable.append(Unreadable(backup_id, f"{exc}; checking for it failed too ({check})"))
                continue
            if has_manifest:
                unreadable.append(Unreadable(backup_id, str(exc)))
            else:
                leftovers.append(Leftover(backup_id, f"backup {backup_id} has no manifest (interrupted)"))
            continue
        backups.append(BackupInfo(manifest, _restore_mark(store, backup_id)))
    backups.sort(key=lambda b: b.created_at, reverse=True)
    return Catalog(backups, sorted(leftovers, key=lambda x: x.id), sorted(unreadable, key=lambda x: x.id))


def verify_backup(store: BackupStore, manifest: Manifest,
                  progress: Callable[[int], None] | None = None) -> list[str]:
    """Problems with a backup's artifacts (missing, wrong size, wrong sha256); empty means intact."""
    problems: list[str] = []
    if not manifest.artifacts:
        return ["the manifest lists no artifacts"]
    present = {f.key: f.size for f in store.files(manifest.backup_id)}
    for art in manifest.artifacts:
        key = f"{manifest.backup_id}/{art.name}"
        if key not in present:
            problems.append(f"{art.name}: missing")
            continue
        if present[key] != art.size:
            problems.append(f"{art.name}: size {present[key]} bytes, manifest says {art.size} (truncated?)")
            continue
        if art.size == 0:
            problems.append(f"{art.name}: empty")
            continue
        digest = store.sha256(key, progress)
        if digest != art.sha256:
            problems.append(f"{art.name}: sha256 mismatch (corrupted)")
    return problems
