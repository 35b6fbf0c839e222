"""The quarter's performance baseline from recorded history, and its change against the previous one."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..history import History

QUARTER = timedelta(days=91)
# baseline key -> (figure recorded by a procedure, how to summarise the quarter's values)
FIGURES: dict[str, tuple[str, str]] = {
    "backup_seconds": ("backup_seconds", "median"),
    "restore_seconds": ("restore_seconds", "median"),
    "dr_rto_seconds": ("rto_seconds", "median"),
    "db_size_bytes": ("db_size_bytes", "last"),
}
PREFIX = "baseline."


@dataclass(frozen=True)
class Change:
    key: str
    value: float
    previous: float | None

    @property
    def percent(self) -> float | None:
        if self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / self.previous * 100


def summarise(values: list[float], how: str) -> float:
    return values[-1] if how == "last" else float(statistics.median(values))


def compute(history: History, now: datetime, groups: list[str]) -> list[Change]:
    """This quarter's figures and each one's previous baseline (the last one recorded before now)."""
    since = now - QUARTER
    out: list[Change] = []
    current: dict[str, float] = {}
    for key, (figure, how) in FIGURES.items():
        values = [p.value for p in history.figure_series(figure, since=since) if p.at <= now]
        if values:
            current[key] = summarise(values, how)
    for group in groups:
        durations = [r.duration_seconds for r in history.runs(limit=10_000, group=group, since=since)
                     if r.duration_seconds is not None and not r.dry_run and r.started_at <= now]
        if durations:
            current[f"run_seconds.{group}"] = float(statistics.median(durations))
    for key, value in current.items():
        before = [p.value for p in history.figure_series(PREFIX + key) if p.at < now]
        out.append(Change(key, value, before[-1] if before else None))
    return out
