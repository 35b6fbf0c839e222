"""The drill itself: leftovers first, plan, simulated loss, recovery into an isolated target,
verification, health, measurement, and the undo of everything it did (however it ends)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from ..adapters import postgres
from ..adapters.platform.base import Platform, PlatformError
from ..backups import markers
from ..backups.cleanup import always
from ..backups.create import work_dir
from ..backups.restore import Difference
from ..backups.restore_test import restored
from ..backups.stale import reap
from ..config.loader import LoadedConfig
from ..config.model import DatabaseConfig
from ..errors import SafetyRefusal
from ..stores.base import BackupStore
from . import journal as jr
from . import manifests as dr_manifests
from . import outage
from .health import CopyFacts, database_facts, max_trade, probe_until, wait_workloads
from .measure import RpoFacts, rpo_seconds, trades_gap_seconds
from .settings import DrDrillSettings
from .source import Basis, basis, pitr_copy

log = logging.getLogger("smc_maint.dr.drill")
PURPOSE = "dr-drill"
LABEL = "smc-maint/dr-drill"


@dataclass(frozen=True)
class Plan:
    backup_id: str
    backup_created_at: datetime
    store: str
    mode: str  # "local" or "kubernetes"
    dr_target: str
    dr_namespace: str | None
    manifests: list[str]
    checks: list[str]
    production_touched: list[str]
    source: str = "logical"  # or "pitr"
    source_note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"backup": self.backup_id, "backup_created_at": self.backup_created_at.isoformat(),
                "source": self.source, "source_note": self.source_note,
                "store": self.store, "mode": self.mode, "dr_target": self.dr_target,
                "dr_namespace": self.dr_namespace, "manifests": self.manifests, "checks": self.checks,
                "production_touched": self.production_touched or "none"}


@dataclass
class DrillReport:
    plan: Plan
    phases: dict[str, float] = field(default_factory=dict)
    rto_seconds: float = 0.0
    rpo: RpoFacts | None = None
    differences: list[Difference] = field(default_factory=list)
    verified: str = ""  # which verification ran on the copy
    verify_problems: list[str] = field(default_factory=list)  # pitr: markers disagreeing with the log, empty tables
    health_problems: list[str] = field(default_factory=list)
    scaled: list[str] = field(default_factory=list)
    restore_failures: list[str] = field(default_factory=list)
    leftovers_removed: list[str] = field(default_factory=list)
    kept: bool = False
    copy: CopyFacts | None = None  # what the DR copy holds (None: its database did not answer)

    @property
    def rpo_seconds(self) -> float:
        return rpo_seconds(self.rpo) if self.rpo else 0.0


def mode_of(cfg: LoadedConfig, platform_override: Platform | None) -> str:
    return platform_override.kind if platform_override is not None else cfg.config.platform.kind


def journal_path(cfg: LoadedConfig) -> Path:
    return jr.path_in(cfg.home)


def make_plan(cfg: LoadedConfig, store: BackupStore, settings: DrDrillSettings, info: Basis, mode: str,
              production_namespace: str) -> Plan:
    """What the drill will do (pure apart from listing the manifests directory)."""
    db = "a new scratch PostgreSQL server on this machine" if settings.target == "local" else \
        f"a new scratch database on {settings.scratch_server.host}:{settings.scratch_server.port}"
    names: list[str] = []
    if mode == "kubernetes" and settings.manifests_dir is not None:
        names = [f"{o['kind']}/{o['metadata']['name']}"
                 for o in dr_manifests.load(settings.manifests_dir, settings.dr_namespace)]
    checks = ["exact restore verification (every table's rows and fingerprint against the manifest)"
              if info.source == "logical" else "every production marker up to the last archived transaction (the "
              "restored server's log) in the copy, none after it",
              "DR database: connect, query, recovery marker, max(trades.timestamp)"]
    checks += [f"HTTP {ep.name}: {ep.url}" for ep in settings.health_urls]
    if mode == "kubernetes":
        checks.append(f"every workload in {settings.dr_namespace} available")
    checks.append(f"RTO <= {settings.rto_target_seconds:g} s, RPO <= {settings.rpo_target_seconds:g} s "
                  f"(CRITICAL above {settings.critical_factor:g}x)")
    touched = [f"{w.kind}/{w.name} in {production_namespace} scaled to 0 and back" for w in
               settings.production_workloads] if settings.simulate_outage else []
    touched.insert(0, f"one row in {markers.TABLE} of {cfg.config.database.dbname} (the RPO marker)")
    return Plan(info.backup_id, info.created_at, store.description, mode,
                db if mode == "local" else f"namespace {settings.dr_namespace} with the DR manifests; DR database: {db}",
                settings.dr_namespace if mode == "kubernetes" else None, names, checks, touched, info.source, info.note)


def _alive(pid: int) -> bool:
    return pid != os.getpid() and psutil.pid_exists(pid)


def recover(cfg: LoadedConfig, platform: Callable[[], Platform]) -> list[str]:
    """Undo what an earlier drill left (production replica counts first, then its DR namespace) and
    remove scratch leftovers; returns what it did. Raises SafetyRefusal while that drill still runs."""
    done: list[str] = []
    path = journal_path(cfg)
    journal = jr.load(path)
    if journal is not None:
        if _alive(journal.pid):
            raise SafetyRefusal(f"drill {journal.drill_id} (pid {journal.pid}) is still running")
        failures: list[str] = []
        if journal.pending_scale():
            before = [f"{w.kind}/{w.name} -> {w.replicas}" for w in journal.pending_scale()]
            failures = outage.restore(platform(), journal, path)
            done += [f"restored {b}" for b in before if not any(b.split(" ")[0] in f for f in failures)]
        if journal.dr_namespace is not None:
            try:
                p = platform()
                if p.namespace_exists(journal.dr_namespace):
                    p.delete_namespace(journal.dr_namespace)
                    done.append(f"deleted DR namespace {journal.dr_namespace}")
                journal.dr_namespace = None
                jr.save(path, journal)
            except PlatformError as exc:
                failures.append(f"DR namespace {journal.dr_namespace}: {exc}")
        if failures:
            raise SafetyRefusal("could not undo the earlier drill: " + "; ".join(failures) +
                                f" (journal kept in {path})")
        jr.clear(path)
    work = work_dir(cfg)
    if work.exists():
        done += [f"removed {p}" for p in reap(work)]
    return done


@contextlib.contextmanager
def _dr_namespace(platform: Platform, settings: DrDrillSettings, journal: jr.Journal, path: Path,
                  objects: list[dict[str, Any]], report: DrillReport) -> Iterator[None]:
    ns = settings.dr_namespace
    if ns == platform.namespace:
        raise SafetyRefusal(f"dr_namespace {ns} is the production namespace")
    if platform.namespace_exists(ns):
        raise SafetyRefusal(f"DR namespace {ns} already exists and no drill journal claims it; the drill only "
                            "uses a namespace it creates")
    journal.dr_namespace = ns
    jr.save(path, journal)  # before creating it

    def delete() -> None:
        if report.kept:
            return
        platform.delete_namespace(ns)
        journal.dr_namespace = None
        jr.save(path, journal)

    with always(f"DR namespace {ns}", delete):
        platform.create_namespace(ns, {LABEL: journal.drill_id})
        if objects:
            platform.apply(objects, ns)
        yield


def _production_facts(cfg: LoadedConfig, run_id: str) -> tuple[markers.Marker, datetime | None, list[markers.Marker]]:
    """The drill's marker, production's newest trade and every marker (a PITR copy's check)."""
    with postgres.connect(cfg.config.database, autocommit=True) as conn:
        marker = markers.write_marker(conn, PURPOSE, run_id)
        return marker, max_trade(conn), markers.read_markers(conn)


def _check_target(platform: Callable[[], Platform], settings: DrDrillSettings, mode: str, db: DatabaseConfig,
                  report: DrillReport, bring_up_so_far: float) -> None:
    """DR workloads available, the DR database answering, the DR URLs healthy: all within one deadline.
    Fills the report's problems, the bring-up and health phases and what the copy holds."""
    t1 = time.monotonic()
    deadline = t1 + settings.health_deadline_seconds
    if mode == "kubernetes":
        _, problems = wait_workloads(platform(), settings.dr_namespace, deadline)
        report.health_problems += problems
    report.phases["bring_up"] = bring_up_so_far + (time.monotonic() - t1)
    t2 = time.monotonic()
    try:
        left = max(1.0, deadline - time.monotonic())
        report.copy = database_facts(db.model_copy(update={"statement_timeout_seconds": left}))
    except Exception as exc:
        report.health_problems.append(f"DR database: {type(exc).__name__}: {exc}")
    probes = probe_until(list(settings.health_urls), deadline) if settings.health_urls else []
    report.health_problems += [f"{p.name}: {p.reason}" for p in probes if not p.ok]
    report.phases["health"] = time.monotonic() - t2


def _rpo(report: DrillReport, marker: markers.Marker, prod_max: datetime | None, info: Basis,
         last_xact: datetime | None) -> RpoFacts | None:
    if report.copy is None:
        return None
    theirs = markers.newest(report.copy.markers)
    found = any(m.id == marker.id and m.run_id == marker.run_id for m in report.copy.markers)
    return RpoFacts(marker.written_at, found, theirs.written_at if theirs else None, info.provable_at, prod_max,
                    report.copy.max_trade, last_xact)


@contextlib.contextmanager
def _copy(cfg: LoadedConfig, store: BackupStore, settings: DrDrillSettings, info: Basis, now: datetime,
          production: list[markers.Marker], report: DrillReport
          ) -> Iterator[tuple[DatabaseConfig, float, datetime | None]]:
    """The verified DR copy, live for the block: its connection, the seconds its server took to start
    (bring-up; a PITR restore counts them in restore) and its last replayed transaction (PITR).
    Fills the report's fetch, restore and verify phases and what the verification found."""
    if info.source == "pitr":
        with pitr_copy(cfg, info, production, settings.require_rows, timeout=settings.pitr_timeout_seconds) as pc:
            report.verify_problems = pc.check.problems + pc.empty
            report.verified = (f"markers up to the last archived transaction ({pc.check.markers_found} of "
                               f"{pc.check.markers_expected} there)")
            report.phases = {"fetch": 0.0, "restore": pc.restore_seconds, "verify": pc.verify_seconds}
            yield pc.db, 0.0, pc.last_xact_at
        return
    with restored(cfg, store, settings, now=now, info=info.info) as (target, rt):
        report.differences = rt.differences
        report.verified = "exact: every table's rows and fingerprint against the manifest"
        report.phases = {"fetch": rt.download_seconds, "restore": rt.restore_seconds, "verify": rt.verify_seconds}
        yield target.db, rt.target_seconds, None


def run_drill(cfg: LoadedConfig, store: BackupStore, settings: DrDrillSettings, *, run_id: str,
              platform: Callable[[], Platform], mode: str, now: datetime) -> DrillReport:
    """Run the whole drill. Raises RestoreTestFailed / SafetyRefusal / PlatformError for a drill that
    could not go on; cleanup and the undo of the outage happen on every path."""
    if settings.simulate_outage and settings.confirmed_namespace is None and not settings.allow_scheduled_outage:
        raise SafetyRefusal(str(outage.confirmation_refusal(cfg.config.platform.namespace, None, False)))
    leftovers = recover(cfg, platform)
    info = basis(cfg, store, settings, now)
    prod_ns = platform().namespace if (settings.simulate_outage or mode == "kubernetes") else ""
    objects = dr_manifests.load(settings.manifests_dir, settings.dr_namespace) \
        if mode == "kubernetes" and settings.manifests_dir is not None else []
    plan = make_plan(cfg, store, settings, info, mode, prod_ns)
    report = DrillReport(plan, leftovers_removed=leftovers, kept=settings.keep and mode == "kubernetes")
    if settings.simulate_outage:
        why = outage.confirmation_refusal(prod_ns, settings.confirmed_namespace, settings.allow_scheduled_outage)
        if why:
            raise SafetyRefusal(why)
    path = journal_path(cfg)
    journal = jr.Journal(run_id, os.getpid(), now.astimezone(UTC).isoformat(), kept=report.kept)
    jr.save(path, journal)

    def undo_outage() -> None:
        if journal.pending_scale():
            report.restore_failures = outage.restore(platform(), journal, path)

    try:
        with always("production replica counts", undo_outage):
            marker, prod_max, production = _production_facts(cfg, run_id)  # right before the simulated loss
            if settings.simulate_outage:
                outage.scale_down(platform(), settings.production_workloads, journal, path)
                report.scaled = [f"{w.kind}/{w.name}: {w.replicas} -> 0" for w in journal.scaled]
            t_loss = time.monotonic()
            ns_cm: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
            if mode == "kubernetes":
                ns_cm = _dr_namespace(platform(), settings, journal, path, objects, report)
            with ns_cm:
                bring_up = time.monotonic() - t_loss  # the DR namespace and its manifests
                with _copy(cfg, store, settings, info, now, production, report) as (db, started, last_xact):
                    _check_target(platform, settings, mode, db, report, bring_up + started)
                    report.rto_seconds = time.monotonic() - t_loss
                    report.rpo = _rpo(report, marker, prod_max, info, last_xact)
    finally:
        if not journal.pending_scale() and journal.dr_namespace is None:
            jr.clear(path)  # nothing left to undo (else the next run or `dr-drill recover` does it)
    if report.rpo is not None:
        log.info("drill %s: RTO %.1f s, RPO %.1f s (trades gap %s)", run_id, report.rto_seconds,
                 report.rpo_seconds, trades_gap_seconds(report.rpo))
    return report
