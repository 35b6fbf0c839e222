"""The simulated outage: scale the configured production workloads to 0 and back to exactly what
they had. Every count is journaled (fsync'd) before the workload is touched."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..adapters.platform.base import Platform, PlatformError
from ..errors import SafetyRefusal
from . import journal as jr
from .settings import WorkloadRef

log = logging.getLogger("smc_maint.dr.outage")


def confirmation_refusal(namespace: str, confirmed: str | None, allow_scheduled: bool) -> str | None:
    """Why the outage may not be simulated, or None. Pure."""
    if allow_scheduled:
        return None
    if confirmed is None:
        return (f"--simulate-outage scales production in namespace {namespace!r}: confirm with "
                f"--yes-namespace {namespace} (or set procedures.dr-drill.allow_scheduled_outage)")
    if confirmed != namespace:
        return f"typed namespace {confirmed!r} is not the production namespace {namespace!r}"
    return None


def scale_down(platform: Platform, workloads: Sequence[WorkloadRef], journal: jr.Journal, path: Path) -> None:
    """Scale each configured workload of the configured namespace to 0, journaling it first."""
    namespace = platform.namespace
    if not workloads:
        raise SafetyRefusal("simulate_outage is on but procedures.dr-drill.production_workloads is empty: "
                            "the drill scales only workloads named there")
    for ref in workloads:
        current = platform.get_scale(ref.kind, ref.name, namespace)
        entry = jr.ScaledWorkload(ref.kind, ref.name, namespace, current)
        journal.scaled.append(entry)
        jr.save(path, journal)  # before touching it
        before = platform.scale(ref.kind, ref.name, 0, namespace)
        if before != current:  # changed between read and write: the count it really had
            entry.replicas = before
            jr.save(path, journal)
        log.warning("outage simulation: %s/%s in %s scaled %d -> 0", ref.kind, ref.name, namespace, before)


def restore(platform: Platform, journal: jr.Journal, path: Path) -> list[str]:
    """Put every journaled workload back to its recorded count; returns what failed (kept journaled)."""
    failed: list[str] = []
    for entry in journal.pending_scale():
        try:
            platform.scale(entry.kind, entry.name, entry.replicas, entry.namespace)
        except PlatformError as exc:
            failed.append(f"{entry.kind}/{entry.name} in {entry.namespace} -> {entry.replicas}: {exc}")
            continue
        entry.restored = True
        jr.save(path, journal)
        log.warning("outage simulation undone: %s/%s in %s back to %d", entry.kind, entry.name, entry.namespace,
                    entry.replicas)
    return failed
