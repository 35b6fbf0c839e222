"""``pitr-restore-test`` (monthly): restore the engine's backups to a moment T into a scratch server
and prove it stopped there: every marker up to T present, none after, the server log naming the
stop, row counts read; the time it took is the RTO. Default T: a fresh moment between two markers.

Where the logical store holds a trusted backup of this cluster whose snapshot lies in the recoverable
window, a second restore to the snapshot's WAL position must equal every table of its manifest."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from pydantic import Field

from ..backups.markers import read_markers, write_marker
from ..backups.scratch import read_system_identifier
from ..config.model import Section
from ..context import Context
from ..deadline import remaining
from ..embedded.postgres import EmbeddedError
from ..errors import SafetyRefusal
from ..pitr import engine
from ..pitr.exact import Choice
from ..pitr.exact_restore import find_snapshot, verify_at_lsn
from ..pitr.restore import PURPOSE, bracket_now, restore_and_prove, wait_archived
from ..pitr.sets import BackupSet, backup_sets, lsn_value
from ..result import Result, Status, worst
from ..stores.base import StoreError


class Settings(Section):
    target: datetime | None = Field(None, description="restore to this moment (timezone-aware); "
                                    "default: a fresh moment bracketed by two markers")
    tables: list[str] = Field(default_factory=lambda: ["trades"], description="tables whose rows are counted")
    timeout_seconds: float = Field(3 * 3600, gt=0)
    exact_against_logical: bool = Field(True, description="also restore to the WAL position of the newest "
                                        "trusted logical backup in the recoverable window and compare every "
                                        "table exactly with its manifest (a second restore)")
    verify_jobs: int = Field(2, ge=1, le=16, description="connections reading the restored table facts")


def run(ctx: Context, settings: Settings) -> Result:
    if ctx.cfg.config.backup.engine.kind == "none":
        return Result(Status.SKIPPED, "no physical backup engine configured (backup.engine.kind: none)")
    if settings.target is not None and settings.target.tzinfo is None:
        return Result(Status.UNKNOWN, "target needs a time zone (e.g. 2026-12-04T21:00:00Z)")
    try:
        lay = engine.layout(ctx.cfg)
        if ctx.dry_run:
            return Result(Status.OK, f"WOULD restore stanza {lay.engine.stanza} to "
                          f"{settings.target or 'a fresh moment'} into a scratch server (dry run)")
        sets = backup_sets(engine.info(lay))
        if not sets:
            return Result(Status.CRITICAL, f"no pgBackRest backup set in stanza {lay.engine.stanza}: nothing to "
                          "restore (run physical-backup)", force_alert=True)
        # pgBackRest records stop times in whole seconds and needs one strictly before the target
        if settings.target is not None and settings.target < sets[0].stopped_at + timedelta(seconds=1):
            return Result(Status.CRITICAL, f"target {settings.target.isoformat()} is not after the oldest backup "
                          f"set's end ({sets[0].stopped_at.isoformat()}, whole seconds): outside the recoverable "
                          "window", force_alert=True)
        budget = time.monotonic() + settings.timeout_seconds
        with ctx.connect() as conn:
            if settings.target is None:
                target, markers = bracket_now(conn, sets[-1].stopped_at)
            else:
                target = settings.target
                write_marker(conn, PURPOSE)  # one after T, so the stop can be proven
                wait_archived(conn)
                markers = read_markers(conn)
            system_id = read_system_identifier(conn) or sets[-1].system_id  # the server's, else the engine's
            upper = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        outcome = restore_and_prove(ctx.cfg, lay, target, markers, tables=settings.tables,
                                    timeout=settings.timeout_seconds)
    except (engine.EngineError, SafetyRefusal, OSError) as exc:
        return Result(Status.CRITICAL, f"restore to a moment failed: {exc}", {"error": str(exc)}, force_alert=True)
    proof = outcome.proof
    details: dict[str, Any] = {"target": target.isoformat(), "stop": proof.stop_line, "problems": proof.problems,
                               "markers_expected": proof.markers_expected, "markers_found": proof.markers_found,
                               "rows": outcome.table_rows, "rto_seconds": outcome.rto_seconds}
    figures = {"pitr_rto_seconds": outcome.rto_seconds, "pitr_proven": 0.0 if proof.problems else 1.0,
               "pitr_target_epoch": target.timestamp()}
    if proof.problems:
        details["server_log_tail"] = outcome.server_log_tail
        result = Result(Status.CRITICAL, f"restore to {target.isoformat()} NOT proven: " + "; ".join(proof.problems),
                        details, figures, force_alert=True)
    else:
        result = Result(Status.OK, f"restored to {target.isoformat()} in {outcome.rto_seconds:.1f} s: "
                        f"{proof.markers_found}/{proof.markers_expected} markers up to T, none after; "
                        f"{proof.stop_line}", details, figures)
    if not settings.exact_against_logical:
        return result
    left = min(x for x in (remaining(budget), remaining(ctx.deadline)) if x is not None)
    return _with_exact(result, _exact(ctx, lay, sets, settings, system_id=system_id,
                                      upper_lsn=lsn_value(str(upper[0])) if upper else 0, timeout=left))


def _exact(ctx: Context, lay: engine.Layout, sets: list[BackupSet], settings: Settings, *, system_id: str | None,
           upper_lsn: int, timeout: float) -> tuple[Status, str, dict[str, Any], dict[str, float]]:
    """The per-table exact check: status, a summary part, ``details.exact`` and figures."""
    try:
        choice: Choice | str = find_snapshot(ctx.cfg, sets, system_id=system_id, upper_lsn=upper_lsn,
                                             now=ctx.clock.now())
    except StoreError as exc:
        reason = f"cannot list the logical backups ({exc}): per-table exact check not run"
        return Status.WARNING, reason, {"verdict": "not_run", "reason": reason}, {}
    if isinstance(choice, str):
        return Status.OK, choice, {"verdict": "not_run", "reason": choice}, {}
    m = choice.backup.manifest
    head = f"exact per-table check against logical backup {m.backup_id} at WAL {choice.lsn}"
    if timeout <= 0:
        reason = "no time left within timeout_seconds: per-table exact check not run"
        return Status.WARNING, reason, {"verdict": "not_run", "reason": reason, "backup_id": m.backup_id}, {}
    try:
        verdict, restored = verify_at_lsn(ctx.cfg, lay, choice, timeout=timeout, jobs=settings.verify_jobs)
    except (engine.EngineError, SafetyRefusal, OSError, EmbeddedError, psycopg.Error) as exc:
        reason = f"restore to WAL {choice.lsn} (set {choice.backup_set.label}) failed: {exc}"
        return (Status.CRITICAL, f"{head}: {reason}",
                {"backup_id": m.backup_id, "lsn": choice.lsn, "verdict": "failed", "reason": reason},
                {"pitr_exact_proven": 0.0})
    exact = {**verdict.to_json(m.backup_id, choice.lsn), "backup_set": choice.backup_set.label,
             "tables_recorded": len(m.tables),
             "rows": {t: {"restored": restored[t].rows if t in restored else None, "snapshot": m.tables[t].rows}
                      for t in settings.tables if t in m.tables}}
    figures = {"pitr_exact_tables": float(verdict.tables_checked),
               "pitr_exact_proven": 1.0 if verdict.verdict == "proven" else 0.0}
    text = f"{head}: {verdict.reason}"
    if verdict.mismatches:
        text += ": " + "; ".join(verdict.mismatches[:5]) + (" …" if len(verdict.mismatches) > 5 else "")
    return verdict.status, text, exact, figures


def _with_exact(result: Result, exact: tuple[Status, str, dict[str, Any], dict[str, float]]) -> Result:
    status, text, details, figures = exact
    return dataclasses.replace(result, status=worst([result.status, status]), summary=f"{result.summary}; {text}",
                               details={**result.details, "exact": details}, figures={**result.figures, **figures},
                               force_alert=result.force_alert or status is Status.CRITICAL)


def demo_settings(home: Path) -> dict[str, Any]:
    return {}
