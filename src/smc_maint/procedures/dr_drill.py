"""``dr-drill`` (quarterly): prove the platform comes back from its backups, and measure how fast.

The runbook scales every production deployment to 0, back to 3 (not what they had) and "measures"
RTO by printing the date. This drill restores the newest backup into an isolated DR target (a new
scratch server; on Kubernetes also a DR namespace with the user's manifests), verifies it exactly,
checks its health within a deadline, measures RTO by phase and RPO with a marker row, and undoes
everything it did, journaled so even a killed drill is undone by the next run.
"""

from __future__ import annotations

from typing import Any

from ..adapters.platform.base import PlatformError
from ..backups.restore_test import RestoreTestFailed
from ..context import Context
from ..dr import drill
from ..dr.journal import JournalError
from ..dr.manifests import ManifestProblem
from ..dr.measure import against_target, figures, trades_gap_seconds
from ..dr.settings import DrDrillSettings
from ..dr.source import basis
from ..errors import SafetyRefusal
from ..pitr.engine import EngineError
from ..result import Result, Status, worst
from ..stores import StoreError


class Settings(DrDrillSettings):
    """See :class:`DrDrillSettings`."""


def judge(report: drill.DrillReport, settings: DrDrillSettings) -> Result:
    """Pure: differences, failed health or an unrestored production are CRITICAL; RTO/RPO against targets."""
    rpo = report.rpo_seconds
    gap = trades_gap_seconds(report.rpo) if report.rpo else None
    figs = figures(report.rto_seconds, rpo, report.phases, gap)
    figs["dr_ok"] = 0.0
    details: dict[str, Any] = {
        "plan": report.plan.to_json(), "rto_seconds": figs["rto_seconds"], "rpo_seconds": figs["rpo_seconds"],
        "phases": {k: round(v, 3) for k, v in report.phases.items()},
        "source": report.plan.source, "verified": report.verified, "verify_problems": report.verify_problems,
        "marker_in_copy": report.rpo.marker_in_copy if report.rpo else None,
        "copy_last_transaction_at": report.rpo.copy_last_xact_at.isoformat()
        if report.rpo and report.rpo.copy_last_xact_at else None,
        "trades_gap_seconds": gap, "differences": [str(d) for d in report.differences],
        "health_problems": report.health_problems, "scaled": report.scaled,
        "restore_failures": report.restore_failures, "leftovers_removed": report.leftovers_removed,
        "kept": report.kept,
        "table": {"columns": ["phase", "seconds"],
                  "rows": [[k, round(report.phases.get(k, 0.0), 3)] for k in ("fetch", "restore", "verify",
                                                                             "bring_up", "health")]},
    }
    if report.restore_failures:
        return Result(Status.CRITICAL, "production NOT restored after the drill: " +
                      "; ".join(report.restore_failures) + " (run `smc-maint dr-drill recover`)", details, figs,
                      force_alert=True)
    if report.differences:
        named = ", ".join(sorted({d.table for d in report.differences}))
        return Result(Status.CRITICAL, f"DR copy of {report.plan.backup_id} differs from the backup in: {named}",
                      details, figs, force_alert=True)
    if report.verify_problems:
        return Result(Status.CRITICAL, f"DR copy from {report.plan.backup_id} (point-in-time recovery) failed "
                      "verification: " + "; ".join(report.verify_problems), details, figs, force_alert=True)
    if report.health_problems or report.rpo is None:
        return Result(Status.CRITICAL, "DR target not healthy: " + "; ".join(report.health_problems[:3]),
                      details, figs, force_alert=True)
    rto_s = against_target(report.rto_seconds, settings.rto_target_seconds, settings.critical_factor)
    rpo_s = against_target(rpo, settings.rpo_target_seconds, settings.critical_factor)
    figs["dr_ok"] = 1.0
    status = worst([rto_s, rpo_s])
    origin = report.plan.backup_id + (" and the archived WAL" if report.plan.source == "pitr" else "")
    text = (f"DR drill from {origin}: healthy after RTO {report.rto_seconds:.1f} s "
            f"(target {settings.rto_target_seconds:g}), RPO {rpo:.0f} s (target {settings.rpo_target_seconds:g})")
    if status is not Status.OK:
        over = [n for n, s in (("RTO", rto_s), ("RPO", rpo_s)) if s is not Status.OK]
        text += f"; {' and '.join(over)} over target"
    return Result(status, text, details, figs)


def run(ctx: Context, settings: Settings) -> Result:
    failed = {"dr_ok": 0.0}
    mode = drill.mode_of(ctx.cfg, ctx.platform_override)
    try:
        store = ctx.store()
        if ctx.dry_run:
            info = basis(ctx.cfg, store, settings, ctx.clock.now())
            ns = ctx.platform().namespace if (settings.simulate_outage or mode == "kubernetes") else ""
            plan = drill.make_plan(ctx.cfg, store, settings, info, mode, ns)
            return Result(Status.OK, f"would recover {plan.backup_id} into {plan.dr_target} (dry run); production "
                          f"touched: {'; '.join(plan.production_touched)}", {"plan": plan.to_json()})
        report = drill.run_drill(ctx.cfg, store, settings, run_id=ctx.run_id, platform=ctx.platform, mode=mode,
                                 now=ctx.clock.now())
    except SafetyRefusal as exc:
        return Result(Status.CRITICAL, f"refused: {exc}", {"error": str(exc)}, failed, force_alert=True)
    except (RestoreTestFailed, StoreError, PlatformError, ManifestProblem, JournalError, EngineError) as exc:
        return Result(Status.CRITICAL, f"DR drill failed: {exc}", {"error": str(exc)}, failed, force_alert=True)
    return judge(report, settings)
