"""``restore-test`` (monthly): restore the newest backup into a scratch PostgreSQL and prove it exact.

The runbook's test passes when ``trades > 0 and users > 0``; this one compares every table's
row count and content fingerprint with what the manifest recorded at backup time, measures the
restore time (the RTO estimate) and always removes the scratch server and downloaded files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backups.progress import terminal_progress
from ..backups.restore_test import (
    RestoreReport,
    RestoreTestFailed,
    RestoreTestSettings,
    mark_tested,
    run_restore_test,
)
from ..context import Context
from ..errors import SafetyRefusal
from ..result import Result, Status
from ..stores import StoreError


class Settings(RestoreTestSettings):
    """See :class:`RestoreTestSettings`."""


def judge(report: RestoreReport) -> Result:
    """Pure: any difference is critical and names the tables."""
    m = report.backup.manifest
    figures = {
        "restore_seconds": round(report.restore_seconds, 3),
        "download_seconds": round(report.download_seconds, 3),
        "verify_seconds": round(report.verify_seconds, 3),
        "backup_age_seconds": round(report.backup_age_seconds, 1),
        "restore_ok": 1.0 if report.ok else 0.0,
    }
    details: dict[str, Any] = {
        "backup_id": m.backup_id, "backup_created_at": m.created_at.isoformat(), "target": report.target,
        "tables": report.tables, "rows": report.rows, "differences": [str(d) for d in report.differences],
        "table": {"columns": ["table", "rows", "fingerprint"],
                  "rows": [[name, facts.rows, facts.fingerprint[:16]] for name, facts in sorted(m.tables.items())]},
    }
    unavailable = "" if report.objects_checked else (
        "; sequences, indexes, constraints, views, functions and extensions NOT checked: the manifest "
        f"(format {m.format_version}) predates those facts")
    if not report.objects_checked:
        details["checks_unavailable"] = ["sequences", "indexes", "constraints", "views", "functions", "extensions"]
    elif m.objects is not None:
        details["objects"] = {"sequences": len(m.objects.sequences), "indexes": len(m.objects.indexes),
                              "constraints": len(m.objects.constraints), "views": len(m.objects.views),
                              "functions": len(m.objects.functions), "extensions": len(m.objects.extensions)}
    if report.differences:
        named = ", ".join(sorted({d.table for d in report.differences}))
        return Result(Status.CRITICAL, f"backup {m.backup_id} restored but differs in: {named}{unavailable}", details,
                      figures, force_alert=True)
    checked = "" if not report.objects_checked else " and every sequence, index, constraint, view, function and " \
        "extension"
    return Result(Status.OK, f"backup {m.backup_id} restored exactly: {report.tables} tables, {report.rows} rows"
                  f"{checked} match the manifest; restore {report.restore_seconds:.1f} s (RTO estimate){unavailable}",
                  details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    failed = {"restore_ok": 0.0}
    try:
        store = ctx.store()
    except StoreError as exc:
        return Result(Status.CRITICAL, f"backup store unavailable: {exc}", {}, failed, force_alert=True)
    if ctx.dry_run:
        target = "a throwaway local PostgreSQL server" if settings.target == "local" else \
            f"a scratch database on {settings.scratch_server.host}:{settings.scratch_server.port}"
        which = settings.backup_id or "the newest backup"
        return Result(Status.OK, f"would restore {which} from {store.description} into {target} (dry run)",
                      {"plan": {"backup": which, "target": target}})
    now = ctx.clock.now()
    try:
        with terminal_progress(ctx.interactive) as progress:
            report = run_restore_test(ctx.cfg, store, settings, now=now, progress=progress)
    except SafetyRefusal as exc:
        return Result(Status.CRITICAL, f"refused: {exc}", {"error": str(exc), "stage": "target"}, failed,
                      force_alert=True)
    except RestoreTestFailed as exc:
        return Result(Status.CRITICAL, f"restore test failed: {exc}",
                      {"error": str(exc), "stage": exc.stage, "backup_id": exc.backup_id}, failed, force_alert=True)
    result = judge(report)
    if report.ok:
        try:
            mark_tested(store, report, now, ctx.run_id)
        except StoreError as exc:
            ctx.log.warning("could not record the passed test beside the backup: %s", exc)
    return result


def demo_settings(home: Path) -> dict[str, Any]:
    """The demo restores into a throwaway local server (its home must be reachable by that server's user)."""
    return {"target": "local"}
