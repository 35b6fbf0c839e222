"""``dr-drill`` with point-in-time recovery: a real archiving PostgreSQL and the real pgBackRest; the
DR copy is restored to the end of the archived WAL and its RPO proven from the server's log."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import psutil
import pytest

from smc_maint.backups import markers
from smc_maint.backups.markers import Marker
from smc_maint.backups.restore_test import RestoreTestFailed
from smc_maint.dr.measure import RpoFacts, rpo_seconds
from smc_maint.dr.source import choose_source
from smc_maint.pitr.latest import check_latest, last_transaction_at
from smc_maint.pitr.restore import wait_archived
from smc_maint.procedures import dr_drill, physical_backup
from smc_maint.result import Status

from .backup_support import make_ctx
from .pitr_support import ArchivingDb, archiving_db

__all__ = ["archiving_db"]

T0 = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


def _max_trade(db: ArchivingDb) -> datetime:
    with db.connect() as conn:
        row = conn.execute('SELECT max("timestamp") FROM trades').fetchone()
        assert row is not None and isinstance(row[0], datetime)
        return row[0]


def test_pitr_drill_restores_to_the_last_archived_transaction_and_measures_that_rpo(
        archiving_db: ArchivingDb) -> None:
    db = archiving_db
    with db.connect() as conn:  # no segment switch by the clock during the test: only ours ship WAL
        conn.execute("ALTER SYSTEM SET archive_timeout = '1h'")
        conn.execute("SELECT pg_reload_conf()")
    assert physical_backup.run(make_ctx(db.cfg), physical_backup.Settings()).status is Status.OK
    db.insert_trades(5)
    archived = _max_trade(db)
    with db.connect() as conn:
        wait_archived(conn)
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        shipped: datetime = row[0]
    db.insert_trades(3)  # committed, never archived: a disaster now loses them
    unarchived = _max_trade(db)
    assert unarchived > shipped > archived

    plan = dr_drill.run(make_ctx(db.cfg, dry_run=True), dr_drill.Settings()).details["plan"]
    assert plan["source"] == "pitr" and "pgBackRest is configured" in plan["source_note"]  # auto: pitr
    assert any("last archived transaction" in c for c in plan["checks"])
    result = dr_drill.run(make_ctx(db.cfg), dr_drill.Settings(source="pitr", pitr_timeout_seconds=120))
    assert result.status is Status.OK, result.summary + str(result.details)
    assert "and the archived WAL" in result.summary
    d = result.details
    assert d["source"] == "pitr" and d["plan"]["source"] == "pitr"
    assert d["verified"].startswith("markers up to the last archived transaction"), d["verified"]
    assert d["verify_problems"] == [] and d["differences"] == [] and d["health_problems"] == []
    # the copy's newest trade is the archived one: the 5 are there, the 3 are not
    assert d["trades_gap_seconds"] == pytest.approx((unarchived - archived).total_seconds(), abs=0.001)
    with db.connect() as conn:
        mine = markers.read_markers(conn, purpose="dr-drill")
    assert len(mine) == 1
    assert d["marker_in_copy"] is False
    last = datetime.fromisoformat(d["copy_last_transaction_at"])
    assert archived <= last <= shipped  # the archived insert's commit, or a later one in the shipped segment
    rpo = result.figures["rpo_seconds"]
    assert rpo > 0
    assert rpo == pytest.approx((mine[0].written_at - last).total_seconds(), abs=0.001)
    assert rpo >= (mine[0].written_at - shipped).total_seconds() - 0.001
    assert set(d["phases"]) == {"fetch", "restore", "verify", "bring_up", "health"}
    assert d["phases"]["restore"] > 0
    assert result.figures["rto_seconds"] >= sum(d["phases"].values()) * 0.99
    # the runbook's non-empty check holds for a point-in-time copy too
    bad = dr_drill.run(make_ctx(db.cfg), dr_drill.Settings(source="pitr", pitr_timeout_seconds=120,
                                                        require_rows=["trades", "no_such"]))
    assert bad.status is Status.CRITICAL and bad.force_alert, bad.summary
    assert bad.details["verify_problems"] == ["no_such: does not exist (runbook check: must have rows)"]
    work = db.cfg.config.backup.work_dir
    assert work is not None
    assert list(work.glob("pitr-*")) == [], "the scratch data directory is removed"
    assert [p for p in psutil.process_iter(["cmdline"])
            if str(work) in " ".join(p.info.get("cmdline") or [])] == [], "the scratch server is stopped"


def test_pitr_source_without_an_engine_is_a_clear_failure(archiving_db: ArchivingDb) -> None:
    cfg = archiving_db.cfg
    engine = cfg.config.backup.engine.model_copy(update={"kind": "none"})
    backup = cfg.config.backup.model_copy(update={"engine": engine})
    no_engine = dataclasses.replace(cfg, config=cfg.config.model_copy(update={"backup": backup}))
    result = dr_drill.run(make_ctx(no_engine), dr_drill.Settings(source="pitr", pitr_timeout_seconds=120))
    assert result.status is Status.CRITICAL and "backup.engine.kind: pgbackrest" in result.summary, result.summary


# -- pure decisions ---------------------------------------------------------------------------------------

def test_the_source_decision() -> None:
    assert choose_source("auto", "pgbackrest", "local")[0] == "pitr"
    source, why = choose_source("auto", "pgbackrest", "server")
    assert source == "logical" and "target is server" in why  # said in the plan
    assert choose_source("auto", "none", "local")[0] == "logical"
    assert choose_source("logical", "pgbackrest", "local")[0] == "logical"
    assert choose_source("pitr", "pgbackrest", "local")[0] == "pitr"
    with pytest.raises(RestoreTestFailed, match=r"backup\.engine\.kind: pgbackrest"):
        choose_source("pitr", "none", "local")
    with pytest.raises(RestoreTestFailed, match="target: local"):
        choose_source("pitr", "pgbackrest", "server")


def test_the_last_completed_transaction_is_read_from_the_recovery_log() -> None:
    log = ("2026-12-06 22:01:02.345 UTC [81] LOG:  redo done at 0/5000110 system usage: CPU: user: 0.00 s\n"
           "2026-12-06 22:01:02.345 UTC [81] LOG:  last completed transaction was at log time "
           "2026-12-06 22:00:57.123456+00\n"
           "2026-12-06 22:01:02.400 UTC [81] LOG:  selected new timeline ID: 2\n")
    assert last_transaction_at(log) == datetime(2026, 12, 6, 22, 0, 57, 123456, tzinfo=UTC)
    india = "LOG:  last completed transaction was at log time 2026-12-07 03:30:57.5+05:30\n"
    assert last_transaction_at(india) == datetime(2026, 12, 6, 22, 0, 57, 500000, tzinfo=UTC)
    assert last_transaction_at("LOG:  last completed transaction was at log time 2026-12-06 22:00:57-08\n") == \
        datetime(2026, 12, 7, 6, 0, 57, tzinfo=UTC)
    assert last_transaction_at("LOG:  redo done at 0/5000110\n") is None  # nothing replayed after the backup
    assert last_transaction_at("LOG:  last completed transaction was at log time soon\n") is None


def _m(i: int, seconds: float) -> Marker:
    at = T0 + timedelta(seconds=seconds)
    return Marker(i, at, "dr-drill", "", at + timedelta(milliseconds=2))


def test_the_copys_markers_must_agree_with_the_last_transaction() -> None:
    source = [_m(1, -100), _m(2, -10), _m(3, 5)]
    floor = T0 - timedelta(seconds=50)  # the backup set's start
    ok = check_latest(source, source[:2], T0, floor)
    assert ok.problems == [] and (ok.markers_found, ok.markers_expected) == (2, 2)
    missing = check_latest(source, source[:1], T0, floor)
    assert "1 marker(s) committed by" in missing.problems[0]
    past = check_latest(source, source, T0, floor)
    assert "written after" in past.problems[0]
    # no transaction named by the log: only what the set surely holds is checked
    assert check_latest(source, source[:1], None, floor).problems == []
    assert check_latest(source, source, None, floor).problems == []
    assert check_latest(source, [], None, floor).markers_expected == 1


def test_the_pitr_rpo_is_the_marker_minus_the_copys_newest_provable_point() -> None:
    base = {"marker_at": T0, "marker_in_copy": False, "copy_newest_marker_at": T0 - timedelta(hours=1),
            "backup_snapshot_at": T0 - timedelta(days=1), "prod_max_trade": None, "copy_max_trade": None}
    assert rpo_seconds(RpoFacts(**base, copy_last_xact_at=T0 - timedelta(seconds=4.25))) == 4.25  # type: ignore[arg-type]
    assert rpo_seconds(RpoFacts(**base)) == 3600  # type: ignore[arg-type]
    assert rpo_seconds(RpoFacts(**{**base, "marker_in_copy": True},  # type: ignore[arg-type]
                                copy_last_xact_at=T0 - timedelta(seconds=4))) == 0
