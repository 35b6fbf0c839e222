"""``smc-maint k8s manifests``: valid against the Kubernetes schemas (strict, offline) and safe."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from smc_maint.config.loader import load_config
from smc_maint.errors import ConfigError
from smc_maint.k8s import manifests
from smc_maint.k8s.rbac import rules

K8S_VERSIONS = ["1.30.0", "1.33.0"]  # timeZone is GA since 1.27


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SMC_MAINT_CONFIG"}
    return subprocess.run([sys.executable, "-m", "smc_maint", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def all_groups(tmp_path: Path, extra: str = "", *, store_pvc: str | None = None,
               store: str = "store:\n  kind: s3\n", on_demand: tuple[str, ...] = (),
               groups: tuple[str, ...] = ("daily", "weekly", "monthly", "quarterly")) -> list[dict[str, Any]]:
    cfg_file = tmp_path / "smc-maint.yaml"
    cfg_file.write_text(f"home: {tmp_path}/home\n{store}schedule:\n  timezone: Europe/Warsaw\n{extra}")
    cfg = load_config(cfg_file, environ={})
    opts = manifests.Options(namespace="smc-trading", image="registry.example.com/smc/smc-maint:0.1.0",
                             config_yaml=cfg_file.read_text(), groups=list(groups),
                             timeouts_seconds={"monthly": 7200}, store_kind=cfg.config.store.kind,
                             store_pvc=store_pvc, on_demand=on_demand)
    return manifests.build(cfg.config.schedule, opts)


def pod_spec(cronjob: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("store_pvc", [None, "smc-maint-backups"])
def test_every_object_validates_strictly(tmp_path: Path, version: str, store_pvc: str | None) -> None:
    store = "" if store_pvc else "store:\n  kind: s3\n"
    objects = all_groups(tmp_path, store=store, store_pvc=store_pvc)
    # ServiceAccount, Role, RoleBinding, ConfigMap and one CronJob per group: an empty build fails here.
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Role", "RoleBinding", "ClusterRole",
                                            "ClusterRoleBinding", "ConfigMap"] + ["CronJob"] * 4
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_local_store_without_a_volume_is_refused(tmp_path: Path) -> None:
    """A local store in the pod would be an emptyDir: the backups would go with the pod."""
    with pytest.raises(ConfigError, match="lost with it"):
        all_groups(tmp_path, store="")
    cfg_file = tmp_path / "smc-maint.yaml"
    result = cli("k8s", "manifests", "--image", "smc/smc-maint:0.1.0", "--config", str(cfg_file))
    assert result.returncode == 78
    assert "--store-pvc" in result.stderr and "Traceback" not in result.stderr and not result.stdout
    with pytest.raises(ConfigError, match="for a local store"):
        all_groups(tmp_path, store_pvc="smc-maint-backups")  # s3 with a PVC: a mistake, not ignored


def test_store_pvc_is_mounted_and_is_the_pods_store(tmp_path: Path) -> None:
    cronjobs = [o for o in all_groups(tmp_path, store="store:\n  path: /srv/backups\n",
                                      store_pvc="smc-maint-backups") if o["kind"] == "CronJob"]
    assert len(cronjobs) == 4
    for cj in cronjobs:
        pod = pod_spec(cj)
        assert {"name": "store", "persistentVolumeClaim": {"claimName": "smc-maint-backups"}} in pod["volumes"]
        (container,) = pod["containers"]
        assert {"name": "store", "mountPath": manifests.STORE_DIR} in container["volumeMounts"]
        assert {"name": "SMC_MAINT_STORE__PATH", "value": manifests.STORE_DIR} in container["env"]
        assert {"name": "SMC_MAINT_STORE__KIND", "value": "local"} in container["env"]


def test_s3_store_pins_the_kind_and_mounts_no_store_volume(tmp_path: Path) -> None:
    for cj in (o for o in all_groups(tmp_path) if o["kind"] == "CronJob"):
        pod = pod_spec(cj)
        assert all(v["name"] != "store" for v in pod["volumes"])
        assert {"name": "SMC_MAINT_STORE__KIND", "value": "s3"} in pod["containers"][0]["env"]


def test_header_creates_the_secret_from_a_file_never_from_literals(tmp_path: Path) -> None:
    text = manifests.to_yaml(all_groups(tmp_path))
    header = text.split("\n---", 1)[0].split("apiVersion", 1)[0]
    assert "--from-env-file=" in header
    assert "--from-literal" not in text


def test_cronjobs_are_dependable_and_locked_down(tmp_path: Path) -> None:
    objects = all_groups(tmp_path)
    cronjobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "CronJob"}
    assert sorted(cronjobs) == ["smc-maint-daily", "smc-maint-monthly", "smc-maint-quarterly", "smc-maint-weekly"]
    for name, cj in cronjobs.items():
        spec = cj["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["timeZone"] == "Europe/Warsaw"
        assert spec["startingDeadlineSeconds"] == 3600
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] == 0
        pod = job["template"]["spec"]
        assert pod["serviceAccountName"] == "smc-maint" and pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["image"].endswith(":0.1.0")
        assert container["args"][:3] == ["schedule", "run", name.removeprefix("smc-maint-")]
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["envFrom"] == [{"secretRef": {"name": "smc-maint-secrets"}}]
        assert {"name": "SMC_MAINT_HISTORY__BACKEND", "value": "postgresql"} in container["env"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/etc/smc-maint", "/var/lib/smc-maint", "/tmp"} <= mounts
    assert cronjobs["smc-maint-weekly"]["spec"]["schedule"] == "0 3 * * 0"
    assert cronjobs["smc-maint-monthly"]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 7200


def test_rbac_grants_only_what_the_procedures_use_and_never_secrets_by_default(tmp_path: Path) -> None:
    objects = all_groups(tmp_path)
    role = next(o for o in objects if o["kind"] == "Role")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    assert not any(r == "secrets" for _, r, _ in granted)
    # The quarterly DR drill (namespaces, its manifests, the outage simulation) is the one group that
    # writes: judged on its own below.
    objects = all_groups(tmp_path, groups=("daily", "weekly", "monthly"))
    role = next(o for o in objects if o["kind"] == "Role")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    assert not any(v in ("*", "delete", "deletecollection", "update") for _, _, v in granted)
    assert all(r != "*" and g != "*" for g, r, _ in granted)
    # Writes: exec in pods (log-cleanup and dependencies run commands there) ...
    assert {(g, r) for g, r, v in granted if v == "create"} == {("", "pods/exec")}
    # ... and only when asked for, emergency maintenance's scale of the trading engine and the API
    # Service's selector swap.
    assert not any(v == "patch" for _, _, v in granted)
    role = next(o for o in all_groups(tmp_path, on_demand=("emergency",), groups=("daily",)) if o["kind"] == "Role")
    assert {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
            if "patch" in rule["verbs"]} == {("", "services"), ("apps", "deployments/scale"),
                                              ("apps", "statefulsets/scale")}
    # Cluster-scoped reads only in the ClusterRole: node metrics, and the audit's cluster RBAC.
    cluster_role = next(o for o in objects if o["kind"] == "ClusterRole")
    assert cluster_role["metadata"]["name"] == "smc-maint-smc-trading"
    assert {(g, r, v) for rule in cluster_role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
            for v in rule["verbs"]} == {("metrics.k8s.io", "nodes", "list"),
                                        ("rbac.authorization.k8s.io", "clusterroles", "list"),
                                        ("rbac.authorization.k8s.io", "clusterrolebindings", "list")}
    binding = next(o for o in objects if o["kind"] == "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "smc-maint", "namespace": "smc-trading"}]
    assert all(rule.why for rule in rules(secret_metadata=True))
    assert any(r.resources == ("secrets",) and r.verbs == ("list",) for r in rules(secret_metadata=True))


def test_work_directory_is_sized_for_the_database(tmp_path: Path) -> None:
    """A 2 Gi emptyDir evicted the pod on a larger dump: a generic ephemeral volume of the given size, or a PVC."""
    sched = load_config(None).config.schedule
    base = manifests.Options(store_kind="s3", groups=["daily"])
    def home(opts: manifests.Options) -> dict[str, Any]:
        cron = next(o for o in manifests.build(sched, opts) if o["kind"] == "CronJob")
        vols = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
        return dict(next(v for v in vols if v["name"] == "home"))
    eph = home(dataclasses.replace(base, work_size="150Gi", work_storage_class="fast-ssd"))
    spec = eph["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert spec["resources"]["requests"]["storage"] == "150Gi" and spec["storageClassName"] == "fast-ssd"
    assert home(dataclasses.replace(base, work_pvc="smc-maint-work")) == {
        "name": "home", "persistentVolumeClaim": {"claimName": "smc-maint-work"}}
    with pytest.raises(ConfigError, match="not a Kubernetes quantity"):
        home(dataclasses.replace(base, work_size="lots"))


def test_configmap_carries_the_config_but_no_secret_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("SMC_MAINT_DATABASE_PASSWORD", "hunter2-very-secret")
    cfg_file = tmp_path / "smc-maint.yaml"
    cfg_file.write_text(f"home: {tmp_path}/home\ndatabase:\n  host: db.smc-trading.svc\nstore:\n  kind: s3\n")
    result = cli("k8s", "manifests", "--image", "smc/smc-maint@sha256:" + "a" * 64, "--config", str(cfg_file))
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    data = yaml.safe_load(configmap["data"]["smc-maint.yaml"])
    assert data["database"]["host"] == "db.smc-trading.svc"
    assert "home" not in data  # a path of this machine means nothing in the pod
    assert "hunter2" not in result.stdout
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("image", ["smc/smc-maint:latest", "smc/smc-maint", "registry:5000/smc/smc-maint",
                                   "smc/smc-maint@sha256:abc"])
def test_unpinned_images_are_refused(image: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pin"):
        manifests.check_image(image)
    result = cli("k8s", "manifests", "--image", image, cwd=tmp_path)
    assert result.returncode == 78
    assert "pin" in result.stderr and "Traceback" not in result.stderr


def test_pinned_images_pass() -> None:
    assert manifests.check_image("registry:5000/smc/smc-maint:0.1.0") == "registry:5000/smc/smc-maint:0.1.0"
    digest = "ghcr.io/smc/smc-maint@sha256:" + "0" * 64
    assert manifests.check_image(digest) == digest


def test_disabled_group_is_a_suspended_cronjob(tmp_path: Path) -> None:
    objects = all_groups(tmp_path, "  groups:\n    quarterly:\n      enabled: false\n")
    quarterly = next(o for o in objects if o["metadata"]["name"] == "smc-maint-quarterly")
    assert quarterly["spec"]["suspend"] is True


def test_dockerfile_is_non_root_pinned_and_matches_the_pod_user() -> None:
    text = (Path(__file__).parent.parent / "Dockerfile").read_text()
    bases = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ARG PYTHON_IMAGE=")]
    assert bases and all(":latest" not in b and ":" in b for b in bases)
    user = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert user == [f"{manifests.RUN_AS}:{manifests.RUN_AS}"]  # runAsNonRoot needs a numeric user
    assert "postgresql-client-15" in text and 'ENTRYPOINT ["smc-maint"]' in text
