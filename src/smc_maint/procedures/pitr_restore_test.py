"""``pitr-restore-test`` (monthly): restore the engine's backups to a moment T into a scratch server
and prove it stopped there: every marker up to T present, none after, the server log naming the
stop, row counts read; the time it took is the RTO. Default T: a fresh moment between two markers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from ..backups.markers import read_markers, write_marker
from ..config.model import Section
from ..context import Context
from ..errors import SafetyRefusal
from ..pitr import engine
from ..pitr.restore import PURPOSE, bracket_now, restore_and_prove, wait_archived
from ..pitr.sets import backup_sets
from ..result import Result, Status


class Settings(Section):
    target: datetime | None = Field(None, description="restore to this moment (timezone-aware); "
                                    "default: a fresh moment bracketed by two markers")
    tables: list[str] = Field(default_factory=lambda: ["trades"], description="tables whose rows are counted")
    timeout_seconds: float = Field(3 * 3600, gt=0)


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
        with ctx.connect() as conn:
            if settings.target is None:
                target, markers = bracket_now(conn, sets[-1].stopped_at)
            else:
                target = settings.target
                write_marker(conn, PURPOSE)  # one after T, so the stop can be proven
                wait_archived(conn)
                markers = read_markers(conn)
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
        return Result(Status.CRITICAL, f"restore to {target.isoformat()} NOT proven: " + "; ".join(proof.problems),
                      details, figures, force_alert=True)
    return Result(Status.OK, f"restored to {target.isoformat()} in {outcome.rto_seconds:.1f} s: "
                  f"{proof.markers_found}/{proof.markers_expected} markers up to T, none after; {proof.stop_line}",
                  details, figures)


def demo_settings(home: Path) -> dict[str, Any]:
    return {}
