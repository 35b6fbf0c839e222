"""KubernetesPlatform against the fake API server (the official client, unmodified, over real HTTP/TLS)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import trustme
from kubernetes import client as kclient
from kubernetes.config import incluster_config

from smc_maint.adapters.platform import PlatformError
from smc_maint.adapters.platform.kube_objects import parse_quantity
from smc_maint.adapters.platform.kubernetes import KubernetesPlatform, exit_status
from smc_maint.config.model import PlatformConfig

from .fake_kube_api import ExecCall, FakeKubeApi
from .kube_cluster import NS, PLANTED, TOKEN, Cluster, populate


def _platform(cluster: Cluster, tmp_path: Path, **extra: object) -> KubernetesPlatform:
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig")
    return KubernetesPlatform(PlatformConfig(kind="kubernetes", kubeconfig=kubeconfig, **extra))  # type: ignore[arg-type]


def test_workloads_and_pods_as_kubectl_shows_them(fake_cluster: Cluster, tmp_path: Path) -> None:
    p = _platform(fake_cluster, tmp_path)
    rows = {(w.kind, w.name): (w.desired, w.ready, w.images) for w in p.list_workloads()}
    assert rows[("Deployment", "trading-engine")] == (2, 2, ("ghcr.io/smc/trading-engine:2.4.1",))
    assert rows[("Deployment", "execution-engine")][:2] == (1, 0)
    assert rows[("StatefulSet", "postgres-primary")][:2] == (1, 1)
    assert len(rows) == 6
    pods = p.list_pods()
    crash = [x for x in pods if x.owner == "execution-engine"]
    assert len(crash) == 1 and not crash[0].ready and crash[0].waiting_reasons == ("CrashLoopBackOff",)
    assert crash[0].restarts == 17
    assert {x.owner for x in pods} == {"trading-engine", "api-gateway", "execution-engine", "web-app",
                                       "postgres-primary", "pgbouncer"}
    assert [x.name for x in p.list_pods(selector={"app.kubernetes.io/name": "pgbouncer"})] == ["pgbouncer-0"]
    assert p.server_version().git_version == "v1.30.4"


def test_lists_follow_opaque_continue_tokens_and_restart_once_on_410(fake_cluster: Cluster, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    api = fake_cluster.api
    api.max_page = 2
    p = _platform(fake_cluster, tmp_path, page_size=50)
    assert len(p.list_pods()) == 8
    assert api.page_size_seen[-4:] == [50] * 4  # 8 pods in pages of 2
    # A compaction between pages expires the token: the listing starts over once and is complete.
    original = api._list
    calls = {"n": 0}

    def compacting(*args: object, **kw: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            api.expire_continue_tokens()
        return original(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "_list", compacting)
    assert len(p.list_pods()) == 8
    assert any(code for code in api.served if b'"Expired"' in code)
    # Expired on every try: a PlatformError with the API's message, not a partial list.
    monkeypatch.setattr(api, "_compacted", 10**9)
    with pytest.raises(PlatformError, match="410 The provided continue parameter is too old") as info:
        p.list_pods()
    assert info.value.status == 410


def test_usage_quantities_parsed_as_kubectl_top(fake_cluster: Cluster, tmp_path: Path) -> None:
    p = _platform(fake_cluster, tmp_path)
    nodes = {u.name: u for u in p.node_usage()}
    assert nodes["node-a"].cpu_cores == 1.5 and nodes["node-a"].memory_bytes == 6 * 2**30
    assert nodes["node-b"].cpu_cores == pytest.approx(2.35) and nodes["node-b"].memory_bytes == 8 * 2**30
    pods = [u for u in p.pod_usage() if u.owner == "trading-engine"]
    assert len(pods) == 2 and all(u.cpu_cores == 0.25 and u.memory_bytes == 512 * 2**20 for u in pods)
    assert parse_quantity("1234n") == parse_quantity("0.000001234")
    assert float(parse_quantity("1.5Gi")) == 1.5 * 2**30 and float(parse_quantity("2k")) == 2000
    with pytest.raises(ValueError):
        parse_quantity("12XYZ")


def test_exec_stdout_stderr_exit_code_missing_tool_and_timeout(fake_cluster: Cluster, tmp_path: Path) -> None:
    p = _platform(fake_cluster, tmp_path)
    pod = fake_cluster.pods_of("trading-engine")[0]
    listed = p.exec(pod, ["find", "/var/log/app", "-type", "f", "-name", "*.gz", "-mtime", "+7"])
    assert listed.ok and listed.stdout == "/var/log/app/app.log.2.gz\n"
    failed = p.exec(pod, ["find", "/nonexistent"])
    assert failed.exit_code == 1 and "No such file or directory" in failed.stderr
    missing = p.exec(pod, ["npm", "outdated", "--json"])
    assert missing.exit_code is None and 'executable file not found in $PATH' in missing.stderr

    def slow(call: ExecCall) -> tuple[str, str, int]:
        time.sleep(2.5)
        return "late", "", 0

    fake_cluster.api.programs[(NS, pod)]["slow"] = slow
    res = p.exec(pod, ["slow"], timeout_seconds=0.5)
    assert res.timed_out and res.exit_code is None
    with pytest.raises(PlatformError, match='404 pods "nope" not found'):
        p.exec("nope", ["true"])
    with pytest.raises(PlatformError, match="container sidecar is not valid"):
        p.exec(pod, ["true"], container="sidecar")
    assert exit_status('{"status": "Failure", "reason": "NonZeroExitCode", "details": {"causes": '
                       '[{"reason": "ExitCode", "message": "3"}]}}') == (3, "")


def test_scale_selector_and_namespaces_are_stateful(fake_cluster: Cluster, tmp_path: Path) -> None:
    p = _platform(fake_cluster, tmp_path)
    assert p.scale("Deployment", "web-app", 3) == 1
    assert p.get_scale("Deployment", "web-app") == 3 and len(fake_cluster.pods_of("web-app")) == 3
    assert p.scale("StatefulSet", "pgbouncer", 0) == 1 and fake_cluster.pods_of("pgbouncer") == []
    assert fake_cluster.api.get("StatefulSet", "pgbouncer")["status"]["readyReplicas"] == 0  # type: ignore[index]
    with pytest.raises(PlatformError, match=r'404 deployments\.apps "ghost" not found') as info:
        p.get_scale("Deployment", "ghost")
    assert info.value.status == 404
    before = p.set_service_selector("api-gateway", {"app": "maintenance-page"})
    assert before == {"app.kubernetes.io/name": "api-gateway", "app.kubernetes.io/part-of": "smc-trading"}
    assert fake_cluster.api.get("Service", "api-gateway")["spec"]["selector"] == {"app": "maintenance-page"}  # type: ignore[index]
    assert p.set_service_selector("api-gateway", before) == {"app": "maintenance-page"}
    assert p.get_service_selector("api-gateway") == before
    assert not p.namespace_exists("dr-drill-1")
    p.create_namespace("dr-drill-1", {"purpose": "dr"})
    assert p.namespace_exists("dr-drill-1")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api-gateway"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "gw"}},
                           "template": {"metadata": {"labels": {"app": "gw"}},
                                        "spec": {"containers": [{"name": "gw", "image": "gw:1.0"}]}}}}
    assert p.apply([deployment], "dr-drill-1") == ["Deployment/api-gateway"]
    deployment["spec"]["replicas"] = 2  # type: ignore[index]
    assert p.apply([deployment], "dr-drill-1") == ["Deployment/api-gateway"]  # 409 -> replace
    assert fake_cluster.api.get("Deployment", "api-gateway", "dr-drill-1")["spec"]["replicas"] == 2  # type: ignore[index]
    bad = {**deployment, "spec": {"replicas": "two"}}
    with pytest.raises(PlatformError, match=r"422 .*is invalid") as info:
        p.apply([bad], "dr-drill-1")
    assert info.value.status == 422
    p.delete_namespace("dr-drill-1")
    assert not p.namespace_exists("dr-drill-1")
    assert fake_cluster.api.objects("Deployment", "dr-drill-1") == []
    with pytest.raises(PlatformError, match="404"):
        p.apply([deployment], "dr-drill-1")  # the namespace is gone


def test_official_client_patches_merge_and_strategic_with_optimistic_concurrency(fake_cluster: Cluster,
                                                                                 tmp_path: Path) -> None:
    from kubernetes import config as kconfig

    conf = kclient.Configuration()
    kconfig.load_kube_config(config_file=str(fake_cluster.kubeconfig(tmp_path / "kc")), client_configuration=conf)
    apps = kclient.AppsV1Api(kclient.ApiClient(conf))
    patched = apps.patch_namespaced_deployment("trading-engine", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "trading-engine", "image": "ghcr.io/smc/trading-engine:2.5.0"}]}}}})
    container = patched.spec.template.spec.containers[0]
    assert container.image.endswith(":2.5.0") and container.resources.requests["cpu"] == "250m"  # merged by name
    current = apps.read_namespaced_deployment("trading-engine", NS)
    stale = current.metadata.resource_version
    current.spec.replicas = 3
    apps.replace_namespaced_deployment("trading-engine", NS, current)
    current.metadata.resource_version = stale
    with pytest.raises(kclient.ApiException) as info:
        apps.replace_namespaced_deployment("trading-engine", NS, current)
    assert info.value.status == 409 and json.loads(info.value.body)["reason"] == "Conflict"
    with pytest.raises(kclient.ApiException) as info:
        apps.create_namespaced_deployment(NS, apps.read_namespaced_deployment("web-app", NS))
    assert info.value.status == 409 and json.loads(info.value.body)["reason"] == "AlreadyExists"


def test_secrets_are_metadata_only_and_values_never_cross_the_wire(fake_cluster: Cluster, tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    p = _platform(fake_cluster, tmp_path)
    secrets = p.list_objects("Secret")
    assert [s["metadata"]["name"] for s in secrets] == ["trading-secrets"]
    assert "data" not in secrets[0] and "stringData" not in secrets[0]
    text = json.dumps(secrets) + caplog.text
    wire = b"".join(fake_cluster.api.served)
    for value in PLANTED.values():
        assert value not in text and value.encode() not in wire
    assert any(b"PartialObjectMetadataList" in body for body in fake_cluster.api.served)


def test_rbac_errors_carry_the_api_message_and_the_missing_permission(fake_cluster: Cluster,
                                                                      tmp_path: Path) -> None:
    fake_cluster.api.rbac = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    p = _platform(fake_cluster, tmp_path)
    assert p.list_pods()
    with pytest.raises(PlatformError) as info:
        p.list_workloads()
    assert info.value.status == 403
    assert 'cannot list resource "deployments" in API group "apps"' in str(info.value)
    assert "needs list deployments.apps, list statefulsets.apps" in str(info.value)
    bad = tmp_path / "bad-kubeconfig"
    bad.write_text(fake_cluster.kubeconfig(tmp_path / "kc").read_text().replace(TOKEN, "wrong-" + "t0ken"))
    with pytest.raises(PlatformError, match="401 Unauthorized") as info:
        KubernetesPlatform(PlatformConfig(kind="kubernetes", kubeconfig=bad)).list_pods()
    assert "wrong-" + "t0ken" not in str(info.value)


def test_in_cluster_service_account_over_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path every generated CronJob uses: token and CA file laid out as in a pod, HTTPS to the API."""
    ca = trustme.CA()
    server_ctx = __import__("ssl").create_default_context(__import__("ssl").Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    api = FakeKubeApi(token=TOKEN, tls=server_ctx).start()
    try:
        populate(api)
        sa = tmp_path / "var/run/secrets/kubernetes.io/serviceaccount"
        sa.mkdir(parents=True)
        (sa / "token").write_text(TOKEN)
        ca.cert_pem.write_to_path(str(sa / "ca.crt"))
        (sa / "namespace").write_text(NS)
        monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
        monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
        p = KubernetesPlatform(PlatformConfig(kind="kubernetes", in_cluster=True))
        assert len(p.list_workloads()) == 6
        res = p.exec(Cluster(api).pods_of("trading-engine")[0], ["pip", "list", "--outdated",
                                                                              "--format", "json"])
        assert res.ok and json.loads(res.stdout)[0]["name"] == "fastapi"  # wss:// verified against the CA
        (sa / "ca.crt").write_text(trustme.CA().cert_pem.bytes().decode())  # a CA that did not sign the server
        with pytest.raises(PlatformError, match="cannot reach the Kubernetes API"):
            KubernetesPlatform(PlatformConfig(kind="kubernetes", in_cluster=True)).list_pods()
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
        with pytest.raises(PlatformError, match="cannot load the Kubernetes configuration"):
            KubernetesPlatform(PlatformConfig(kind="kubernetes", in_cluster=True))
    finally:
        api.stop()
