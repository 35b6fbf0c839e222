"""``dr-drill`` on a real PostgreSQL with a real backup: recovery, exact verification, RTO/RPO,
cleanup on every path (kill -9 included), and the Kubernetes drill on the fake API server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from .backup_support import backup_config, make_ctx
from .conftest import PgServer, wait_for
from .fake_kube_api import CRASHLOOP
from .kube_cluster import NS, Cluster

__all__ = ["backup_config"]  # a fixture

from smc_maint.backups import markers
from smc_maint.backups.create import create_backup
from smc_maint.config.loader import LoadedConfig
from smc_maint.dr import drill
from smc_maint.dr import journal as jr
from smc_maint.dr.measure import RpoFacts, against_target, rpo_seconds
from smc_maint.history import open_history
from smc_maint.procedures import dr_drill
from smc_maint.result import Status
from smc_maint.runner import run_group
from smc_maint.stores.factory import open_store

ROOT = Path(__file__).resolve().parent.parent


def _scratch_servers(cfg: LoadedConfig) -> list[str]:
    work = str(cfg.config.backup.work_dir)
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and "-D" in cmd and work in cmd[cmd.index("-D") + 1]:
            found.append(cmd[cmd.index("-D") + 1])
    return found


def assert_dr_gone(cfg: LoadedConfig) -> None:
    work = cfg.config.backup.work_dir
    assert work is not None
    leftovers = [p for p in work.rglob("*") if p.name != "scratch"] if work.exists() else []
    assert leftovers == []
    assert _scratch_servers(cfg) == []
    assert not jr.path_in(cfg.home).exists()


def _drill_cfg(backup_config: Callable[..., LoadedConfig], **settings: Any) -> LoadedConfig:
    cfg = backup_config({"procedures": {"dr-drill": settings}} if settings else None)
    return cfg


def test_local_drill_recovers_verifies_and_measures(backup_config: Callable[..., LoadedConfig], pg: PgServer,
                                                    trading_db: str) -> None:
    cfg = _drill_cfg(backup_config)
    manifest = create_backup(cfg, open_store(cfg))
    with pg.connect(trading_db) as conn:  # a trade committed after the backup: the copy cannot have it
        conn.execute("INSERT INTO trades (session_id, user_id, symbol, side, order_type, quantity, price, status,"
                     " \"timestamp\") SELECT session_id, user_id, symbol, side, order_type, quantity, price, status,"
                     " now() FROM trades LIMIT 1")
    outcome = run_group(cfg, "quarterly", only=["dr-drill"])
    result = outcome.procedures[0].result
    assert result.status is Status.OK, result.summary
    assert manifest.backup_id in result.summary
    with pg.connect(trading_db) as conn:
        prod = markers.read_markers(conn, purpose="dr-drill")
    assert len(prod) == 1 and prod[0].run_id == outcome.run_id
    # a logical backup does not hold the marker: RPO = marker time - snapshot time
    assert result.details["marker_in_copy"] is False
    expected = (prod[0].written_at - manifest.created_at).total_seconds()
    assert result.figures["rpo_seconds"] == pytest.approx(expected, abs=0.01)
    assert result.figures["trades_gap_seconds"] > 0
    phases = [result.figures[f"dr_phase_seconds.{p}"] for p in ("fetch", "restore", "verify", "bring_up", "health")]
    assert all(v >= 0 for v in phases) and result.figures["dr_phase_seconds.restore"] > 0
    assert "restore_seconds" not in result.figures  # restore-test's figure keeps its meaning
    assert result.figures["rto_seconds"] >= sum(phases) * 0.99
    assert result.details["differences"] == [] and result.details["health_problems"] == []
    series = open_history(cfg).figure_series("rto_seconds")
    assert [p.value for p in series] == [result.figures["rto_seconds"]]
    assert_dr_gone(cfg)


def test_dry_run_prints_the_plan_and_changes_nothing(backup_config: Callable[..., LoadedConfig], pg: PgServer,
                                                     trading_db: str) -> None:
    cfg = _drill_cfg(backup_config)
    manifest = create_backup(cfg, open_store(cfg))
    outcome = run_group(cfg, "quarterly", only=["dr-drill"], dry_run=True)
    result = outcome.procedures[0].result
    assert result.status is Status.OK
    plan = result.details["plan"]
    assert plan["backup"] == manifest.backup_id
    assert "scratch PostgreSQL server" in plan["dr_target"]
    assert any("exact restore verification" in c for c in plan["checks"])
    with pg.connect(trading_db) as conn:
        assert markers.read_markers(conn) == []
    assert_dr_gone(cfg)


def test_a_differing_copy_is_critical_and_still_cleaned(backup_config: Callable[..., LoadedConfig]) -> None:
    import json

    cfg = _drill_cfg(backup_config)
    manifest = create_backup(cfg, open_store(cfg))
    path = cfg.store_path / manifest.backup_id / "manifest.json"
    data = json.loads(path.read_text())
    data["tables"]["users"]["rows"] += 1
    path.write_text(json.dumps(data))
    result = dr_drill.run(make_ctx(cfg), dr_drill.Settings())
    assert result.status is Status.CRITICAL
    assert "users" in result.summary
    assert_dr_gone(cfg)


def test_unreachable_dr_health_url_fails_within_its_deadline(backup_config: Callable[..., LoadedConfig]) -> None:
    from smc_maint.embedded.postgres import free_port

    cfg = _drill_cfg(backup_config, health_urls=[{"name": "api", "url": f"http://127.0.0.1:{free_port()}/h",
                                                  "timeout_seconds": 1}], health_deadline_seconds=2)
    create_backup(cfg, open_store(cfg))
    result = run_group(cfg, "quarterly", only=["dr-drill"]).procedures[0].result
    assert result.status is Status.CRITICAL
    assert "api" in result.summary
    assert_dr_gone(cfg)


def test_kill_9_mid_restore_leftovers_removed_by_next_run(backup_config: Callable[..., LoadedConfig],
                                                          tmp_path: Path) -> None:
    cfg = _drill_cfg(backup_config)
    create_backup(cfg, open_store(cfg))
    reached = tmp_path / "reached"
    assert cfg.source is not None
    child = subprocess.Popen([sys.executable, "-m", "tests.dr_child", str(cfg.source), "restore",
                              str(reached)], cwd=ROOT, env=os.environ.copy())
    try:
        wait_for(lambda: reached.exists() or child.poll() is not None, "the drill to reach the restore", 120)
        assert child.poll() is None, "the drill ended before it was killed"
        assert _scratch_servers(cfg), "a scratch server runs mid-restore"
        assert jr.path_in(cfg.home).exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert _scratch_servers(cfg)  # SIGKILL left the server behind...
    result = run_group(cfg, "quarterly", only=["dr-drill"]).procedures[0].result
    assert result.status is Status.OK, result.summary
    assert any("removed" in x for x in result.details["leftovers_removed"])  # ...the next run removed it
    assert_dr_gone(cfg)


# -- Kubernetes drill against the fake API server, through the real KubernetesPlatform --------------------

PROD = {"api-gateway": 2, "trading-engine": 2, "web-app": 1}  # tests/kube_cluster.py's replica counts
LISTED = [{"name": n} for n in PROD]  # execution-engine and the StatefulSets are not listed
DR_NS = "smc-trading-dr"


def _dr_manifests(tmp_path: Path, namespace: str | None = None) -> Path:
    d = tmp_path / "dr-manifests"
    d.mkdir(exist_ok=True)
    labels = {"app.kubernetes.io/name": "api-gateway"}
    dep: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
                           "metadata": {"name": "api-gateway", "labels": labels},
                           "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                        {"name": "api-gateway", "image": "ghcr.io/smc/api-gateway:1.9.0"}]}}}}
    if namespace:
        dep["metadata"]["namespace"] = namespace
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
           "spec": {"selector": labels, "ports": [{"port": 80}]}}
    (d / "dr.yaml").write_text(yaml.safe_dump_all([dep, svc]))
    return d


def _k8s_cfg(backup_config: Callable[..., LoadedConfig], cluster: Cluster, tmp_path: Path,
             **settings: Any) -> LoadedConfig:
    return backup_config({"platform": {"kind": "kubernetes", "namespace": NS,
                                       "kubeconfig": str(cluster.kubeconfig(tmp_path / "kubeconfig"))},
                          "procedures": {"dr-drill": settings}})


def _k8s_run(cfg: LoadedConfig) -> Any:
    settings = cfg.settings_for("dr-drill")
    assert isinstance(settings, dr_drill.Settings)
    return dr_drill.run(make_ctx(cfg), settings)


def _replicas(cluster: Cluster, name: str, kind: str = "Deployment") -> int:
    obj = cluster.api.get(kind, name, NS)
    assert obj is not None
    return int(obj["spec"]["replicas"])


def _outside_dr(cluster: Cluster) -> dict[Any, Any]:
    """Every object outside the DR namespace with what a drill could change (replicas aside)."""
    return {k: ({kk: vv for kk, vv in (v.get("spec") or {}).items() if kk != "replicas"}, v.get("metadata", {})
                .get("labels")) for k, v in cluster.api.store.items() if DR_NS not in (k[2], k[3])}


def _writes(cluster: Cluster) -> list[tuple[str, str]]:
    return [(m, path) for m, path in cluster.api.requests if m not in ("GET", "EXEC")]


def assert_writes_confined(cluster: Cluster) -> None:
    """Writes only to the DR namespace, the namespaces collection, and the listed workloads' scale."""
    allowed = {f"/apis/apps/v1/namespaces/{NS}/deployments/{n}/scale" for n in PROD}
    for method, path in _writes(cluster):
        path = path.split("?")[0]
        assert (path in allowed or f"/namespaces/{DR_NS}" in path or path == "/api/v1/namespaces"), (method, path)


def enforce_drill_rbac(cluster: Cluster) -> None:
    """The fake answers 403 to anything the generated quarterly Role and ClusterRole do not grant."""
    from smc_maint.config.loader import load_config
    from smc_maint.k8s import manifests

    objects = manifests.build(load_config(None).config.schedule,
                              manifests.Options(store_kind="s3", groups=["quarterly"]))
    cluster.api.rbac = [r for o in objects if o["kind"] == "Role" for r in o["rules"]]
    cluster.api.cluster_rbac = [r for o in objects if o["kind"] == "ClusterRole" for r in o["rules"]]


def test_kubernetes_drill_with_outage_restores_exact_counts(backup_config: Callable[..., LoadedConfig],
                                                            fake_cluster: Cluster, tmp_path: Path) -> None:
    enforce_drill_rbac(fake_cluster)
    cfg = _k8s_cfg(backup_config, fake_cluster, tmp_path, manifests_dir=str(_dr_manifests(tmp_path)),
                   simulate_outage=True, production_workloads=LISTED, confirmed_namespace=NS)
    create_backup(cfg, open_store(cfg))
    before = _outside_dr(fake_cluster)
    result = _k8s_run(cfg)
    assert result.status is Status.OK, result.summary
    assert fake_cluster.api.denied == []
    for name, replicas in PROD.items():
        assert _replicas(fake_cluster, name) == replicas
    assert _replicas(fake_cluster, "execution-engine") == 1
    assert _outside_dr(fake_cluster) == before  # nothing else changed
    writes = _writes(fake_cluster)
    scaled = {p.split("/")[-2] for m, p in writes if p.endswith("/scale")}
    assert scaled == set(PROD)  # never execution-engine, never a StatefulSet
    assert ("POST", f"/apis/apps/v1/namespaces/{DR_NS}/deployments") in writes  # the DR manifests applied
    assert ("POST", f"/api/v1/namespaces/{DR_NS}/services") in writes
    assert ("DELETE", f"/api/v1/namespaces/{DR_NS}") in writes
    assert_writes_confined(fake_cluster)
    assert fake_cluster.api.get("Namespace", DR_NS) is None
    assert [k for k in fake_cluster.api.store if DR_NS in (k[2], k[3])] == []
    assert sorted(result.details["scaled"]) == ["Deployment/api-gateway: 2 -> 0",
                                                "Deployment/trading-engine: 2 -> 0", "Deployment/web-app: 1 -> 0"]
    assert_dr_gone(cfg)


def test_drill_health_fails_when_the_dr_workloads_never_become_available(
        backup_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> None:
    d = _dr_manifests(tmp_path)
    docs = list(yaml.safe_load_all((d / "dr.yaml").read_text()))
    docs[0]["metadata"]["annotations"] = {CRASHLOOP: "true"}  # the fake's controller never makes it ready
    (d / "dr.yaml").write_text(yaml.safe_dump_all(docs))
    cfg = _k8s_cfg(backup_config, fake_cluster, tmp_path, manifests_dir=str(d), health_deadline_seconds=2)
    create_backup(cfg, open_store(cfg))
    result = _k8s_run(cfg)
    assert result.status is Status.CRITICAL, result.summary
    assert "api-gateway" in " ".join(result.details["health_problems"])
    assert fake_cluster.api.get("Namespace", DR_NS) is None
    assert_dr_gone(cfg)


def test_invalid_dr_manifest_is_rejected_by_the_api_and_cleaned(
        backup_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> None:
    d = _dr_manifests(tmp_path)
    docs = list(yaml.safe_load_all((d / "dr.yaml").read_text()))
    docs[0]["spec"]["replicas"] = "two"  # kubernetes-validate in the fake refuses it, as a real API would
    (d / "dr.yaml").write_text(yaml.safe_dump_all(docs))
    cfg = _k8s_cfg(backup_config, fake_cluster, tmp_path, manifests_dir=str(d))
    create_backup(cfg, open_store(cfg))
    result = _k8s_run(cfg)
    assert result.status is Status.CRITICAL, result.summary
    assert fake_cluster.api.get("Namespace", DR_NS) is None
    assert_dr_gone(cfg)


def test_outage_without_typed_namespace_is_refused_and_touches_nothing(
        backup_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> None:
    cfg = _k8s_cfg(backup_config, fake_cluster, tmp_path, simulate_outage=True, production_workloads=LISTED,
                   confirmed_namespace="smc-tradin")
    create_backup(cfg, open_store(cfg))
    result = _k8s_run(cfg)
    assert result.status is Status.CRITICAL and "refused" in result.summary
    assert _writes(fake_cluster) == []
    assert_dr_gone(cfg)


def test_manifest_for_another_namespace_is_refused(backup_config: Callable[..., LoadedConfig],
                                                   fake_cluster: Cluster, tmp_path: Path) -> None:
    cfg = _k8s_cfg(backup_config, fake_cluster, tmp_path, manifests_dir=str(_dr_manifests(tmp_path, NS)))
    create_backup(cfg, open_store(cfg))
    result = _k8s_run(cfg)
    assert result.status is Status.CRITICAL and "may only target the DR namespace" in result.summary
    assert _writes(fake_cluster) == []


def test_kill_between_scale_down_and_up_then_recover_restores_exact_counts(
        backup_config: Callable[..., LoadedConfig], fake_cluster: Cluster, tmp_path: Path) -> None:
    from smc_maint.cli.dr_cmd import recover_now

    enforce_drill_rbac(fake_cluster)
    cfg = _k8s_cfg(backup_config, fake_cluster, tmp_path, manifests_dir=str(_dr_manifests(tmp_path)),
                   simulate_outage=True, production_workloads=LISTED, allow_scheduled_outage=True)
    create_backup(cfg, open_store(cfg))
    reached = tmp_path / "reached"
    assert cfg.source is not None
    # the fake API server runs in this process; the child reaches it through the config's kubeconfig
    child = subprocess.Popen([sys.executable, "-m", "tests.dr_child", str(cfg.source), "k8s", str(reached)],
                             cwd=ROOT, env=os.environ.copy())
    try:
        wait_for(lambda: reached.exists() or child.poll() is not None, "the drill to scale down", 120)
        assert child.poll() is None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert [_replicas(fake_cluster, n) for n in PROD] == [0, 0, 0]
    assert fake_cluster.api.get("Namespace", DR_NS) is not None
    done = recover_now(cfg, make_ctx(cfg))
    for name, replicas in PROD.items():
        assert _replicas(fake_cluster, name) == replicas
    assert _replicas(fake_cluster, "execution-engine") == 1
    assert fake_cluster.api.get("Namespace", DR_NS) is None
    assert any("deleted DR namespace" in d for d in done)
    assert fake_cluster.api.denied == []
    assert_writes_confined(fake_cluster)
    assert_dr_gone(cfg)
    assert recover_now(cfg, make_ctx(cfg)) == []  # idempotent


# -- pure decisions ---------------------------------------------------------------------------------------

T0 = datetime(2026, 10, 1, 5, 0, tzinfo=UTC)


def test_rpo_is_zero_when_the_marker_made_it_else_marker_minus_newest_point() -> None:
    base = dict(marker_at=T0, copy_newest_marker_at=T0 - timedelta(hours=30), prod_max_trade=None,
                copy_max_trade=None)
    assert rpo_seconds(RpoFacts(marker_in_copy=True, backup_snapshot_at=T0 - timedelta(hours=3), **base)) == 0
    assert rpo_seconds(RpoFacts(marker_in_copy=False, backup_snapshot_at=T0 - timedelta(hours=3), **base)) == 10800


def test_targets_warning_over_critical_far_over() -> None:
    assert against_target(90, 100, 2) is Status.OK
    assert against_target(150, 100, 2) is Status.WARNING
    assert against_target(201, 100, 2) is Status.CRITICAL


def test_journal_is_durable_and_round_trips(tmp_path: Path) -> None:
    path = jr.path_in(tmp_path)
    j = jr.Journal("d1", 123, T0.isoformat(), [jr.ScaledWorkload("Deployment", "api", "ns", 3)], "ns-dr")
    jr.save(path, j)
    assert jr.load(path) == j
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text("{broken")
    with pytest.raises(jr.JournalError, match="journal"):
        jr.load(path)


def test_recover_refuses_while_the_drill_still_runs(tmp_path: Path, backup_config: Callable[..., LoadedConfig]
                                                    ) -> None:
    cfg = _drill_cfg(backup_config)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        jr.save(jr.path_in(cfg.home), jr.Journal("d1", sleeper.pid, T0.isoformat(),
                                                 [jr.ScaledWorkload("Deployment", "api", "ns", 3)]))
        from smc_maint.errors import SafetyRefusal

        with pytest.raises(SafetyRefusal, match="still running"):
            drill.recover(cfg, lambda: pytest.fail("the platform is not touched"))
    finally:
        sleeper.kill()
        sleeper.wait()
    time.sleep(0)


def test_sigterm_mid_drill_removes_the_dr_target(backup_config: Callable[..., LoadedConfig],
                                                 tmp_path: Path) -> None:
    from smc_maint.embedded.postgres import free_port

    # an unreachable DR health URL keeps the drill in its health phase, scratch server up
    cfg = _drill_cfg(backup_config, health_urls=[{"name": "api", "url": f"http://127.0.0.1:{free_port()}/h",
                                                  "timeout_seconds": 1}], health_deadline_seconds=120)
    create_backup(cfg, open_store(cfg))
    assert cfg.source is not None
    child = subprocess.Popen([sys.executable, "-m", "smc_maint", "dr-drill", "-c", str(cfg.source)], cwd=ROOT,
                             env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: bool(_scratch_servers(cfg)) or child.poll() is not None, "the DR scratch server", 120)
        assert child.poll() is None
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert _scratch_servers(cfg) == []
    work = cfg.config.backup.work_dir
    assert work is not None
    assert [p for p in work.rglob("*") if p.name != "scratch"] == []
    left = jr.load(jr.path_in(cfg.home))
    assert left is None or left.empty  # nothing to undo; the next run clears the file


def _report(rto: float, rpo_hours: float) -> drill.DrillReport:
    plan = drill.Plan("b1", T0, "store", "local", "scratch", None, [], [], [])
    facts = RpoFacts(T0, False, None, T0 - timedelta(hours=rpo_hours), T0, T0)
    return drill.DrillReport(plan, phases={"restore": rto / 2}, rto_seconds=rto, rpo=facts)


@pytest.mark.parametrize(("rto", "rpo_hours", "status"), [
    (50, 1, Status.OK), (150, 1, Status.WARNING), (250, 1, Status.CRITICAL),
    (50, 5, Status.WARNING), (50, 9, Status.CRITICAL)])
def test_judge_weighs_rto_and_rpo_against_targets(rto: float, rpo_hours: float, status: Status) -> None:
    settings = dr_drill.Settings(rto_target_seconds=100, rpo_target_seconds=4 * 3600, critical_factor=2)
    result = dr_drill.judge(_report(rto, rpo_hours), settings)
    assert result.status is status
    assert result.figures["rto_seconds"] == rto and result.figures["rpo_seconds"] == rpo_hours * 3600
    assert result.figures["dr_phase_seconds.restore"] == rto / 2


def test_judge_unrestored_production_is_critical_first() -> None:
    report = _report(50, 1)
    report.restore_failures = ["Deployment/api in smc-trading -> 3: forbidden"]
    result = dr_drill.judge(report, dr_drill.Settings())
    assert result.status is Status.CRITICAL and "dr-drill recover" in result.summary
