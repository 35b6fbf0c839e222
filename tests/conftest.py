"""Shared fixtures: a real PostgreSQL server, a trading database per test, a real webhook receiver.

In CI (CI=true) a missing component is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from smc_maint.config.loader import LoadedConfig, load_config
from smc_maint.embedded import demo_data
from smc_maint.embedded.postgres import EmbeddedError, EmbeddedPostgres, find_binaries, free_port

IN_CI = os.environ.get("CI", "").lower() == "true"
DB_PASSWORD = "pg-" + secrets.token_hex(8)


def need(condition: bool, what: str) -> None:
    """Skip locally when a component is missing; fail in CI."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required test component missing in CI: {what}")
        pytest.skip(f"missing: {what}")


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll ``cond`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def base_dir() -> Iterator[Path]:
    """A directory the unprivileged PostgreSQL user can traverse (pytest's tmp is 0700 as root)."""
    path = Path(tempfile.mkdtemp(prefix="smc-maint-tests-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class PgServer:
    server: EmbeddedPostgres
    password: str

    @property
    def port(self) -> int:
        return self.server.port

    def connect(self, dbname: str = "postgres", **kw: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", password=self.password,
                               dbname=dbname, autocommit=True, **kw)


@pytest.fixture(scope="session")
def pg(base_dir: Path) -> Iterator[PgServer]:
    """The machine's PostgreSQL (with contrib, pg_stat_statements preloaded) on a free port."""
    try:
        binaries = find_binaries("system")
    except EmbeddedError as exc:  # find_binaries raises rather than returning None
        need(False, f"PostgreSQL server binaries (/usr/lib/postgresql/N/bin): {exc}")
        raise
    settings = {"fsync": "off", "max_connections": "60"}
    if binaries.has_pg_stat_statements:
        settings["shared_preload_libraries"] = "pg_stat_statements"
    server = EmbeddedPostgres(base_dir / "pg", free_port(), binaries, settings=settings)
    server.init(DB_PASSWORD)
    server.start()
    pgs = PgServer(server, DB_PASSWORD)
    with pgs.connect() as conn:
        conn.execute("CREATE DATABASE smc_trading_template")
    with pgs.connect("smc_trading_template") as conn:
        demo_data.create_schema(conn)
        demo_data.populate(conn, days=100, trades_per_day=60, users=20)
    yield pgs
    server.destroy()


@pytest.fixture
def trading_db(pg: PgServer) -> Iterator[str]:
    """A fresh copy of the trading database for one test; its name."""
    name = "smc_" + uuid.uuid4().hex[:10]
    with pg.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE smc_trading_template')
    yield name
    with pg.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_password_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SMC_MAINT_DATABASE_PASSWORD", DB_PASSWORD)
    return DB_PASSWORD


@pytest.fixture
def make_config(tmp_path: Path, pg: PgServer, trading_db: str, db_password_env: str,
                monkeypatch: pytest.MonkeyPatch) -> Callable[..., LoadedConfig]:
    """Build a LoadedConfig for the test database; ``extra`` is merged into the YAML mapping."""
    for var in ("SLACK_WEBHOOK_URL", "SLACK_SECURITY_WEBHOOK", "SMC_MAINT_CONFIG"):
        monkeypatch.delenv(var, raising=False)

    def build(extra: dict[str, Any] | None = None) -> LoadedConfig:
        data: dict[str, Any] = {
            "home": str(tmp_path / "home"),
            "database": {"host": "127.0.0.1", "port": pg.port, "dbname": trading_db, "user": "postgres",
                         "bin_dir": str(pg.server.binaries.bin_dir)},
            "alerts": {"backoff_seconds": 0.01},
            # the activity gate would wait (really) on trades seeded at the wall clock's now; its tests enable it
            "schedule": {"gate": {"enabled": False}},
        }
        _merge(data, extra or {})
        path = tmp_path / "smc-maint.yaml"
        path.write_text(yaml.safe_dump(data))
        return load_config(path)

    return build


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records JSON posts; ``fail_first`` answers 503 first."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 0
    status: int = 200

    @property
    def texts(self) -> list[str]:
        return [r["body"].get("text", "") for r in self.requests if isinstance(r["body"], dict)]


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = box["r"]
            length = int(self.headers.get("content-length", 0))
            raw = self.rfile.read(length)
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            rec.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            if rec.fail_first > 0:
                rec.fail_first -= 1
                code = 503
            else:
                code = rec.status
            self.send_response(code)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/XXXX")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box["r"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def october(make_config: Callable[..., LoadedConfig], monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    """A history holding a scripted October 2026 of runs (see tests/obs_history.py)."""
    from .obs_history import GROUPS, SCRIPTS, install, record_october

    install(monkeypatch, GROUPS, SCRIPTS)
    cfg = make_config()
    record_october(cfg)
    return cfg


@pytest.fixture
def sample_group(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A group 'test' of the sample procedures in tests/sample_procedures.py (first, second, third)."""
    from smc_maint import registry

    procs = {name: "tests.sample_procedures" for name in ("first", "second", "third")}
    monkeypatch.setattr(registry, "PROCEDURES", {**registry.PROCEDURES, **procs})
    monkeypatch.setattr(registry, "GROUPS", {**registry.GROUPS, "test": list(procs)})
    yield


# Modules whose tests decide on dates and times: scripts/time-matrix runs them at simulated dates
# (month and year ends, a leap day, the DST changes), so none of them may depend on today's date.
TIME_SENSITIVE_MODULES = frozenset({
    "test_schedule_catchup", "test_schedule_cli", "test_schedule_replicas", "test_schedule_slots",
    "test_scheduler_daemon", "test_systemd_units", "test_health", "test_health_missed_runs",
    "test_daily_decisions", "test_reporting_monthly", "test_reporting_metrics", "test_reporting_grafana",
    "test_reporting_units", "test_maintenance_report_procedure", "test_history_reporting_queries",
    "test_web_dashboard", "test_retention", "test_backup_trust", "test_backup_procedure", "test_backup_verify", "test_certificates",
    "test_capacity", "test_trading_procedures", "test_trading_figures", "test_days", "test_metrics_snapshot",
    "test_activity_gate", "test_updates_review", "test_dr_reporting",
    "test_pitr_decisions", "test_prometheus_rules", "test_security_audit", "test_security_audit_procedure",
    "test_emergency_plan",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and module.__name__.rsplit(".", 1)[-1] in TIME_SENSITIVE_MODULES:
            item.add_marker(pytest.mark.timesensitive)


@pytest.fixture
def fake_cluster() -> Iterator[Any]:
    """A running fake Kubernetes API with the realistic smc-trading namespace (tests/kube_cluster.py)."""
    from .fake_kube_api import FakeKubeApi
    from .kube_cluster import TOKEN, populate

    api = FakeKubeApi(token=TOKEN).start()
    try:
        yield populate(api)
    finally:
        api.stop()


def plant_trades(pg: PgServer, db: str, start: datetime, end: datetime, every: str = "6 hours") -> None:
    """Filled trades from ``start`` to ``end``: for tests that pin the clock to a date the demo data
    (generated up to the real now) may not cover."""
    with pg.connect(db) as conn:
        conn.execute(
            """INSERT INTO trades (session_id, user_id, symbol, side, order_type, quantity, price, executed_price,
                                   executed_quantity, status, commission, pnl, "timestamp")
               SELECT s.id, s.user_id, 'BTCUSDT', 'buy', 'market', 1, 100, 100, 1, 'filled', 0, 1, t
               FROM generate_series(%s::timestamptz, %s::timestamptz, %s::interval) AS t,
                    (SELECT id, user_id FROM trading_sessions LIMIT 1) AS s""", (start, end, every))
