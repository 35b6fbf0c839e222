"""Benchmark: the local DR drill's RTO against a plain ``pg_restore`` of the same backup, and its RPO.

Builds a trading database (``--trades``, default 1,000,000) on a throwaway PostgreSQL, takes one
``backup create``, then interleaves (best of ``--repeat``):

  plain:  zstd -dc archive | pg_restore into a new database on that server (what an operator types)
  drill:  dr-drill, local: marker row, fetch + checksum, new scratch server, restore, exact verify of
          every table, health checks; RTO from the simulated loss to healthy, split by phase

Usage: python bench/dr_bench.py --trades 1000000
Prints wall times, the ratio against the goal (RTO <= 1.2 x plain restore) and the RPO; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import yaml
from backup_bench import _build, timed  # type: ignore[import-not-found]

from smc_maint.adapters.clock import SystemClock
from smc_maint.backups.create import create_backup
from smc_maint.config.loader import load_config
from smc_maint.dr import drill
from smc_maint.dr.measure import trades_gap_seconds
from smc_maint.dr.settings import DrDrillSettings
from smc_maint.embedded.postgres import find_binaries, scratch_server
from smc_maint.stores.factory import local_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="run each measurement this many times (best is shown)")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="smc-dr-bench-"))
    base.chmod(0o755)
    password = secrets.token_urlsafe(12)
    os.environ["SMC_MAINT_DATABASE_PASSWORD"] = password
    binaries = find_binaries("system")
    try:
        with scratch_server(base / "servers", binaries, password, {"max_connections": "50"}) as server:
            run(args, base, binaries.bin_dir, server.port, password)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(args: argparse.Namespace, base: Path, bin_dir: Path, port: int, password: str) -> None:
    def conn(db: str = "postgres") -> psycopg.Connection[object]:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname=db,
                               autocommit=True)

    days = max(1, min(100, args.trades // 1000))
    per_day = max(1, args.trades // days)
    with conn() as c:
        c.execute("CREATE DATABASE smc_trading")
    t_build, _ = timed(lambda: _build(conn, days, per_day))
    with conn("smc_trading") as c:
        trades = c.execute("SELECT count(*) FROM trades").fetchone()[0]  # type: ignore[index]
        size = c.execute("SELECT pg_database_size('smc_trading')").fetchone()[0]  # type: ignore[index]
    print(f"database: {trades:,} trades, {size / 1e6:.0f} MB (built in {t_build:.1f} s); {os.cpu_count()} CPUs")
    cfg_path = base / "smc-maint.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "home": str(base / "home"),
        "database": {"host": "127.0.0.1", "port": port, "dbname": "smc_trading", "user": "postgres",
                     "bin_dir": str(bin_dir), "sslmode": "disable"},
        "backup": {"work_dir": str(base / "work")},
        "store": {"path": str(base / "store")},
    }))
    cfg = load_config(cfg_path)
    store = local_store(base / "store")
    t_backup, manifest = timed(lambda: create_backup(cfg, store))
    archive = base / "store" / manifest.backup_id / manifest.artifacts[0].name
    print(f"backup {manifest.backup_id}: {manifest.size_bytes / 1e6:.0f} MB in {t_backup:.1f} s")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres", PGPASSWORD=password)

    def plain_restore() -> None:
        name = "plain_" + secrets.token_hex(3)
        with conn() as c:
            c.execute(f"CREATE DATABASE {name}")
        zstd = subprocess.Popen(["zstd", "-dc", str(archive)], stdout=subprocess.PIPE)
        subprocess.run([str(bin_dir / "pg_restore"), "-d", name], stdin=zstd.stdout, env=env, check=True,
                       timeout=3600)
        assert zstd.wait(timeout=60) == 0
        with conn() as c:
            c.execute(f"DROP DATABASE {name}")

    settings = DrDrillSettings()
    plains, drills = [], []
    for i in range(args.repeat):
        plains.append(timed(plain_restore))
        drills.append(timed(lambda i=i: drill.run_drill(cfg, store, settings, run_id=f"bench-{i}",  # type: ignore[misc]
                                                        platform=_no_platform, mode="local",
                                                        now=SystemClock().now())))
    t_plain, _ = min(plains, key=lambda r: r[0])
    t_drill, report = min(drills, key=lambda r: r[1].rto_seconds)
    assert not report.differences and not report.health_problems, (report.differences, report.health_problems)
    print()
    print(f"{'':34} {'plain':>9} {'drill':>9} {'ratio':>7}  goal")
    print(f"{'restore vs RTO (s)':34} {t_plain:9.2f} {report.rto_seconds:9.2f} "
          f"{report.rto_seconds / t_plain:7.2f}  <= 1.2")
    print(f"drill wall time incl. leftovers check and cleanup: {t_drill:.2f} s")
    print("RTO phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in report.phases.items()))
    assert report.rpo is not None
    print(f"RPO {report.rpo_seconds:.1f} s (marker in copy: {report.rpo.marker_in_copy}; backup snapshot "
          f"{report.rpo.backup_snapshot_at:%H:%M:%S}, marker {report.rpo.marker_at:%H:%M:%S}); "
          f"trades gap {trades_gap_seconds(report.rpo)} s")


def _no_platform():  # type: ignore[no-untyped-def]
    raise AssertionError("the local drill without an outage simulation never asks the platform")


if __name__ == "__main__":
    main()
