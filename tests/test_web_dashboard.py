"""``smc-maint serve`` over HTTP: pages from history, /metrics, read-only without a token."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.history import open_history
from smc_maint.web.app import DashboardApp
from smc_maint.web.server import start_in_thread

from .obs_history import AFTER_OCTOBER, GROUPS, SCRIPTS, install, record_october

TOKEN = "tok-" + "5f1d2c3b4a5e6f708192a3b4c5d6e7f8"
HOOK = "https://hooks.slack.com/services/T0/B0/obs-secret-hook"


@pytest.fixture
def served(make_config: Callable[..., LoadedConfig], monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[LoadedConfig, str]]:
    install(monkeypatch, GROUPS, SCRIPTS)
    monkeypatch.setenv("OBS_SERVE_TOKEN", TOKEN)
    monkeypatch.setenv("OBS_HOOK", HOOK)
    cfg = make_config({"serve": {"token_env": "OBS_SERVE_TOKEN"},
                       "alerts": {"channels": {"default": {"url_env": "OBS_HOOK"}}, "attempts": 1}})
    record_october(cfg)
    server, url = start_in_thread(DashboardApp(cfg, clock=FixedClock(AFTER_OCTOBER)))
    yield cfg, url
    server.shutdown()
    server.server_close()


def test_pages_show_recorded_runs_and_never_a_secret(served: tuple[LoadedConfig, str]) -> None:
    cfg, url = served
    newest = open_history(cfg).runs(limit=1)[0]
    page = httpx.get(url + "/")
    assert page.status_code == 200
    assert newest.id in page.text and "vulnerability-review" in page.text
    assert "next scheduled slot" in page.text and "2026" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    run = httpx.get(f"{url}/runs/{newest.id}")
    assert run.status_code == 200
    assert f"run {newest.id}: group daily started" in run.text  # the run's own log file
    report = httpx.get(url + "/report", params={"month": "2026-10", "format": "md"})
    assert report.status_code == 200 and "health: 30/31 days" in report.text
    assert httpx.get(url + "/report", params={"month": "2026-13"}).status_code == 400
    assert httpx.get(url + "/runs/nope").status_code == 404
    for body in (page.text, run.text, report.text, httpx.get(url + "/metrics").text):
        assert TOKEN not in body and HOOK not in body and "obs-secret-hook" not in body


def test_metrics_endpoint_serves_history_metrics(served: tuple[LoadedConfig, str]) -> None:
    _, url = served
    resp = httpx.get(url + "/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(resp.text)}
    assert {"smc_maint_procedure_last_success_timestamp_seconds", "smc_maint_backup_success_ratio",
            "smc_maint_vulnerabilities"} <= names


def test_trigger_needs_the_token(served: tuple[LoadedConfig, str]) -> None:
    cfg, url = served
    hist = open_history(cfg)
    before = len(hist.runs(limit=1000))
    body = {"group": "weekly"}
    assert httpx.post(url + "/api/runs", json=body).status_code == 401
    wrong = httpx.post(url + "/api/runs", json=body, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    assert httpx.get(url + "/api/runs").status_code == 405
    assert httpx.delete(url + "/").status_code == 405
    bad = httpx.post(url + "/api/runs", json={"group": "nope"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bad.status_code == 400 and "unknown" in bad.json()["error"]
    assert len(hist.runs(limit=1000)) == before  # nothing ran
    ok = httpx.post(url + "/api/runs", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 202 and ok.json()["group"] == "weekly"
    deadline = time.monotonic() + 30
    while len(hist.runs(limit=1000)) == before:
        assert time.monotonic() < deadline, "the triggered run was never recorded"
        time.sleep(0.1)
    newest = hist.runs(limit=1)[0]
    assert newest.group == "weekly" and newest.trigger == "web"


def test_trigger_is_disabled_without_a_configured_token(make_config: Callable[..., LoadedConfig],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMC_MAINT_SERVE_TOKEN", raising=False)
    server, url = start_in_thread(DashboardApp(make_config()))
    try:
        resp = httpx.post(url + "/api/runs", json={"group": "daily"}, headers={"Authorization": "Bearer x"})
        assert resp.status_code == 403 and "no token is configured" in resp.json()["error"]
        assert "No runs recorded yet" in httpx.get(url + "/").text
    finally:
        server.shutdown()
        server.server_close()


def test_a_log_path_outside_the_log_dir_is_not_served(served: tuple[LoadedConfig, str]) -> None:
    cfg, url = served
    hist = open_history(cfg)
    hist.begin_run("evil-run", "daily", datetime(2026, 10, 5, 12, tzinfo=UTC), [], log_path="/etc/shadow")
    hist.finish_run("evil-run", "ok", datetime(2026, 10, 5, 12, 1, tzinfo=UTC), 60.0)
    page = httpx.get(url + "/runs/evil-run")
    assert page.status_code == 200 and "outside the configured log directory" in page.text
    assert "root:" not in page.text


def test_cli_serve_answers_until_stopped(make_config: Callable[..., LoadedConfig]) -> None:
    import signal
    import socket
    import subprocess
    import sys

    cfg = make_config()
    assert cfg.source is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "smc_maint", "serve", "-c", str(cfg.source), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.1)
        assert resp.text == "ok\n"
        assert "smc_maint_history_up 1.0" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert "run trigger disabled" in err and "Traceback" not in err
