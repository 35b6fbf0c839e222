"""``certificates``: expiry by days and by share of lifetime for TLS endpoints, PEM files and
cert-manager Certificates; expired, not-yet-valid, renewal overdue and "Ready but expired" each named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from ..adapters.input_files import DEFAULT_MAX_BYTES
from ..adapters.platform import Platform, PlatformError
from ..certs import sources
from ..certs.assess import CertFacts, Thresholds, judge
from ..config.model import PlatformConfig, Section
from ..context import Context
from ..result import Result, Status, worst


class Endpoint(Section):
    host: str
    port: int = Field(443, ge=1, le=65535)
    server_name: str | None = Field(None, description="SNI name; default: host")
    verify: bool = Field(True, description="also check that clients would trust it (chain, hostname)")
    ca_file: Path | None = Field(None, description="CA bundle for verification; default: system store")


class Settings(Section):
    endpoints: list[Endpoint] = Field(default_factory=list)
    pem_paths: list[Path] = Field(default_factory=list, description="PEM/DER files or directories")
    cert_manager_files: list[Path] = Field(default_factory=list,
                                           description="output of kubectl get certificates -A -o json")
    cert_manager_from_cluster: bool | None = Field(
        None, description="list cert-manager Certificates through the Kubernetes API; default: when "
        "platform.kind is kubernetes")
    warning_days: float = Field(21, gt=0)
    critical_days: float = Field(7, ge=0)
    warning_share: float = Field(0.2, gt=0, le=1, description="share of lifetime left that warns")
    critical_share: float = Field(0.07, ge=0, le=1)
    renewal_grace_hours: float = Field(1, ge=0, description="cert-manager renewalTime may pass by this much")
    timeout_seconds: float = Field(10, gt=0)
    max_file_bytes: int = Field(DEFAULT_MAX_BYTES, gt=0, description="larger PEM/JSON files are findings, not parsed")


def _or_missing(found: list[CertFacts], source: str, where: str) -> list[CertFacts]:
    """A configured source that yields no certificate is a finding: an empty directory, a key-only
    file or an empty listing would otherwise pass unnoticed while nothing was checked."""
    return found or [CertFacts(source, where, error=f"no certificates found in {where}")]


def from_cluster(open_platform: Callable[[], Platform], namespace: str) -> list[CertFacts]:
    """cert-manager Certificates of the platform namespace, read through the platform seam."""
    source = f"kubernetes:{namespace}/certificates"
    try:
        items = open_platform().list_custom("cert-manager.io", "v1", "certificates")
    except PlatformError as exc:
        return [CertFacts("cert-manager", source, error=str(exc))]
    listing = {"apiVersion": "cert-manager.io/v1", "kind": "CertificateList", "items": items}
    return _or_missing(sources.from_cert_manager(listing, source), "cert-manager", source)


def gather(settings: Settings, platform: PlatformConfig | None = None,
           open_platform: Callable[[], Platform] | None = None) -> list[CertFacts]:
    found: list[CertFacts] = []
    if settings.endpoints:
        with ThreadPoolExecutor(max_workers=min(8, len(settings.endpoints))) as pool:
            found.extend(pool.map(lambda e: sources.from_endpoint(e.host, e.port, e.server_name,
                                                                  settings.timeout_seconds, e.verify, e.ca_file),
                                  settings.endpoints))
    for path in settings.pem_paths:
        if not path.exists():
            found.append(CertFacts("file", str(path), error="path does not exist"))
        else:
            found.extend(_or_missing(sources.from_pem_paths([path], settings.max_file_bytes), "file", str(path)))
    for path in settings.cert_manager_files:
        found.extend(_or_missing(sources.from_cert_manager_file(path, settings.max_file_bytes), "cert-manager", str(path)))
    if platform is not None:
        use_cluster = settings.cert_manager_from_cluster
        if (use_cluster or (use_cluster is None and platform.kind == "kubernetes")) and open_platform:
            found.extend(from_cluster(open_platform, platform.namespace))
    return found


def _label(c: CertFacts) -> str:
    """Short name for summaries: the file name for files (details keep the full path)."""
    return Path(c.name).name if c.source == "file" else c.name


def summarize(certs: Sequence[CertFacts], now: datetime, settings: Settings) -> Result:
    """Pure: a verdict per certificate, the worst status, the soonest expiry."""
    t = Thresholds(settings.warning_days, settings.critical_days, settings.warning_share, settings.critical_share,
                   settings.renewal_grace_hours)
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for c in certs:
        v = judge(c, now, t)
        rows.append({"source": c.source, "name": c.name, "subject": c.subject, "issuer": c.issuer,
                     "not_before": c.not_before.isoformat() if c.not_before else None,
                     "not_after": c.not_after.isoformat() if c.not_after else None,
                     "days_left": v.days_left, "share_left": v.share_left, "status": v.status.value,
                     "findings": v.findings})
        if v.status is not Status.OK:
            problems.append(f"{_label(c)}: {'; '.join(v.findings)}")
    if not certs:
        return Result(Status.SKIPPED, "no certificate sources configured (endpoints, pem_paths, cert_manager_files, "
                      "or platform.kind kubernetes)")
    status = worst(Status(r["status"]) for r in rows)
    soonest = min((r for r in rows if r["days_left"] is not None), key=lambda r: r["days_left"], default=None)
    figures = {"certificates_total": float(len(rows)),
               "certificates_problem": float(len(problems))}
    if soonest is not None:
        figures["certificate_min_days_left"] = float(soonest["days_left"])
    summary = f"{len(rows)} certificate(s)"
    if soonest is not None:
        summary += f", soonest expiry {_label(certs[rows.index(soonest)])} in {soonest['days_left']:.1f} days"
    summary += ("; " + "; ".join(problems)) if problems else "; all fine"
    return Result(status, summary, {"certificates": rows, "problems": problems}, figures)


def run(ctx: Context, settings: Settings) -> Result:
    return summarize(gather(settings, ctx.cfg.config.platform, ctx.platform), ctx.clock.now(), settings)


def demo_settings(home: Path) -> dict[str, Any]:
    from ..certs.demo_certs import write_demo_certs

    paths = write_demo_certs(home / "certs", datetime.now(dt.UTC))
    return {"pem_paths": [str(paths["dir"])], "cert_manager_files": [str(paths["cert_manager"])]}
