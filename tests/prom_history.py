"""A demo-like history relative to an injected "now", shaped so every shipped alert has data.

Daily runs for 30 days ending two days before ``now`` (a missed run), the newest backup from
then (too old), vulnerability-review and certificates critical since installation (never
succeeded), the last restore test 40 days ago (overdue), maintenance mode on past its deadline
and a recovery point older than the RPO target (figures the other components publish).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from smc_maint.config.loader import LoadedConfig
from smc_maint.context import Context
from smc_maint.emergency.journal import Journal, Window, journal_dir
from smc_maint.result import Result, Status
from smc_maint.runner import RunOutcome

from .obs_history import Script, metrics_snapshot, restore_test, run_at, trading_summary
from .obs_history import health as _health


def _ts(ctx: Context) -> float:
    return ctx.clock.now().timestamp()


def health(ctx: Context) -> Result:
    res = _health(ctx)
    figures = dict(res.figures)
    figures.update({"maintenance_mode": 1.0})
    return Result(res.status, res.summary, res.details, figures)


def backup_verify(ctx: Context) -> Result:
    return Result(Status.OK, "newest backup 1 h old, intact", {}, {
        "backup_age_seconds": 3600.0, "backup_size_bytes": 80e6 + ctx.clock.now().day * 1e6,
        "emergency_backup": 0.0, "recovery_point_timestamp_seconds": _ts(ctx) - 300, "rpo_target_seconds": 900.0})


def vulnerability_review(ctx: Context) -> Result:
    return Result(Status.CRITICAL, "2 critical vulnerabilities", {}, {
        "vulnerabilities_critical": 2.0, "vulnerabilities_high": 5.0, "vulnerabilities_medium": 9.0,
        "vulnerabilities_low": 20.0, "vulnerabilities_unknown": 0.0, "fixable_critical_high": 4.0})


def certificates(ctx: Context) -> Result:
    return Result(Status.CRITICAL, "api.example: expired", {}, {})


def db_maintenance(ctx: Context) -> Result:
    return Result(Status.OK, "3 tables vacuumed", {}, {})


SCRIPTS: dict[str, Script] = {
    "health": health, "backup-verify": backup_verify, "metrics-snapshot": metrics_snapshot,
    "vulnerability-review": vulnerability_review, "trading-summary": trading_summary,
    "restore-test": restore_test, "db-maintenance": db_maintenance, "certificates": certificates,
}
GROUPS = {
    "daily": ["health", "backup-verify", "metrics-snapshot", "vulnerability-review", "trading-summary"],
    "weekly": ["db-maintenance", "certificates"],
    "monthly": ["restore-test"],
}


def record(cfg: LoadedConfig, now: datetime) -> list[RunOutcome]:
    """Runs at 02:00 on each of the 30 days ending two days before ``now``; weekly on Sundays."""
    last = (now - timedelta(days=2)).replace(hour=2, minute=0, second=0, microsecond=0)
    outcomes = [run_at(cfg, "monthly", last - timedelta(days=38, hours=-2))]
    for back in range(29, -1, -1):
        at = last - timedelta(days=back)
        outcomes.append(run_at(cfg, "daily", at))
        if at.weekday() == 6:
            outcomes.append(run_at(cfg, "weekly", at.replace(hour=3)))
    # maintenance mode's live state is the emergency journal: a window left open past its deadline
    Journal(journal_dir(cfg.home)).save(Window("left-open", "test window", now - timedelta(hours=2),
                                               now - timedelta(hours=1)))
    return outcomes
