"""The security audit through the real ``KubernetesPlatform`` against the fake Kubernetes API gives
the same findings as the audit of a ``kubectl get -o json`` dump of the same objects; Secrets cross
the seam as metadata only, so a planted value appears in no output. The generated RBAC grants the
Secret listing only with ``k8s manifests --secret-metadata``: without it, that one read is a finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smc_maint.adapters.platform.kubernetes import KubernetesPlatform
from smc_maint.config.loader import load_config
from smc_maint.config.model import PlatformConfig
from smc_maint.k8s import manifests
from smc_maint.security.audit import sources
from smc_maint.security.audit.engine import Options, run_checks
from smc_maint.security.audit.objects import KNOWN

from .audit_support import FIXTURE, NOW, PLANTED
from .fake_kube_api import RESOURCES, FakeKubeApi
from .kube_cluster import TOKEN

NAMESPACES = ["smc-trading", "smc-staging"]


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    """A fake API server holding the objects of the fixture dump (its controller adds the Pods of
    the Deployments, as a real one would)."""
    fake = FakeKubeApi(token=TOKEN).start()
    try:
        for name in NAMESPACES:
            fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        for file in sorted(FIXTURE.glob("*.json")):
            for item in json.loads(file.read_text())["items"]:
                fake.put(item, validate=False)
        yield fake
    finally:
        fake.stop()


def _platform(api: FakeKubeApi, tmp_path: Path) -> KubernetesPlatform:
    return KubernetesPlatform(PlatformConfig.model_validate(
        {"kind": "kubernetes", "namespace": "smc-trading", "kubeconfig": str(api.kubeconfig(tmp_path / "kc"))}))


def _dump(api: FakeKubeApi, out: Path) -> Path:
    """What `kubectl get <kind> -A -o json` shows of the fake's store, one List per kind."""
    out.mkdir()
    for (group, version, _plural), (kind, _ns, _w) in RESOURCES.items():
        items = [o for (g, p, _n, _), o in sorted(api.store.items()) if (g, p) == (group, _plural)]
        if items and kind in KNOWN:
            api_version = f"{group}/{version}" if group else version
            (out / f"{kind}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": api_version, "kind": kind, **o} for o in items]}))
    return out


def _fingerprints(inv: Any) -> set[str]:
    return {f.fingerprint for f in run_checks(inv, NOW, Options())[0]}


def test_audit_through_the_platform_equals_the_audit_of_a_dump(api: FakeKubeApi, tmp_path: Path) -> None:
    p = _platform(api, tmp_path)
    try:
        live = sources.from_platform(p, NAMESPACES)
    finally:
        p.close()
    assert live.errors == []
    dumped = sources.from_dump_dir(_dump(api, tmp_path / "dump"), max_bytes=64 * 2**20)
    assert dumped.errors == []
    by_platform, by_dump = _fingerprints(live), _fingerprints(dumped)
    assert by_platform == by_dump and "RBAC-001:ClusterRoleBinding/ops-team-admin" in by_platform
    assert any(f.startswith("SEC-004:Secret/") for f in by_platform), by_platform  # TLS type known via the seam
    assert PLANTED not in repr(live.objects) and PLANTED not in repr(run_checks(live, NOW, Options()))


@pytest.mark.parametrize("secret_metadata", [False, True])
def test_generated_rbac_grants_the_secret_listing_only_with_secret_metadata(
        api: FakeKubeApi, tmp_path: Path, secret_metadata: bool) -> None:
    objects = manifests.build(load_config(None).config.schedule, manifests.Options(
        store_kind="s3", groups=["monthly"], secret_metadata=secret_metadata))
    api.rbac = [r for o in objects if o["kind"] == "Role" for r in o["rules"]]
    api.cluster_rbac = [r for o in objects if o["kind"] == "ClusterRole" for r in o["rules"]]
    p = _platform(api, tmp_path)
    try:
        inv = sources.from_platform(p, ["smc-trading"])
    finally:
        p.close()
    denied = [w for w, _ in inv.errors]
    assert denied == ([] if secret_metadata else ["kubernetes:Secret in smc-trading"]), inv.errors
    if not secret_metadata:
        assert "--secret-metadata" in inv.errors[0][1] or "list secrets" in inv.errors[0][1], inv.errors
    assert PLANTED not in repr(inv.objects)
