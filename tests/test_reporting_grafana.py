"""The exported Grafana dashboard: importable shape, datasource variable, only metrics we export."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from smc_maint.config.loader import LoadedConfig
from smc_maint.reporting.grafana import dashboard, metric_names
from smc_maint.reporting.publish import registry_from_config

from .obs_history import GROUPS, SCRIPTS, install, record_october


class At:
    def now(self) -> datetime:
        return datetime(2026, 11, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return 0.0


def test_every_panel_queries_metrics_we_export(make_config: Callable[..., LoadedConfig],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    record_october(cfg)
    exported = {fam.name for fam in text_string_to_metric_families(
        generate_latest(registry_from_config(cfg, At())).decode())}
    exported |= {n + "_total" for n in exported}  # the parser strips _total from counter family names
    board = dashboard()
    used: set[str] = set()
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']}: {target['expr']} reads none of our metrics"
            assert names <= exported, f"{panel['title']}: not exported: {names - exported}"
            used |= names
    titles = {p["title"] for p in board["panels"]}
    for runbook_panel in ("System uptime", "Backup success rate", "Maintenance windows",
                          "Security vulnerabilities by severity"):
        assert runbook_panel in titles
    for needed in ("Time since last success (daily)", "Backup size", "Backup age", "Restore test RTO",
                   "Capacity forecast (30 days)"):
        assert needed in titles
    assert "smc_maint_procedure_last_success_timestamp_seconds" in used


def test_datasource_is_a_variable_never_a_hard_coded_uid() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
    assert board["schemaVersion"] >= 36 and board["id"] is None and board["uid"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24


def test_cli_export_writes_importable_json(tmp_path: Path) -> None:
    out = tmp_path / "dash.json"
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "dashboard", "export", "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == json.loads(json.dumps(dashboard()))


def _lost(ours: object, theirs: object, path: str = "") -> list[str]:
    """Keys and values of ours that the SDK's typed model dropped or changed."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [f"{path}: not an object"]
        return [p for k, v in ours.items()
                for p in ([f"{path}.{k}"] if k not in theirs else _lost(v, theirs[k], f"{path}.{k}"))]
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [f"{path}: list"]
        return [p for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for p in _lost(a, b, f"{path}[{i}]")]
    return [] if ours is None or ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]


def test_dashboard_decodes_into_grafana_foundation_sdk_types_without_loss() -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import Dashboard

    ours = json.loads(json.dumps(dashboard()))
    theirs = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
    # __inputs/__requires are import-file keys and id is null for import; everything else is typed
    assert sorted(_lost(ours, theirs)) == [".__inputs", ".__requires", ".id"]


def test_units_thresholds_and_mappings_fit_what_each_panel_shows() -> None:
    panels = {p["title"]: p for p in dashboard()["panels"]}
    for panel in panels.values():
        for target in panel["targets"]:
            expr = target["expr"]
            # an age is computed by the query from a timestamp, never a published value that freezes
            assert "backup_age_seconds" not in expr
            if "_timestamp_seconds" in expr and "* 1000" not in expr:
                assert expr.startswith("time() - "), (panel["title"], expr)
    assert panels["Newest backup age"]["fieldConfig"]["defaults"]["unit"] == "s"
    assert panels["Backup size"]["fieldConfig"]["defaults"]["unit"] == "bytes"
    windows = panels["Maintenance windows"]["fieldConfig"]
    assert windows["overrides"][0]["properties"] == [{"id": "unit", "value": "dateTimeAsIso"}]
    for title in ("Maintenance mode", "History store", "Restore exact"):
        assert panels[title]["fieldConfig"]["defaults"]["mappings"], title
    red = {g: panels[f"Time since last success ({g})"]["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"]
           for g in ("daily", "weekly", "monthly")}
    assert red["daily"] < red["weekly"] < red["monthly"]
    assert red["monthly"] > 31 * 86400  # a monthly procedure is not red for most of the month
