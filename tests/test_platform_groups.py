"""The daily and weekly groups against the fake smc-trading cluster, under the generated RBAC.

What they report is what a person running ``kubectl get/top/exec`` would see, and the Role and
ClusterRole of ``k8s manifests`` grant exactly the API calls the procedures make: nothing is
denied, and nothing granted goes unused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from smc_maint.config.loader import LoadedConfig, load_config
from smc_maint.k8s import manifests
from smc_maint.result import Status
from smc_maint.runner import run_group

from .kube_cluster import NS, PLANTED, Cluster


def _granted(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for o in objects if o["kind"] == kind for r in o["rules"]]


def _triples(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def cluster_config(make_config: Callable[..., LoadedConfig], cluster: Cluster, tmp_path: Path) -> LoadedConfig:
    pod_rule = {"path": "/var/log/app", "max_age_days": 7}
    return make_config({
        "platform": {"kind": "kubernetes", "namespace": NS,
                     "kubeconfig": str(cluster.kubeconfig(tmp_path / "kubeconfig"))},
        "procedures": {
            "health": {"endpoints": [], "cpu_sample_seconds": 0.1, "disk_paths": [str(tmp_path)]},
            "metrics-snapshot": {"disk_paths": [str(tmp_path)], "cpu_sample_seconds": 0.1},
            "log-cleanup": {"pods": [{"workload": "trading-engine", **pod_rule},
                                     {"workload": "api-gateway", **pod_rule}]},
            "dependencies": {"in_pods": [{"workload": "trading-engine", "kind": "pip-outdated"},
                                         {"workload": "api-gateway", "kind": "npm-outdated"},
                                         {"workload": "web-app", "kind": "npm-outdated"}]},
        },
    })


def enforce_generated_rbac(cluster: Cluster) -> set[tuple[str, str, str]]:
    sched = load_config(None)  # only the schedule is needed: the defaults
    objects = manifests.build(sched.config.schedule, manifests.Options(store_kind="s3", groups=["daily", "weekly"]))
    cluster.api.rbac = _granted(objects, "Role")
    cluster.api.cluster_rbac = _granted(objects, "ClusterRole")
    return _triples(cluster.api.rbac) | _triples(cluster.api.cluster_rbac)


def test_daily_and_weekly_on_the_cluster_report_what_kubectl_shows(
        make_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> None:
    granted = enforce_generated_rbac(fake_cluster)
    cfg = cluster_config(make_config, fake_cluster, tmp_path)
    daily = {p.procedure_id: p.result for p in run_group(cfg, "daily").procedures}
    weekly = {p.procedure_id: p.result for p in run_group(cfg, "weekly").procedures}

    # Nothing the procedures asked for was denied, and every granted permission was used.
    assert fake_cluster.api.denied == []
    assert fake_cluster.api.used == granted

    health = daily["health"]
    assert health.status is Status.CRITICAL
    assert "deployment execution-engine: 0/1 ready" in health.summary
    assert any("CrashLoopBackOff (17 restarts)" in p for p in health.details["problems"])
    rows = {w["name"]: w["ready"] for w in health.details["platform"]["workloads"]}
    assert rows == {"trading-engine": "2/2", "api-gateway": "2/2", "execution-engine": "0/1", "web-app": "1/1",
                    "postgres-primary": "1/1", "pgbouncer": "1/1"}
    assert health.figures["workloads_degraded"] == 1 and health.figures["pods_not_ready"] == 1

    metrics = daily["metrics-snapshot"]
    assert metrics.figures["workload_cpu_cores.trading-engine"] == 0.5   # 2 pods x 250m
    assert metrics.figures["workload_memory_bytes.postgres-primary"] == 2 * 2**30
    assert metrics.figures["node_cpu_cores.node-b"] == 2.35

    logs = daily["log-cleanup"]
    assert logs.status is Status.OK, logs.summary
    assert logs.figures["files_removed"] == 4 * 3   # 4 pods x (app.log.1, app.log.2.gz, dated audit log)
    for workload in ("trading-engine", "api-gateway"):
        for pod in fake_cluster.pods_of(workload):
            left = set(fake_cluster.files_of(pod))
            assert left == {"/var/log/app/app.log", "/var/log/app/app.log.0", "/var/lib/app/state.db"}
    untouched = fake_cluster.pods_of("web-app")[0]
    assert len(fake_cluster.files_of(untouched)) == 6          # no rule for web-app: nothing touched
    assert all(p.startswith("/var/log/app/") for _ns, _pod, p in fake_cluster.api.deleted)

    deps = weekly["dependencies"]
    names = {(o["component"], o["name"]) for o in deps.details["outdated"]}
    assert {("trading-engine", "fastapi"), ("trading-engine", "pydantic"), ("api-gateway", "express")} <= names
    assert deps.status is Status.UNKNOWN
    assert any("web-app (npm-outdated): npm is not available in pod web-app" in e for e in deps.details["errors"])
    assert "mutable tags: ghcr.io/smc/web-app:latest" in deps.summary           # from the live Deployment
    live = {r["workload"]: r["image"] for r in deps.details["images"]}
    assert live["trading-engine"] == "ghcr.io/smc/trading-engine:2.4.1" and len(live) == 6

    vulns = daily["vulnerability-review"]
    assert vulns.figures["vulnerabilities_critical"] == 1
    certs = weekly["certificates"]
    assert "api-gateway-tls" in certs.summary

    everything = repr(daily) + repr(weekly)
    assert not any(v in everything for v in PLANTED.values())
    stored = b"".join(f.read_bytes() for f in (tmp_path / "home").rglob("*") if f.is_file())  # history, run logs
    assert stored and not any(v.encode() in stored for v in PLANTED.values())


def test_dry_run_log_cleanup_in_pods_lists_and_deletes_nothing(
        make_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> None:
    cfg = cluster_config(make_config, fake_cluster, tmp_path)
    result = run_group(cfg, "daily", only=["log-cleanup"], dry_run=True).procedures[0].result
    assert result.figures["files_to_remove"] == 12
    pods = result.details["pods"]
    assert sorted(pods[0]["would_remove"]) == ["/var/log/app/app.log.1", "/var/log/app/app.log.2.gz",
                                               "/var/log/app/audit/trades-2026-11-01.log"]
    assert {"path": "/var/log/app/app.log", "reason": "live log (no rotation suffix or date stamp)"} in pods[0]["kept"]
    assert fake_cluster.api.deleted == []
    assert all(argv[0] == "find" for _pod, argv in fake_cluster.api.exec_log)


def test_a_removed_permission_is_a_reason_not_a_crash(
        make_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> None:
    enforce_generated_rbac(fake_cluster)
    assert fake_cluster.api.rbac is not None
    fake_cluster.api.rbac = [r for r in fake_cluster.api.rbac if r["resources"] != ["pods/exec"]]
    cfg = cluster_config(make_config, fake_cluster, tmp_path)
    result = run_group(cfg, "daily", only=["log-cleanup"]).procedures[0].result
    assert result.status is Status.WARNING
    assert 'cannot create resource "pods/exec"' in result.summary
    assert fake_cluster.api.deleted == []
