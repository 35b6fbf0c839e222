"""What the dashboard pages show, computed from the history store (no HTTP here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .. import registry
from ..config.loader import LoadedConfig
from ..history.store import History, ResultRow, RunRow
from ..redact import redact
from ..reporting.audit_trend import audit_trend
from ..reporting.dr_trend import chart_series, drills
from ..reporting.fmt import seconds
from ..reporting.month import Month
from ..reporting.monthly import Facts, charts, windows
from ..reporting.schedule import expected, next_slot

CHART_DAYS = 30


@dataclass(frozen=True)
class ProcedureStatus:
    procedure: str
    group: str
    status: str
    summary: str
    age: str
    run_id: str | None
    next_slot: str


def _age(now: datetime, at: datetime) -> str:
    return seconds(max(0.0, (now - at).total_seconds())) + " ago"


def procedure_statuses(history: History, cfg: LoadedConfig, now: datetime) -> list[ProcedureStatus]:
    latest = history.latest_results()
    exp = expected(cfg)
    rows: list[ProcedureStatus] = []
    seen: set[str] = set()
    for group, ids in registry.GROUPS.items():
        expr = exp.crons.get(group)
        nxt = next_slot(expr, now, exp.zone).strftime("%Y-%m-%d %H:%M UTC") if expr else "not scheduled"
        for pid in ids:
            seen.add(pid)
            rows.append(_row(pid, group, latest.get(pid), now, nxt))
    for pid, res in sorted(latest.items()):
        if pid not in seen:
            rows.append(_row(pid, registry.group_of(pid) or "on demand", res, now, "on demand"))
    return rows


def _row(pid: str, group: str, res: ResultRow | None, now: datetime, nxt: str) -> ProcedureStatus:
    if res is None:
        return ProcedureStatus(pid, group, "never run", "no result recorded yet", "-", None, nxt)
    return ProcedureStatus(pid, group, res.status, res.summary, _age(now, res.started_at), res.run_id, nxt)


def dashboard_context(history: History, cfg: LoadedConfig, now: datetime) -> dict[str, Any]:
    start = now - timedelta(days=CHART_DAYS)
    until = now + timedelta(seconds=1)
    runs = history.runs(limit=50)
    exp = expected(cfg)
    facts = Facts(month=Month.of(now), now=now, runs=history.runs(limit=10_000, since=start, until=until),
                  results=history.results_between(start, until), figures=history.figures_between(start, until),
                  alerts=[], groups=exp.members, schedule=exp.crons,
                  backup_procedures=cfg.config.reporting.backup_procedures, zone=exp.zone, start=start,
                  history_start=history.first_started_at(), grace_minutes=exp.grace_minutes)
    regular, _, _ = windows(facts)
    statuses = procedure_statuses(history, cfg, now)
    return {
        "now": now.strftime("%Y-%m-%d %H:%M UTC"),
        "statuses": statuses,
        "failing": [s for s in statuses if s.status in ("warning", "critical", "unknown")],
        "runs": [(r, history.results(r.id)) for r in runs],
        "alerts": history.recent_alerts(limit=20, since=now - timedelta(days=7)),
        "charts": charts(facts, now, regular),
        "chart_days": CHART_DAYS,
        "groups": [g for g, ids in registry.GROUPS.items() if ids],
        "month": str(Month.of(now)),
        "dr_drills": (found := drills(history, now + timedelta(seconds=1))),
        "dr_chart": chart_series(found),
        "audit_trend": audit_trend(history, until=until),
    }


def read_log(run: RunRow, log_dir: Path, limit: int) -> str:
    """The tail of a run's log, redacted; only files inside the configured log directory are read."""
    if not run.log_path:
        return "this run recorded no log file"
    path = Path(run.log_path)
    try:
        resolved = path.resolve()
        if not resolved.is_relative_to(log_dir.resolve()):
            return "log file is outside the configured log directory; not shown"
        with resolved.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - limit))
            data = fh.read()
    except FileNotFoundError:
        return f"log file {path.name} no longer exists (log cleanup?)"
    except OSError as exc:
        return f"log file unreadable: {exc.strerror}"
    prefix = f"[... first {size - limit} bytes not shown ...]\n" if size > limit else ""
    return prefix + redact(data.decode("utf-8", errors="replace"))


def run_context(history: History, cfg: LoadedConfig, run_id: str) -> dict[str, Any] | None:
    run = history.run(run_id)
    if run is None:
        return None
    results = history.results(run_id)
    return {
        "run": run,
        "results": [(r, json.dumps(r.details, indent=2, sort_keys=True, default=str)) for r in results],
        "alerts": history.alerts(run_id),
        "log": read_log(run, cfg.log_dir, cfg.config.serve.log_tail_bytes),
    }
