"""Facts for the recoverability verdict: the engine's sets, the archiver, the last proven restore."""

from __future__ import annotations

from datetime import datetime

from ..context import Context
from ..result import Status
from . import engine
from .archive_check import check
from .sets import backup_sets
from .verdict import Facts, Targets

PROOF_PROCEDURE = "pitr-restore-test"


def targets(ctx: Context) -> Targets:
    e = ctx.cfg.config.backup.engine
    return Targets(e.rpo_target_seconds, e.rpo_critical_seconds, e.rto_target_seconds, e.retention_target_days,
                   e.proof_max_age_days)


def gather(ctx: Context) -> Facts:
    now = ctx.clock.now()
    lay = engine.layout(ctx.cfg)
    try:
        sets = backup_sets(engine.info(lay))
    except engine.EngineError:
        sets = []
    status, problems, figures, _ = check(ctx)
    rpo = figures.get("wal_rpo_seconds")
    window_end = datetime.fromtimestamp(now.timestamp() - rpo, now.tzinfo) if rpo is not None and sets else None
    proof_at = proof_target = None
    rto: float | None = None
    exact: bool | None = None
    for row in ctx.history.procedure_results(PROOF_PROCEDURE, limit=50):
        if row.status == Status.OK.value:
            proof_at, rto = row.started_at, float(row.details.get("rto_seconds", 0.0))
            proof_target = datetime.fromisoformat(str(row.details["target"])) if row.details.get("target") else None
            checked = row.details.get("exact")
            exact = checked.get("verdict") == "proven" if isinstance(checked, dict) else None
            break
    return Facts(now, sets[0].stopped_at if sets else None, window_end, proof_at, proof_target, rto, status,
                 tuple(problems), exact)
