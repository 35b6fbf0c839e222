"""RTO and RPO of a drill, and the verdict against targets. Pure functions over measured facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..result import Status

PHASES = ("fetch", "restore", "verify", "bring_up", "health")


@dataclass(frozen=True)
class RpoFacts:
    """What production had at the simulated loss and what the DR copy holds."""

    marker_at: datetime  # the marker written into production right before the loss
    marker_in_copy: bool  # found in the DR copy (point-in-time recovery) or not (logical backup)
    copy_newest_marker_at: datetime | None
    backup_snapshot_at: datetime
    prod_max_trade: datetime | None
    copy_max_trade: datetime | None
    # a restore to the end of the archived WAL: its last completed transaction (the server log's)
    copy_last_xact_at: datetime | None = None


def rpo_seconds(f: RpoFacts) -> float:
    """Production's newest committed data minus the DR copy's newest: zero when the marker made it;
    else the marker time minus the newest point the copy provably holds (newest marker, snapshot,
    or the last transaction recovery replayed)."""
    if f.marker_in_copy:
        return 0.0
    newest = max([t for t in (f.copy_newest_marker_at, f.backup_snapshot_at, f.copy_last_xact_at)
                  if t is not None])
    return max(0.0, (f.marker_at - newest).total_seconds())


def trades_gap_seconds(f: RpoFacts) -> float | None:
    """max(trades.timestamp) in production minus in the copy (None when either has no trades)."""
    if f.prod_max_trade is None or f.copy_max_trade is None:
        return None
    return max(0.0, (f.prod_max_trade - f.copy_max_trade).total_seconds())


def against_target(value: float, target: float, factor: float) -> Status:
    """Over target is a WARNING, over ``factor`` times the target CRITICAL."""
    if value > target * factor:
        return Status.CRITICAL
    if value > target:
        return Status.WARNING
    return Status.OK


def figures(rto: float, rpo: float, phases: dict[str, float], gap: float | None) -> dict[str, float]:
    out = {"rto_seconds": round(rto, 3), "rpo_seconds": round(rpo, 3)}
    # dr_phase_seconds.<phase>, not restore_seconds: restore-test's figures keep their own meaning
    out.update({f"dr_phase_seconds.{name}": round(phases.get(name, 0.0), 3) for name in PHASES})
    if gap is not None:
        out["trades_gap_seconds"] = round(gap, 3)
    return out
