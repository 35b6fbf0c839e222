"""Benchmark: our verified backup and restore test against plain pg_dump -Fc / pg_restore.

Builds a trading database of the chosen size on a throwaway PostgreSQL (the machine's server
binaries), then times in one run:

  backup:  plain ``pg_dump -Fc -f file``      vs  ``backup create`` (snapshot, facts, zstd, sha256)
  restore: plain ``pg_restore`` into a new db + the runbook's two counts
           vs  ``restore-test`` (download, restore, exact facts of every table), both into a
           scratch database on the same server, and once more with its own scratch server.

Usage: python bench/backup_bench.py --trades 1000000
Prints wall times, artifact sizes and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import yaml

from smc_maint.backups.create import create_backup
from smc_maint.backups.restore_test import RestoreTestSettings, run_restore_test
from smc_maint.config.loader import load_config
from smc_maint.embedded import demo_data
from smc_maint.embedded.postgres import find_binaries, scratch_server
from smc_maint.stores.factory import local_store


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    value = fn()
    return time.monotonic() - t0, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="run each measurement this many times (best is shown)")
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="smc-backup-bench-"))
    base.chmod(0o755)
    password = secrets.token_urlsafe(12)
    os.environ["SMC_MAINT_DATABASE_PASSWORD"] = password
    os.environ["SMC_MAINT_SCRATCH_PASSWORD"] = password
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

    days = max(1, min(100, args.trades // 1000))  # demo_data's signal timestamps overflow past ~140 days
    per_day = max(1, args.trades // days)
    with conn() as c:
        c.execute("CREATE DATABASE smc_trading")
    t_build, _ = timed(lambda: _build(conn, days, per_day))
    with conn("smc_trading") as c:
        trades = c.execute("SELECT count(*) FROM trades").fetchone()[0]  # type: ignore[index]
        size = c.execute("SELECT pg_database_size('smc_trading')").fetchone()[0]  # type: ignore[index]
    print(f"database: {trades:,} trades, {size / 1e6:.0f} MB (built in {t_build:.1f} s); "
          f"PostgreSQL {bin_dir}, {os.cpu_count()} CPUs")

    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres", PGPASSWORD=password)
    cfg_path = base / "smc-maint.yaml"
    cfg_path.write_text(yaml.safe_dump({
        "home": str(base / "home"),
        "database": {"host": "127.0.0.1", "port": port, "dbname": "smc_trading", "user": "postgres",
                     "bin_dir": str(bin_dir), "sslmode": "disable"},
        "backup": {"work_dir": str(base / "work")},
    }))
    cfg = load_config(cfg_path)
    store = local_store(base / "store")
    plain = base / "plain.dump"

    dumps, ours = [], []
    for _ in range(args.repeat):
        dumps.append(timed(lambda: subprocess.run([str(bin_dir / "pg_dump"), "-Fc", "-d", "smc_trading", "-f",
                                                   str(plain)], env=env, check=True)))
        ours.append(timed(lambda: create_backup(cfg, store)))
    t_plain, _ = min(dumps, key=lambda r: r[0])
    t_ours, manifest = min(ours, key=lambda r: r[0])
    plain_size = plain.stat().st_size

    def plain_restore() -> None:
        name = "plain_" + secrets.token_hex(3)
        with conn() as c:
            c.execute(f"CREATE DATABASE {name}")
        subprocess.run([str(bin_dir / "pg_restore"), "-d", name, str(plain)], env=env, check=True)
        with conn(name) as c:
            assert c.execute("SELECT count(*) FROM trades").fetchone()[0] > 0  # type: ignore[index]
            assert c.execute("SELECT count(*) FROM users").fetchone()[0] > 0  # type: ignore[index]
        with conn() as c:
            c.execute(f"DROP DATABASE {name}")

    now = datetime.now(UTC)
    # the bench measures a scratch database on the source server itself: allowed explicitly
    settings = RestoreTestSettings(target="server", scratch_server={"port": port, "sslmode": "disable",
                                                                   "allow_production_server": True},
                                   backup_id=manifest.backup_id)
    # interleaved, best of --repeat: other load on the machine hits all three alike
    prest, orest, lrest = [], [], []
    for _ in range(args.repeat):
        prest.append(timed(plain_restore))
        orest.append(timed(lambda: run_restore_test(cfg, store, settings, now=now)))
        lrest.append(timed(lambda: run_restore_test(cfg, store, settings.model_copy(update={"target": "local"}),
                                                    now=now)))
    t_prest, _ = min(prest, key=lambda r: r[0])
    t_orest, report = min(orest, key=lambda r: r[0])
    t_local, local_report = min(lrest, key=lambda r: r[0])
    assert report.ok and local_report.ok, (report.differences, local_report.differences)

    print()
    print(f"{'':38} {'plain':>9} {'ours':>9} {'ratio':>7}  goal")
    print(f"{'backup wall time (s)':38} {t_plain:9.2f} {t_ours:9.2f} {t_ours / t_plain:7.2f}  <= 0.5")
    print(f"{'backup artifact size (MB)':38} {plain_size / 1e6:9.1f} {manifest.size_bytes / 1e6:9.1f} "
          f"{manifest.size_bytes / plain_size:7.2f}  <= 0.8")
    print(f"{'restore + checks, own server (s)':38} {t_prest:9.2f} {t_local:9.2f} {t_local / t_prest:7.2f}  <= 1.3")
    print(f"{'restore + checks, scratch db (s)':38} {t_prest:9.2f} {t_orest:9.2f} {t_orest / t_prest:7.2f}  <= 1.3")
    print()
    print(f"restore-test (scratch db) split: download {report.download_seconds:.2f} s, "
          f"restore {report.restore_seconds:.2f} s, verify {report.verify_seconds:.2f} s "
          f"({report.tables} tables, {report.rows:,} rows compared exactly)")
    print(f"restore-test (own server) split: download {local_report.download_seconds:.2f} s, "
          f"restore {local_report.restore_seconds:.2f} s, verify {local_report.verify_seconds:.2f} s")


def _build(conn, days: int, per_day: int) -> None:  # type: ignore[no-untyped-def]
    with conn("smc_trading") as c:
        demo_data.create_schema(c)
        demo_data.populate(c, days=days, trades_per_day=per_day, users=200)
        c.execute("VACUUM ANALYZE")


if __name__ == "__main__":
    main()
