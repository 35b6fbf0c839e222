"""Emergency windows on one machine: a real nginx in front of an API, a real flag row in PostgreSQL,
and a real ``smc-maint emergency start`` process SIGKILLed after each step in turn: ``abort`` (or
``finish``) then restores the starting state every time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig
from smc_maint.embedded import demo_api
from smc_maint.emergency import plan
from smc_maint.emergency.machine import Machine, journal_for
from smc_maint.emergency.settings import Settings

from .conftest import DB_PASSWORD, PgServer, need

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


@dataclass
class Front:
    url: str
    prefix: Path
    snippet: Path
    page: Path
    command: list[str]

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5)


def _upstream() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "ok"} if self.path == "/health" else {"trades": [{"id": 1}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def front(base_dir: Path) -> Iterator[Front]:
    need(demo_api.nginx_binary() is not None, "nginx (apt)")
    upstream = _upstream()
    from smc_maint.embedded.postgres import free_port

    prefix = base_dir / f"nginx-{uuid.uuid4().hex[:8]}"
    info = demo_api.write_front(prefix, free_port(), upstream.server_address[1])
    demo_api.start_nginx(info)
    try:
        yield Front(f"http://127.0.0.1:{info['port']}", prefix, Path(info["snippet"]), Path(info["page"]),
                    list(info["command"]))
    finally:
        demo_api.stop_nginx(info)
        upstream.shutdown()
        upstream.server_close()


@pytest.fixture
def flag_db(pg: PgServer, trading_db: str) -> Callable[[], str | None]:
    with pg.connect(trading_db) as c:
        c.execute("CREATE TABLE public.trading_flags (name text PRIMARY KEY, value text NOT NULL)")
        c.execute("INSERT INTO public.trading_flags VALUES ('trading_halted', 'false')")

    def value() -> str | None:
        with pg.connect(trading_db) as c:
            row = c.execute("SELECT value FROM public.trading_flags WHERE name = 'trading_halted'").fetchone()
        return None if row is None else str(row[0])

    return value


def _emergency(front: Front, **extra: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "production": False, "backup": False, "verify_procedures": [],
        "maintenance": {"kind": "nginx", "open_paths": ["/health"], "nginx": {
            "snippet": str(front.snippet), "page": str(front.page), "command": front.command,
            "probe_url": front.url + "/api/trades"}},
        "halt": {"kind": "flag_row"},
    }
    s.update(extra)
    return s


@pytest.fixture
def cfg(make_config: Callable[..., LoadedConfig], front: Front, flag_db: Callable[[], str | None]) -> LoadedConfig:
    return make_config({"procedures": {"emergency": _emergency(front), "health": {
        "endpoints": [], "check_schedule": False, "cpu_sample_seconds": 0.1,
        "cpu_percent": {"warning": 101, "critical": 101}}}})


def _cli(cfg: LoadedConfig, *args: str, kill_after: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMC_MAINT_")}
    env.update(SMC_MAINT_CONFIG=str(cfg.source), SMC_MAINT_DATABASE_PASSWORD=DB_PASSWORD)
    if kill_after:
        env["SMC_MAINT_EMERGENCY_KILL_AFTER"] = kill_after
    return subprocess.run([sys.executable, "-m", "smc_maint", "emergency", *args], capture_output=True, text=True,
                          env=env, timeout=180, check=False)


def _assert_started_state(front: Front, flag: Callable[[], str | None], original: str) -> None:
    r = front.get("/api/trades")
    assert r.status_code == 200 and r.json() == {"trades": [{"id": 1}]}
    assert front.snippet.read_text() == original
    assert flag() == "false"


def test_maintenance_mode_is_a_real_503_with_retry_after_and_health_stays_open(
        cfg: LoadedConfig, front: Front, flag_db: Callable[[], str | None]) -> None:
    original = front.snippet.read_text()
    settings = Settings.model_validate(_emergency(front, backup=True, verify_procedures=["backup-verify"]))
    m = Machine(cfg, settings, clock=FixedClock(T0))
    out = m.start("database disk full", 600)
    assert out.window is not None, out.message
    r = front.get("/api/trades")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "600"  # RFC 9110 delay-seconds to the planned end
    assert "maintenance" in r.text.lower() and "2026-11-03 14:10 UTC" in r.text
    assert "database disk full" not in r.text  # the reason is internal
    assert front.get("/health").status_code == 200
    assert front.get("/healthz").status_code == 503  # a prefix of a word is not the open path
    assert flag_db() == "true"
    done = m.finish()
    assert "finished" in done.message, done.message
    _assert_started_state(front, flag_db, original)


def test_cli_start_status_finish(cfg: LoadedConfig, front: Front, flag_db: Callable[[], str | None]) -> None:
    original = front.snippet.read_text()
    started = _cli(cfg, "start", "--reason", "hotfix", "--duration", "10m")
    assert started.returncode in (0, 1), started.stderr + started.stdout
    r = front.get("/api/trades")
    assert r.status_code == 503 and 0 < int(r.headers["retry-after"]) <= 600
    status = _cli(cfg, "status", "--json")
    st = json.loads(status.stdout)
    assert st["active"] and st["maintenance_mode"] and st["trading_halted"] and not st["past_deadline"]
    again = _cli(cfg, "start", "--reason", "hotfix", "--duration", "10m")
    assert "already active" in again.stdout and flag_db() == "true"
    dry = _cli(cfg, "abort", "--dry-run")
    assert "trading resume (flag_row)" in dry.stdout and "maintenance off (nginx)" in dry.stdout, dry.stdout
    assert front.get("/api/trades").status_code == 503 and flag_db() == "true"
    finished = _cli(cfg, "finish")
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    _assert_started_state(front, flag_db, original)
    assert json.loads(_cli(cfg, "status", "--json").stdout)["active"] is False
    (cfg.home / "emergency" / "cut-short.json").write_text("{")  # may be an open window: never "none open"
    broken = _cli(cfg, "status")
    assert broken.returncode == 2 and "UNREADABLE emergency journal" in broken.stdout, broken.stdout
    assert "cannot be told" in broken.stdout


@pytest.mark.parametrize("step", plan.START_STEPS)
def test_kill_9_after_each_step_then_abort_restores_the_start(
        cfg: LoadedConfig, front: Front, flag_db: Callable[[], str | None], step: str) -> None:
    original = front.snippet.read_text()
    killed = _cli(cfg, "start", "--reason", "crash drill", "--duration", "10m", kill_after=step)
    assert killed.returncode == -9, killed.stderr
    w = journal_for(cfg).active()
    assert w is not None and w.last(step) is not None
    aborted = _cli(cfg, "abort")
    assert aborted.returncode in (0, 1), aborted.stdout + aborted.stderr
    _assert_started_state(front, flag_db, original)
    assert journal_for(cfg).active() is None


@pytest.mark.parametrize("step", [plan.VERIFY, plan.TRADING_RESUME, plan.MAINTENANCE_OFF])
def test_kill_9_during_finish_then_finish_again_completes(
        cfg: LoadedConfig, front: Front, flag_db: Callable[[], str | None], step: str) -> None:
    original = front.snippet.read_text()
    assert _cli(cfg, "start", "--reason", "drill", "--duration", "10m").returncode in (0, 1)
    first = journal_for(cfg).active()
    assert _cli(cfg, "finish", kill_after=step).returncode == -9
    done = _cli(cfg, "finish")
    assert f"window {first.id if first else '?'} finished" in done.stdout, done.stdout + done.stderr
    _assert_started_state(front, flag_db, original)


def test_dry_run_prints_the_plan_and_changes_nothing(cfg: LoadedConfig, front: Front,
                                                     flag_db: Callable[[], str | None]) -> None:
    original = front.snippet.read_text()
    out = _cli(cfg, "start", "--reason", "x", "--duration", "10m", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "nothing is changed" in out.stdout and "nginx -t" in out.stdout and "trading_flags" in out.stdout
    _assert_started_state(front, flag_db, original)
    assert not journal_for(cfg).dir.exists()


def test_production_needs_the_typed_target_name(make_config: Callable[..., LoadedConfig], front: Front,
                                               flag_db: Callable[[], str | None]) -> None:
    import socket

    cfg = make_config({"procedures": {"emergency": _emergency(front, production=True)}})
    original = front.snippet.read_text()
    for args in ((), ("--yes", "some-other-host")):
        refused = _cli(cfg, "start", "--reason", "x", "--duration", "10m", *args)
        assert refused.returncode == 77 and "refused" in refused.stderr, refused.stderr
        _assert_started_state(front, flag_db, original)
    ok = _cli(cfg, "start", "--reason", "x", "--duration", "10m", "--yes", socket.gethostname())
    assert ok.returncode in (0, 1) and front.get("/api/trades").status_code == 503, ok.stdout + ok.stderr
    assert _cli(cfg, "abort").returncode in (0, 1)
    _assert_started_state(front, flag_db, original)


def test_a_duration_over_the_limit_is_a_clear_error(cfg: LoadedConfig) -> None:
    out = _cli(cfg, "start", "--reason", "x", "--duration", "9h")
    assert out.returncode == 78 and "max_duration_minutes" in out.stderr and "Traceback" not in out.stderr
