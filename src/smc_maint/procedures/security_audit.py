"""``security-audit``: the monthly security audit of the platform's namespace(s).

Reads the objects from a directory of ``kubectl get ... -o json`` dumps (``dump_dir``) or
through the platform seam, runs the RBAC, NetworkPolicy, Pod Security Standards, secrets and
vulnerability checks (``security/audit``), applies the configured suppressions, compares with the
last audit in history, writes Markdown/HTML/JSON/SARIF reports and sends a summary to the
security channel. The runbook's script dumped every secret's key names into a Markdown file;
here secret values are stripped the moment they are read and never reach any output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..config.model import Section
from ..context import Context
from ..reporting.audit_trend import audit_trend
from ..result import Result, Status
from ..security.audit import report, sources
from ..security.audit.diff import Previous, previous_from_details
from ..security.audit.engine import Audit, Options, audit
from ..security.audit.findings import SEVERITIES, Severity
from ..security.audit.objects import Inventory
from ..security.audit.suppressions import Suppression

Format = Literal["md", "html", "json", "sarif"]
ALL_FORMATS: tuple[Format, ...] = ("md", "html", "json", "sarif")
STATUS = {Severity.CRITICAL: Status.CRITICAL, Severity.HIGH: Status.WARNING, Severity.MEDIUM: Status.WARNING,
          Severity.LOW: Status.OK, Severity.INFO: Status.OK}


class Settings(Section):
    dump_dir: Path | None = Field(None, description="directory (or file) of kubectl get ... -o json dumps; "
                                  "unset: read the cluster through the platform (platform.kind kubernetes)")
    namespaces: list[str] = Field(default_factory=list, description="namespaces to audit; default: "
                                  "platform.namespace (cluster), every namespace in the dump (dump_dir)")
    suppressions: list[Suppression] = Field(default_factory=list, description="accepted findings: check, "
                                            "object, reason, expires (YYYY-MM-DD)")
    formats: list[Format] = Field(default_factory=lambda: list(ALL_FORMATS))
    output_dir: Path | None = Field(None, description="default <report_dir>/security")
    secret_max_age_days: float = Field(180, ge=0, description="SEC-003 past this age since creation or "
                                       "rotation (0 = never)")
    rotation_annotations: list[str] = Field(default_factory=lambda: ["smc-maint.io/rotated-at"],
                                            description="secret annotations holding the last rotation time")
    tls_warning_days: float = Field(14, ge=0, description="SEC-004 when a Certificate's notAfter is closer")
    max_file_mib: float = Field(64, gt=0, description="dump files larger than this are refused (AUDIT-001)")
    findings_in_details: int = Field(200, ge=0, description="how many findings the history row lists in full")


def load(ctx: Context, settings: Settings) -> Inventory | None:
    """The inventory, or None when there is nothing to read (no dump and no cluster)."""
    if settings.dump_dir is not None:
        inv = sources.from_dump_dir(settings.dump_dir.expanduser(), max_bytes=int(settings.max_file_mib * 2**20))
        return inv.restrict(settings.namespaces) if settings.namespaces else inv
    platform = ctx.cfg.config.platform
    if platform.kind != "kubernetes":
        return None
    return sources.from_platform(ctx.platform(), settings.namespaces or [platform.namespace])


def previous_audit(ctx: Context) -> Previous | None:
    for row in ctx.history.procedure_results("security-audit", limit=24):
        prev = previous_from_details(row.details, row.started_at.isoformat(), row.run_id)
        if prev is not None:
            return prev
    return None


def summarize(result: Audit, paths: list[Path], objects: int) -> Result:
    """Pure: status by the worst open finding, the one-line summary, details and figures."""
    c = result.counts
    counted = ", ".join(f"{c[s.value]} {s.value}" for s in SEVERITIES if c[s.value]) or "no findings"
    summary = f"score {result.score}/100: {counted}"
    if result.diff.previous is not None:
        summary += (f"; since {result.diff.previous.at[:10]}: {len(result.diff.new)} new, "
                    f"{len(result.diff.fixed)} fixed, {len(result.diff.still_open)} still open")
    if result.suppressed:
        summary += f"; {len(result.suppressed)} suppressed"
    top = [f"{f.check} {f.object}" for f in result.findings if f.severity is Severity.CRITICAL][:3]
    if top:
        summary += f"; critical: {', '.join(top)}"
    status = STATUS[result.worst] if result.worst else Status.OK
    if objects == 0:
        status, summary = Status.UNKNOWN, "nothing was audited (no objects read): " + summary
    figures = {"audit_score": float(result.score), "audit_suppressed": float(len(result.suppressed)),
               "audit_findings_new": float(len(result.diff.new)), "audit_findings_fixed": float(len(result.diff.fixed))}
    figures.update({f"audit_findings_{k}": float(v) for k, v in c.items()})
    details: dict[str, Any] = {
        "score": result.score, "counts": c, "namespaces": result.namespaces, "objects": result.objects,
        "reports": [str(p) for p in paths], "diff": result.diff.to_json(),
        "fingerprints": result.fingerprints(), "suppressed": [f.fingerprint for f in result.suppressed],
        "vulnerabilities": result.vulnerabilities, "notes": result.notes,
    }
    return Result(status, summary[:1000], details, figures, tuple(str(p) for p in paths),
                  alert_channel="security", force_alert=True)


def run(ctx: Context, settings: Settings) -> Result:
    inv = load(ctx, settings)
    if inv is None:
        return Result(Status.SKIPPED, "no cluster to audit: set procedures.security-audit.dump_dir "
                      "or platform.kind: kubernetes")
    for source, reason in inv.errors:
        ctx.log.warning("security-audit: cannot read %s: %s", source, reason)
    now = ctx.clock.now()
    options = Options(settings.secret_max_age_days, settings.tls_warning_days, tuple(settings.rotation_annotations))
    result = audit(inv, now, options, settings.suppressions, previous_audit(ctx))
    trend = [*audit_trend(ctx.history, until=now), {"at": now.isoformat(), "run_id": ctx.run_id,
                                                     "score": float(result.score), **result.counts}]
    out_dir = settings.output_dir or ctx.report_dir / "security"
    stamp = now.strftime("%Y%m%d_%H%M%S")
    if ctx.dry_run:
        planned = [out_dir / report.file_name(stamp, k) for k in settings.formats]
        done = summarize(result, [], inv.total)
        return Result(done.status, "dry run: would write " + ", ".join(map(str, planned)) + "; " + done.summary,
                      {**done.details, "fingerprints": {}, "planned": [str(p) for p in planned]})
    paths = report.write(result, settings.formats, out_dir, stamp, trend=trend)
    done = summarize(result, paths, inv.total)
    details = dict(done.details)
    details["findings"] = [f.to_json() for f in result.findings[: settings.findings_in_details]]
    ctx.log.info("security audit written: %s", ", ".join(map(str, paths)))
    return Result(done.status, done.summary, details, done.figures, done.artifacts,
                  alert_channel="security", force_alert=True)


def demo_settings(home: Path) -> dict[str, Any]:
    return {"dump_dir": str(home / "audit" / "namespace-dump")}
