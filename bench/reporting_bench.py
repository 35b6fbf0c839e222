"""How long reporting takes over a year of history: a /metrics scrape, a monthly report, the dashboard.

Usage: .venv/bin/python bench/reporting_bench.py [days]   (prints figures; asserts nothing)
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest

from smc_maint.config.loader import load_config
from smc_maint.history.store import open_sqlite
from smc_maint.reporting.metrics import registry_for
from smc_maint.reporting.month import Month
from smc_maint.reporting.render import render
from smc_maint.reporting.service import monthly_report
from smc_maint.web.app import DashboardApp

PROCS = ["health", "backup-verify", "log-cleanup", "metrics-snapshot", "vulnerability-review", "trading-summary"]


def fill(path: Path, days: int, end: datetime) -> None:
    hist = open_sqlite(path)
    for d in range(days):
        at = end - timedelta(days=days - d)
        run_id = f"bench-{d:05d}"
        hist.begin_run(run_id, "daily", at, PROCS)
        for i, pid in enumerate(PROCS):
            figures = {"db_up": 1.0, "endpoint_up.api": 1.0 if d % 50 else 0.0, "endpoint_up.web": 1.0,
                       "backup_age_seconds": 7200.0, "backup_size_bytes": 7e7 + d * 1e5, "db_size_bytes": 2e8 + d * 1e6,
                       "vulnerabilities_critical": 1.0, "table_bytes.trades": 1.5e8}
            hist.add_result(run_id, pid, "ok" if d % 40 else "warning", "bench", at + timedelta(seconds=i), 1.5,
                            {"days": [{"date": (at - timedelta(days=k)).date().isoformat(), "total_pnl": 10.0 * k}
                                      for k in range(7)]} if pid == "trading-summary" else {}, figures)
        hist.finish_run(run_id, "ok", at + timedelta(seconds=10), 10.0)


def timed(label: str, fn: object, repeat: int = 5) -> None:
    assert callable(fn)
    fn()  # warm
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    print(f"{label:<40} {(time.perf_counter() - t0) / repeat * 1000:8.1f} ms")


def main() -> None:
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 365
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cfg_path = home / "smc-maint.yaml"
        cfg_path.write_text(f"home: {home}\n")
        cfg = load_config(cfg_path, environ={})
        t0 = time.perf_counter()
        fill(cfg.history_path, days, now)
        print(f"history: {days} daily runs x {len(PROCS)} results, filled in {time.perf_counter() - t0:.1f} s, "
              f"{cfg.history_path.stat().st_size / 1e6:.1f} MB")
        hist = open_sqlite(cfg.history_path)
        reg = registry_for(lambda: hist, lambda: now)
        timed("/metrics scrape (generate_latest)", lambda: generate_latest(reg))
        month = Month.of(now).previous()
        timed("monthly report build + html render", lambda: render(monthly_report(cfg, hist, month, now), "html"))
        app = DashboardApp(cfg, history=lambda: hist)
        timed("dashboard page", lambda: app.route("GET", "/", {}))


if __name__ == "__main__":
    main()
