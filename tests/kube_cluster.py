"""A realistic ``smc-trading`` namespace on the fake API server (tests/fake_kube_api.py).

The runbook's workloads: trading-engine, api-gateway, execution-engine (crash-looping) and web-app
as Deployments; postgres-primary and pgbouncer as StatefulSets; Services, RBAC objects,
NetworkPolicies, ServiceAccounts, Secrets with planted values, VulnerabilityReports, cert-manager
Certificates, node and pod metrics, and old log files inside the pods. Scale, patch, create and
delete are stateful: what a procedure changes is what the next read (or a test) sees.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fake_kube_api import CRASHLOOP, ExecCall, FakeKubeApi, VirtualFile

NS = "smc-trading"
TOKEN = "kube-" + "sa-t0ken-7f3a"
PLANTED = {"DATABASE_PASSWORD": "planted-db-pa55-Zq8", "EXCHANGE_API_SECRET": "planted-exch-s3cret-Kp2"}
DAY = 86400.0

DEPLOYMENTS = {
    "trading-engine": ("ghcr.io/smc/trading-engine:2.4.1", 2, "python"),
    "api-gateway": ("ghcr.io/smc/api-gateway:1.9.0", 2, "node"),
    "execution-engine": ("ghcr.io/smc/execution-engine:3.1.0", 1, "python"),
    "web-app": ("ghcr.io/smc/web-app:latest", 1, "node"),
}
STATEFULSETS = {
    "postgres-primary": ("postgres:15.6", 1),
    "pgbouncer": ("bitnami/pgbouncer:1.22.1", 1),
}

PIP_OUTDATED = [{"name": "fastapi", "version": "0.110.0", "latest_version": "0.115.2", "latest_filetype": "wheel"},
                {"name": "pydantic", "version": "1.10.13", "latest_version": "2.9.2", "latest_filetype": "wheel"}]
NPM_OUTDATED = {"express": {"current": "4.18.2", "wanted": "4.21.1", "latest": "5.0.1", "location": "node_modules/express"}}


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "smc-trading"}


def _template(name: str, image: str) -> dict[str, Any]:
    return {"metadata": {"labels": _labels(name)},
            "spec": {"serviceAccountName": name, "containers": [{
                "name": name, "image": image,
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
                "volumeMounts": [{"name": "logs", "mountPath": "/var/log/app"}]}],
                "volumes": [{"name": "logs", "emptyDir": {}}]}}


def _deployment(name: str, image: str, replicas: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": _labels(name)}
    if name == "execution-engine":
        meta["annotations"] = {CRASHLOOP: "true"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": _labels(name)},
                     "template": _template(name, image)}}


def _statefulset(name: str, image: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": NS, "labels": _labels(name)},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": _labels(name)},
                     "template": _template(name, image)}}


def _pip(call: ExecCall) -> tuple[str, str, int]:
    if call.argv[1:] == ["list", "--outdated", "--format", "json"]:
        return json.dumps(PIP_OUTDATED), "", 0
    return "", f"ERROR: unknown command {call.argv[1:]}\n", 1


def _npm(call: ExecCall) -> tuple[str, str, int]:
    if call.argv[1:2] == ["outdated"]:
        return json.dumps(NPM_OUTDATED), "", 1  # npm outdated exits 1 when something is outdated
    return "", "Unknown command\n", 1


@dataclass
class Cluster:
    api: FakeKubeApi

    def kubeconfig(self, path: Path) -> Path:
        return self.api.kubeconfig(path)

    def pods_of(self, workload: str) -> list[str]:
        return [p["metadata"]["name"] for p in self.api.objects("Pod")
                if (p["metadata"].get("annotations") or {}).get("fake.smc/owner", "").endswith("/" + workload)]

    def files_of(self, pod: str) -> dict[str, VirtualFile]:
        return self.api.files.setdefault((NS, pod), {})


def populate(api: FakeKubeApi) -> Cluster:
    now = api.now.timestamp()
    api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"team": "trading"}}})
    for name in ("node-a", "node-b"):
        api.put({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    for name, (image, replicas, _lang) in DEPLOYMENTS.items():
        api.put(_deployment(name, image, replicas))
    for name, (image, replicas) in STATEFULSETS.items():
        api.put(_statefulset(name, image, replicas))
    for name in [*DEPLOYMENTS, *STATEFULSETS]:
        api.put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
                 "spec": {"selector": _labels(name), "ports": [{"port": 8080, "targetPort": 8080}]}})
        api.put({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": NS}})
    api.put({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": "trading-secrets", "namespace": NS},
             "data": {k: base64.b64encode(v.encode()).decode() for k, v in PLANTED.items()},
             "stringData": {"plain": PLANTED["EXCHANGE_API_SECRET"]}}, validate=False)
    api.put({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": "trading-engine", "namespace": NS},
             "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]})
    api.put({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "trading-engine", "namespace": NS},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "trading-engine"},
             "subjects": [{"kind": "ServiceAccount", "name": "trading-engine", "namespace": NS}]})
    api.put({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "web-app-admin"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"kind": "ServiceAccount", "name": "web-app", "namespace": NS}]})
    api.put({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "default-deny", "namespace": NS},
             "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    api.put({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
             "metadata": {"name": "api-gateway-tls", "namespace": NS},
             "spec": {"secretName": "api-gateway-tls", "dnsNames": ["api.smc-trading.example"]},
             "status": {"notBefore": "2026-10-01T00:00:00Z", "notAfter": "2026-12-30T00:00:00Z",
                        "renewalTime": "2026-11-30T00:00:00Z",
                        "conditions": [{"type": "Ready", "status": "True"}]}})
    for name, (image, _r, _l) in DEPLOYMENTS.items():
        repo, tag = image.rsplit(":", 1)
        critical = 1 if name == "api-gateway" else 0
        api.put({"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
                 "metadata": {"name": f"replicaset-{name}-{name}", "namespace": NS,
                              "labels": {"trivy-operator.resource.name": name}},
                 "report": {"artifact": {"repository": repo.split("/", 1)[1], "tag": tag},
                            "registry": {"server": "ghcr.io"}, "updateTimestamp": "2026-12-03T04:00:00Z",
                            "summary": {"criticalCount": critical, "highCount": 2, "mediumCount": 5, "lowCount": 9,
                                        "unknownCount": 0},
                            "vulnerabilities": []}})
    api.put({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics", "metadata": {"name": "node-a"},
             "usage": {"cpu": "1500m", "memory": "6Gi"}}, validate=False)
    api.put({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics", "metadata": {"name": "node-b"},
             "usage": {"cpu": "2350000000n", "memory": "8388608Ki"}}, validate=False)
    cluster = Cluster(api)
    usage = {"trading-engine": ("250m", "512Mi"), "api-gateway": ("120m", "256Mi"),
             "execution-engine": ("5m", "64Mi"), "web-app": ("30m", "128Mi"),
             "postgres-primary": ("800m", "2Gi"), "pgbouncer": ("20m", "32Mi")}
    for workload, (cpu, mem) in usage.items():
        for pod in cluster.pods_of(workload):
            api.put({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
                     "metadata": {"name": pod, "namespace": NS},
                     "containers": [{"name": workload, "usage": {"cpu": cpu, "memory": mem}}]}, validate=False)
    for workload in DEPLOYMENTS:
        for pod in cluster.pods_of(workload):
            cluster.files_of(pod).update({
                "/var/log/app/app.log": VirtualFile(now - 20 * DAY, 4096),  # live log, quiet for weeks
                "/var/log/app/app.log.1": VirtualFile(now - 10 * DAY, 2048),
                "/var/log/app/app.log.2.gz": VirtualFile(now - 30 * DAY, 1024),
                "/var/log/app/app.log.0": VirtualFile(now - 2 * DAY, 512),
                "/var/log/app/audit/trades-2026-11-01.log": VirtualFile(now - 33 * DAY, 8192),
                "/var/lib/app/state.db": VirtualFile(now - 90 * DAY, 65536),  # outside the path
            })
    for pod in cluster.pods_of("trading-engine"):
        api.programs[(NS, pod)] = {"pip": _pip}
    for pod in cluster.pods_of("api-gateway"):
        api.programs[(NS, pod)] = {"npm": _npm}
    return cluster


MAINTENANCE_PAGE = "maintenance-page"


def add_maintenance_page(api: FakeKubeApi) -> dict[str, str]:
    """A maintenance-page Deployment (its own labels) for the emergency tests: the api-gateway
    Service's selector is swapped to these labels during a window. Returns the labels."""
    api.put(_deployment(MAINTENANCE_PAGE, "ghcr.io/smc/maintenance-page:1.0.0", 1))
    return _labels(MAINTENANCE_PAGE)
