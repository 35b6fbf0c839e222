"""The pure decisions of point-in-time recovery: archiving, the proof of a stop, the one verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smc_maint.backups.markers import Marker
from smc_maint.pitr.archiving import ArchiverFacts, assess
from smc_maint.pitr.proof import prove
from smc_maint.pitr.sets import BackupSet, next_backup_type
from smc_maint.pitr.verdict import Facts, Targets, recoverability
from smc_maint.result import Status

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
TARGETS = Targets(rpo_target_seconds=300, rpo_critical_seconds=3600, rto_target_seconds=600,
                  retention_target_days=7, proof_max_age_days=35)


def facts(**kw: object) -> ArchiverFacts:
    base: dict[str, object] = {"archive_mode": "on", "archive_command": "pgbackrest ... archive-push %p",
                               "archive_timeout_seconds": 60, "archived_count": 10, "last_archived_wal": "000000010000000000000009",
                               "last_archived_time": NOW - timedelta(seconds=30), "failed_count": 4,
                               "last_failed_wal": None, "last_failed_time": NOW - timedelta(days=2)}
    base.update(kw)
    return ArchiverFacts(**base)  # type: ignore[arg-type]


def test_old_failures_do_not_alert_again_only_new_ones_do() -> None:
    assert assess(facts(), 4, NOW, rpo_target_seconds=300, rpo_critical_seconds=3600).status is Status.OK
    new = assess(facts(failed_count=6, last_failed_time=NOW), 4, NOW, rpo_target_seconds=300,
                 rpo_critical_seconds=3600)
    assert new.status is Status.CRITICAL and new.new_failures == 2
    # statistics reset (counter went down): counted from zero
    reset = assess(facts(failed_count=1, last_failed_time=NOW), 4, NOW, rpo_target_seconds=300,
                   rpo_critical_seconds=3600)
    assert reset.new_failures == 1 and reset.status is Status.CRITICAL


def test_rpo_and_archive_timeout_thresholds() -> None:
    warn = assess(facts(last_archived_time=NOW - timedelta(seconds=400)), 4, NOW, rpo_target_seconds=300,
                  rpo_critical_seconds=3600)
    assert warn.status is Status.WARNING and warn.rpo_seconds == 400
    crit = assess(facts(last_archived_time=NOW - timedelta(hours=2)), 4, NOW, rpo_target_seconds=300,
                  rpo_critical_seconds=3600)
    assert crit.status is Status.CRITICAL
    idle = assess(facts(archive_timeout_seconds=0), 4, NOW, rpo_target_seconds=300, rpo_critical_seconds=3600)
    assert idle.status is Status.WARNING and "archive_timeout is 0" in idle.problems[0]
    off = assess(facts(archive_mode="off"), 4, NOW, rpo_target_seconds=300, rpo_critical_seconds=3600)
    assert off.status is Status.CRITICAL


def _m(i: int, minutes: int) -> Marker:
    return Marker(i, NOW + timedelta(minutes=minutes), "scheduled", "")


STOP_LOG = ("LOG:  starting point-in-time recovery to 2026-12-04 12:02:30+00\n"
            "LOG:  recovery stopping before commit of transaction 812, time 2026-12-04 12:03:00.1+00\n")


def test_a_restore_holding_exactly_the_markers_up_to_t_is_proven() -> None:
    source = [_m(1, 0), _m(2, 1), _m(3, 2), _m(4, 3)]
    target = NOW + timedelta(minutes=2, seconds=30)
    ok = prove(source, source[:3], target, STOP_LOG)
    assert ok.problems == [] and ok.markers_found == 3 and ok.stop_line is not None
    early = prove(source, source[:2], target, STOP_LOG)
    assert "stopped early" in early.problems[0]
    past = prove(source, source, target, "LOG:  redo done at 0/3000100\n")
    assert any("past the target" in p for p in past.problems)
    assert any("does not say recovery stopped" in p for p in past.problems)
    short = prove(source, source[:3], target, "FATAL:  recovery ended before configured recovery target was reached")
    assert any("recovery ended before" in p for p in short.problems)


def test_full_when_none_or_old_else_differential() -> None:
    full = BackupSet("F", "full", NOW - timedelta(days=3), NOW - timedelta(days=3), 1, 1)
    assert next_backup_type([], NOW, 7) == "full"
    assert next_backup_type([full], NOW, 7) == "diff"
    assert next_backup_type([full], NOW, 2) == "full"


def test_the_one_verdict() -> None:
    good = Facts(NOW, NOW - timedelta(days=10), NOW - timedelta(seconds=20), NOW - timedelta(days=3),
                 NOW - timedelta(days=3, hours=1), 95.0, Status.OK)
    v = recoverability(good, TARGETS)
    assert v.status is Status.OK, v.reasons
    assert v.summary == ("recoverable to any moment from 2026-11-24 12:00:00 UTC to 2026-12-04 11:59:40 UTC; "
                         "last proven restore 2026-12-01 12:00:00 UTC, RTO 95 s; RPO now 20 s; "
                         "retention covers 10.0 days")
    slow = recoverability(Facts(**{**good.__dict__, "last_proof_rto_seconds": 900.0}), TARGETS)
    assert slow.status is Status.WARNING and "RTO 900 s" in slow.reasons[0]
    never = recoverability(Facts(**{**good.__dict__, "last_proof_at": None}), TARGETS)
    assert never.status is Status.WARNING and "last proven restore never" in never.summary
    stale = recoverability(Facts(**{**good.__dict__, "window_end": NOW - timedelta(hours=3)}), TARGETS)
    assert stale.status is Status.CRITICAL
    broken = recoverability(Facts(**{**good.__dict__, "archive_status": Status.CRITICAL,
                                     "archive_problems": ("archive_command failed 3 time(s)",)}), TARGETS)
    assert broken.status is Status.CRITICAL and "archive_command failed" in broken.reasons[0]
    nothing = recoverability(Facts(NOW, None, None, None, None, None, Status.OK), TARGETS)
    assert nothing.status is Status.CRITICAL


def test_archiving_failing_now_is_critical_even_without_a_new_count() -> None:
    now_failing = facts(last_failed_time=NOW - timedelta(seconds=5), last_archived_time=NOW - timedelta(seconds=60))
    found = assess(now_failing, 4, NOW, rpo_target_seconds=300, rpo_critical_seconds=3600)
    assert found.status is Status.CRITICAL and found.new_failures == 0
    assert "after the last success" in found.problems[0]


def test_a_marker_whose_commit_bracket_holds_t_is_judged_by_neither_side() -> None:
    """Recovery to T goes by commit time; a marker inserted just before T may commit just after it.
    Judged by its insert time alone, its rightful absence read as "recovery stopped early"."""
    target = NOW + timedelta(minutes=2)
    straddling = Marker(3, target - timedelta(milliseconds=2), "scheduled", "", target + timedelta(milliseconds=3))
    committed = Marker(2, NOW, "scheduled", "", NOW + timedelta(milliseconds=4))
    later = Marker(4, target + timedelta(minutes=1), "scheduled", "", target + timedelta(minutes=1, milliseconds=2))
    source = [committed, straddling, later]
    for restored in ([committed], [committed, straddling]):  # either side is right for it
        assert prove(source, restored, target, STOP_LOG).problems == []
    assert "stopped early" in prove(source, [], target, STOP_LOG).problems[0]
    assert "past the target" in prove(source, [*source], target, STOP_LOG).problems[0]
    # committed before T by its bracket's end: must be there
    surely = Marker(5, target - timedelta(seconds=1), "scheduled", "", target - timedelta(milliseconds=990))
    assert "stopped early" in prove([surely, later], [], target, STOP_LOG).problems[0]


@pytest.mark.parametrize("output", ["not json", '{"name": "smc"}', '[{"name": "smc", "backup": [{"label": 1}]}]',
                                    '[{"name": "smc", "backup": [{"label": "x", "timestamp": {"stop": "soon"}}]}]',
                                    '[{"name": "smc", "db": 5}]', '[{"name": "smc", "status": []}]'])
def test_pgbackrest_info_of_an_unexpected_shape_is_an_engine_error_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    import subprocess
    from types import SimpleNamespace

    from smc_maint.pitr import engine

    monkeypatch.setattr(engine, "run", lambda lay, *a, **k: subprocess.CompletedProcess(["pgbackrest"], 0, output, ""))
    with pytest.raises(engine.EngineError, match="info output not understood"):
        engine.info(SimpleNamespace(engine=SimpleNamespace(stanza="smc")))  # type: ignore[arg-type]
