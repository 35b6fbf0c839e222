"""Run every check over an inventory and assemble the audit: pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import network, podsecurity, rbac, secrets, vulns
from .diff import Diff, Previous, compare
from .findings import SEVERITIES, Finding, Severity, counts, finding, merge, score
from .objects import CLUSTER_SCOPED, Inventory, namespace_of
from .suppressions import Suppression, apply
from .workloads import pod_sources

TLS_NOTE = ("TLS expiry is read from cert-manager Certificate status.notAfter, never from tls.crt: "
            "secret values are never read, stored or printed.")


@dataclass(frozen=True)
class Options:
    secret_max_age_days: float = 180
    tls_warning_days: float = 14
    rotation_annotations: tuple[str, ...] = ("smc-maint.io/rotated-at",)


@dataclass(frozen=True)
class Audit:
    generated_at: str
    sources: list[str]
    namespaces: list[str]
    objects: dict[str, int]
    findings: list[Finding]  # open (counted) findings
    suppressed: list[Finding]
    unused_suppressions: list[dict[str, str]]
    diff: Diff
    pod_security: dict[str, dict[str, Any]]
    oldest_secrets: list[dict[str, Any]]
    vulnerabilities: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.findings)

    @property
    def score(self) -> int:
        return score(self.findings)

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def fingerprints(self) -> dict[str, str]:
        """Every detected finding (suppressed too, so a suppression never looks like a fix)."""
        return {f.fingerprint: f.severity.value for f in [*self.findings, *self.suppressed]}

    def state_of(self, f: Finding) -> str:
        return self.diff.state(f.fingerprint)

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at, "sources": self.sources, "namespaces": self.namespaces,
            "objects": self.objects, "score": self.score, "counts": self.counts,
            "worst": self.worst.value if self.worst else None,
            "findings": [{**f.to_json(), "state": self.state_of(f)} for f in self.findings],
            "suppressed": [f.to_json() for f in self.suppressed],
            "unused_suppressions": self.unused_suppressions, "diff": self.diff.to_json(),
            "pod_security": self.pod_security, "oldest_secrets": self.oldest_secrets,
            "vulnerabilities": self.vulnerabilities, "notes": self.notes,
        }


def run_checks(inv: Inventory, now: datetime, options: Options) -> tuple[list[Finding], dict[str, Any]]:
    """All findings (unsuppressed, merged by fingerprint) and the tables the report shows."""
    pods = pod_sources(inv)
    found: list[Finding] = [finding("AUDIT-001", source, reason) for source, reason in inv.errors]
    found += rbac.check(inv, pods)
    found += network.check(inv, pods)
    pss, table = podsecurity.check(pods)
    found += pss
    sec, oldest = secrets.check(inv, pods, now, max_age_days=options.secret_max_age_days,
                                tls_warning_days=options.tls_warning_days,
                                rotation_annotations=options.rotation_annotations)
    found += sec
    vul, vsum = vulns.check(inv)
    found += vul
    return merge(found), {"pod_security": table, "oldest_secrets": oldest, "vulnerabilities": vsum}


def audit(inv: Inventory, now: datetime, options: Options, suppressions: Sequence[Suppression],
          previous: Previous | None) -> Audit:
    found, tables = run_checks(inv, now, options)
    applied = apply(found, suppressions, now.date())
    diff = compare([*applied.open, *applied.suppressed], previous)
    namespaces = sorted({f.namespace for f in found if f.namespace} | set(_namespaces(inv)))
    return Audit(
        generated_at=now.isoformat(), sources=list(inv.sources), namespaces=namespaces, objects=inv.counts(),
        findings=applied.open, suppressed=applied.suppressed,
        unused_suppressions=[{"check": s.check, "object": s.object, "reason": s.reason,
                              "expires": s.expires.isoformat()} for s in applied.unused],
        diff=diff, pod_security=tables["pod_security"], oldest_secrets=tables["oldest_secrets"],
        vulnerabilities=tables["vulnerabilities"], notes=[*inv.notes, TLS_NOTE],
    )


def _namespaces(inv: Inventory) -> set[str]:
    return {namespace_of(o) for k, objs in inv.objects.items() if k not in CLUSTER_SCOPED for o in objs
            if namespace_of(o)}


__all__ = ["SEVERITIES", "Audit", "Options", "audit", "run_checks"]
