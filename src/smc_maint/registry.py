"""Which procedures exist and which group runs them, in order.

A procedure is a module with ``Settings`` (a pydantic model, every field defaulted) and
``run(ctx, settings) -> Result``. Modules are imported lazily so one broken procedure cannot
take the whole tool down.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PROCEDURES: dict[str, str] = {
    "health": "smc_maint.procedures.health",
    "backup": "smc_maint.procedures.backup",
    "backup-verify": "smc_maint.procedures.backup_verify",
    "log-cleanup": "smc_maint.procedures.log_cleanup",
    "metrics-snapshot": "smc_maint.procedures.metrics_snapshot",
    "vulnerability-review": "smc_maint.procedures.vulnerability_review",
    "trading-summary": "smc_maint.procedures.trading_summary",
    "performance-review": "smc_maint.procedures.performance_review",
    "db-maintenance": "smc_maint.procedures.db_maintenance",
    "pgbouncer": "smc_maint.procedures.pgbouncer",
    "certificates": "smc_maint.procedures.certificates",
    "dependencies": "smc_maint.procedures.dependencies",
    "capacity": "smc_maint.procedures.capacity",
    "maintenance-report": "smc_maint.procedures.maintenance_report",
    "restore-test": "smc_maint.procedures.restore_test",
    "dr-drill": "smc_maint.procedures.dr_drill",
    "updates-review": "smc_maint.procedures.updates_review",
    "security-audit": "smc_maint.procedures.security_audit",
    "emergency": "smc_maint.procedures.emergency",  # on demand (smc-maint emergency), in no group
    "physical-backup": "smc_maint.procedures.physical_backup",
    "recovery-marker": "smc_maint.procedures.recovery_marker",
    "pitr-restore-test": "smc_maint.procedures.pitr_restore_test",
    "recoverability": "smc_maint.procedures.recoverability",
}

GROUPS: dict[str, list[str]] = {
    "daily": [
        "health",  # first: whether the platform is up at all
        "backup",  # a regular backup every day; backup-verify then checks it independently
        "recovery-marker",  # a marker row: later restores to a moment are checked against it
        "physical-backup",  # pgBackRest full/differential + expire (skipped without backup.engine)
        "backup-verify",
        "recoverability",  # the one PITR verdict: window, proof, RTO, RPO, retention (skipped without engine)
        "log-cleanup",
        "metrics-snapshot",
        "vulnerability-review",
        "trading-summary",
    ],
    "weekly": ["db-maintenance", "pgbouncer", "certificates", "dependencies", "capacity"],
    "monthly": [
        "restore-test",
        "security-audit",
        "pitr-restore-test",  # restore to a moment, proven by the markers (skipped without backup.engine)
        "performance-review",
        "maintenance-report",  # last: reports on the month, including the runs above
    ],
    "quarterly": ["dr-drill", "updates-review"],
}


def load(procedure_id: str) -> ModuleType:
    """Import the module of ``procedure_id`` (KeyError for an unknown id)."""
    return importlib.import_module(PROCEDURES[procedure_id])


def group_of(procedure_id: str) -> str | None:
    for group, ids in GROUPS.items():
        if procedure_id in ids:
            return group
    return None
