"""Apply the retention plan to a store (or only report it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from ..config.model import RetentionConfig
from ..stores.base import BackupStore
from . import retention
from .catalog import load_catalog, verify_backup
from .trust import DEFAULT_SKEW_SECONDS, is_future

log = logging.getLogger("smc_maint.backups.prune")


@dataclass
class PruneOutcome:
    plan: retention.Plan
    dry_run: bool
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    unreadable: list[str] = field(default_factory=list)  # kept: never deleted on doubt

    def to_json(self) -> dict[str, object]:
        return {**self.plan.to_json(), "dry_run": self.dry_run, "deleted": self.deleted, "errors": self.errors,
                "freed_bytes": self.freed_bytes, "unreadable": self.unreadable}


def prune(store: BackupStore, policy: RetentionConfig, *, now: datetime, dry_run: bool,
          skew_seconds: float = DEFAULT_SKEW_SECONDS) -> PruneOutcome:
    """Delete what the retention plan does not keep.

    Unreadable directories are never deleted and count as errors (the caller exits non-zero);
    while there are any, no leftover is deleted either: a store that answers badly cannot prove
    a manifest is missing. A backup is kept only once its checksums verify (a store error while
    verifying raises: never delete on doubt).
    """
    catalog = load_catalog(store)
    entries = [retention.Entry(b.id, b.created_at, b.restore_mark is not None, is_future(b.created_at, now, skew_seconds))
               for b in catalog.backups]
    leftovers = [retention.Leftover(x.id, x.started_at, x.reason) for x in catalog.leftovers]
    manifests = {b.id: b.manifest for b in catalog.backups}
    plan = retention.plan(entries, policy, now=now, leftovers=leftovers,
                          check=lambda backup_id: verify_backup(store, manifests[backup_id]))
    if catalog.unreadable and plan.delete_leftovers:
        plan = retention.Plan(plan.keep, plan.delete, [], plan.rejected)
    outcome = PruneOutcome(plan, dry_run, unreadable=[x.id for x in catalog.unreadable])
    outcome.errors += [f"{x.id}: kept, manifest unreadable: {x.reason}" for x in catalog.unreadable]
    sizes = {b.id: b.manifest.size_bytes for b in catalog.backups}
    if dry_run:
        outcome.freed_bytes = sum(sizes[i] for i in plan.delete)
        return outcome
    for backup_id in [*plan.delete, *plan.delete_leftovers]:
        if backup_id in plan.keep:  # belt and braces: the plan never lists a kept id
            continue
        try:
            store.delete(backup_id)
        except Exception as exc:
            outcome.errors.append(f"{backup_id}: {exc}")
            continue
        outcome.deleted.append(backup_id)
        outcome.freed_bytes += sizes.get(backup_id, 0)
        log.info("pruned %s from %s", backup_id, store.description)
    return outcome
