"""The monthly maintenance report as data: every number comes from recorded history.

:func:`build` is pure (facts in, :class:`MonthlyReport` out); :func:`gather` reads the facts.
Nothing here formats text for a template except short, fact-derived sentences.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..history.store import FigurePoint, History, ResultRow, RunRow
from ..result import Status
from ..scheduling.missed import DEFAULT_GRACE_MINUTES, is_due, is_expected
from .audit_trend import audit_trend
from .dr_trend import Drill
from .fmt import day_ranges
from .month import Month
from .schedule import UTC_ZONE, next_slot, slots_between

COMPLETED = frozenset({"ok", "warning", "critical", "skipped"})  # the procedure reached a verdict
SUCCESS = frozenset({"ok", "warning"})
ISSUE = frozenset({"warning", "critical", "unknown"})
UNIT = {"daily": "days", "weekly": "weeks", "monthly": "months", "quarterly": "quarters"}
EMERGENCY = "emergency"
RESTORE = "restore-test"
REPORT = "maintenance-report"


@dataclass(frozen=True)
class Facts:
    """What the report is computed from (all within the month, dry runs excluded)."""

    month: Month
    now: datetime
    runs: list[RunRow]
    results: list[ResultRow]
    figures: dict[str, list[FigurePoint]]
    alerts: list[dict[str, Any]]
    groups: Mapping[str, Sequence[str]]
    schedule: Mapping[str, str]
    backup_procedures: Sequence[str]
    zone: ZoneInfo = UTC_ZONE  # the zone the cron expressions are read in (schedule.timezone)
    later_results: list[ResultRow] = field(default_factory=list)  # after the month: resolution of issues
    start: datetime | None = None  # period start; default the month's start (the dashboard uses 30 days)
    history_start: datetime | None = None  # the first run ever recorded: no slot before it is expected
    grace_minutes: Mapping[str, float] = field(default_factory=dict)  # per group: a slot is due after it
    audit_trend: list[dict[str, Any]] = field(default_factory=list)  # security audits up to the period end

    @property
    def period_start(self) -> datetime:
        return self.start or self.month.start


@dataclass(frozen=True)
class Completion:
    procedure: str
    group: str
    unit: str
    scheduled: int
    completed: int
    failed: int
    missed: list[str]

    @property
    def ratio(self) -> float | None:
        return self.completed / self.scheduled if self.scheduled else None


@dataclass(frozen=True)
class Uptime:
    endpoint: str
    checks: int
    up: int
    down_at: list[str]

    @property
    def ratio(self) -> float:
        return self.up / self.checks if self.checks else 0.0


@dataclass(frozen=True)
class Backups:
    attempts: int
    successes: int
    emergency_backups: int
    newest_age_seconds: float | None
    newest_size_bytes: float | None

    @property
    def ratio(self) -> float | None:
        return self.successes / self.attempts if self.attempts else None


@dataclass(frozen=True)
class RestoreTest:
    run_id: str
    at: str
    status: str
    rto_seconds: float | None
    restore_ok: bool | None
    summary: str


@dataclass(frozen=True)
class Window:
    run_id: str
    group: str
    trigger: str
    started_at: str
    duration_seconds: float
    status: str


@dataclass(frozen=True)
class WindowStats:
    group: str
    count: int
    total_seconds: float
    mean_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Issue:
    procedure: str
    worst_status: str
    occurrences: int
    first_seen: str
    last_seen: str
    latest_summary: str
    run_ids: list[str]
    resolved_at: str | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    title: str
    period_start: str
    period_end: str
    generated_at: str
    complete_month: bool
    runs_total: int
    results_total: int
    completions: list[Completion]
    uptime: list[Uptime]
    backups: Backups
    restore_tests: list[RestoreTest]
    windows: list[Window]
    window_stats: list[WindowStats]
    emergencies: list[Window]
    issues: list[Issue]
    recommendations: list[str]
    focus: list[str]
    vulnerabilities: dict[str, float]
    charts: dict[str, Any]
    dr_drills: list[Drill] = field(default_factory=list)  # every recorded drill up to the period's end
    security_audits: list[dict[str, Any]] = field(default_factory=list)  # score and counts per audit

    @property
    def scheduled_total(self) -> int:
        return sum(c.scheduled for c in self.completions)

    @property
    def completed_total(self) -> int:
        return sum(c.completed for c in self.completions)

    @property
    def open_issues(self) -> list[Issue]:
        return [i for i in self.issues if i.open]


def _day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def completions(facts: Facts, period_end: datetime) -> list[Completion]:
    """Scheduled vs completed slots per procedure: a slot counts if the procedure reached a verdict
    (ok, warning, critical, skipped) between that slot and the next one (results after the month
    end are not read, so a month's last slot counts only runs inside the month)."""
    by_proc: dict[str, list[datetime]] = defaultdict(list)
    failed_by: dict[str, int] = defaultdict(int)
    for r in facts.results:
        if r.status in COMPLETED:
            by_proc[r.procedure_id].append(r.started_at)
        if r.status in ("critical", "unknown"):
            failed_by[r.procedure_id] += 1
    out: list[Completion] = []
    for group, members in facts.groups.items():
        expr = facts.schedule.get(group)
        if not expr or not members:
            continue
        all_slots = slots_between(expr, facts.month.start, period_end, facts.zone)
        bounds = [*all_slots[1:], next_slot(expr, all_slots[-1], facts.zone)] if all_slots else []
        for pid in members:
            times = by_proc.get(pid, [])
            ran = [any(slot <= t < nxt for t in times) for slot, nxt in zip(all_slots, bounds, strict=True)]
            # one rule with missed-run detection: nothing before history began is owed
            kept = [(slot, nxt, ok) for slot, nxt, ok in zip(all_slots, bounds, ran, strict=True)
                    if is_expected(slot, facts.history_start, ran=ok)]
            # a slot whose grace has not passed yet, without a result, is pending, not missed
            grace = facts.grace_minutes.get(group, DEFAULT_GRACE_MINUTES)
            kept = [k for k in kept if k[2] or is_due(k[0], facts.now, grace)]
            counted = [slot for slot, _, _ in kept]
            done = [ok for _, _, ok in kept]
            missed = [slot for slot, _, ok in kept if not ok]
            out.append(Completion(pid, group, UNIT.get(group, "slots"), len(counted), sum(done),
                                  failed_by.get(pid, 0), [_day(m) for m in missed]))
    return out


def uptime(facts: Facts) -> list[Uptime]:
    out = []
    for name, points in sorted(facts.figures.items()):
        endpoint = "database" if name == "db_up" else name.removeprefix("endpoint_up.")
        if name != "db_up" and not name.startswith("endpoint_up."):
            continue
        down = [_when(p.at) for p in points if p.value < 1]
        out.append(Uptime(endpoint, len(points), len(points) - len(down), down))
    return out


def _latest(points: Iterable[FigurePoint]) -> float | None:
    items = list(points)
    return items[-1].value if items else None


def backups(facts: Facts) -> Backups:
    mine = [r for r in facts.results if r.procedure_id in facts.backup_procedures and r.status != Status.SKIPPED]
    emergency = sum(1 for p in facts.figures.get("emergency_backup", []) if p.value >= 1)
    return Backups(len(mine), sum(1 for r in mine if r.status in SUCCESS), emergency,
                   _latest(facts.figures.get("backup_age_seconds", [])),
                   _latest(facts.figures.get("backup_size_bytes", [])))


def restore_tests(facts: Facts) -> list[RestoreTest]:
    def fig(name: str, run_id: str) -> float | None:
        return next((p.value for p in facts.figures.get(name, []) if p.run_id == run_id and
                     p.procedure_id == RESTORE), None)

    out = []
    for r in facts.results:
        if r.procedure_id != RESTORE or r.status == Status.SKIPPED:
            continue
        ok = fig("restore_ok", r.run_id)
        out.append(RestoreTest(r.run_id, _when(r.started_at), r.status, fig("restore_seconds", r.run_id),
                               None if ok is None else ok >= 1, r.summary))
    return out


def windows(facts: Facts) -> tuple[list[Window], list[WindowStats], list[Window]]:
    """Scheduled groups' runs are maintenance windows; emergency runs are listed apart."""
    emergency_runs = {p.run_id for p in facts.figures.get("emergency_backup", []) if p.value >= 1}
    regular: list[Window] = []
    emergencies: list[Window] = []
    for run in sorted(facts.runs, key=lambda r: r.started_at):
        if run.finished_at is None and run.status == "running":
            continue
        w = Window(run.id, run.group, run.trigger, _when(run.started_at), float(run.duration_seconds or 0.0),
                   run.status)
        if run.group == EMERGENCY or EMERGENCY in run.procedures or run.id in emergency_runs:
            emergencies.append(w)
        if run.group in facts.schedule and run.group != EMERGENCY:
            regular.append(w)
    stats = []
    for group in facts.schedule:
        ds = [w.duration_seconds for w in regular if w.group == group]
        if ds:
            stats.append(WindowStats(group, len(ds), sum(ds), sum(ds) / len(ds), max(ds)))
    return regular, stats, emergencies


def issues(facts: Facts) -> list[Issue]:
    """Warning/critical/unknown results grouped per procedure; resolved by a later ``ok``."""
    grouped: dict[str, list[ResultRow]] = defaultdict(list)
    for r in facts.results:
        if r.status in ISSUE and r.procedure_id != REPORT:  # the report's own verdict is not a finding
            grouped[r.procedure_id].append(r)
    everything = sorted([*facts.results, *facts.later_results], key=lambda r: r.started_at)
    out = []
    for pid, rows in grouped.items():
        last = rows[-1]
        resolved = next((r for r in everything if r.procedure_id == pid and r.started_at > last.started_at
                         and r.status == Status.OK), None)
        worst = max((Status(r.status) for r in rows), key=lambda s: s.rank)
        out.append(Issue(pid, worst.value, len(rows), _when(rows[0].started_at), _when(last.started_at),
                         last.summary, [r.run_id for r in rows][-5:],
                         _when(resolved.started_at) if resolved else None))
    return sorted(out, key=lambda i: (-Status(i.worst_status).rank, i.procedure))


def vulnerabilities(facts: Facts) -> dict[str, float]:
    out = {}
    for sev in ("critical", "high", "medium", "low", "unknown"):
        value = _latest(facts.figures.get(f"vulnerabilities_{sev}", []))
        if value is not None:
            out[sev] = value
    fixable = _latest(facts.figures.get("fixable_critical_high", []))
    if fixable is not None:
        out["fixable_critical_high"] = fixable
    return out


def recommendations(comp: list[Completion], up: list[Uptime], bk: Backups, restores: list[RestoreTest],
                    found: list[Issue], vulns: Mapping[str, float], complete_month: bool) -> list[str]:
    """Actions that follow from this month's findings (each names the finding it comes from)."""
    out: list[str] = []
    for c in comp:
        if c.missed:
            shown = day_ranges(c.missed)
            out.append(f"{c.procedure} ran {c.completed} of {c.scheduled} scheduled {c.unit} (missed {shown}): "
                       f"check the scheduler and the run logs of those dates.")
    for u in up:
        if u.checks and u.ratio < 0.999:
            out.append(f"{u.endpoint} was down in {u.checks - u.up} of {u.checks} health checks "
                       f"({u.ratio:.2%} up): find the cause before it recurs.")
    if bk.ratio is not None and bk.ratio < 1:
        out.append(f"{bk.attempts - bk.successes} of {bk.attempts} backup checks failed: "
                   "fix the backup job and confirm the next verification passes.")
    if bk.emergency_backups:
        out.append(f"{bk.emergency_backups} emergency backup(s) were needed because the scheduled backup was "
                   "missing or stale: fix the scheduled backup.")
    if not restores and complete_month:
        out.append("No restore test was recorded this month: run `smc-maint run monthly --only restore-test`.")
    for t in restores:
        if t.restore_ok is False or t.status in ("critical", "unknown"):
            out.append(f"The restore test of {t.at} failed ({t.summary}): backups are not proven restorable.")
    timed = [t for t in restores if t.rto_seconds is not None]
    if len(timed) >= 2 and timed[-1].rto_seconds and timed[0].rto_seconds and \
            timed[-1].rto_seconds > 1.2 * timed[0].rto_seconds:
        out.append(f"Restore time grew from {timed[0].rto_seconds:.0f} s to {timed[-1].rto_seconds:.0f} s: "
                   "review the RTO target against database growth.")
    if vulns.get("critical", 0) > 0:
        fixable = vulns.get("fixable_critical_high")
        extra = f" ({fixable:.0f} critical/high have a fix available)" if fixable is not None else ""
        out.append(f"Address {vulns['critical']:.0f} critical vulnerabilities{extra}.")
    for i in found:
        if i.open:
            out.append(f"Resolve the open {i.worst_status} finding of {i.procedure}: {i.latest_summary}")
    return out


def focus(month: Month, comp: list[Completion], found: list[Issue], vulns: Mapping[str, float]) -> list[str]:
    """Next month's priorities: what is still open at the end of this month."""
    nxt = month.next().title
    out = [f"{i.procedure}: {i.latest_summary} (open since {i.first_seen}, {i.occurrences} occurrence(s))"
           for i in found if i.open]
    for c in comp:
        if c.group in ("monthly", "quarterly") and c.missed:
            out.append(f"{c.procedure}: run it early in {nxt}; it missed its {c.group} slot.")
    high = vulns.get("critical", 0) + vulns.get("high", 0)
    if high:
        out.append(f"Vulnerabilities: {high:.0f} critical/high open at the last review.")
    return out


def _days(start: datetime, end: datetime) -> list[date]:
    first, out = start.astimezone(UTC).date(), []
    while datetime(first.year, first.month, first.day, tzinfo=UTC) < end:
        out.append(first)
        first += timedelta(days=1)
    return out


def _status_grid(facts: Facts, period_end: datetime) -> dict[str, Any]:
    days = _days(facts.period_start, period_end)
    worst: dict[tuple[str, date], Status] = {}
    for r in facts.results:
        key = (r.procedure_id, r.started_at.astimezone(UTC).date())
        st = Status(r.status) if r.status in Status.__members__.values() else Status.UNKNOWN
        if key not in worst or st.rank > worst[key].rank:
            worst[key] = st
    scheduled = {p for g, members in facts.groups.items() if g in facts.schedule for p in members}
    procs = sorted({pid for pid, _ in worst} | scheduled)
    return {"days": [d.isoformat() for d in days],
            "rows": [{"procedure": p, "cells": [worst[(p, d)].value if (p, d) in worst else None for d in days]}
                     for p in procs]}


def _series(points: Iterable[FigurePoint]) -> list[tuple[str, float]]:
    return [(p.at.isoformat(), p.value) for p in points]


def _pnl_curve(facts: Facts, period_end: datetime) -> list[tuple[str, float]]:
    """Cumulative daily P&L over the period from trading-summary details (newest report per day wins)."""
    daily: dict[str, float] = {}
    for r in facts.results:
        if r.procedure_id != "trading-summary":
            continue
        for day in r.details.get("days", []) or []:
            if isinstance(day, Mapping) and isinstance(day.get("date"), str) and day.get("total_pnl") is not None:
                daily[day["date"]] = float(day["total_pnl"])
    first = facts.period_start.astimezone(UTC).date().isoformat()
    last = (period_end - timedelta(microseconds=1)).astimezone(UTC).date().isoformat()
    total, out = 0.0, []
    for day in sorted(d for d in daily if first <= d <= last):
        total += daily[day]
        out.append((day + "T00:00:00+00:00", total))
    return out


def charts(facts: Facts, period_end: datetime, windows_: list[Window]) -> dict[str, Any]:
    durations: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for w in windows_:
        durations[w.group].append((datetime.strptime(w.started_at, "%Y-%m-%d %H:%M UTC").replace(
            tzinfo=UTC).isoformat(), w.duration_seconds))
    return {
        "status_grid": _status_grid(facts, period_end),
        "durations": dict(durations),
        "backup_size": _series(facts.figures.get("backup_size_bytes", [])),
        "backup_age": _series(facts.figures.get("backup_age_seconds", [])),
        "db_size": _series(facts.figures.get("db_size_bytes", [])),
        "pnl": _pnl_curve(facts, period_end),
        "activity": _activity(facts),
    }


def _activity(facts: Facts) -> list[float]:
    """The newest hour-of-week heat map metrics-snapshot recorded in the period ([] without one)."""
    for r in sorted(facts.results, key=lambda r: r.started_at, reverse=True):
        doc = r.details.get("activity_heat_map") if r.procedure_id == "metrics-snapshot" else None
        if isinstance(doc, dict) and len(doc.get("trades", [])) == 168:
            return [float(v) for v in doc["trades"]]
    return []


def recoverability_notes(facts: Facts) -> list[str]:
    """The month's newest point-in-time recoverability verdict, when it fell short (issue 16)."""
    verdicts = sorted((r for r in facts.results if r.procedure_id == "recoverability"), key=lambda r: r.started_at)
    if verdicts and verdicts[-1].status in (Status.WARNING, Status.CRITICAL, Status.UNKNOWN):
        last = verdicts[-1]
        return [f"Point-in-time recovery is {last.status.upper()} ({_when(last.started_at)}): {last.summary}"]
    return []


def build(facts: Facts) -> MonthlyReport:
    """The report for ``facts.month`` (up to ``facts.now`` if the month is not over)."""
    period_end = min(facts.month.end, facts.now)
    complete = facts.now >= facts.month.end
    comp = completions(facts, period_end)
    up = uptime(facts)
    bk = backups(facts)
    restores = restore_tests(facts)
    regular, stats, emergencies = windows(facts)
    found = issues(facts)
    vulns = vulnerabilities(facts)
    return MonthlyReport(
        month=str(facts.month), title=facts.month.title,
        period_start=_when(facts.month.start), period_end=_when(period_end), generated_at=_when(facts.now),
        complete_month=complete, runs_total=len(facts.runs), results_total=len(facts.results),
        completions=comp, uptime=up, backups=bk, restore_tests=restores, windows=regular, window_stats=stats,
        emergencies=emergencies, issues=found,
        recommendations=recommendations(comp, up, bk, restores, found, vulns, complete) + recoverability_notes(facts),
        focus=focus(facts.month, comp, found, vulns), vulnerabilities=vulns,
        charts=charts(facts, period_end, regular), security_audits=list(facts.audit_trend),
    )


def gather(history: History, month: Month, now: datetime, *, groups: Mapping[str, Sequence[str]],
           schedule: Mapping[str, str], backup_procedures: Sequence[str], zone: ZoneInfo = UTC_ZONE,
           grace_minutes: Mapping[str, float] | None = None) -> Facts:
    """Read the month's runs, results, figures and alerts from history."""
    start, end = month.start, month.end
    runs = [r for r in history.runs(limit=100_000, since=start, until=end) if not r.dry_run]
    return Facts(
        month=month, now=now, runs=runs, results=history.results_between(start, end),
        figures=history.figures_between(start, end), alerts=history.recent_alerts(limit=1000, since=start),
        groups={g: list(m) for g, m in groups.items()}, schedule=dict(schedule),
        backup_procedures=list(backup_procedures), zone=zone,
        later_results=history.results_between(end, max(end, now) + timedelta(seconds=1)),
        history_start=history.first_started_at(), grace_minutes=dict(grace_minutes or {}),
        audit_trend=audit_trend(history, until=min(end, now)),
    )
