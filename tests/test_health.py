"""health against real PostgreSQL, a real HTTP(S) server on 127.0.0.1 and the real runner."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme  # a test dependency: missing is an error, not a skip

from smc_maint.config.loader import LoadedConfig
from smc_maint.embedded.postgres import free_port
from smc_maint.result import Status

from .conftest import PgServer
from .procedure_run import run_one, stored_figure

# Thresholds the shared test machine cannot trip (101% is unreachable; a busy host may be slow but not 30 s),
# so each test judges only what it sets up.
RELAXED = {"cpu_percent": {"warning": 101, "critical": 101}, "memory_percent": {"warning": 101, "critical": 101},
           "disk_percent": {"warning": 101, "critical": 101}, "db_latency_seconds": {"warning": 30, "critical": 60},
           "cpu_sample_seconds": 0.1, "top_processes": 3}


class Site:
    """A real HTTP server: /ok, /error (500), /slow (3 s), /redirect (302), /pair-a + /pair-b (meet at a barrier)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.barrier = threading.Barrier(2, timeout=10)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/slow":
                    time.sleep(3)
                if path.startswith("/pair-"):
                    site.barrier.wait()  # answers only if the other endpoint is being probed at the same time
                code = {"/error": 500, "/redirect": 302}.get(path, 200)
                self.send_response(code)
                if code == 302:
                    self.send_header("location", "/login")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


def _cfg(make_config: Callable[..., LoadedConfig], endpoints: list[dict[str, Any]], **extra: Any) -> LoadedConfig:
    return make_config({**extra.pop("top", {}),
                        "procedures": {"health": {**RELAXED, "endpoints": endpoints, **extra}}})


def test_all_healthy_is_ok_and_endpoints_are_probed_concurrently(
        make_config: Callable[..., LoadedConfig], site: Site) -> None:
    # /pair-a and /pair-b each wait for the other inside the server: probed one after the
    # other, the first would time out. Both up proves they were in flight together.
    cfg = _cfg(make_config, [
        {"name": "api", "url": f"{site.base}/ok"},
        {"name": "pair-a", "url": f"{site.base}/pair-a", "timeout_seconds": 5},
        {"name": "pair-b", "url": f"{site.base}/pair-b", "timeout_seconds": 5},
    ])
    result, _ = run_one(cfg, "health")
    assert result.status is Status.OK, result.summary
    f = result.figures
    assert f["db_up"] == 1 and f["db_latency_seconds"] > 0
    assert f["endpoints_total"] == 3 and f["endpoints_up"] == 3
    assert f["endpoint_up.pair-a"] == 1 and f["endpoint_up.pair-b"] == 1
    assert result.artifacts == ()
    assert "3/3 endpoints up" in result.summary
    assert stored_figure(cfg, "db_up") == [1.0]


def test_failing_endpoints_each_have_a_reason_a_report_and_an_alert(
        make_config: Callable[..., LoadedConfig], site: Site, webhook: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK", webhook.url)
    closed_port = free_port()
    cfg = _cfg(make_config, [
        {"name": "api", "url": f"{site.base}/ok"},
        {"name": "slow", "url": f"{site.base}/slow", "timeout_seconds": 0.5},
        {"name": "broken", "url": f"{site.base}/error"},
        {"name": "moved", "url": f"{site.base}/redirect"},
        {"name": "gone", "url": f"http://127.0.0.1:{closed_port}/health"},
    ], top={"alerts": {"channels": {"default": {"url_env": "TEST_HOOK"}}}})
    result, _outcome = run_one(cfg, "health")
    assert result.status is Status.CRITICAL
    reasons = {e["name"]: e["reason"] for e in result.details["endpoints"]}
    assert reasons["api"] == "HTTP 200"
    assert reasons["slow"] == "timed out after 0.5 s"
    assert reasons["broken"] == "HTTP 500; expected 200"
    assert reasons["moved"].startswith("redirected (HTTP 302) to /login")
    assert reasons["gone"] == "connection refused"
    assert result.figures["endpoints_up"] == 1 and result.figures["endpoint_up.gone"] == 0
    # The diagnostic report exists, is private, and says what failed and what the host/DB looked like.
    assert len(result.artifacts) == 1
    report = Path(result.artifacts[0])
    assert report.parent == cfg.report_dir and oct(report.stat().st_mode & 0o777) == "0o600"
    text = report.read_text()
    for needle in ("## What failed", "endpoint slow", "timed out", "connection refused", "max_connections",
                   "## Top processes", "## Host resources", "## Recent warnings and errors"):
        assert needle in text, needle
    assert len(webhook.texts) == 1 and "health" in webhook.texts[0]


def test_expected_redirect_status_is_ok(make_config: Callable[..., LoadedConfig], site: Site) -> None:
    cfg = _cfg(make_config, [{"name": "login", "url": f"{site.base}/redirect", "expected_status": 302}])
    result, _ = run_one(cfg, "health")
    assert result.status is Status.OK


def test_tls_verified_with_ca_file_and_rejected_without(make_config: Callable[..., LoadedConfig],
                                                        tmp_path: Path) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    tls_site = Site(server_ctx)
    try:
        cfg = _cfg(make_config, [
            {"name": "internal", "url": f"{tls_site.base}/ok", "ca_file": str(ca_file)},
            {"name": "untrusted", "url": f"{tls_site.base}/ok"},
        ])
        result, _ = run_one(cfg, "health")
    finally:
        tls_site.close()
    reasons = {e["name"]: (e["ok"], e["reason"]) for e in result.details["endpoints"]}
    assert reasons["internal"] == (True, "HTTP 200")
    ok, reason = reasons["untrusted"]
    assert not ok and reason.startswith("TLS error") and "certificate" in reason
    assert result.status is Status.CRITICAL


def test_database_down_is_critical_with_report(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"database": {"port": free_port(), "connect_timeout_seconds": 2},
                       "procedures": {"health": RELAXED}})
    run_one(cfg, "trading-summary")   # an earlier run fails too: its log line belongs in the report
    result, _ = run_one(cfg, "health")
    assert result.status is Status.CRITICAL
    assert result.figures["db_up"] == 0 and "db_latency_seconds" not in result.figures
    assert "database unreachable" in result.summary
    assert "no HTTP endpoints configured" in result.summary
    text = Path(result.artifacts[0]).read_text()
    assert "unreachable" in text
    recent = text.split("## Recent warnings and errors in run logs")[1]
    assert "trading-summary: CRITICAL: database unreachable" in recent


def test_resource_threshold_breach_warns(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    # A disk is always more than 0% used: a warning threshold of 0% must trip, critical of 101% cannot.
    cfg = make_config({"procedures": {"health": {**RELAXED, "disk_paths": [str(tmp_path)],
                                                 "disk_percent": {"warning": 0, "critical": 101}}}})
    result, _ = run_one(cfg, "health")
    assert result.status is Status.WARNING
    assert f"disk {tmp_path} at" in result.summary
    assert result.artifacts


def test_long_query_and_secret_in_url_in_report(make_config: Callable[..., LoadedConfig], pg: PgServer,
                                                trading_db: str, site: Site) -> None:
    holder = pg.connect(trading_db)
    blocker = threading.Thread(target=lambda: _swallow(holder, "SELECT pg_sleep(60) /* smc-long-query */"),
                               daemon=True)
    blocker.start()
    with pg.connect() as watch:
        for _ in range(100):
            row = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%smc-long-query%%' "
                                "AND now() - query_start > interval '1 second' AND pid <> pg_backend_pid()"
                                ).fetchone()
            if row and row[0]:
                break
            time.sleep(0.1)
        try:
            cfg = _cfg(make_config, [{"name": "broken", "url": f"{site.base}/error?token=s3cr3t-tok3n"}],
                       long_query_seconds=0.5)
            result, _ = run_one(cfg, "health")
        finally:
            watch.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE "
                          "'%%smc-long-query%%' AND pid <> pg_backend_pid()")
    blocker.join(10)
    holder.close()
    text = Path(result.artifacts[0]).read_text()
    assert "smc-long-query" in text and "pg_sleep" in text
    assert "s3cr3t-tok3n" not in text
    assert "s3cr3t-tok3n" not in str(result.details) and "s3cr3t-tok3n" not in result.summary


def _swallow(conn: Any, sql: str) -> None:
    with contextlib.suppress(Exception):
        conn.execute(sql)


def test_bad_endpoint_config_is_a_clear_error(make_config: Callable[..., LoadedConfig]) -> None:
    from smc_maint.errors import ConfigError

    with pytest.raises(ConfigError, match=r"procedures\.health\.endpoints\.0\.url"):
        make_config({"procedures": {"health": {"endpoints": [{"name": "x", "url": "ftp://nope"}]}}})
    with pytest.raises(ConfigError, match="unique"):
        make_config({"procedures": {"health": {"endpoints": [{"name": "x", "url": "http://a"},
                                                             {"name": "x", "url": "http://b"}]}}})


def test_unconfigured_endpoints_warn_but_an_explicit_empty_list_does_not(
        make_config: Callable[..., LoadedConfig]) -> None:
    """Forgetting the endpoints must not read as "all healthy"; `endpoints: []` says none on purpose."""
    result, _ = run_one(make_config({"procedures": {"health": RELAXED}}), "health")
    assert result.status is Status.WARNING
    assert "no HTTP endpoints configured: list them under procedures.health.endpoints" in result.summary
    result, _ = run_one(_cfg(make_config, []), "health")
    assert result.status is Status.OK, result.summary
    assert "no HTTP endpoints configured (nothing checked over HTTP)" in result.summary
