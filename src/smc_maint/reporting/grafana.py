"""An importable Grafana dashboard over the metrics we export (no hard-coded datasource uid).

The runbook's four panels (uptime, backup success rate, maintenance windows, vulnerabilities by
severity) plus what an operator needs to act: time since last success, backup age and size,
restore RTO trend, capacity forecast, runs by result, maintenance mode.
"""

from __future__ import annotations

import re
from typing import Any

SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}
_METRIC = re.compile(r"\bsmc_maint_[a-z0-9_]+")


def _target(expr: str, legend: str = "", *, ref: str = "A", instant: bool = False,
            fmt: str = "time_series") -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "instant": instant,
            "range": not instant, "format": fmt}


def _panel(pid: int, title: str, kind: str, targets: list[dict[str, Any]], pos: tuple[int, int, int, int], *,
           unit: str = "short", description: str = "", thresholds: list[tuple[float | None, str]] | None = None,
           options: dict[str, Any] | None = None, transformations: list[dict[str, Any]] | None = None
           ) -> dict[str, Any]:
    x, y, w, h = pos
    steps = [{"color": color, "value": value} for value, color in (thresholds or [(None, "green")])]
    panel: dict[str, Any] = {
        "id": pid, "title": title, "type": kind, "description": description, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
                        "overrides": []},
        "options": options or {},
    }
    if transformations:
        panel["transformations"] = transformations
    return panel


def dashboard(title: str = "SMC Trading Agent - Maintenance Dashboard") -> dict[str, Any]:
    """The dashboard JSON model (import via Dashboards > New > Import, pick the Prometheus datasource)."""
    stat = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "background"}
    panels = [
        _panel(1, "System uptime", "stat", [
            _target("smc_maint_endpoint_uptime_ratio", "{{endpoint}}")], (0, 0, 8, 6),
            unit="percentunit", description="Share of health checks each endpoint passed (reporting window)",
            thresholds=[(None, "red"), (0.99, "orange"), (0.999, "green")], options=stat),
        _panel(2, "Backup success rate", "stat", [
            _target("smc_maint_backup_success_ratio")], (8, 0, 4, 6), unit="percentunit",
            description="Runbook: backup_success_total / backup_attempts_total",
            thresholds=[(None, "red"), (0.95, "orange"), (1.0, "green")], options=stat),
        _panel(3, "Newest backup age", "stat", [
            _target("smc_maint_backup_age_seconds")], (12, 0, 4, 6), unit="s",
            thresholds=[(None, "green"), (26 * 3600, "orange"), (48 * 3600, "red")], options=stat),
        _panel(4, "Maintenance mode", "stat", [
            _target("max(smc_maint_maintenance_mode)")], (16, 0, 4, 6),
            thresholds=[(None, "green"), (1, "red")], options=stat),
        _panel(5, "History store", "stat", [
            _target("min(smc_maint_history_up)")], (20, 0, 4, 6),
            thresholds=[(None, "red"), (1, "green")], options=stat),
        _panel(6, "Time since last success", "bargauge", [
            _target("time() - smc_maint_procedure_last_success_timestamp_seconds", "{{procedure}}",
                    instant=True)], (0, 6, 12, 9), unit="s",
            description="Batch-job rule: alert when a procedure has not succeeded within its schedule",
            thresholds=[(None, "green"), (26 * 3600, "orange"), (8 * 86400, "red")],
            options={"orientation": "horizontal", "displayMode": "basic",
                     "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}),
        _panel(7, "Last status per procedure", "table", [
            _target("smc_maint_procedure_last_status == 1", instant=True, fmt="table")], (12, 6, 12, 9),
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True,
                                                                             "__name__": True}}}]),
        _panel(8, "Maintenance windows", "table", [
            _target("smc_maint_maintenance_window_duration_seconds", instant=True, fmt="table"),
            _target("smc_maint_maintenance_window_start_timestamp_seconds * 1000", ref="B", instant=True,
                    fmt="table")], (0, 15, 12, 8), unit="s",
            description="Last finished run of each group: start and duration",
            transformations=[{"id": "merge", "options": {}}]),
        _panel(9, "Security vulnerabilities by severity", "timeseries", [
            _target("sum by (severity) (smc_maint_vulnerabilities)", "{{severity}}"),
            _target("smc_maint_vulnerabilities_fixable_critical_high", "fixable critical+high", ref="B")],
            (12, 15, 12, 8)),
        _panel(10, "Backup size and age", "timeseries", [
            _target("smc_maint_backup_size_bytes", "size"),
            _target("smc_maint_backup_age_seconds", "age", ref="B")], (0, 23, 12, 8), unit="bytes",
            options={"legend": {"displayMode": "list", "placement": "bottom"}}),
        _panel(11, "Restore test RTO", "timeseries", [
            _target("smc_maint_restore_rto_seconds", "RTO"),
            _target("smc_maint_restore_ok", "restore exact (1 = yes)", ref="B")], (12, 23, 12, 8), unit="s"),
        _panel(12, "Capacity forecast (30 days)", "timeseries", [
            _target("smc_maint_db_size_bytes", "database size"),
            _target("predict_linear(smc_maint_db_size_bytes[7d], 30 * 86400)", "database in 30 d", ref="B"),
            _target("smc_maint_disk_used_bytes", "disk used", ref="C"),
            _target("predict_linear(smc_maint_disk_used_bytes[7d], 30 * 86400)", "disk in 30 d", ref="D"),
            _target("smc_maint_disk_total_bytes", "disk size", ref="E")], (0, 31, 12, 8), unit="bytes"),
        _panel(13, "Runs by result (per day)", "timeseries", [
            _target("sum by (group, status) (increase(smc_maint_runs_total[1d]))", "{{group}} {{status}}")],
            (12, 31, 12, 8)),
        _panel(14, "Procedure durations", "timeseries", [
            _target("smc_maint_procedure_last_duration_seconds", "{{procedure}}")], (0, 39, 24, 8), unit="s"),
    ]
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
