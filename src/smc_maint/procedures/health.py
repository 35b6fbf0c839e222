"""``health``: database connectivity and latency, HTTP health endpoints (concurrently), host resources.

On any failure a diagnostic report (what failed, PostgreSQL connections and long queries, resources,
top processes, this run's recent errors) is written under the report directory and listed as an
artifact; the runner alerts on the status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from ..adapters import host
from ..adapters.postgres import DatabaseUnavailable
from ..config.model import Section
from ..context import Context
from ..health import diagnostics
from ..health import workloads as platform_health
from ..health.endpoints import Endpoint, Probe, probe_all
from ..redact import redact
from ..result import Result, Status, worst
from ..scheduling.missed import MissedRun, missed_run_findings


class Limits(Section):
    """A warning and a critical threshold (critical >= warning)."""

    warning: float = Field(ge=0)
    critical: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Limits:
        if self.critical < self.warning:
            raise ValueError("critical must be >= warning")
        return self


class Settings(Section):
    endpoints: list[Endpoint] = Field(default_factory=list, description="HTTP health endpoints to probe; "
                                      "unset is a warning, `[]` checks none on purpose")
    db_latency_seconds: Limits = Limits(warning=0.5, critical=2.0)
    cpu_percent: Limits = Limits(warning=90, critical=98)
    memory_percent: Limits = Limits(warning=90, critical=97)
    disk_percent: Limits = Limits(warning=85, critical=95)
    disk_paths: list[Path] = Field(default_factory=lambda: [Path("/")])
    cpu_sample_seconds: float = Field(1.0, gt=0, le=10)
    long_query_seconds: float = Field(60, gt=0, description="queries running longer go into the report")
    top_processes: int = Field(10, ge=0, le=100)
    check_schedule: bool = Field(True, description="report missed or failed scheduled runs (from history)")
    check_platform: bool = Field(True, description="workloads below desired replicas, pods not ready or "
                                 "restarting, on the platform (Kubernetes namespace or local workloads)")
    restart_warning: int = Field(5, ge=0, description="warn when a pod restarted this often (0 = never)")

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique: {', '.join(dupes)}")
        return self


@dataclass(frozen=True)
class DbProbe:
    up: bool
    latency_seconds: float | None
    connect_seconds: float | None
    error: str | None


def probe_db(ctx: Context) -> DbProbe:
    t0 = time.monotonic()
    try:
        with ctx.connect() as conn:
            connected = time.monotonic() - t0
            t1 = time.monotonic()
            conn.execute("SELECT 1").fetchone()
            return DbProbe(True, time.monotonic() - t1, connected, None)
    except DatabaseUnavailable as exc:
        return DbProbe(False, None, None, str(exc))
    except Exception as exc:  # e.g. the query itself failed: still "down" for the platform
        return DbProbe(False, None, None, redact(f"{type(exc).__name__}: {exc}"))


def _level(value: float, limits: Limits) -> Status:
    if value >= limits.critical:
        return Status.CRITICAL
    if value >= limits.warning:
        return Status.WARNING
    return Status.OK


def evaluate(db: DbProbe, probes: list[Probe], hostf: host.HostFacts, settings: Settings,
             missed: list[MissedRun] | None = None) -> tuple[Status, list[str], dict[str, float]]:
    """Pure decision: overall status, the problems in words, and the figures."""
    problems: list[tuple[Status, str]] = []
    for m in missed or []:
        problems.append((Status(m.severity), m.message))
    figures: dict[str, float] = {"db_up": 1.0 if db.up else 0.0}
    if not db.up:
        problems.append((Status.CRITICAL, f"database unreachable: {db.error}"))
    elif db.latency_seconds is not None:
        figures["db_latency_seconds"] = db.latency_seconds
        level = _level(db.latency_seconds, settings.db_latency_seconds)
        if level is not Status.OK:
            problems.append((level, f"database latency {db.latency_seconds * 1000:.0f} ms "
                                    f"(warning {settings.db_latency_seconds.warning * 1000:.0f} ms)"))
    if not probes and "endpoints" not in settings.model_fields_set:
        # Forgotten configuration must not read as healthy; `endpoints: []` says "none on purpose".
        problems.append((Status.WARNING, "no HTTP endpoints configured: list them under procedures.health."
                                         "endpoints, or set `endpoints: []` to check none"))
    figures["endpoints_total"] = float(len(probes))
    figures["endpoints_up"] = float(sum(p.ok for p in probes))
    for p in probes:
        figures[f"endpoint_up.{p.name}"] = 1.0 if p.ok else 0.0
        if not p.ok:
            problems.append((Status.CRITICAL, f"endpoint {p.name}: {p.reason}; url {p.url}"))
    figures["cpu_percent"] = hostf.cpu_percent
    figures["memory_percent"] = hostf.memory_percent
    for name, value, limits in (("CPU", hostf.sustained_cpu_percent, settings.cpu_percent),
                                ("memory", hostf.memory_percent, settings.memory_percent)):
        level = _level(value, limits)
        if level is not Status.OK:
            problems.append((level, f"{name} at {value:.0f}% (warning {limits.warning:g}%, "
                                    f"critical {limits.critical:g}%)"))
    if hostf.disks:
        figures["disk_percent"] = max(d.percent for d in hostf.disks)
    for d in hostf.disks:
        level = _level(d.percent, settings.disk_percent)
        if level is not Status.OK:
            problems.append((level, f"disk {d.path} at {d.percent:.0f}% (warning {settings.disk_percent.warning:g}%, "
                                    f"critical {settings.disk_percent.critical:g}%)"))
    for e in hostf.disk_errors:
        problems.append((Status.WARNING, f"disk path {e.path}: {e.reason}"))
    status = worst([Status.OK, *(s for s, _ in problems)])
    ordered = [text for s, text in sorted(problems, key=lambda p: -p[0].rank)]
    return status, ordered, figures


def _summary(db: DbProbe, probes: list[Probe], hostf: host.HostFacts, problems: list[str]) -> str:
    parts = []
    if problems:
        parts.append("; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""))
    db_text = f"DB ok ({db.latency_seconds * 1000:.1f} ms)" if db.up and db.latency_seconds is not None else "DB down"
    ep_text = (f"{sum(p.ok for p in probes)}/{len(probes)} endpoints up" if probes
               else "no HTTP endpoints configured (nothing checked over HTTP)")
    disk = f", disk {max(d.percent for d in hostf.disks):.0f}%" if hostf.disks else ""
    parts.append(f"{db_text}, {ep_text}, CPU {hostf.cpu_percent:.0f}%, memory {hostf.memory_percent:.0f}%{disk}")
    return "; ".join(parts)


def _report(ctx: Context, settings: Settings, db: DbProbe, probes: list[Probe], hostf: host.HostFacts,
            problems: list[str]) -> Path:
    db_diag: diagnostics.DbDiagnostics | None = None
    if db.up:
        try:
            with ctx.connect() as conn:
                db_diag = diagnostics.gather_db(conn, settings.long_query_seconds)
        except Exception as exc:  # the report must be written even if diagnostics fail
            db_diag = diagnostics.DbDiagnostics(error=redact(f"{type(exc).__name__}: {exc}"))
    processes = host.top_processes(settings.top_processes) if settings.top_processes else []
    text = diagnostics.render(
        at=ctx.clock.now(), run_id=ctx.run_id, problems=problems, db_error=db.error, db_latency=db.latency_seconds,
        probes=probes, host=hostf, processes=processes, db=db_diag,
        log_lines=diagnostics.recent_log_errors(ctx.cfg.log_dir))
    return diagnostics.write(ctx.report_dir, ctx.run_id, text)


def _with_platform(ctx: Context, settings: Settings, status: Status, problems: list[str], figures: dict[str, float]
                   ) -> tuple[Status, list[str], platform_health.PlatformFacts]:
    """Add the platform's workload and pod problems (critical ones first, warnings after the rest)."""
    try:
        facts = platform_health.gather(ctx.platform())
    except Exception as exc:  # opening the platform failed: a finding, not a crash
        facts = platform_health.PlatformFacts(error=redact(f"{type(exc).__name__}: {exc}"))
    found, extra = platform_health.evaluate(facts, settings.restart_warning)
    figures.update(extra)
    critical = [t for s, t in found if s is Status.CRITICAL]
    other = [t for s, t in found if s is not Status.CRITICAL]
    return worst([status, *(s for s, _ in found)]), critical + problems + other, facts
def _with_emergency(ctx: Context, status: Status, problems: list[str]) -> tuple[Status, list[str]]:
    """Maintenance mode left on, or past its deadline, is a health problem (and enforced at the deadline)."""
    from ..emergency.watch import check

    found = check(ctx)
    return worst([status, *(s for s, _ in found)]), [*(t for _, t in found), *problems]


def run(ctx: Context, settings: Settings) -> Result:
    db = probe_db(ctx)
    probes = probe_all(settings.endpoints)
    hostf = host.collect(settings.disk_paths, settings.cpu_sample_seconds)
    missed: list[MissedRun] = []
    schedule_error = None
    if settings.check_schedule:
        try:
            missed = missed_run_findings(ctx.cfg, ctx.history, ctx.clock.now())
        except Exception as exc:  # history trouble must not hide the rest of the health check
            schedule_error = redact(f"{type(exc).__name__}: {exc}")
    status, problems, figures = evaluate(db, probes, hostf, settings, missed)
    status, problems = _with_emergency(ctx, status, problems)
    figures["missed_runs"] = float(len(missed))
    platform_facts = None
    if settings.check_platform:
        status, problems, platform_facts = _with_platform(ctx, settings, status, problems, figures)
    details: dict[str, Any] = {
        "database": {"up": db.up, "latency_seconds": db.latency_seconds, "connect_seconds": db.connect_seconds,
                     "error": db.error},
        "endpoints": [{"name": p.name, "url": p.url, "ok": p.ok, "status_code": p.status_code,
                       "seconds": round(p.seconds, 4), "reason": p.reason} for p in probes],
        "host": {"cpu_percent": hostf.cpu_percent, "memory_percent": hostf.memory_percent, "load1": hostf.load1,
                 "disks": [vars(d) for d in hostf.disks], "disk_errors": [vars(e) for e in hostf.disk_errors]},
        "problems": problems,
        "missed_runs": [m.to_json() for m in missed],
    }
    if schedule_error:
        details["schedule_error"] = schedule_error
    if platform_facts is not None:
        details["platform"] = platform_health.details(platform_facts)
    artifacts: tuple[str, ...] = ()
    if status is not Status.OK:
        try:
            path = _report(ctx, settings, db, probes, hostf, problems)
            artifacts = (str(path),)
            details["report"] = str(path)
        except OSError as exc:
            details["report_error"] = f"cannot write the diagnostic report: {exc.strerror or exc}"
            ctx.log.error("cannot write the health diagnostic report: %s", exc)
    return Result(status, _summary(db, probes, hostf, problems), details, figures, artifacts)


def demo_settings(home: Path) -> dict[str, Any]:
    # The demo has no HTTP services: the endpoint list stays empty and the summary says so.
    return {"endpoints": [], "disk_paths": [str(home)], "cpu_sample_seconds": 0.5}
