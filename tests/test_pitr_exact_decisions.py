"""The pure decisions of the exact per-table PITR check: which snapshot, which set, what a difference means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smc_maint.backups.catalog import BackupInfo
from smc_maint.backups.manifest import Artifact, Manifest, TableFacts
from smc_maint.pitr.exact import NOT_RUN_SUMMARY, Snapshot, choose, decide, lsn_text, stop_problems
from smc_maint.pitr.restore import RecoveryTarget
from smc_maint.pitr.sets import BackupSet, backup_sets, lsn_value, set_before_lsn
from smc_maint.pitr.verdict import Facts, Targets, recoverability
from smc_maint.result import Status

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CLUSTER = "7716308874013433082"


def _set(label: str, stop_lsn: int | None, system_id: str | None = CLUSTER, hours_ago: float = 5) -> BackupSet:
    at = NOW - timedelta(hours=hours_ago)
    return BackupSet(label, "full", at, at, 1, 1, stop_lsn, system_id)


def _backup(backup_id: str, lsn: str | None, *, snapshot: str | None = "783:790:785,787",
            system_id: str | None = CLUSTER, hours_ago: float = 1) -> BackupInfo:
    m = Manifest(backup_id=backup_id, created_at=NOW - timedelta(hours=hours_ago), tool_version="t",
                 database="smc_trading", system_identifier=system_id, server_version="15.18",
                 server_version_num=150000, database_size_bytes=1, snapshot="00000003-1", wal_lsn=lsn,
                 xact_snapshot=snapshot, dump_format="custom", pg_dump_version="15", duration_seconds=1.0,
                 artifacts=[Artifact(name="database.dump", size=1, sha256="0" * 64)],
                 tables={"trades": TableFacts(rows=100, fingerprint="r:1")})
    return BackupInfo(m, None)


def test_wal_positions_parse_and_compare_as_numbers() -> None:
    assert lsn_value("0/2000100") == 0x2000100
    assert lsn_value("16/B374D848") == (0x16 << 32) | 0xB374D848
    assert lsn_value("0/A0000000") > lsn_value("0/9FFFFFFF"), "not as text: as a number"
    assert lsn_text(lsn_value("16/B374D848")) == "16/B374D848"
    for bad in ("", "12", "0/xyz", "0/1; DROP"):
        with pytest.raises(ValueError):
            lsn_value(bad)


def test_snapshot_text_parses() -> None:
    assert Snapshot.parse("783:783:") == Snapshot(783, 783, ())
    assert Snapshot.parse("100:110:101,105") == Snapshot(100, 110, (101, 105))


def test_info_gives_each_set_its_stop_lsn_and_cluster() -> None:
    info = {"db": [{"id": 1, "system-id": int(CLUSTER), "version": "15"}],
            "backup": [{"label": "F1", "type": "full", "timestamp": {"start": 1796593163, "stop": 1796593166},
                        "lsn": {"start": "0/2000028", "stop": "0/2000100"}, "database": {"id": 1}},
                       {"label": "F0", "type": "full", "timestamp": {"start": 1796593000, "stop": 1796593001},
                        "database": {"id": 1}}]}
    sets = backup_sets(info)
    assert [s.label for s in sets] == ["F0", "F1"]
    assert sets[1].stop_lsn == 0x2000100 and sets[1].system_id == CLUSTER
    assert sets[0].stop_lsn is None, "an old pgBackRest without lsn: no position, never picked by one"


def test_the_newest_set_ending_before_the_position_is_restored_from() -> None:
    sets = [_set("F1", 0x100), _set("D2", 0x300), _set("D3", 0x500), _set("X", 0x200, "other")]
    assert set_before_lsn(sets, 0x400).label == "D2"  # type: ignore[union-attr]
    assert set_before_lsn(sets, 0x500).label == "D2", "a set ending at the position is not before it"  # type: ignore[union-attr]
    assert set_before_lsn(sets, 0x501).label == "D3"  # type: ignore[union-attr]
    assert set_before_lsn(sets, 0x100) is None
    assert set_before_lsn(sets, 0x250, CLUSTER).label == "F1", "another cluster's set is never used"  # type: ignore[union-attr]


def test_choose_the_newest_trusted_snapshot_in_the_window() -> None:
    sets = [_set("F1", 0x1000), _set("D2", 0x5000)]
    newest, older = _backup("b3", "0/6000"), _backup("b2", "0/3000", hours_ago=3)
    got = choose([newest, older], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert not isinstance(got, str)
    assert (got.backup.id, got.backup_set.label, got.lsn) == ("b3", "D2", "0/6000")
    assert got.snapshot == Snapshot(783, 790, (785, 787))
    # an older snapshot, before the newer set ended: restored from the set that ended before it
    got = choose([older], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert not isinstance(got, str) and got.backup_set.label == "F1"


def test_no_snapshot_in_the_window_says_why_and_is_not_a_failure() -> None:
    sets = [_set("F1", 0x5000)]
    assert choose([], sets, system_id=CLUSTER, upper_lsn=0x9000) == NOT_RUN_SUMMARY
    before = choose([_backup("b1", "0/4000")], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert before == NOT_RUN_SUMMARY, "taken before the oldest set ended: outside the window"
    standby = choose([_backup("b1", None)], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert standby == NOT_RUN_SUMMARY, "a standby's backup records no position"
    other = choose([_backup("b1", "0/6000", system_id="123")], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert isinstance(other, str) and "b1 is not of this cluster" in other
    unknown = choose([_backup("b1", "0/6000", system_id=None)], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert isinstance(unknown, str) and "cluster unknown" in unknown
    ahead = choose([_backup("b1", "0/A000")], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert isinstance(ahead, str) and "after the archived WAL" in ahead
    bad = choose([_backup("b1", "0/6000", snapshot="garbage")], sets, system_id=CLUSTER, upper_lsn=0x9000)
    assert isinstance(bad, str) and "malformed" in bad
    # a bad newest one does not hide a good older one
    good = choose([_backup("b2", "0/6000", snapshot="x"), _backup("b1", "0/5800", hours_ago=2)], sets,
                  system_id=CLUSTER, upper_lsn=0x9000)
    assert not isinstance(good, str) and good.backup.id == "b1"


FACTS = {"trades": TableFacts(rows=131, fingerprint="r:99"), "users": TableFacts(rows=3, fingerprint="r:7"),
         "cache": TableFacts(rows=5, fingerprint="t:5")}


def test_equal_tables_are_proven_and_unlogged_ones_left_out_by_name() -> None:
    restored = {**FACTS, "cache": TableFacts(rows=0, fingerprint="t:0")}  # unlogged: empty after recovery
    v = decide(FACTS, restored, unlogged=["cache"])
    assert (v.status, v.verdict, v.tables_checked, v.mismatches, v.skipped) == (
        Status.OK, "proven", 2, [], ["cache"])


def test_a_differing_table_is_critical_naming_it_and_both_row_counts() -> None:
    fewer = {**FACTS, "trades": TableFacts(rows=120, fingerprint="r:80")}
    v = decide(FACTS, fewer)
    assert v.status is Status.CRITICAL and v.verdict == "mismatch"
    assert v.mismatches == ["trades: 120 rows at the LSN, 131 in the snapshot"]
    changed = {**FACTS, "users": TableFacts(rows=3, fingerprint="r:8")}
    v = decide(FACTS, changed)
    assert v.status is Status.CRITICAL
    assert v.mismatches == ["users: content differs (fingerprint), 3 rows both at the LSN and in the snapshot"]
    extra = decide(FACTS, {**FACTS, "later": TableFacts(rows=1, fingerprint="r:1")})
    assert extra.status is Status.CRITICAL and extra.mismatches == ["later: 1 rows at the LSN, not in the snapshot"]
    gone = decide(FACTS, {k: v for k, v in FACTS.items() if k != "users"})
    assert gone.status is Status.CRITICAL and gone.mismatches == ["users: missing at the LSN (3 rows in the snapshot)"]


def test_a_commit_that_raced_the_lsn_read_makes_a_difference_not_applicable() -> None:
    more = {**FACTS, "trades": TableFacts(rows=132, fingerprint="r:100")}
    v = decide(FACTS, more, raced=[790])
    assert v.status is Status.WARNING and v.verdict == "not_applicable"
    assert "790" in v.reason and "raced the LSN read" in v.reason
    assert v.mismatches and v.mismatches[0].startswith("trades:")
    # a raced commit elsewhere (xids are cluster-wide: another database) changes nothing here: proven
    elsewhere = decide(FACTS, FACTS, raced=[790])
    assert elsewhere.verdict == "proven" and elsewhere.to_json("b", "0/1")["raced_xids"] == [790]


def test_a_restore_that_did_not_stop_at_the_position_is_critical() -> None:
    log = 'LOG:  recovery stopping before WAL location (LSN) "0/3000028"\nLOG:  redo done at 0/3000000\n'
    assert stop_problems(log, "0/3000028") == []
    assert stop_problems(log, "0/3000030") == [
        "the server log does not say recovery stopped before WAL location 0/3000030"]
    short = stop_problems("FATAL:  recovery ended before configured recovery target was reached", "0/3000028")
    assert "recovery ended before" in short[0]
    v = decide(FACTS, FACTS, stop=short)
    assert v.status is Status.CRITICAL and v.verdict == "failed" and v.mismatches == short


def test_recovery_target_options() -> None:
    at = datetime(2026, 12, 4, 21, 0, 0, 5, tzinfo=UTC)
    assert RecoveryTarget(time=at).args() == ["--type=time", "--target=2026-12-04 21:00:00.000005+00:00",
                                              "--target-action=promote", "--archive-mode=off"]
    assert RecoveryTarget(lsn="0/3000028", backup_set="20261206-213923F").args() == [
        "--type=lsn", "--target=0/3000028", "--target-exclusive", "--set=20261206-213923F",
        "--target-action=promote", "--archive-mode=off"]
    # the end of the archived WAL: no target and no target action (pgBackRest rejects one with type default)
    assert RecoveryTarget(latest=True).args() == ["--type=default", "--archive-mode=off"]
    assert RecoveryTarget(latest=True, backup_set="20261206-213923F").args() == [
        "--type=default", "--set=20261206-213923F", "--archive-mode=off"]
    for bad in (RecoveryTarget(), RecoveryTarget(time=at, latest=True), RecoveryTarget(time=at, lsn="0/3000028")):
        with pytest.raises(ValueError):
            bad.args()


def test_the_verdict_says_whether_the_last_proof_was_exact() -> None:
    targets = Targets(300, 3600, 600, 7, 35)
    base = Facts(NOW, NOW - timedelta(days=10), NOW - timedelta(seconds=20), NOW - timedelta(days=3),
                 NOW - timedelta(days=3, hours=1), 95.0, Status.OK)
    assert "2026-12-01 12:00:00 UTC, RTO 95 s" in recoverability(base, targets).summary
    exact = recoverability(Facts(**{**base.__dict__, "last_proof_exact": True}), targets)
    assert "last proven restore 2026-12-01 12:00:00 UTC with the exact per-table check, RTO 95 s" in exact.summary
    plain = recoverability(Facts(**{**base.__dict__, "last_proof_exact": False}), targets)
    assert "without the exact per-table check" in plain.summary and plain.status is Status.OK
