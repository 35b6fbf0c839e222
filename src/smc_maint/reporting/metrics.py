"""Prometheus metrics computed from the history store (right even though every run is a short process).

``families(facts)`` is pure; :class:`HistoryCollector` reads the history on each scrape.
Names follow DESIGN.md: ``smc_maint_`` prefix, base units, ``_total`` only on counters,
``_timestamp_seconds`` for times, labels instead of name variants, never a run id as a label.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from ..history.store import History
from ..result import Status
from .metric_facts import SUCCESS_STATUSES, MetricFacts, gather
from .schedule import Expected, next_slot

log = logging.getLogger("smc_maint.reporting.metrics")

P = "smc_maint_"
SEVERITIES = ("critical", "high", "medium", "low", "unknown")
STATUSES = tuple(s.value for s in Status)

# The runbook's metric names and what we export instead (docs/observability.md repeats this table).
RUNBOOK_NAMES = {
    "up{job=\"smc-trading\"}": f"{P}endpoint_up{{endpoint}} / {P}endpoint_uptime_ratio{{endpoint}}",
    "backup_success_total": f"{P}backup_successes_total",
    "backup_attempts_total": f"{P}backup_attempts_total",
    "backup_success_total / backup_attempts_total * 100": f"{P}backup_success_ratio * 100",
    "maintenance_window_duration_seconds": f"{P}maintenance_window_duration_seconds{{group}}",
    "vulnerability_count_by_severity": f"{P}vulnerabilities{{severity}}",
}

# Latest figure -> gauge (name, help, scale); agreed figure names from the procedures.
_FIGURE_GAUGES = {
    "backup_size_bytes": ("backup_size_bytes", "Size of the newest backup", 1.0),
    "restore_seconds": ("restore_rto_seconds", "Restore time measured by the last restore test (the RTO estimate)",
                        1.0),
    "restore_ok": ("restore_ok", "1 if the last restore test restored the data exactly", 1.0),
    "rto_seconds": ("dr_rto_seconds", "Recovery time measured by the last DR drill (loss to DR healthy)", 1.0),
    "rpo_seconds": ("dr_rpo_seconds", "Data lost by the last DR drill's recovery (newest production data "
                    "minus the DR copy's newest)", 1.0),
    "fixable_critical_high": ("vulnerabilities_fixable_critical_high",
                              "Critical and high vulnerabilities with a fixed version available", 1.0),
    "db_size_bytes": ("db_size_bytes", "Size of the trading database", 1.0),
    "disk_used_bytes": ("disk_used_bytes", "Used bytes on the monitored disk", 1.0),
    "disk_total_bytes": ("disk_total_bytes", "Total bytes on the monitored disk", 1.0),
    "db_connections": ("db_connections", "Connections to the trading database", 1.0),
    "trades_rows": ("trades_rows", "Rows in the trades table", 1.0),
    "cpu_percent": ("host_cpu_ratio", "Host CPU use (0..1) at the last snapshot", 0.01),
    "memory_percent": ("host_memory_ratio", "Host memory use (0..1) at the last snapshot", 0.01),
    "db_latency_seconds": ("db_latency_seconds", "Database round-trip time at the last health check", 1.0),
    "maintenance_deadline_timestamp_seconds": ("maintenance_deadline_timestamp_seconds",
                                               "When the current maintenance mode is due to end", 1.0),
    "recovery_point_timestamp_seconds": ("recovery_point_timestamp_seconds",
                                         "The newest point in time the data can be restored to (RPO: time() - this)",
                                         1.0),
    "rpo_target_seconds": ("rpo_target_seconds", "The recovery point objective", 1.0),
    "wal_rpo_seconds": ("wal_rpo_seconds", "Age of the newest archived WAL when last checked (for alerts use "
                        "time() - smc_maint_recovery_point_timestamp_seconds)", 1.0),
    "pitr_rto_seconds": ("pitr_rto_seconds", "Time of the last restore to a moment (the PITR RTO)", 1.0),
    "pitr_exact_proven": ("pitr_exact_proven", "1 if the last restore to a logical snapshot's WAL position equalled "
                          "every table of its manifest", 1.0),
    "recoverability_ok": ("recoverability_ok", "1 if point-in-time recovery meets every target", 1.0),
    "recoverable_window_days": ("recoverable_window_days", "Days back a point-in-time restore can reach", 1.0),
    "gate_deferred_seconds": ("gate_last_deferred_seconds", "How long the last gated procedure waited for "
                              "quiet trading (0: it started at once)", 1.0),
}


def _ts(at: datetime) -> float:
    return at.timestamp()


def families(facts: MetricFacts) -> list[Metric]:
    """Every metric family, from facts alone."""
    out: list[Metric] = []
    out.extend(_procedure_families(facts))
    out.extend(_run_families(facts))
    out.extend(_backup_families(facts))
    out.extend(_figure_families(facts))
    out.extend(_uptime_families(facts))
    up = GaugeMetricFamily(f"{P}history_up", "1 if the history store could be read")
    up.add_metric([], 1.0)
    out.append(up)
    return out


def _procedure_families(facts: MetricFacts) -> Iterator[Metric]:
    # Every procedure that ever ran gets a series, 0 until its first success, so that
    # ``time() - last_success > N`` fires for one that has failed since installation.
    last_success = GaugeMetricFamily(f"{P}procedure_last_success_timestamp_seconds",
                                     "When each procedure last finished ok or warning (0: never)",
                                     labels=["procedure"])
    ever = GaugeMetricFamily(f"{P}procedure_ever_succeeded", "1 if the procedure ever finished ok or warning",
                             labels=["procedure"])
    for pid in sorted(set(facts.latest) | set(facts.last_success)):
        row = facts.last_success.get(pid)
        last_success.add_metric([pid], 0.0 if row is None else _ts(row.started_at) + row.duration_seconds)
        ever.add_metric([pid], 0.0 if row is None else 1.0)
    yield last_success
    yield ever
    last_run = GaugeMetricFamily(f"{P}procedure_last_run_timestamp_seconds", "When each procedure last finished",
                                 labels=["procedure"])
    duration = GaugeMetricFamily(f"{P}procedure_last_duration_seconds", "Duration of each procedure's last run",
                                 labels=["procedure"])
    status = GaugeMetricFamily(f"{P}procedure_last_status", "1 for the status of each procedure's last result",
                               labels=["procedure", "status"])
    for pid, row in sorted(facts.latest.items()):
        last_run.add_metric([pid], _ts(row.started_at) + row.duration_seconds)
        duration.add_metric([pid], row.duration_seconds)
        for value in STATUSES:
            status.add_metric([pid, value], 1.0 if row.status == value else 0.0)
    yield last_run
    yield duration
    yield status
    results = CounterMetricFamily(f"{P}procedure_results_total", "Recorded procedure results by status",
                                  labels=["procedure", "status"])
    for pid, st, n in sorted(facts.result_counts):
        results.add_metric([pid, st], float(n))
    yield results


def _run_families(facts: MetricFacts) -> Iterator[Metric]:
    runs = CounterMetricFamily(f"{P}runs_total", "Recorded runs by group and overall status",
                               labels=["group", "status"])
    for group, st, n in sorted(facts.run_counts):
        runs.add_metric([group, st], float(n))
    yield runs
    window = GaugeMetricFamily(f"{P}maintenance_window_duration_seconds",
                               "Duration of the last finished run of each group (its maintenance window)",
                               labels=["group"])
    start = GaugeMetricFamily(f"{P}maintenance_window_start_timestamp_seconds",
                              "Start of the last finished run of each group", labels=["group"])
    for group, run in sorted(facts.last_runs.items()):
        window.add_metric([group], run.duration_seconds or 0.0)
        start.add_metric([group], _ts(run.started_at))
    yield window
    yield start
    due = GaugeMetricFamily(f"{P}schedule_next_due_timestamp_seconds",
                            "The first scheduled slot after the group's last run (missed when time() is past it)",
                            labels=["group"])
    for group, cron in sorted(facts.crons.items()):
        last = facts.last_started.get(group)
        if last is not None:
            due.add_metric([group], _ts(next_slot(cron, last, facts.zone)))
    yield due
    mode = GaugeMetricFamily(f"{P}maintenance_mode", "1 while an emergency maintenance run is in progress")
    fig = facts.figures.get("maintenance_mode")
    active = any("emergency" in r.procedures or r.group == "emergency" for r in facts.running)
    if facts.live_maintenance_mode is not None:  # the emergency journal is the live state
        active, fig = facts.live_maintenance_mode, None
    mode.add_metric([], 1.0 if active or (fig is not None and fig.value >= 1) else 0.0)
    yield mode


def _backup_families(facts: MetricFacts) -> Iterator[Metric]:
    backups = set(facts.backup_procedures)
    attempts = successes = 0
    for pid, st, n in facts.result_counts:
        if pid in backups and st != Status.SKIPPED.value:
            attempts += n
            successes += n if st in SUCCESS_STATUSES else 0
    yield CounterMetricFamily(f"{P}backup_attempts_total", "Backup procedure results recorded (skipped excluded)",
                              value=float(attempts))
    yield CounterMetricFamily(f"{P}backup_successes_total", "Backup procedure results that were ok or warning",
                              value=float(successes))
    window = [r for r in facts.window_results if r.procedure_id in backups and r.status != Status.SKIPPED.value]
    if window:
        ok = sum(1 for r in window if r.status in SUCCESS_STATUSES)
        yield GaugeMetricFamily(f"{P}backup_success_ratio",
                                f"Share of backup results ok or warning over the last {facts.window_days} days",
                                value=ok / len(window))
    # A timestamp, never an age: an age written once (textfile, Pushgateway) would freeze.
    age = facts.figures.get("backup_age_seconds")
    if age is not None:
        yield GaugeMetricFamily(f"{P}backup_newest_timestamp_seconds",
                                "When the newest backup was taken (age: time() - this)", value=_ts(age.at) - age.value)


def _figure_families(facts: MetricFacts) -> Iterator[Metric]:
    for figure, (name, help_text, scale) in _FIGURE_GAUGES.items():
        point = facts.figures.get(figure)
        if figure == "maintenance_deadline_timestamp_seconds" and facts.live_maintenance_mode is not None:
            # the emergency journal is the live state: its open window's deadline, or none
            if facts.live_maintenance_deadline is not None:
                yield GaugeMetricFamily(f"{P}{name}", help_text, value=_ts(facts.live_maintenance_deadline))
            continue
        if point is not None:
            yield GaugeMetricFamily(f"{P}{name}", help_text, value=point.value * scale)
    vulns = GaugeMetricFamily(f"{P}vulnerabilities", "Vulnerabilities by severity at the last review",
                              labels=["severity"])
    found = False
    for sev in SEVERITIES:
        point = facts.figures.get(f"vulnerabilities_{sev}")
        if point is not None:
            found = True
            vulns.add_metric([sev], point.value)
    if found:
        yield vulns
    tables = GaugeMetricFamily(f"{P}db_table_bytes", "Size of the largest tables at the last snapshot",
                               labels=["table"])
    newest = max((p.at for n, p in facts.figures.items() if n.startswith("table_bytes.")), default=None)
    for name, point in sorted(facts.figures.items()):
        if name.startswith("table_bytes.") and point.at == newest:
            tables.add_metric([name.removeprefix("table_bytes.")], point.value)
    if newest is not None:
        yield tables


def _uptime_families(facts: MetricFacts) -> Iterator[Metric]:
    up = GaugeMetricFamily(f"{P}endpoint_up", "1 if the endpoint answered at the last health check",
                           labels=["endpoint"])
    ratio = GaugeMetricFamily(f"{P}endpoint_uptime_ratio",
                              f"Share of health checks the endpoint passed over the last {facts.window_days} days",
                              labels=["endpoint"])
    any_point = False
    for name, point in sorted(facts.figures.items()):
        endpoint = _endpoint(name)
        if endpoint is None:
            continue
        any_point = True
        up.add_metric([endpoint], point.value)
        series = facts.window_figures.get(name, [])
        if series:
            ratio.add_metric([endpoint], sum(1 for p in series if p.value >= 1) / len(series))
    if any_point:
        yield up
        yield ratio


def _endpoint(figure: str) -> str | None:
    if figure == "db_up":
        return "database"
    if figure.startswith("endpoint_up."):
        return figure.removeprefix("endpoint_up.")
    return None


class HistoryCollector(Collector):
    """A custom collector: every scrape reads the history store afresh."""

    def __init__(self, history: Callable[[], History], now: Callable[[], datetime], *, window_days: int = 30,
                 backup_procedures: Iterable[str] = ("backup-verify", "backup"),
                 maintenance_mode: Callable[[], tuple[bool, datetime | None]] | None = None,
                 schedule: Expected | None = None) -> None:
        self._mode = maintenance_mode
        self._history = history
        self._schedule = schedule or Expected()
        self._now = now
        self._window_days = window_days
        self._backups = tuple(backup_procedures)

    def collect(self) -> Iterable[Metric]:
        try:
            facts = gather(self._history(), self._now(), window_days=self._window_days,
                           backup_procedures=self._backups, schedule=self._schedule)
            if self._mode is not None:
                active, deadline = self._mode()
                facts = dataclasses.replace(facts, live_maintenance_mode=active, live_maintenance_deadline=deadline)
        except Exception as exc:  # a broken store must show as a metric, not a 500
            log.warning("history store unreadable: %s: %s", type(exc).__name__, exc)
            down = GaugeMetricFamily(f"{P}history_up", "1 if the history store could be read")
            down.add_metric([], 0.0)
            return [down]
        return families(facts)

    def describe(self) -> Iterable[Metric]:
        return []


def registry_for(history: Callable[[], History], now: Callable[[], datetime], *, window_days: int = 30,
                 backup_procedures: Iterable[str] = ("backup-verify", "backup"),
                 maintenance_mode: Callable[[], tuple[bool, datetime | None]] | None = None,
                 schedule: Expected | None = None) -> CollectorRegistry:
    """A registry holding only the history collector (no process metrics of a short-lived CLI)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(HistoryCollector(history, now, window_days=window_days, backup_procedures=backup_procedures,
                                  maintenance_mode=maintenance_mode, schedule=schedule))
    return reg
