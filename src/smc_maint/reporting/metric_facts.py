"""Facts the metrics are computed from, read from the history store in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..history.store import RUNNING, FigurePoint, History, ResultRow, RunRow
from .schedule import UTC_ZONE, Expected

SUCCESS_STATUSES = ("ok", "warning")


@dataclass(frozen=True)
class MetricFacts:
    now: datetime
    window_days: int
    backup_procedures: tuple[str, ...]
    latest: dict[str, ResultRow] = field(default_factory=dict)
    last_success: dict[str, ResultRow] = field(default_factory=dict)
    result_counts: list[tuple[str, str, int]] = field(default_factory=list)
    run_counts: list[tuple[str, str, int]] = field(default_factory=list)
    last_runs: dict[str, RunRow] = field(default_factory=dict)
    figures: dict[str, FigurePoint] = field(default_factory=dict)
    window_results: list[ResultRow] = field(default_factory=list)
    window_figures: dict[str, list[FigurePoint]] = field(default_factory=dict)
    running: list[RunRow] = field(default_factory=list)
    live_maintenance_mode: bool | None = None  # from the emergency journal, when the caller can read it
    live_maintenance_deadline: datetime | None = None  # the open window's deadline
    crons: dict[str, str] = field(default_factory=dict)
    zone: ZoneInfo = UTC_ZONE
    last_started: dict[str, datetime] = field(default_factory=dict)


def gather(history: History, now: datetime, *, window_days: int, backup_procedures: tuple[str, ...],
           schedule: Expected | None = None) -> MetricFacts:
    """Read everything the metric families need (a handful of indexed queries)."""
    since = now - timedelta(days=window_days)
    until = now + timedelta(seconds=1)
    figs = history.figures_between(since, until, prefix="endpoint_up.")
    db_up = history.figures_between(since, until, prefix="db_up")
    figs.update({k: v for k, v in db_up.items() if k == "db_up"})
    running = [r for r in history.runs(limit=100, since=now - timedelta(days=2)) if r.status == RUNNING]
    schedule = schedule or Expected()
    last_runs = history.latest_runs_by_group()
    return MetricFacts(
        now=now,
        window_days=window_days,
        backup_procedures=backup_procedures,
        latest=history.latest_results(),
        last_success=history.latest_results(statuses=SUCCESS_STATUSES),
        result_counts=history.result_counts(),
        run_counts=history.run_counts(),
        last_runs=last_runs,
        figures=history.latest_figures(),
        window_results=history.results_between(since, until),
        window_figures=figs,
        running=running,
        crons=dict(schedule.crons),
        zone=schedule.zone,
        last_started={g: r.started_at for g, r in last_runs.items()},
    )
