"""The exact per-table PITR check end to end: a real archiving PostgreSQL, the real pgBackRest, a
logical backup in between whose manifest records where its snapshot sits in WAL."""

from __future__ import annotations

import json
import time

from smc_maint.backups.catalog import BackupInfo
from smc_maint.backups.create import create_backup
from smc_maint.backups.manifest import MANIFEST
from smc_maint.pitr import engine
from smc_maint.pitr.exact import Snapshot, choose
from smc_maint.pitr.exact_restore import verify_at_lsn
from smc_maint.pitr.sets import backup_sets, lsn_value
from smc_maint.procedures import physical_backup, pitr_restore_test
from smc_maint.result import Status
from smc_maint.stores.factory import open_store

from .backup_support import make_ctx
from .pitr_support import ArchivingDb, archiving_db

__all__ = ["archiving_db"]


def test_restore_to_the_snapshots_position_equals_every_table_and_a_difference_is_critical(
        archiving_db: ArchivingDb) -> None:
    db = archiving_db
    assert physical_backup.run(make_ctx(db.cfg), physical_backup.Settings()).status is Status.OK
    db.insert_trades(11)
    store = open_store(db.cfg)
    manifest = create_backup(db.cfg, store)
    assert manifest.wal_lsn is not None and manifest.xact_snapshot is not None
    assert Snapshot.parse(manifest.xact_snapshot).xmax > 0
    db.insert_trades(7)
    with db.connect() as conn:
        row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        later_lsn = str(row[0])
    assert lsn_value(later_lsn) > lsn_value(manifest.wal_lsn)
    time.sleep(1.2)  # pgBackRest's stop times are whole seconds: the diff must end after the full
    # a set ending after the snapshot's position: restoring from it could not stop there, --set must pick the full
    second = physical_backup.run(make_ctx(db.cfg), physical_backup.Settings())
    assert second.status is Status.OK and second.details["type"] == "diff", second.summary
    sets = backup_sets(engine.info(engine.layout(db.cfg)))
    assert sets[1].stop_lsn is not None and sets[1].stop_lsn > lsn_value(manifest.wal_lsn)

    ok = pitr_restore_test.run(make_ctx(db.cfg), pitr_restore_test.Settings())
    assert ok.status is Status.OK, ok.summary + json.dumps(ok.details, default=str)
    exact = ok.details["exact"]
    assert exact["verdict"] == "proven" and exact["mismatches"] == [], exact
    assert (exact["backup_id"], exact["lsn"], exact["backup_set"]) == (
        manifest.backup_id, manifest.wal_lsn, sets[0].label)
    assert exact["tables_checked"] == len(manifest.tables) == exact["tables_recorded"] >= 5
    assert exact["rows"]["trades"] == {"restored": manifest.tables["trades"].rows,
                                       "snapshot": manifest.tables["trades"].rows}
    assert ok.details["rows"]["trades"] == manifest.tables["trades"].rows + 7, "the time restore has all trades"
    assert ok.figures["pitr_exact_proven"] == 1.0 and ok.figures["pitr_exact_tables"] == len(manifest.tables)
    assert f"against logical backup {manifest.backup_id}" in ok.summary

    # one recorded fingerprint tampered with: the same restore now differs from the manifest
    data = json.loads(store.read_bytes(f"{manifest.backup_id}/{MANIFEST}"))
    data["tables"]["users"]["fingerprint"] = data["tables"]["users"]["fingerprint"] + "1"
    store.write_bytes(f"{manifest.backup_id}/{MANIFEST}", json.dumps(data).encode())
    bad = pitr_restore_test.run(make_ctx(db.cfg), pitr_restore_test.Settings())
    assert bad.status is Status.CRITICAL and bad.force_alert, bad.summary
    assert bad.details["exact"]["verdict"] == "mismatch"
    users = manifest.tables["users"].rows
    assert bad.details["exact"]["mismatches"] == [
        f"users: content differs (fingerprint), {users} rows both at the LSN and in the snapshot"]
    assert "users: content differs" in bad.summary and bad.figures["pitr_exact_proven"] == 0.0
    assert bad.details["markers_found"] == bad.details["markers_expected"], "the time restore is still proven"

    # the position moved past the 7 later trades: they differ, and the snapshot tells why (their
    # transaction is one it did not see, committed before the position): not applicable, WARNING
    moved = manifest.model_copy(update={"wal_lsn": later_lsn})
    catalog_entry = choose([BackupInfo(moved, None)], sets, system_id=manifest.system_identifier, upper_lsn=1 << 62)
    assert not isinstance(catalog_entry, str)
    verdict, restored = verify_at_lsn(db.cfg, engine.layout(db.cfg), catalog_entry, timeout=300)
    assert restored["trades"].rows == manifest.tables["trades"].rows + 7
    assert verdict.status is Status.WARNING and verdict.verdict == "not_applicable", verdict
    assert "raced the LSN read" in verdict.reason
    trades = manifest.tables["trades"].rows
    assert verdict.mismatches == [f"trades: {trades + 7} rows at the LSN, {trades} in the snapshot"]

