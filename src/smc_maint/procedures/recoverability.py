"""``recoverability`` (daily, last of the backup steps): the one verdict on point-in-time recovery,
recorded with its figures so the metrics, dashboard and monthly report show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.model import Section
from ..context import Context
from ..pitr.engine import EngineError
from ..pitr.gather import gather, targets
from ..pitr.verdict import recoverability
from ..result import Result, Status


class Settings(Section):
    pass


def run(ctx: Context, settings: Settings) -> Result:
    if ctx.cfg.config.backup.engine.kind == "none":
        return Result(Status.SKIPPED, "no physical backup engine configured (backup.engine.kind: none)")
    try:
        facts = gather(ctx)
    except EngineError as exc:
        return Result(Status.CRITICAL, f"cannot assess recoverability: {exc}", force_alert=True)
    verdict = recoverability(facts, targets(ctx))
    figures = {"recoverability_ok": 1.0 if verdict.status is Status.OK else 0.0}
    if verdict.rpo_seconds is not None:
        figures["wal_rpo_seconds"] = verdict.rpo_seconds
    if verdict.retention_days is not None:
        figures["recoverable_window_days"] = verdict.retention_days
    summary = verdict.summary + ("" if not verdict.reasons else " — " + "; ".join(verdict.reasons))
    return Result(verdict.status, summary, verdict.to_json(), figures,
                  force_alert=verdict.status is Status.CRITICAL)


def demo_settings(home: Path) -> dict[str, Any]:
    return {}
