"""``backup`` (daily, first): take a regular backup, verify it, then apply the retention policy.

Without it a scheduled deployment only ever got backups from backup-verify's emergency path
(a recovery point up to two days old, a warning every other day) and nothing ever pruned.
``backup-verify`` runs after it and checks what this produced, independently.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..backups.catalog import verify_backup
from ..backups.create import BackupError, create_backup
from ..backups.own_scans import backup_scan_figures
from ..backups.progress import terminal_progress
from ..backups.prune import PruneOutcome, prune
from ..config.model import Section
from ..context import Context
from ..deadline import DeadlineExceeded, check
from ..result import Result, Status
from ..stores import BackupStore, StoreError


class Settings(Section):
    prune: bool = Field(True, description="after a verified backup, delete backups outside backup.retention")


def _prune(ctx: Context, store: BackupStore, *, dry_run: bool) -> PruneOutcome | str:
    """The prune outcome, or why the store could not even be read for it."""
    try:
        return prune(store, ctx.cfg.config.backup.retention, now=ctx.clock.now(), dry_run=dry_run,
                     skew_seconds=ctx.cfg.config.backup.max_clock_skew_seconds)
    except StoreError as exc:
        return str(exc)


def run(ctx: Context, settings: Settings) -> Result:
    try:
        store = ctx.store()
    except StoreError as exc:
        return Result(Status.CRITICAL, f"backup store unavailable: {exc}", {"error": str(exc)}, {},
                      force_alert=True)
    if ctx.dry_run:
        plan = _prune(ctx, store, dry_run=True) if settings.prune else None
        details: dict[str, Any] = {"plan": {"backup": f"take a backup into {store.description} and verify it",
                                            "prune": plan.to_json() if isinstance(plan, PruneOutcome) else plan}}
        gone = len(plan.plan.delete) + len(plan.plan.delete_leftovers) if isinstance(plan, PruneOutcome) else 0
        tail = f", then prune {gone} backup(s)" if settings.prune else ""
        return Result(Status.OK, f"would take a backup into {store.description} and verify it{tail} (dry run)",
                      details)
    try:
        with terminal_progress(ctx.interactive) as progress:
            manifest = create_backup(ctx.cfg, store, clock=ctx.clock, progress=progress, deadline=ctx.deadline)
        problems = verify_backup(store, manifest)
    except (BackupError, StoreError) as exc:
        return Result(Status.CRITICAL, f"backup FAILED: {exc}", {"store": store.description, "error": str(exc)},
                      {}, force_alert=True)
    details = {"store": store.description, "backup_id": manifest.backup_id, "size_bytes": manifest.size_bytes,
               "tables": len(manifest.tables), "rows": sum(t.rows for t in manifest.tables.values())}
    figures = {"backup_size_bytes": float(manifest.size_bytes), "backup_seconds": manifest.duration_seconds,
               **backup_scan_figures(manifest.tables)}
    if problems:
        details["problems"] = problems
        return Result(Status.CRITICAL, f"backup {manifest.backup_id} was taken but does not verify: "
                      f"{'; '.join(problems)}", details, {"backup_seconds": manifest.duration_seconds},
                      force_alert=True)
    summary = (f"backup {manifest.backup_id} taken and verified: {manifest.size_bytes} bytes, "
               f"{details['tables']} tables in {manifest.duration_seconds:.1f} s")
    if not settings.prune:
        return Result(Status.OK, summary, details, figures)
    try:
        check(ctx.deadline, "pruning")
    except DeadlineExceeded as exc:
        return Result(Status.WARNING, f"{summary}; {exc}", details, figures)
    outcome = _prune(ctx, store, dry_run=False)
    if isinstance(outcome, str):
        details["prune_errors"] = [outcome]
        return Result(Status.WARNING, f"{summary}; prune failed: {outcome}", details, figures)
    details["prune"] = outcome.to_json()
    if outcome.errors:
        return Result(Status.WARNING, f"{summary}; prune: {len(outcome.errors)} problem(s): "
                      f"{'; '.join(outcome.errors)}", details, figures)
    return Result(Status.OK, f"{summary}; pruned {len(outcome.deleted)} ({outcome.freed_bytes} bytes)",
                  details, figures)
