"""Findings and the catalogue of checks: every check has a stable id, a severity and a one-line fix.

A finding's fingerprint is its check id plus the object it names: stable from month to month, so
the next audit can tell new, fixed and still-open findings apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}
SEVERITIES = tuple(Severity)


@dataclass(frozen=True)
class Check:
    id: str
    family: str
    title: str
    severity: Severity
    fix: str


def _c(id_: str, family: str, title: str, severity: Severity, fix: str) -> tuple[str, Check]:
    return id_, Check(id_, family, title, severity, fix)


S = Severity
CHECKS: dict[str, Check] = dict([
    _c("AUDIT-001", "input", "An input could not be read", S.HIGH,
       "Fix or re-create the dump file (kubectl get ... -o json), or grant the audit's service account list access."),
    _c("RBAC-001", "rbac", "Binding to cluster-admin", S.CRITICAL,
       "Bind a namespaced Role with only the verbs and resources the subject needs instead of cluster-admin."),
    _c("RBAC-002", "rbac", "Wildcard verbs or resources", S.HIGH,
       "List the verbs and resources explicitly; '*' also grants every future resource and verb."),
    _c("RBAC-003", "rbac", "Read access to secrets", S.HIGH,
       "Drop get/list/watch on secrets, or restrict the rule with resourceNames to the secrets needed."),
    _c("RBAC-004", "rbac", "pods/exec or pods/attach", S.HIGH,
       "Remove pods/exec and pods/attach; grant them only to break-glass roles."),
    _c("RBAC-005", "rbac", "bind, escalate or impersonate", S.CRITICAL,
       "Remove bind/escalate/impersonate: they let the subject grant itself any permission."),
    _c("RBAC-006", "rbac", "Create on workloads", S.MEDIUM,
       "Remove create on pods/workloads, or use a dedicated namespace: a pod can mount every secret there."),
    _c("RBAC-007", "rbac", "Default service account bound", S.MEDIUM,
       "Bind a dedicated service account; every pod without serviceAccountName runs as 'default'."),
    _c("RBAC-008", "rbac", "API token mounted where no API is needed", S.LOW,
       "Set automountServiceAccountToken: false on the pod or its service account."),
    _c("NET-001", "network", "Namespace without ingress policy", S.HIGH,
       "Add a default-deny ingress NetworkPolicy (podSelector: {}, policyTypes: [Ingress]) and allow what is needed."),
    _c("NET-002", "network", "Namespace without egress policy", S.MEDIUM,
       "Add a default-deny egress NetworkPolicy (podSelector: {}, policyTypes: [Egress]) and allow DNS and what is needed."),
    _c("NET-003", "network", "Workload selected by no ingress policy", S.MEDIUM,
       "Select the workload's pods with an ingress NetworkPolicy (or add a namespace-wide default deny)."),
    _c("NET-004", "network", "Workload selected by no egress policy", S.LOW,
       "Select the workload's pods with an egress NetworkPolicy (or add a namespace-wide default deny)."),
    _c("PSS-001", "podsecurity", "Workload fails the Baseline Pod Security Standard", S.HIGH,
       "Remove the listed fields (privileged, host namespaces, hostPath, ...) so the pod meets Baseline."),
    _c("PSS-002", "podsecurity", "Workload meets Baseline but not Restricted", S.LOW,
       "Set runAsNonRoot, allowPrivilegeEscalation: false, drop ALL capabilities and seccompProfile RuntimeDefault."),
    _c("PSS-003", "podsecurity", "Writable root filesystem", S.LOW,
       "Set readOnlyRootFilesystem: true and mount an emptyDir where the container writes."),
    _c("SEC-001", "secrets", "Secret exposed as environment variables", S.MEDIUM,
       "Mount the secret as a file instead: environment variables leak into logs, crash dumps and child processes."),
    _c("SEC-002", "secrets", "Secret used by nothing", S.LOW,
       "Delete the secret if it is obsolete; unused credentials are never rotated and never missed."),
    _c("SEC-003", "secrets", "Secret not rotated for a long time", S.LOW,
       "Rotate the secret and record the time in its rotation annotation."),
    _c("SEC-004", "secrets", "TLS certificate near expiry", S.HIGH,
       "Check the cert-manager Certificate and its issuer: renewal should have happened by now."),
    _c("SEC-005", "secrets", "TLS secret with no known expiry", S.INFO,
       "Manage the certificate with cert-manager (Certificate status.notAfter), so its expiry is known."),
    _c("VULN-001", "vulns", "Critical vulnerabilities in a running image", S.CRITICAL,
       "Rebuild the image with the fixed package versions listed and redeploy."),
    _c("VULN-002", "vulns", "High vulnerabilities in a running image", S.HIGH,
       "Rebuild the image with the fixed package versions listed and redeploy."),
])
del S


@dataclass(frozen=True)
class Finding:
    """One problem with one object. ``suppression`` is set when a config entry matched it."""

    check: str
    severity: Severity
    object: str
    message: str
    namespace: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    suppression: Mapping[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        return f"{self.check}:{self.object}"

    @property
    def fix(self) -> str:
        return CHECKS[self.check].fix

    @property
    def title(self) -> str:
        return CHECKS[self.check].title

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "check": self.check, "title": self.title,
                "severity": self.severity.value, "object": self.object, "namespace": self.namespace,
                "message": self.message, "fix": self.fix, "details": dict(self.details),
                "suppression": dict(self.suppression) if self.suppression else None}

    def with_(self, **changes: Any) -> Finding:
        return replace(self, **changes)


def finding(check: str, obj: str, message: str, *, namespace: str = "", severity: Severity | None = None,
            **details: Any) -> Finding:
    """A finding of ``check`` (its catalogue severity unless given)."""
    return Finding(check, severity or CHECKS[check].severity, obj, message, namespace, details)


def merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per fingerprint (the first), sorted by severity, check and object."""
    seen: dict[str, Finding] = {}
    for f in findings:
        seen.setdefault(f.fingerprint, f)
    return sorted(seen.values(), key=lambda f: (-f.severity.rank, f.check, f.object))


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    out = dict.fromkeys((s.value for s in SEVERITIES), 0)
    for f in findings:
        out[f.severity.value] += 1
    return out


WEIGHTS = {Severity.CRITICAL: 10.0, Severity.HIGH: 4.0, Severity.MEDIUM: 1.5, Severity.LOW: 0.5, Severity.INFO: 0.0}


def score(findings: Iterable[Finding]) -> int:
    """100 with no findings, falling with their weight (critical 10, high 4, medium 1.5, low 0.5):
    ``round(100 / (1 + penalty / 20))`` -- one critical gives 67, never quite 0, so a worse month
    still shows as a lower number."""
    penalty = sum(WEIGHTS[f.severity] for f in findings)
    return round(100 / (1 + penalty / 20))
