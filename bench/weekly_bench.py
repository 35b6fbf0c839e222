"""Figures for the weekly procedures (prints them; asserts nothing).

    .venv/bin/python bench/weekly_bench.py

- ``smc-maint run weekly`` on the embedded demo environment: wall time per procedure and in total;
- db-maintenance: targeted run vs the runbook's blanket ``--all`` after bloating ``trades``;
- capacity: reading and fitting a year of daily metrics snapshots from SQLite history.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from smc_maint import demo
from smc_maint.cli.weekly_cmd import with_all_tables
from smc_maint.config.loader import load_config
from smc_maint.history.store import open_sqlite
from smc_maint.procedures import capacity
from smc_maint.runner import run_group


def bench_weekly(home: Path) -> None:
    cfg = load_config(demo.prepare(home=home))
    for attempt in range(3):
        outcome = run_group(cfg, "weekly", trigger="bench")
        per = ", ".join(f"{p.procedure_id} {p.duration_seconds:.2f}s {p.result.status.value}" for p in outcome.procedures)
        print(f"run weekly #{attempt + 1}: {outcome.duration_seconds:.2f} s total ({per})")
    db = cfg.config.database
    for label, c in (("targeted", cfg), ("--all", with_all_tables(cfg))):
        with psycopg.connect(host=db.host, port=db.port, user=db.user, password=db.password(), dbname=db.dbname,
                             autocommit=True) as conn:
            rows = conn.execute("SELECT count(*) FROM trades").fetchone()
            conn.execute("UPDATE trades SET metadata = metadata WHERE random() < 0.3")  # 30 % dead rows
            conn.execute("SELECT pg_stat_force_next_flush()")
        time.sleep(1.5)  # let the statistics reach shared memory
        t0 = time.monotonic()
        out = run_group(c, "weekly", only=["db-maintenance"], trigger="bench")
        res = out.procedures[0].result
        tables = [m["table"] for m in res.details["maintenance"]]
        print(f"db-maintenance {label}: {time.monotonic() - t0:.2f} s, {len(tables)} table(s) {tables}, "
              f"dead tuples {res.figures['dead_tuples_before']:.0f} -> {res.figures['dead_tuples_after']:.0f} "
              f"(trades: {rows[0] if rows else '?'} rows)")


def bench_capacity(tmp: Path) -> None:
    hist = open_sqlite(tmp / "history.sqlite3")
    now = datetime.now(UTC)
    for day in range(365):
        at = now - timedelta(days=365 - day)
        run_id = f"r{day}"
        hist.begin_run(run_id, "daily", at, ["metrics-snapshot"])
        hist.add_result(run_id, "metrics-snapshot", "ok", "", at, 0.1, {}, {
            "db_size_bytes": 2**30 + day * 2**24, "disk_used_bytes": 50 * 2**30 + day * 2**26,
            "disk_total_bytes": 200 * 2**30, "trades_rows": day * 5000})
    settings = capacity.Settings(window_days=365)
    t0 = time.monotonic()
    series = {n: capacity._series(hist, n, now - timedelta(days=365))
              for n in ("db_size_bytes", "disk_used_bytes", "disk_total_bytes", "trades_rows")}
    result = capacity.assess(series, now, settings)
    print(f"capacity over 365 snapshots: {time.monotonic() - t0:.3f} s; {result.status.value}: {result.summary}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="smc-weekly-bench-") as tmp:
        Path(tmp).chmod(0o755)
        home = Path(tmp) / "demo"
        try:
            bench_weekly(home)
            bench_capacity(Path(tmp))
        finally:
            demo.stop(home)
