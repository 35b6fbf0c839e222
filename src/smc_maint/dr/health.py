"""Health of a DR target within one total deadline: its database, its HTTP endpoints, its workloads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters import postgres
from ..adapters.platform.base import Platform, PlatformError, Workload
from ..backups import markers
from ..config.model import DatabaseConfig
from ..health.endpoints import Endpoint, Probe, probe_all


@dataclass(frozen=True)
class CopyFacts:
    """What the DR copy holds, read through its own connection."""

    markers: list[markers.Marker]
    max_trade: datetime | None


def database_facts(db: DatabaseConfig) -> CopyFacts:
    """Connect, run a query, read recovery markers and the newest trade (raises on failure)."""
    with postgres.connect(db, autocommit=True) as conn:
        conn.execute("SELECT 1").fetchone()
        found = markers.read_markers(conn)
        return CopyFacts(found, max_trade(conn))


def max_trade(conn: Any) -> datetime | None:
    row = conn.execute("SELECT max(\"timestamp\") FROM trades WHERE to_regclass('trades') IS NOT NULL"
                       ).fetchone()
    value = row[0] if row else None
    return value if isinstance(value, datetime) else None


def unavailable(workloads: list[Workload]) -> list[str]:
    """Workloads not fully available (pure)."""
    return [f"{w.kind}/{w.name}: {w.available}/{w.desired} available" for w in workloads
            if w.desired > 0 and w.available < w.desired]


def wait_workloads(platform: Platform, namespace: str, deadline: float,
                   sleep: Callable[[float], None] = time.sleep) -> tuple[list[Workload], list[str]]:
    """Poll the DR namespace until every workload is available or the deadline (monotonic) passes."""
    while True:
        try:
            found = platform.list_workloads(namespace)
            problems = unavailable(found)
        except PlatformError as exc:
            found, problems = [], [f"cannot list DR workloads: {exc}"]
        if not problems or time.monotonic() >= deadline:
            return found, problems
        sleep(min(2.0, max(0.0, deadline - time.monotonic())))


def probe_until(endpoints: list[Endpoint], deadline: float,
                sleep: Callable[[float], None] = time.sleep) -> list[Probe]:
    """Probe until every endpoint answers as expected or the deadline passes; each probe's timeout is
    cut to the time left, so the whole check never outlives the deadline by more than a moment."""
    while True:
        left = max(0.1, deadline - time.monotonic())
        capped = [ep.model_copy(update={"timeout_seconds": min(ep.timeout_seconds, left)}) for ep in endpoints]
        probes = probe_all(capped)
        if all(p.ok for p in probes) or time.monotonic() >= deadline:
            return probes
        sleep(min(1.0, max(0.0, deadline - time.monotonic())))
