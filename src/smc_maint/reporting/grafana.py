"""An importable Grafana dashboard over the metrics we export (no hard-coded datasource uid).

The runbook's four panels (uptime, backup success rate, maintenance windows, vulnerabilities by
severity) plus what an operator needs to act: time since last success, backup age and size,
restore RTO trend, capacity forecast, runs by result, maintenance mode. Ages are computed by the
query (``time() - *_timestamp_seconds``) so they never freeze; thresholds differ per schedule group.
"""

from __future__ import annotations

import re
from typing import Any

from .. import registry

SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}
_METRIC = re.compile(r"\bsmc_maint_[a-z0-9_]+")


def _target(expr: str, legend: str = "", *, ref: str = "A", instant: bool = False,
            fmt: str = "time_series") -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "instant": instant,
            "range": not instant, "format": fmt}


def _panel(pid: int, title: str, kind: str, targets: list[dict[str, Any]], pos: tuple[int, int, int, int], *,
           unit: str = "short", description: str = "", thresholds: list[tuple[float | None, str]] | None = None,
           options: dict[str, Any] | None = None, transformations: list[dict[str, Any]] | None = None,
           mappings: list[dict[str, Any]] | None = None, overrides: list[dict[str, Any]] | None = None,
           maximum: float | None = None) -> dict[str, Any]:
    x, y, w, h = pos
    steps = [{"color": color, "value": value} for value, color in (thresholds or [(None, "green")])]
    defaults: dict[str, Any] = {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps},
                                "mappings": mappings or []}
    if maximum is not None:
        defaults["min"], defaults["max"] = 0, maximum
    panel: dict[str, Any] = {
        "id": pid, "title": title, "type": kind, "description": description, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        panel["transformations"] = transformations
    return panel


def _mapping(*pairs: tuple[str, str, str]) -> list[dict[str, Any]]:
    """A value mapping (value -> text, color) so a 0/1 stat reads as words."""
    return [{"type": "value", "options": {value: {"text": text, "color": color, "index": i}
                                          for i, (value, text, color) in enumerate(pairs)}}]


def _unit_override(ref: str, unit: str) -> dict[str, Any]:
    return {"matcher": {"id": "byFrameRefID", "options": ref}, "properties": [{"id": "unit", "value": unit}]}


H, D = 3600, 86400
# Age thresholds per schedule group (orange, red): a monthly procedure is not late after a day.
GROUP_AGE_THRESHOLDS: dict[str, tuple[int, int]] = {
    "daily": (26 * H, 50 * H),
    "weekly": (8 * D, 15 * D),
    "monthly": (32 * D, 63 * D),
    "quarterly": (93 * D, 185 * D),
}


def _since_success_panels(first_id: int, y: int) -> list[dict[str, Any]]:
    """One bar gauge per schedule group, each with that group's thresholds."""
    groups = [(g, ids) for g, ids in registry.GROUPS.items() if ids and g in GROUP_AGE_THRESHOLDS]
    width = 24 // max(1, len(groups))
    panels = []
    for i, (group, ids) in enumerate(groups):
        warn, crit = GROUP_AGE_THRESHOLDS[group]
        # procedure ids are [a-z0-9-]: no regex or PromQL escaping needed (re.escape's "\-" is invalid PromQL)
        selector = "|".join(ids)
        panels.append(_panel(
            first_id + i, f"Time since last success ({group})", "bargauge", [
                _target(f'time() - smc_maint_procedure_last_success_timestamp_seconds{{procedure=~"{selector}"}}',
                        "{{procedure}}", instant=True)], (i * width, y, width, 9), unit="s", maximum=crit * 1.5,
            description=f"Batch-job rule for the {group} procedures (a never-succeeded one shows full red)",
            thresholds=[(None, "green"), (warn, "orange"), (crit, "red")],
            options={"orientation": "horizontal", "displayMode": "basic",
                     "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}))
    return panels


def dashboard(title: str = "SMC Trading Agent - Maintenance Dashboard") -> dict[str, Any]:
    """The dashboard JSON model (import via Dashboards > New > Import, pick the Prometheus datasource)."""
    stat = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "background"}
    panels = [
        _panel(1, "System uptime", "stat", [
            _target("smc_maint_endpoint_uptime_ratio", "{{endpoint}}")], (0, 0, 6, 6),
            unit="percentunit", description="Share of health checks each endpoint passed (reporting window)",
            thresholds=[(None, "red"), (0.99, "orange"), (0.999, "green")], options=stat),
        _panel(2, "Backup success rate", "stat", [
            _target("smc_maint_backup_success_ratio")], (6, 0, 4, 6), unit="percentunit",
            description="Runbook: backup_success_total / backup_attempts_total",
            thresholds=[(None, "red"), (0.95, "orange"), (1.0, "green")], options=stat),
        _panel(3, "Newest backup age", "stat", [
            _target("time() - smc_maint_backup_newest_timestamp_seconds")], (10, 0, 4, 6), unit="s",
            description="Computed now from the backup's timestamp, so it keeps growing when runs stop",
            thresholds=[(None, "green"), (26 * H, "orange"), (48 * H, "red")], options=stat),
        _panel(4, "Maintenance mode", "stat", [
            _target("max(smc_maint_maintenance_mode)")], (14, 0, 3, 6),
            thresholds=[(None, "green"), (1, "red")], options=stat,
            mappings=_mapping(("0", "off", "green"), ("1", "ON", "red"))),
        _panel(5, "History store", "stat", [
            _target("min(smc_maint_history_up)")], (17, 0, 3, 6),
            thresholds=[(None, "red"), (1, "green")], options=stat,
            mappings=_mapping(("0", "unreadable", "red"), ("1", "readable", "green"))),
        _panel(6, "Never succeeded", "stat", [
            _target("count(smc_maint_procedure_ever_succeeded == 0) or vector(0)")], (20, 0, 4, 6),
            description="Procedures that have run but never finished ok or warning",
            thresholds=[(None, "green"), (1, "red")], options=stat,
            mappings=_mapping(("0", "none", "green"))),
        _panel(7, "Last status per procedure", "table", [
            _target("smc_maint_procedure_last_status == 1", instant=True, fmt="table")], (0, 15, 12, 9),
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True,
                                                                             "__name__": True}}}]),
        _panel(8, "Maintenance windows", "table", [
            _target("smc_maint_maintenance_window_duration_seconds", instant=True, fmt="table"),
            _target("smc_maint_maintenance_window_start_timestamp_seconds * 1000", ref="B", instant=True,
                    fmt="table")], (12, 15, 12, 9), unit="s",
            description="Last finished run of each group: start (UTC) and duration",
            overrides=[_unit_override("B", "dateTimeAsIso")],
            transformations=[{"id": "merge", "options": {}}]),
        _panel(9, "Security vulnerabilities by severity", "timeseries", [
            _target("sum by (severity) (smc_maint_vulnerabilities)", "{{severity}}"),
            _target("smc_maint_vulnerabilities_fixable_critical_high", "fixable critical+high", ref="B")],
            (0, 24, 12, 8)),
        _panel(10, "Backup size", "timeseries", [
            _target("smc_maint_backup_size_bytes", "size")], (12, 24, 6, 8), unit="bytes"),
        _panel(11, "Backup age", "timeseries", [
            _target("time() - smc_maint_backup_newest_timestamp_seconds", "age")], (18, 24, 6, 8), unit="s",
            thresholds=[(None, "green"), (26 * H, "orange"), (48 * H, "red")]),
        _panel(12, "Restore test RTO", "timeseries", [
            _target("smc_maint_restore_rto_seconds", "RTO")], (0, 32, 9, 8), unit="s"),
        _panel(13, "Restore exact", "stat", [
            _target("smc_maint_restore_ok")], (9, 32, 3, 8), options=stat,
            thresholds=[(None, "red"), (1, "green")],
            mappings=_mapping(("0", "MISMATCH", "red"), ("1", "exact", "green"))),
        _panel(14, "Overdue scheduled runs", "bargauge", [
            _target("time() - smc_maint_schedule_next_due_timestamp_seconds", "{{group}}", instant=True)],
            (12, 32, 12, 8), unit="s",
            description="How long past its next slot each group is (negative: not due yet)",
            thresholds=[(None, "green"), (H, "orange"), (6 * H, "red")],
            options={"orientation": "horizontal", "displayMode": "basic",
                     "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}),
        _panel(15, "Capacity forecast (30 days)", "timeseries", [
            _target("smc_maint_db_size_bytes", "database size"),
            _target("predict_linear(smc_maint_db_size_bytes[7d], 30 * 86400)", "database in 30 d", ref="B"),
            _target("smc_maint_disk_used_bytes", "disk used", ref="C"),
            _target("predict_linear(smc_maint_disk_used_bytes[7d], 30 * 86400)", "disk in 30 d", ref="D"),
            _target("smc_maint_disk_total_bytes", "disk size", ref="E")], (0, 40, 12, 8), unit="bytes"),
        _panel(16, "Runs by result (per day)", "timeseries", [
            _target("sum by (group, status) (increase(smc_maint_runs_total[1d]))", "{{group}} {{status}}")],
            (12, 40, 12, 8)),
        _panel(17, "Procedure durations", "timeseries", [
            _target("smc_maint_procedure_last_duration_seconds", "{{procedure}}")], (0, 48, 24, 8), unit="s"),
    ]
    panels[6:6] = _since_success_panels(20, 6)
    return {
        "__inputs": [],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        ],
        "annotations": {"list": []},
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "uid": "smc-maint-maintenance",
        "title": title,
        "tags": ["smc-maint", "maintenance"],
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-30d", "to": "now"},
        "templating": {"list": [{
            "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": [],
        }]},
        "panels": panels,
    }


def metric_names(expr: str) -> set[str]:
    """The ``smc_maint_*`` metric names an expression reads."""
    return set(_METRIC.findall(expr))
