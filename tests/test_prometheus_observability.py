"""A real Prometheus scraping ``smc-maint serve``, and a real node_exporter reading our textfile.

Prometheus evaluates ``time()`` on the wall clock, so the history is built relative to one
"now" read once and injected into every recorded run (tests/prom_history.py); nothing asserted
here is a date, only that each dashboard query and alert rule has data.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from smc_maint.config.loader import LoadedConfig
from smc_maint.reporting.grafana import dashboard
from smc_maint.reporting.rules import rules_text
from smc_maint.web.app import DashboardApp
from smc_maint.web.server import start_in_thread

from . import prom_history
from .conftest import wait_for
from .obs_history import install
from .prom_support import node_exporter, prometheus, query

NOT_FIRING_ON_A_READABLE_HISTORY = {"SmcMaintHistoryUnreadable": "min(smc_maint_history_up) == 1"}


@pytest.fixture
def history(make_config: Callable[..., LoadedConfig], monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    install(monkeypatch, prom_history.GROUPS, prom_history.SCRIPTS)
    cfg = make_config()
    prom_history.record(cfg, datetime.now(UTC))
    return cfg


@pytest.fixture
def scraped(history: LoadedConfig, tmp_path: Path) -> Iterator[str]:
    server, serve_url = start_in_thread(DashboardApp(history))
    rules = tmp_path / "alerts.rules.yml"
    rules.write_text(rules_text())
    target = serve_url.removeprefix("http://")
    try:
        with prometheus(tmp_path / "prom", rule_files=[rules],
                        scrape=[{"job_name": "smc-maint", "static_configs": [{"targets": [target]}]}]) as url:
            wait_for(lambda: bool(query(url, "count_over_time(smc_maint_history_up[1m]) >= 3")),
                     "three scrapes of smc-maint serve", timeout=60)
            yield url
    finally:
        server.shutdown()
        server.server_close()


def test_every_dashboard_query_and_alert_rule_has_data(scraped: str) -> None:
    empty = []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            if not query(scraped, target["expr"]):
                empty.append(f"panel {panel['title']!r}: {target['expr']}")
    rules = [r for g in yaml.safe_load(rules_text())["groups"] for r in g["rules"]]
    for rule in rules:
        expr = NOT_FIRING_ON_A_READABLE_HISTORY.get(rule["alert"], rule["expr"])
        if not query(scraped, expr):
            empty.append(f"rule {rule['alert']}: {expr}")
    assert not empty, "\n".join(empty)
    loaded = httpx.get(f"{scraped}/api/v1/rules", timeout=10).json()["data"]["groups"]
    health = {r["name"]: r["health"] for g in loaded for r in g["rules"]}
    assert set(health) == {r["alert"] for r in rules}
    wait_for(lambda: all(r["health"] == "ok" for g in httpx.get(f"{scraped}/api/v1/rules", timeout=10)
                         .json()["data"]["groups"] for r in g["rules"]), "every rule evaluated ok", timeout=30)


def test_never_succeeded_procedures_fire_the_batch_job_alert(scraped: str) -> None:
    stale = query(scraped, "time() - smc_maint_procedure_last_success_timestamp_seconds > 26 * 3600")
    assert {s["metric"]["procedure"] for s in stale} >= {"vulnerability-review", "certificates"}
    never = query(scraped, "smc_maint_procedure_ever_succeeded == 0")
    assert {s["metric"]["procedure"] for s in never} == {"vulnerability-review", "certificates"}
    assert not query(scraped, 'absent(smc_maint_procedure_last_success_timestamp_seconds{procedure="certificates"})')


def test_node_exporter_as_another_user_reads_the_textfile(history: LoadedConfig, base_dir: Path) -> None:
    top = Path(tempfile.mkdtemp(prefix="textfile-", dir=base_dir))
    top.chmod(0o755)
    try:
        textfile = top / "node_exporter" / "textfile" / "smc_maint.prom"
        proc = subprocess.run([sys.executable, "-m", "smc_maint", "metrics", "write", str(textfile),
                               "-c", str(history.source)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        with node_exporter(textfile.parent) as url:
            text = httpx.get(f"{url}/metrics", timeout=10).text
        assert "node_textfile_scrape_error 0" in text, [ln for ln in text.splitlines() if "textfile" in ln]
        assert 'smc_maint_procedure_ever_succeeded{procedure="certificates"} 0' in text
        assert "smc_maint_backup_newest_timestamp_seconds" in text
    finally:
        subprocess.run(["rm", "-rf", str(top)], check=False, timeout=60)
