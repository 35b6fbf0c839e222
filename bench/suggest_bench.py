"""Benchmark: `schedule suggest` (activity per hour of the week) over 90 days of a large trades table.

Builds a trading database with ``--trades`` trades spread over 90 days on a throwaway PostgreSQL
(the machine's server binaries), with the index on ``trades.timestamp``, then times the heat-map
query plus the quiet-window search, and one activity-gate reading. Goal: under 1 s for 1,000,000.

Usage: python bench/suggest_bench.py --trades 1000000
Prints wall times; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from smc_maint.embedded import demo_data
from smc_maint.embedded.postgres import find_binaries, scratch_server
from smc_maint.scheduling import quiet
from smc_maint.scheduling.activity import read_heat_map, read_recent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="smc-suggest-bench-"))
    base.chmod(0o755)
    password = secrets.token_urlsafe(12)
    try:
        with scratch_server(base / "servers", find_binaries("system"), password, {"max_connections": "20"}) as server:
            with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", password=password,
                                 dbname="postgres", autocommit=True) as conn:
                conn.execute("CREATE DATABASE smc_trading")
            with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", password=password,
                                 dbname="smc_trading", autocommit=True) as conn:
                run(conn, args)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(conn: psycopg.Connection[object], args: argparse.Namespace) -> None:
    demo_data.create_schema(conn)  # type: ignore[arg-type]
    demo_data.populate(conn, days=2, trades_per_day=1, users=5)  # type: ignore[arg-type]
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.monotonic()
    step = timedelta(days=args.days) / args.trades
    conn.execute(
        """INSERT INTO trades (session_id, user_id, symbol, side, order_type, quantity, price, executed_price,
                               executed_quantity, status, commission, pnl, "timestamp")
           SELECT s.id, s.user_id, 'BTCUSDT', 'buy', 'market', 0.1, 50000, 50000, 0.1, 'filled', 0,
                  (random() - 0.5) * 100, %(start)s::timestamptz + g * %(step)s::interval
           FROM generate_series(1, %(n)s) AS g, (SELECT id, user_id FROM trading_sessions LIMIT 1) AS s""",
        {"start": now - timedelta(days=args.days), "step": step, "n": args.trades})
    conn.execute("ANALYZE trades")
    rows = conn.execute("SELECT count(*) FROM trades").fetchone()[0]  # type: ignore[index]
    print(f"trades: {rows:,} over {args.days} days (built in {time.monotonic() - t0:.1f} s), {os.cpu_count()} CPUs")
    tz = ZoneInfo("UTC")
    times = []
    for _ in range(args.repeat):
        t0 = time.monotonic()
        heat = read_heat_map(conn, now, args.days, tz)  # type: ignore[arg-type]
        found = quiet.suggest(heat, {"db-maintenance": [3600.0]}, {"db-maintenance": "weekly", "backup": "daily"},
                              tz, tz, now)
        times.append(time.monotonic() - t0)
    print(f"schedule suggest ({args.days} days): best {min(times):.3f} s, worst {max(times):.3f} s "
          f"(goal < 1 s); e.g. {found[0].procedure_id} -> {found[0].cron}")
    t0 = time.monotonic()
    read_recent(conn, now, 15)  # type: ignore[arg-type]
    print(f"gate reading (trades in the last 15 min): {time.monotonic() - t0:.4f} s")


if __name__ == "__main__":
    main()
