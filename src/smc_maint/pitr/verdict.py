"""The one recoverability verdict: window, proven restore, RTO, RPO and retention against targets.

ONE pure function decides; the CLI, the metric, the dashboard and the report only show it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ..result import Status, worst


@dataclass(frozen=True)
class Facts:
    """What is known now (None: unknown)."""

    now: datetime
    window_start: datetime | None  # the oldest backup set's stop time
    window_end: datetime | None  # the newest archived WAL
    last_proof_at: datetime | None  # the last restore to a moment that proved itself
    last_proof_target: datetime | None
    last_proof_rto_seconds: float | None
    archive_status: Status  # backup-verify's WAL archiving verdict (OK when unknown problems none)
    archive_problems: tuple[str, ...] = ()
    last_proof_exact: bool | None = None  # did the last proof include the exact per-table check (None: unknown)


@dataclass(frozen=True)
class Targets:
    rpo_target_seconds: float
    rpo_critical_seconds: float
    rto_target_seconds: float
    retention_target_days: float
    proof_max_age_days: float


@dataclass(frozen=True)
class Verdict:
    status: Status
    summary: str
    rpo_seconds: float | None
    retention_days: float | None
    reasons: list[str]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}


def _t(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"


def _exact(f: Facts) -> str:
    if f.last_proof_at is None or f.last_proof_exact is None:
        return ""
    return " with the exact per-table check" if f.last_proof_exact else " without the exact per-table check"


def recoverability(f: Facts, t: Targets) -> Verdict:
    """Pure: "recoverable to any moment from A to B; last proven restore C, RTO x s; RPO now y s;
    retention covers z days" and the worst status of its parts."""
    parts: list[tuple[Status, str]] = []
    rpo = (f.now - f.window_end).total_seconds() if f.window_end else None
    days = (f.now - f.window_start).total_seconds() / 86400 if f.window_start else None
    if f.window_start is None or f.window_end is None:
        parts.append((Status.CRITICAL, "no recoverable window (no backup set or no archived WAL)"))
    if rpo is not None:
        if rpo > t.rpo_critical_seconds:
            parts.append((Status.CRITICAL, f"RPO {rpo:.0f} s over {t.rpo_critical_seconds:g} s"))
        elif rpo > t.rpo_target_seconds:
            parts.append((Status.WARNING, f"RPO {rpo:.0f} s over target {t.rpo_target_seconds:g} s"))
    if days is not None and days < t.retention_target_days:
        parts.append((Status.WARNING, f"retention covers {days:.1f} days, target {t.retention_target_days:g}"))
    if f.last_proof_at is None:
        parts.append((Status.WARNING, "no restore to a moment has been proven yet"))
    else:
        age_days = (f.now - f.last_proof_at).total_seconds() / 86400
        if age_days > t.proof_max_age_days:
            parts.append((Status.WARNING, f"last proven restore is {age_days:.0f} days old "
                          f"(target {t.proof_max_age_days:g})"))
        if f.last_proof_rto_seconds is not None and f.last_proof_rto_seconds > t.rto_target_seconds:
            parts.append((Status.WARNING, f"RTO {f.last_proof_rto_seconds:.0f} s over target "
                          f"{t.rto_target_seconds:g} s"))
    if f.archive_status in (Status.WARNING, Status.CRITICAL):
        parts.append((f.archive_status, "WAL archiving: " + "; ".join(f.archive_problems)))
    rto = f"{f.last_proof_rto_seconds:.0f} s" if f.last_proof_rto_seconds is not None else "unknown"
    summary = (f"recoverable to any moment from {_t(f.window_start)} to {_t(f.window_end)}; "
               f"last proven restore {_t(f.last_proof_at)}{_exact(f)}, RTO {rto}; "
               f"RPO now {f'{rpo:.0f} s' if rpo is not None else 'unknown'}; "
               f"retention covers {f'{days:.1f}' if days is not None else '0'} days")
    status = worst([s for s, _ in parts]) if parts else Status.OK
    return Verdict(status, summary, rpo, days, [r for _, r in parts])
