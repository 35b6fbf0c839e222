"""Prometheus metrics computed from recorded history: values, textfile, Pushgateway push-add."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest, push_to_gateway
from prometheus_client.parser import text_string_to_metric_families

from smc_maint.config.loader import LoadedConfig
from smc_maint.reporting.publish import publish_configured, push, registry_from_config, write_textfile

from .conftest import need
from .obs_history import OCT, run_at

NOW = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


class At:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return 0.0


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]




def test_metrics_come_from_recorded_runs(october: LoadedConfig) -> None:
    text = generate_latest(registry_from_config(october, At(NOW))).decode()
    # health failed on the 21st, passed on the 31st: last success is the 31st run, last status ok
    last_ok = value(text, "smc_maint_procedure_last_success_timestamp_seconds", procedure="health")
    assert datetime.fromtimestamp(last_ok, UTC).date() == OCT.replace(day=31).date()
    assert value(text, "smc_maint_procedure_last_status", procedure="health", status="ok") == 1
    assert value(text, "smc_maint_procedure_last_status", procedure="health", status="critical") == 0
    assert value(text, "smc_maint_procedure_results_total", procedure="health", status="critical") == 1
    assert value(text, "smc_maint_procedure_results_total", procedure="health", status="ok") == 29
    assert value(text, "smc_maint_runs_total", group="daily", status="critical") == 2  # api down + bad backup
    # backups: 30 checks, one critical; the 30-day window (from Oct 2 01:00) leaves out Oct 1 -> 28/29
    assert value(text, "smc_maint_backup_attempts_total") == 30
    assert value(text, "smc_maint_backup_successes_total") == 29
    assert value(text, "smc_maint_backup_success_ratio") == pytest.approx(28 / 29)
    # newest backup measured 2 h old at 2026-10-31 02:00: a timestamp, never an age that would freeze
    newest = value(text, "smc_maint_backup_newest_timestamp_seconds")
    assert newest == pytest.approx(OCT.replace(day=31).timestamp(), abs=5)
    assert "smc_maint_backup_age_seconds" not in text
    # the daily group last ran Oct 31 02:00: next due Nov 1 02:00 (default schedule)
    assert value(text, "smc_maint_schedule_next_due_timestamp_seconds", group="daily") == \
        OCT.replace(month=11, day=1, hour=2).timestamp()
    assert value(text, "smc_maint_backup_size_bytes") == 70e6 + 31e6
    assert value(text, "smc_maint_restore_rto_seconds") == 42.0
    assert value(text, "smc_maint_vulnerabilities", severity="critical") == 2
    assert value(text, "smc_maint_vulnerabilities_fixable_critical_high") == 4
    assert value(text, "smc_maint_endpoint_uptime_ratio", endpoint="api") == pytest.approx(28 / 29)
    assert value(text, "smc_maint_endpoint_up", endpoint="database") == 1
    assert value(text, "smc_maint_db_table_bytes", table="trades") == 150e6
    assert value(text, "smc_maint_host_cpu_ratio") == pytest.approx(0.125)
    assert value(text, "smc_maint_maintenance_window_duration_seconds", group="weekly") >= 0
    assert value(text, "smc_maint_maintenance_mode") == 0
    assert value(text, "smc_maint_history_up") == 1
    assert "run_id" not in text and "r2026" not in text  # never a run id as a label


def test_dry_runs_do_not_move_metrics(october: LoadedConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    before = samples(generate_latest(registry_from_config(october, At(NOW))).decode())
    run_at(october, "daily", NOW - timedelta(minutes=30), dry_run=True)
    after = samples(generate_latest(registry_from_config(october, At(NOW))).decode())
    assert before == after


def test_unreadable_history_is_a_metric_not_a_crash(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"history": {"backend": "postgresql", "dsn_env": "OBS_NO_SUCH_DSN"}})
    text = generate_latest(registry_from_config(cfg, At(NOW))).decode()
    assert value(text, "smc_maint_history_up") == 0


def test_textfile_is_written_atomically_and_parses(october: LoadedConfig, tmp_path: Path) -> None:
    target = tmp_path / "textfile" / "smc_maint.prom"
    target.parent.mkdir()
    target.write_text("# stale content from the previous run\n")
    write_textfile(registry_from_config(october, At(NOW)), target)
    text = target.read_text()
    assert value(text, "smc_maint_backup_attempts_total") == 30
    assert [p.name for p in target.parent.iterdir()] == ["smc_maint.prom"]  # no temp file left behind
    assert target.stat().st_mode & 0o777 == 0o644  # node_exporter runs as its own user
    with pytest.raises(ValueError, match=r"\*\.prom"):
        write_textfile(registry_from_config(october, At(NOW)), tmp_path / "metrics.txt")


def test_textfile_modes_hold_under_the_cli_umask(october: LoadedConfig, tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        target = tmp_path / "new" / "textfile" / "smc_maint.prom"
        write_textfile(registry_from_config(october, At(NOW)), target)
        write_textfile(registry_from_config(october, At(NOW)), tmp_path / "strict" / "m.prom", mode=0o640,
                       dir_mode=0o750)
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o755
    assert target.parent.stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "strict" / "m.prom").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "strict").stat().st_mode & 0o777 == 0o750


def test_publish_after_run_reports_a_dead_pushgateway_without_raising(
        make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = make_config({"reporting": {"textfile": str(tmp_path / "m.prom"),
                                     "pushgateway": {"url": f"http://127.0.0.1:{port}", "timeout_seconds": 2}}})
    published = publish_configured(cfg)
    assert published.textfile == tmp_path / "m.prom" and published.textfile.is_file()
    assert not published.pushed
    assert published.errors and "pushgateway" in published.errors[0]


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    need(binary is not None, "prometheus-pushgateway (apt)")
    assert binary is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("pushgateway did not become ready")
        time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def test_push_add_keeps_other_metrics_of_the_job(october: LoadedConfig, pushgateway: str) -> None:
    other = CollectorRegistry()
    Gauge("smc_other_batch_marker", "pushed by another job step", registry=other).set(7)
    push_to_gateway(pushgateway, job="smc-maint", registry=other)
    cfg = october.config.reporting.pushgateway.model_copy(update={"url": pushgateway})
    push(registry_from_config(october, At(NOW)), cfg)
    text = httpx.get(f"{pushgateway}/metrics", timeout=5).text
    assert value(text, "smc_other_batch_marker", job="smc-maint", instance="") == 7  # push-add kept it
    assert value(text, "smc_maint_backup_attempts_total", job="smc-maint", instance="") == 30


def test_pushers_with_different_grouping_keys_do_not_overwrite_each_other(
        october: LoadedConfig, pushgateway: str) -> None:
    base = october.config.reporting.pushgateway
    for instance in ("db-1", "db-2"):
        cfg = base.model_copy(update={"url": pushgateway, "grouping_key": {"instance": instance, "cluster": "eu"}})
        push(registry_from_config(october, At(NOW)), cfg)
    text = httpx.get(f"{pushgateway}/metrics", timeout=5).text
    for instance in ("db-1", "db-2"):
        assert value(text, "smc_maint_backup_attempts_total", job="smc-maint", instance=instance, cluster="eu") == 30


def test_metrics_push_without_a_url_is_a_configuration_error(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config()
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "metrics", "push", "-c", str(cfg.source)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78, proc.stderr
    assert "reporting.pushgateway.url" in proc.stderr
