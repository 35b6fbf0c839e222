"""``backup-verify`` (daily): the newest backup is fresh, non-empty and intact; else take one now.

Unlike the runbook (a file name with today's date, an emergency dump to /tmp in the pod), the
newest backup is found by the creation time in its manifest and its checksums are verified;
an emergency backup goes into the store with the same code as ``backup create``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from ..backups.catalog import Catalog, load_catalog, verify_backup
from ..backups.create import BackupError, create_backup
from ..backups.own_scans import backup_scan_figures
from ..backups.progress import terminal_progress
from ..backups.scratch import system_identifier
from ..backups.trust import future_dated, future_problem, newest_trusted
from ..config.model import Section
from ..context import Context
from ..deadline import DeadlineExceeded, check
from ..lock import backup_running
from ..result import Result, Status
from ..stores import StoreError


class Settings(Section):
    max_age_hours: float = Field(26, gt=0, description="the newest backup must be younger than this")
    emergency_backup: bool = Field(True, description="take a backup into the store when none qualifies")


@dataclass(frozen=True)
class Finding:
    """The newest backup and what is wrong with it (empty ``problems``: it qualifies)."""

    backup_id: str | None
    age_seconds: float | None
    size_bytes: int
    problems: list[str]


def assess(catalog: Catalog, problems_of_newest: list[str], now: datetime, settings: Settings, *,
           database: str, system_identifier: str | None = None, skew_seconds: float = 300.0) -> Finding:
    """Pure: does the newest trustworthy backup qualify, and is it a backup of *this* database?

    ``system_identifier`` is the configured server's; it is compared with the manifest's when
    both are known (a restored or cloned server shares it, another server never does).
    Backups dated ahead of now are not "newest"; they are listed in ``future``.
    """
    newest = newest_trusted(catalog, now, skew_seconds)
    if newest is None:
        if future_dated(catalog.backups, now, skew_seconds):
            return Finding(None, None, 0, ["no backup dated up to now (only future-dated ones)"])
        reason = "no backup with a valid manifest in the store"
        if catalog.leftovers:
            reason += f" ({len(catalog.leftovers)} incomplete: {catalog.leftovers[-1].reason})"
        if catalog.unreadable:
            reason += f" ({len(catalog.unreadable)} unreadable: {catalog.unreadable[-1].reason})"
        return Finding(None, None, 0, [reason])
    age = (now - newest.created_at).total_seconds()
    problems = list(problems_of_newest)
    m = newest.manifest
    if m.database != database:
        problems.insert(0, f"newest backup is of database {m.database!r}, not the configured {database!r}")
    if m.system_identifier and system_identifier and m.system_identifier != system_identifier:
        problems.insert(0, f"newest backup comes from another server (system identifier {m.system_identifier}, "
                        f"the configured server is {system_identifier})")
    if age > settings.max_age_hours * 3600:
        problems.insert(0, f"newest backup is {age / 3600:.1f} h old (limit {settings.max_age_hours:g} h)")
    if m.size_bytes == 0:
        problems.append("newest backup is empty")
    return Finding(newest.id, age, m.size_bytes, problems)


def future_warnings(catalog: Catalog, now: datetime, skew_seconds: float) -> list[str]:
    """Pure: a finding per backup dated ahead of now (a host clock that ran fast when it was taken)."""
    return [future_problem(b, now) for b in future_dated(catalog.backups, now, skew_seconds)]


def run(ctx: Context, settings: Settings) -> Result:
    from ..pitr.archive_check import merge  # WAL archiving (issue 16), a separate module

    return merge(ctx, run_logical(ctx, settings))


def run_logical(ctx: Context, settings: Settings) -> Result:
    now = ctx.clock.now()
    try:
        store = ctx.store()
        catalog = load_catalog(store)
        skew = ctx.cfg.config.backup.max_clock_skew_seconds
        newest = newest_trusted(catalog, now, skew)
        integrity = verify_backup(store, newest.manifest) if newest else []
    except StoreError as exc:
        return Result(Status.CRITICAL, f"backup store unreadable: {exc}", {"error": str(exc)},
                      {"emergency_backup": 0.0}, force_alert=True)
    db = ctx.cfg.config.database
    finding = assess(catalog, integrity, now, settings, database=db.dbname,
                     system_identifier=system_identifier(db) if newest and newest.manifest.system_identifier else None,
                     skew_seconds=skew)
    future = future_warnings(catalog, now, skew)
    details: dict[str, Any] = {"store": store.description, "newest": finding.backup_id,
                               "problems": finding.problems, "backups": len(catalog.backups)}
    if future:
        details["future_dated"] = future
    if catalog.unreadable:
        details["unreadable"] = {x.id: x.reason for x in catalog.unreadable}
    if not finding.problems and finding.age_seconds is not None:
        if future:
            return Result(Status.WARNING, f"newest backup {finding.backup_id} is {finding.age_seconds / 3600:.1f} h "
                          f"old and verifies, but {'; '.join(future)}", details,
                          {"backup_age_seconds": finding.age_seconds,
                           "backup_size_bytes": float(finding.size_bytes), "emergency_backup": 0.0},
                          force_alert=True)
        return Result(Status.OK, f"newest backup {finding.backup_id} is {finding.age_seconds / 3600:.1f} h old, "
                      f"{finding.size_bytes} bytes, checksums match", details,
                      {"backup_age_seconds": finding.age_seconds, "backup_size_bytes": float(finding.size_bytes),
                       "emergency_backup": 0.0})
    why = "; ".join(finding.problems + future)
    stale_figures = {"emergency_backup": 0.0}
    if finding.age_seconds is not None:
        stale_figures["backup_age_seconds"] = finding.age_seconds
    if not settings.emergency_backup:
        return Result(Status.CRITICAL, f"no usable backup: {why}", details, stale_figures, force_alert=True)
    if ctx.dry_run:
        details["plan"] = f"take an emergency backup into {store.description}"
        return Result(Status.WARNING, f"{why}; an emergency backup WOULD be taken (dry run)", details,
                      stale_figures, force_alert=True)
    busy = backup_running(ctx.cfg.lock_dir, store.description)
    if busy:
        details["emergency_skipped"] = busy
        return Result(Status.CRITICAL, f"{why}; no emergency backup started: {busy}", details, stale_figures,
                      force_alert=True)
    try:
        check(ctx.deadline, "starting an emergency backup")
        with terminal_progress(ctx.interactive) as progress:
            manifest = create_backup(ctx.cfg, store, emergency=True, clock=ctx.clock, progress=progress,
                                     deadline=ctx.deadline)
        problems = verify_backup(store, manifest)
    except (BackupError, DeadlineExceeded) as exc:
        details["emergency_error"] = str(exc)
        return Result(Status.CRITICAL, f"{why}; the emergency backup FAILED: {exc}", details, stale_figures,
                      force_alert=True)
    if problems:
        details["emergency_problems"] = problems
        return Result(Status.CRITICAL, f"{why}; the emergency backup {manifest.backup_id} does not verify: "
                      f"{'; '.join(problems)}", details, stale_figures, force_alert=True)
    details["emergency_backup"] = manifest.backup_id
    return Result(Status.WARNING, f"{why}; emergency backup {manifest.backup_id} taken and verified "
                  f"({manifest.size_bytes} bytes)", details,
                  {"backup_age_seconds": 0.0, "backup_size_bytes": float(manifest.size_bytes),
                   "emergency_backup": 1.0, **backup_scan_figures(manifest.tables)}, force_alert=True)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"max_age_hours": 26}
