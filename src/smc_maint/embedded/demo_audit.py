"""The demo's namespace dump for ``security-audit``: the platform's workloads as
``kubectl get ... -o json`` would print them, with a few realistic problems to find.

The demo's vulnerability reports are copied beside it: the audit reads both from one directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NS = "smc-trading"
HARDENED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "creationTimestamp": "2026-01-15T00:00:00Z", **extra}


def _deployment(name: str, image: str, sc: dict[str, Any], kind: str = "Deployment", **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    pod = {"serviceAccountName": name, "containers": [{"name": name, "image": image, "securityContext": sc,
                                                       **spec.pop("container", {})}], **spec}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": _meta(name, labels=labels),
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod}}}


def namespace_dump() -> dict[str, Any]:
    """One List holding the demo namespace (secrets with placeholder data, as a real dump would have)."""
    items: list[dict[str, Any]] = [
        _deployment("trading-engine", "ghcr.io/smc-trading/trading-engine:1.8.2", HARDENED,
                    automountServiceAccountToken=False),
        _deployment("api-gateway", "ghcr.io/smc-trading/api-gateway:2.3.0", {"allowPrivilegeEscalation": False},
                    container={"env": [{"name": "JWT_SIGNING_KEY", "valueFrom": {"secretKeyRef": {
                        "name": "api-gateway-jwt", "key": "signing-key"}}}]}),
        _deployment("execution-engine", "ghcr.io/smc-trading/execution-engine:0.9.4",
                    {"privileged": True}, hostNetwork=True, automountServiceAccountToken=False),
        _deployment("web-app", "ghcr.io/smc-trading/web-app:3.1.1", HARDENED),
        _deployment("postgres-primary", "docker.io/library/postgres:15.5", {}, kind="StatefulSet",
                    automountServiceAccountToken=False,
                    volumes=[{"name": "data", "hostPath": {"path": "/mnt/pgdata"}}]),
        _deployment("pgbouncer", "docker.io/bitnami/pgbouncer:1.22.1", HARDENED, automountServiceAccountToken=False),
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "ops-admin", "creationTimestamp": "2026-02-01T00:00:00Z"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("default-deny"),
         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
    ]
    for name in ("trading-engine", "api-gateway", "execution-engine", "web-app", "postgres-primary", "pgbouncer"):
        items.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name)})
    for name, created in (("api-gateway-jwt", "2025-03-01T00:00:00Z"), ("exchange-api-keys", "2026-10-01T00:00:00Z")):
        items.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": _meta(name) | {
            "creationTimestamp": created}, "data": {"value": "ZGVtby1ub3QtYS1yZWFsLXNlY3JldA=="}})
    return {"apiVersion": "v1", "kind": "List", "items": items}


def lay_out(out: Path, vulnerability_reports: dict[str, Any]) -> Path:
    """``out`` (``<home>/audit/namespace-dump``, apart from the reports vulnerability-review reads)
    with the namespace and the same vulnerability reports."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "namespace.json").write_text(json.dumps(namespace_dump(), indent=2))
    (out / "vulnerabilityreports.json").write_text(json.dumps(vulnerability_reports, indent=2))
    return out
