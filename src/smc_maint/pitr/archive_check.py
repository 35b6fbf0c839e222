"""backup-verify's WAL archiving part: merged into its result when a physical engine is configured."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..context import Context
from ..result import Result, Status, worst
from . import engine
from .archiving import FAILED_FIGURE, assess, read_facts


def previous_failed(ctx: Context) -> int | None:
    """``failed_count`` as backup-verify recorded it last time (None: never)."""
    series = ctx.history.figure_series(FAILED_FIGURE, procedure_id="backup-verify")
    return int(series[-1].value) if series else None


def check(ctx: Context) -> tuple[Status, list[str], dict[str, float], dict[str, Any]]:
    """Status, problems, figures and details of WAL archiving now."""
    e = ctx.cfg.config.backup.engine
    lay = engine.layout(ctx.cfg)
    problems = engine.config_problems(lay)
    with ctx.connect() as conn:
        facts = read_facts(conn)
    finding = assess(facts, previous_failed(ctx), ctx.clock.now(), rpo_target_seconds=e.rpo_target_seconds,
                     rpo_critical_seconds=e.rpo_critical_seconds)
    status = worst([finding.status, Status.CRITICAL if problems else Status.OK])
    figures = {FAILED_FIGURE: float(facts.failed_count), "wal_archive_new_failures": float(finding.new_failures)}
    if finding.rpo_seconds is not None:
        figures["wal_rpo_seconds"] = finding.rpo_seconds
    if facts.last_archived_time is not None:  # a timestamp: the alert computes the age, nothing freezes
        figures["recovery_point_timestamp_seconds"] = facts.last_archived_time.timestamp()
        figures["rpo_target_seconds"] = float(e.rpo_target_seconds)
    details = {"status": status.value, "problems": finding.problems + problems,
               "last_archived_wal": facts.last_archived_wal, "archive_timeout_seconds": facts.archive_timeout_seconds,
               "rpo_seconds": finding.rpo_seconds}
    return status, finding.problems + problems, figures, details


def merge(ctx: Context, result: Result) -> Result:
    """``result`` with WAL archiving's verdict folded in (unchanged when no engine is configured)."""
    if ctx.cfg.config.backup.engine.kind == "none":
        return result
    try:
        status, problems, figures, details = check(ctx)
    except Exception as exc:  # the logical verdict must survive a broken engine check
        status, problems, figures, details = Status.CRITICAL, [f"cannot check WAL archiving: {exc}"], {}, {}
    if status is Status.OK:
        rpo = figures.get("wal_rpo_seconds")
        summary = result.summary + (f"; WAL archiving ok, RPO {rpo:.0f} s" if rpo is not None else "")
    else:
        summary = result.summary + "; WAL archiving " + status.value.upper() + ": " + "; ".join(problems)
    return dataclasses.replace(result, status=worst([result.status, status]), summary=summary,
                               details={**result.details, "wal_archiving": details},
                               figures={**result.figures, **figures},
                               force_alert=result.force_alert or status is Status.CRITICAL)
