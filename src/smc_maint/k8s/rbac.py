"""The namespaced permissions the procedures need, each with the procedure that needs it.

Read-only except where a procedure changes something on purpose (DR drill scaling,
maintenance mode). ``list`` on secrets is left out by default: even a metadata-only listing
needs it, and the same verb lets a caller read values. ``--secret-metadata`` adds it for the
security audit's secret inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str

    def to_k8s(self) -> dict[str, Any]:
        return {"apiGroups": list(self.api_groups), "resources": list(self.resources), "verbs": list(self.verbs)}


READ = ("get", "list")

RULES: tuple[Rule, ...] = (
    Rule(("",), ("pods", "services", "endpoints", "configmaps", "persistentvolumeclaims"), READ,
         "health, security-audit, performance-review: pod status, security contexts, service endpoints"),
    Rule(("apps",), ("deployments", "statefulsets"), READ,
         "health, dr-drill, updates-review: replicas and image versions"),
    Rule(("apps",), ("deployments/scale", "statefulsets/scale"), ("get", "patch"),
         "dr-drill, emergency: scale to 0 and back to the recorded replica count"),
    Rule(("networking.k8s.io",), ("networkpolicies",), READ, "security-audit: NetworkPolicies present"),
    Rule(("networking.k8s.io",), ("ingresses",), READ, "health, certificates: the API's ingress and hosts"),
    Rule(("",), ("services",), ("patch",),
         "emergency: swap the API Service's selector to the maintenance pods and back (docs/emergency.md)"),
    Rule(("rbac.authorization.k8s.io",), ("roles", "rolebindings"), READ, "security-audit: RBAC bindings"),
    Rule(("cert-manager.io",), ("certificates",), READ, "certificates: notAfter of cert-manager Certificates"),
    Rule(("aquasecurity.github.io",), ("vulnerabilityreports",), READ,
         "vulnerability-review, security-audit: trivy-operator reports"),
    Rule(("metrics.k8s.io",), ("pods",), READ, "metrics-snapshot, performance-review: pod CPU/memory"),
    Rule(("batch",), ("cronjobs", "jobs"), READ, "health: the schedules' own CronJobs and Jobs"),
)

SECRET_METADATA = Rule(("",), ("secrets",), ("list",),
                       "security-audit: secret names, types and ages (values are never read or stored)")


def rules(*, secret_metadata: bool = False) -> list[Rule]:
    return [*RULES, SECRET_METADATA] if secret_metadata else list(RULES)
