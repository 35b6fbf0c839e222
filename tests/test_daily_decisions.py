"""The pure decisions of the daily procedures, case by case (no I/O)."""

from __future__ import annotations

import pytest

from smc_maint.adapters.host import DiskUsage, HostFacts
from smc_maint.health.endpoints import Endpoint, Probe, judge
from smc_maint.procedures import health, log_cleanup
from smc_maint.result import Status

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.mark.parametrize(("name", "live"), [
    ("engine.log", True), ("error.log", True), ("engine.log.1", False), ("engine.log.2.gz", False),
    ("orders-2026-10-01.log", False), ("orders-20261001.log", False), ("build-12345.log", True),
    ("app.json", False),
])
def test_live_log_names(name: str, live: bool) -> None:
    assert log_cleanup.is_live_log(name) is live


def _cand(name: str, age_days: float, **kw: object) -> log_cleanup.Candidate:
    base: dict[str, object] = {"path": f"/logs/{name}", "size": 10, "mtime": NOW - age_days * DAY,
                               "is_symlink": False, "is_regular": True, "inside_root": True}
    base.update(kw)
    return log_cleanup.Candidate(**base)  # type: ignore[arg-type]


RULE = log_cleanup.Rule(path="/logs", max_age_days=7)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cand", "delete", "reason"), [
    (_cand("a.log.1", 8), True, "older than 7 days"),
    (_cand("a.log.1", 6.9), False, "newer than 7 days"),
    (_cand("a.log", 30), False, "live log"),
    (_cand("a.log.1", 30, open_by=(42,)), False, "open by process 42"),
    (_cand("a.log.1", 30, is_symlink=True), False, "symlink"),
    (_cand("a.log.1", 30, inside_root=False), False, "resolves outside"),
    (_cand("a.log.1", 30, is_regular=False), False, "not a regular file"),
    # a symlink that is also open and old is still refused as a symlink: the safest reason wins
    (_cand("a.log.1", 30, is_symlink=True, open_by=(1,)), False, "symlink"),
])
def test_cleanup_decision(cand: log_cleanup.Candidate, delete: bool, reason: str) -> None:
    d = log_cleanup.decide(cand, RULE, NOW)
    assert d.delete is delete
    assert d.reason.startswith(reason)


def test_open_live_log_is_kept_even_without_keep_live() -> None:
    rule = log_cleanup.Rule(path="/logs", max_age_days=7, keep_live=False)  # type: ignore[arg-type]
    assert log_cleanup.decide(_cand("a.log", 30), rule, NOW).delete
    assert not log_cleanup.decide(_cand("a.log", 30, open_by=(7,)), rule, NOW).delete


EP = Endpoint(name="api", url="https://api.example/health")


@pytest.mark.parametrize(("code", "location", "ok", "reason"), [
    (200, None, True, "HTTP 200"),
    (503, None, False, "HTTP 503; expected 200"),
    (301, "https://login.example/", False, "redirected (HTTP 301) to https://login.example/"),
    (204, None, False, "HTTP 204; expected 200"),
])
def test_endpoint_judgement(code: int, location: str | None, ok: bool, reason: str) -> None:
    got_ok, got_reason = judge(EP, code, location)
    assert got_ok is ok and got_reason.startswith(reason)


def _host(cpu: float = 10, mem: float = 10, disk: float = 10, load1: float | None = None) -> HostFacts:
    """Host facts on one CPU; by default the 1-minute load matches the CPU sample (sustained use)."""
    return HostFacts(cpu, mem, cpu / 100 if load1 is None else load1, [DiskUsage("/", int(disk), 100, disk)],
                     cpu_count=1)


UP = health.DbProbe(True, 0.001, 0.01, None)


@pytest.mark.parametrize(("db", "probes", "hostf", "status", "problem"), [
    (UP, [], _host(), Status.OK, None),
    (health.DbProbe(False, None, None, "refused"), [], _host(), Status.CRITICAL, "database unreachable: refused"),
    (health.DbProbe(True, 0.7, 0.01, None), [], _host(), Status.WARNING, "database latency 700 ms"),
    (health.DbProbe(True, 2.5, 0.01, None), [], _host(), Status.CRITICAL, "database latency 2500 ms"),
    (UP, [Probe("api", "u", False, 500, 0.1, "HTTP 500")], _host(), Status.CRITICAL, "endpoint api: HTTP 500; url u"),
    (UP, [], _host(cpu=92), Status.WARNING, "CPU at 92%"),
    (UP, [], _host(cpu=99, load1=0.2), Status.OK, None),  # a one-second spike on a quiet machine
    (UP, [], _host(mem=99), Status.CRITICAL, "memory at 99%"),
    (UP, [], _host(disk=86), Status.WARNING, "disk / at 86%"),
    (UP, [], _host(disk=96), Status.CRITICAL, "disk / at 96%"),
])
def test_health_evaluation(db: health.DbProbe, probes: list[Probe], hostf: HostFacts, status: Status,
                           problem: str | None) -> None:
    got, problems, figures = health.evaluate(db, probes, hostf, health.Settings(endpoints=[]))  # none on purpose
    assert got is status
    if problem is None:
        assert problems == []
    else:
        assert problems[0].startswith(problem)
    assert figures["db_up"] == (1.0 if db.up else 0.0)
    assert figures["endpoints_total"] == len(probes)


def test_threshold_order_is_validated() -> None:
    with pytest.raises(ValueError, match="critical must be >= warning"):
        health.Limits(warning=90, critical=80)
