"""``smc-maint k8s manifests``: valid against the Kubernetes schemas (strict, offline) and safe."""

from __future__ import annotations

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


def all_groups(tmp_path: Path, extra: str = "") -> list[dict[str, Any]]:
    cfg_file = tmp_path / "smc-maint.yaml"
    cfg_file.write_text(f"home: {tmp_path}/home\nschedule:\n  timezone: Europe/Warsaw\n{extra}")
    cfg = load_config(cfg_file)
    opts = manifests.Options(namespace="smc-trading", image="registry.example.com/smc/smc-maint:0.1.0",
                             config_yaml=cfg_file.read_text(), groups=["daily", "weekly", "monthly", "quarterly"],
                             timeouts_seconds={"monthly": 7200})
    return manifests.build(cfg.config.schedule, opts)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_validates_strictly(tmp_path: Path, version: str) -> None:
    for obj in all_groups(tmp_path):
        kubernetes_validate.validate(obj, version, strict=True)


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


def test_rbac_is_namespaced_and_never_reads_secrets_by_default(tmp_path: Path) -> None:
    objects = all_groups(tmp_path)
    kinds = [o["kind"] for o in objects]
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    role = next(o for o in objects if o["kind"] == "Role")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    assert not any(r == "secrets" for _, r, _ in granted)
    assert not any(v in ("*", "delete", "create", "deletecollection") for _, _, v in granted)
    assert all(r != "*" and g != "*" for g, r, _ in granted)
    writes = {(g, r) for g, r, v in granted if v in ("patch", "update")}
    assert writes == {("apps", "deployments/scale"), ("apps", "statefulsets/scale"),
                      ("networking.k8s.io", "ingresses")}
    assert all(rule.why for rule in rules(secret_metadata=True))


def test_configmap_carries_the_config_but_no_secret_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("SMC_MAINT_DATABASE_PASSWORD", "hunter2-very-secret")
    cfg_file = tmp_path / "smc-maint.yaml"
    cfg_file.write_text(f"home: {tmp_path}/home\ndatabase:\n  host: db.smc-trading.svc\n")
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
