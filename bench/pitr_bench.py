"""Benchmark: pgBackRest full backup / restore against pg_dump -Fc / pg_restore, and a PITR restore.

Builds a trading database of the chosen size on a throwaway archiving PostgreSQL (the machine's
server binaries, pgBackRest's archive_command, a local repository), then times:

  backup:  ``pg_dump -Fc -f file``                 vs  ``pgbackrest --type=full backup``
  restore: ``pg_restore`` into a new database      vs  ``pgbackrest restore`` (to consistency) + server start
  PITR:    restore to a moment T after more trades, replayed from archived WAL, promoted, proven by markers
  exact:   smc-maint's logical backup (dump + per-table fingerprints), then pitr-restore-test's second
           restore to that snapshot's WAL position with every table compared exactly

Usage: python bench/pitr_bench.py --trades 1000000
Prints wall times and ratios; asserts nothing but the proof.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import yaml

from smc_maint.backups.create import create_backup
from smc_maint.backups.markers import read_markers, write_marker
from smc_maint.config.loader import load_config
from smc_maint.embedded import demo_data
from smc_maint.embedded.postgres import EmbeddedPostgres, archiving_settings, find_binaries, free_port
from smc_maint.pitr import engine
from smc_maint.pitr.exact_restore import find_snapshot, verify_at_lsn
from smc_maint.pitr.restore import restore_and_prove, wait_archived
from smc_maint.pitr.sets import backup_sets, lsn_value
from smc_maint.stores.factory import open_store


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    value = fn()
    return time.monotonic() - t0, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--process-max", type=int, default=1, help="pgBackRest parallel processes")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="smc-pitr-bench-"))
    root.chmod(0o755)
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    sock = root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(sock, user)
    password = secrets.token_urlsafe(12)
    os.environ["SMC_MAINT_DATABASE_PASSWORD"] = password
    port = free_port()
    (root / "smc-maint.yaml").write_text(yaml.safe_dump({
        "home": str(root / "home"), "backup": {"work_dir": str(root / "work"), "engine": {
            "kind": "pgbackrest", "stanza": "bench", "pg_data": str(root / "data"), "socket_path": str(sock),
            "os_user": user, "config_dir": str(root / "pgbackrest"), "process_max": args.process_max}},
        "database": {"host": "127.0.0.1", "port": port, "dbname": "smc_trading", "user": "postgres",
                     "sslmode": "disable"}}))
    (root / "home").mkdir(mode=0o755)
    cfg = load_config(root / "smc-maint.yaml")
    lay = engine.layout(cfg)
    engine.write_config(lay)
    binaries = find_binaries("system")
    server = EmbeddedPostgres(root / "data", port, binaries, settings={
        "max_wal_size": "4GB", **archiving_settings(engine.archive_command(lay), archive_timeout_seconds=60,
                                                    socket_dir=sock)})
    try:
        server.init(password)
        server.start()
        run(args, cfg, lay, binaries.bin_dir, port, password, root)
    finally:
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace, cfg: Any, lay: engine.Layout, bin_dir: Path, port: int, password: str,
        root: Path) -> None:
    def conn(db: str = "smc_trading") -> psycopg.Connection[Any]:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname=db,
                               autocommit=True)

    with conn("postgres") as c:
        c.execute("CREATE DATABASE smc_trading")
    days = max(1, min(100, args.trades // 1000))
    t_build, _ = timed(lambda: _build(conn, days, max(1, args.trades // days)))
    with conn() as c:
        trades = c.execute("SELECT count(*) FROM trades").fetchone()[0]  # type: ignore[index]
        size = c.execute("SELECT pg_database_size('smc_trading')").fetchone()[0]  # type: ignore[index]
    print(f"database: {trades:,} trades, {size / 1e6:.0f} MB (built in {t_build:.1f} s); {os.cpu_count()} CPUs, "
          f"pgBackRest process-max {args.process_max}, compress zst")
    engine.check_ok(engine.run(lay, "stanza-create"), "stanza-create")

    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres", PGPASSWORD=password)
    dump = root / "plain.dump"
    t_dump, _ = timed(lambda: subprocess.run([str(bin_dir / "pg_dump"), "-Fc", "-d", "smc_trading", "-f", str(dump)],
                                             env=env, check=True))
    t_full, _ = timed(lambda: engine.check_ok(engine.run(lay, "--type=full", "backup"), "backup"))

    def plain_restore() -> None:
        with conn("postgres") as c:
            c.execute("CREATE DATABASE plain_restore")
        subprocess.run([str(bin_dir / "pg_restore"), "-d", "plain_restore", str(dump)], env=env, check=True)

    t_prest, _ = timed(plain_restore)

    def engine_restore() -> None:
        data = root / "work" / "restore-data"
        data.mkdir(parents=True, mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(data, lay.engine.os_user)
        engine.check_ok(engine.run(lay, f"--pg1-path={data}", "--type=immediate", "--target-action=promote",
                                   "--archive-mode=off", "restore"), "restore")
        scratch = EmbeddedPostgres(data, free_port(), find_binaries("system"), settings={"archive_mode": "off"})
        try:
            scratch.start(timeout=3600)
            while True:
                with psycopg.connect(host="127.0.0.1", port=scratch.port, user="postgres", password=password,
                                     dbname="smc_trading") as c:
                    if not c.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                        break
                time.sleep(0.2)
        finally:
            scratch.destroy()

    t_erest, _ = timed(engine_restore)

    # PITR: more trades after the backup, a moment T, more trades; restore to T
    with conn() as c:
        c.execute("INSERT INTO trades (user_id, symbol, side, order_type, quantity, price, status) "
                  "SELECT (SELECT id FROM users LIMIT 1), 'BTCUSDT', 'buy', 'market', 1, 100, 'filled' "
                  "FROM generate_series(1, %s)", (max(1000, trades // 10),))
        write_marker(c, "bench")
        time.sleep(1.2)
        target = c.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        at_t = c.execute("SELECT count(*) FROM trades").fetchone()[0]  # type: ignore[index]
        time.sleep(0.2)
        c.execute("INSERT INTO trades (user_id, symbol, side, order_type, quantity, price, status) "
                  "SELECT (SELECT id FROM users LIMIT 1), 'BTCUSDT', 'sell', 'market', 1, 100, 'filled' "
                  "FROM generate_series(1, 1000)")
        write_marker(c, "bench")
        wait_archived(c, timeout=600)
        markers = read_markers(c)
    outcome = restore_and_prove(cfg, lay, target, markers, tables=["trades"], timeout=3600)
    assert not outcome.proof.problems and outcome.table_rows["trades"] == at_t, (outcome.proof, outcome.table_rows)

    # the exact per-table check: a logical snapshot inside the window, more trades, then the check
    t_logical, manifest = timed(lambda: create_backup(cfg, open_store(cfg)))
    with conn() as c:
        c.execute("INSERT INTO trades (user_id, symbol, side, order_type, quantity, price, status) "
                  "SELECT (SELECT id FROM users LIMIT 1), 'ETHUSDT', 'buy', 'market', 1, 100, 'filled' "
                  "FROM generate_series(1, 1000)")
        wait_archived(c, timeout=600)
        upper = lsn_value(str(c.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]))  # type: ignore[index]
    choice = find_snapshot(cfg, backup_sets(engine.info(lay)), system_id=manifest.system_identifier,
                           upper_lsn=upper, now=manifest.created_at)
    assert not isinstance(choice, str), choice
    t_exact, (verdict, _facts) = timed(lambda: verify_at_lsn(cfg, lay, choice, timeout=3600))
    assert verdict.verdict == "proven", verdict

    print()
    print(f"{'':44} {'pg_dump/restore':>15} {'pgBackRest':>11} {'ratio':>7}")
    print(f"{'full backup wall time (s)':44} {t_dump:15.2f} {t_full:11.2f} {t_full / t_dump:7.2f}")
    print(f"{'restore wall time (s)':44} {t_prest:15.2f} {t_erest:11.2f} {t_erest / t_prest:7.2f}")
    print(f"{'PITR restore to T (restore+replay+promote, s)':44} {'-':>15} {outcome.rto_seconds:11.2f}")
    print(f"{'exact check: restore to the snapshot LSN + facts (s)':44} {'-':>15} {t_exact:11.2f}")
    print(f"{'  (smc-maint logical backup with fingerprints, s)':44} {t_logical:15.2f}")
    print(f"\nexact check: {verdict.reason} (backup {manifest.backup_id}, WAL {choice.lsn})")
    print(f"PITR proof: {outcome.proof.markers_found}/{outcome.proof.markers_expected} markers, "
          f"{outcome.table_rows['trades']:,} trades at T (exact); {outcome.proof.stop_line}")


def _build(conn, days: int, per_day: int) -> None:  # type: ignore[no-untyped-def]
    with conn() as c:
        demo_data.create_schema(c)
        demo_data.populate(c, days=days, trades_per_day=per_day, users=200)
        c.execute("VACUUM ANALYZE")


if __name__ == "__main__":
    main()
