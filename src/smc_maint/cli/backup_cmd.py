"""``smc-maint backup``: create, list, verify, prune and restore-test backups."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ..adapters.clock import SystemClock
from ..backups.catalog import Catalog, load_catalog, verify_backup
from ..backups.create import BackupError, create_backup
from ..backups.progress import terminal_progress
from ..backups.prune import prune as prune_store
from ..backups.trust import newest_trusted
from ..config.loader import LoadedConfig, load_config
from ..errors import SmcMaintError
from ..reporting.publish import publish_after_run
from ..result import Status
from ..runner import run_group
from ..stores import BackupStore, StoreError, open_store
from . import render

app = typer.Typer(help="Backups that prove they restore: create, list, verify, prune, restore-test.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")


def _store(cfg: LoadedConfig) -> BackupStore:
    try:
        return open_store(cfg)
    except StoreError as exc:
        raise SmcMaintError(f"backup store: {exc}") from None


def _catalog(store: BackupStore) -> Catalog:
    try:
        return load_catalog(store)
    except StoreError as exc:
        raise SmcMaintError(f"backup store: {exc}") from None


def _interactive(as_json: bool) -> bool:
    return sys.stderr.isatty() and not as_json


@app.command()
def create(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Take a snapshot-consistent, checksummed backup into the configured store."""
    cfg = load_config(config)
    store = _store(cfg)
    with terminal_progress(_interactive(as_json)) as progress:
        try:
            manifest = create_backup(cfg, store, progress=progress)
        except BackupError as exc:
            if as_json:
                _emit({"status": "critical", "error": str(exc)})
            else:
                err.print(f"backup FAILED: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(Status.CRITICAL.exit_code) from None
    summary = {"status": "ok", "id": manifest.backup_id, "store": store.description,
               "size_bytes": manifest.size_bytes, "tables": len(manifest.tables),
               "rows": sum(t.rows for t in manifest.tables.values()), "duration_seconds": manifest.duration_seconds}
    if as_json:
        _emit(summary)
    else:
        out.print(f"backup {manifest.backup_id} -> {store.description}: {manifest.size_bytes} bytes, "
                  f"{summary['tables']} tables, {summary['rows']} rows in {manifest.duration_seconds:.1f} s",
                  markup=False, soft_wrap=True)


@app.command("list")
def list_(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Backups in the store, newest first (by the creation time in their manifests)."""
    cfg = load_config(config)
    store = _store(cfg)
    catalog = _catalog(store)
    if as_json:
        _emit({"store": store.description, "backups": [b.to_json() for b in catalog.backups],
               "incomplete": [{"id": x.id, "reason": x.reason} for x in catalog.leftovers],
               "unreadable": [{"id": x.id, "reason": x.reason} for x in catalog.unreadable]})
        return
    table = Table(title=f"backups in {store.description}", title_justify="left")
    for col in ("id", "created (UTC)", "size", "tables", "rows", "emergency", "restore-tested"):
        table.add_column(col, no_wrap=col in ("id", "created (UTC)"))
    for b in catalog.backups:
        j = b.to_json()
        table.add_row(b.id, f"{b.created_at:%Y-%m-%d %H:%M:%S}", f"{b.manifest.size_bytes:,}", str(j["tables"]),
                      f"{j['rows']:,}", "yes" if b.manifest.emergency else "",
                      f"{b.restore_mark.tested_at:%Y-%m-%d}" if b.restore_mark else "")
    out.print(table)
    for x in catalog.leftovers:
        err.print(f"not a backup: {x.id}: {x.reason}", markup=False, soft_wrap=True)
    for y in catalog.unreadable:
        err.print(f"unreadable (kept): {y.id}: {y.reason}", markup=False, soft_wrap=True)


@app.command()
def verify(backup_id: Annotated[str | None, typer.Argument(help="backup id (default: the newest)")] = None,
           as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Check a backup's manifest and the sha256 of every artifact (no restore)."""
    cfg = load_config(config)
    store = _store(cfg)
    catalog = _catalog(store)
    info = catalog.get(backup_id) if backup_id else newest_trusted(
        catalog, SystemClock().now(), cfg.config.backup.max_clock_skew_seconds)
    if info is None:
        reason = catalog.why_not_a_backup(backup_id) if backup_id else None
        problem = reason or (f"no backup {backup_id}" if backup_id else "no backup with a valid manifest")
        if as_json:
            _emit({"status": "critical", "id": backup_id, "problems": [problem]})
        else:
            err.print(f"CRITICAL: {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(Status.CRITICAL.exit_code)
    with terminal_progress(_interactive(as_json)) as progress:
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("verify", done, info.manifest.size_bytes)

        try:
            problems = verify_backup(store, info.manifest, tick)
        except StoreError as exc:
            problems = [str(exc)]
    status = Status.CRITICAL if problems else Status.OK
    if as_json:
        _emit({"status": status.value, "id": info.id, "problems": problems})
    elif problems:
        err.print(f"CRITICAL: backup {info.id}: " + "; ".join(problems), markup=False, soft_wrap=True)
    else:
        out.print(f"OK: backup {info.id}: manifest valid, {len(info.manifest.artifacts)} artifact(s), "
                  f"checksums match", markup=False, soft_wrap=True)
    raise typer.Exit(status.exit_code)


@app.command()
def prune(dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan; delete nothing")] = False,
          as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Delete backups outside the grandfather-father-son policy (backup.retention)."""
    cfg = load_config(config)
    store = _store(cfg)
    try:
        outcome = prune_store(store, cfg.config.backup.retention, now=SystemClock().now(), dry_run=dry_run,
                              skew_seconds=cfg.config.backup.max_clock_skew_seconds)
    except StoreError as exc:
        raise SmcMaintError(f"backup store: {exc}") from None
    if as_json:
        _emit(outcome.to_json())
    else:
        verb = "would delete" if dry_run else "deleted"
        gone = outcome.plan.delete + outcome.plan.delete_leftovers if dry_run else outcome.deleted
        for backup_id, reasons in outcome.plan.keep.items():
            out.print(f"keep    {backup_id}  ({', '.join(reasons)})", markup=False, soft_wrap=True)
        for backup_id, why in outcome.plan.rejected.items():
            out.print(f"not trusted {backup_id}: {why}", markup=False, soft_wrap=True)
        for backup_id in gone:
            out.print(f"{'delete' if not dry_run else 'would delete':<7} {backup_id}", markup=False, soft_wrap=True)
        out.print(f"{verb} {len(gone)} backup(s), {outcome.freed_bytes:,} bytes; kept {len(outcome.plan.keep)}",
                  markup=False, soft_wrap=True)
        for problem in outcome.errors:
            err.print(f"error: {problem}", markup=False, soft_wrap=True)
    raise typer.Exit(Status.WARNING.exit_code if outcome.errors else 0)


@app.command("restore-test")
def restore_test(
    backup_id: Annotated[str | None, typer.Option("--id", help="test this backup instead of the newest")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan only")] = False,
    as_json: JsonOpt = False, config: ConfigOpt = None,
) -> None:
    """Restore the newest backup into a scratch PostgreSQL and verify it exactly (recorded, alerts)."""
    cfg = load_config(config)
    if backup_id:
        from ..procedures.restore_test import Settings

        current = cfg.procedure_settings.get("restore-test") or Settings()
        settings = dict(cfg.procedure_settings)
        settings["restore-test"] = current.model_copy(update={"backup_id": backup_id})
        cfg = LoadedConfig(cfg.config, cfg.source, cfg.home, settings)
    outcome = run_group(cfg, "monthly", only=["restore-test"], dry_run=dry_run, interactive=_interactive(as_json),
                        after_run=None if dry_run else publish_after_run(cfg))
    if as_json:
        _emit(outcome.to_json())
    else:
        out.print(render.run_outcome(outcome))
    raise typer.Exit(outcome.status.exit_code)
