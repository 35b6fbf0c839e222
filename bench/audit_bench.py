"""Figures for the security audit (prints them; asserts nothing).

    .venv/bin/python bench/audit_bench.py

Audits a generated dump of 2,000 pods (in 400 Deployments), 500 Roles, 1,000 RoleBindings and 300
NetworkPolicies over 20 namespaces (goal: under 2 s): time to parse the dump files, to run every
check, and to render all four reports.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smc_maint.security.audit import report, sources
from smc_maint.security.audit.engine import Options, audit

NAMESPACES = [f"team-{i:02d}" for i in range(20)]


def _container(rng: random.Random, name: str) -> dict[str, Any]:
    sc: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    if rng.random() < 0.2:
        sc["privileged"] = True
    if rng.random() < 0.5:
        sc["readOnlyRootFilesystem"] = True
    env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{name}-db", "key": "password"}}}] \
        if rng.random() < 0.3 else []
    return {"name": name, "image": f"ghcr.io/example/{name}:1.0", "securityContext": sc, "env": env}


def generate(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {"workloads": [], "rbac": [], "policies": [], "secrets": []}
    for d in range(400):
        ns, name = NAMESPACES[d % 20], f"svc-{d:03d}"
        labels = {"app": name, "tier": rng.choice(["web", "api", "worker", "db"])}
        spec = {"serviceAccountName": name if rng.random() < 0.7 else "default",
                "securityContext": {"runAsNonRoot": rng.random() < 0.6, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [_container(rng, name)], "volumes": [{"name": "s", "secret": {"secretName": f"{name}-tls"}}]}
        files["workloads"].append({"apiVersion": "apps/v1", "kind": "Deployment",
                                   "metadata": {"name": name, "namespace": ns, "labels": labels},
                                   "spec": {"replicas": 5, "selector": {"matchLabels": labels},
                                            "template": {"metadata": {"labels": labels}, "spec": spec}}})
        for p in range(5):
            files["workloads"].append({"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": f"{name}-7d9f8b6c5d-{p:05d}", "namespace": ns, "labels": {**labels, "pod-template-hash": "7d9f8b6c5d"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": f"{name}-7d9f8b6c5d"}]}, "spec": spec})
        files["secrets"].append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"password": "c2VjcmV0"},
                                 "metadata": {"name": f"{name}-db", "namespace": ns,
                                              "creationTimestamp": "2025-06-01T00:00:00Z"}})
    verbs = [["get", "list"], ["create", "update"], ["*"], ["get", "watch"], ["impersonate"]]
    resources = [["configmaps"], ["secrets"], ["pods", "pods/exec"], ["deployments"], ["*"]]
    for r in range(500):
        files["rbac"].append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                              "metadata": {"name": f"role-{r:03d}", "namespace": NAMESPACES[r % 20]},
                              "rules": [{"apiGroups": ["", "apps"], "resources": rng.choice(resources),
                                         "verbs": rng.choice(verbs)} for _ in range(3)]})
    for b in range(1000):
        ns = NAMESPACES[b % 20]
        files["rbac"].append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                              "metadata": {"name": f"binding-{b:04d}", "namespace": ns},
                              "roleRef": {"kind": "Role", "name": f"role-{rng.randrange(500):03d}"},
                              "subjects": [{"kind": "ServiceAccount", "name": f"svc-{rng.randrange(400):03d}",
                                            "namespace": ns}]})
    for n in range(300):
        ns = NAMESPACES[n % 20]
        selector: dict[str, Any] = {} if n < 10 else {"matchExpressions": [
            {"key": "app", "operator": "In", "values": [f"svc-{rng.randrange(400):03d}" for _ in range(3)]}]}
        files["policies"].append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                  "metadata": {"name": f"policy-{n:03d}", "namespace": ns},
                                  "spec": {"podSelector": selector,
                                           "policyTypes": ["Ingress"] if n % 3 else ["Ingress", "Egress"]}})
    return files


def main() -> None:
    rng = random.Random(13)
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        root = Path(tmp)
        for name, items in generate(rng).items():
            (root / f"{name}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        size = sum(p.stat().st_size for p in root.glob("*.json"))
        best: dict[str, float] = {}
        for _ in range(3):
            t0 = time.perf_counter()
            inv = sources.from_dump_dir(root, max_bytes=256 * 2**20)
            t1 = time.perf_counter()
            result = audit(inv, datetime(2026, 12, 1, tzinfo=UTC), Options(), [], None)
            t2 = time.perf_counter()
            report.write(result, report.FORMATS, root / "out", "bench")
            t3 = time.perf_counter()
            for key, value in (("parse", t1 - t0), ("checks", t2 - t1), ("reports", t3 - t2), ("total", t3 - t0)):
                best[key] = min(best.get(key, value), value)
        counts = inv.counts()
        print(f"dump: {counts.get('Pod', 0)} pods, {counts.get('Deployment', 0)} deployments, {counts.get('Role', 0)} roles, "
              f"{counts.get('RoleBinding', 0)} bindings, {counts.get('NetworkPolicy', 0)} policies ({size / 2**20:.1f} MiB)")
        print(f"findings: {len(result.findings)} ({result.counts})")
        print("best of 3: " + ", ".join(f"{k} {v:.3f} s" for k, v in best.items())
              + f"  (goal: parse + checks under 2 s: {best['parse'] + best['checks']:.3f} s)")


if __name__ == "__main__":
    main()
