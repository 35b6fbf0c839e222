"""The security audit through the real ``KubernetesPlatform`` against the fake Kubernetes API gives
the same findings as the audit of a ``kubectl get -o json`` dump of the same objects; Secrets cross
the seam as metadata only, so a planted value appears in no output. The generated RBAC grants the
Secret listing only with ``k8s manifests --secret-metadata``: without it, that one read is a finding.
"""

from __future__ import annotations

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

from .audit_support import NAMESPACES, NOW, PLANTED, dump_store, load_fixture
from .fake_kube_api import RESOURCES, FakeKubeApi
from .kube_cluster import TOKEN


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    fake = FakeKubeApi(token=TOKEN).start()
    try:
        yield load_fixture(fake)
    finally:
        fake.stop()


def _platform(api: FakeKubeApi, tmp_path: Path) -> KubernetesPlatform:
    return KubernetesPlatform(PlatformConfig.model_validate(
        {"kind": "kubernetes", "namespace": "smc-trading", "kubeconfig": str(api.kubeconfig(tmp_path / "kc"))}))


def _fingerprints(inv: Any) -> set[str]:
    return {f.fingerprint for f in run_checks(inv, NOW, Options())[0]}


def test_audit_through_the_platform_equals_the_audit_of_a_dump(api: FakeKubeApi, tmp_path: Path) -> None:
    p = _platform(api, tmp_path)
    try:
        live = sources.from_platform(p, NAMESPACES)
    finally:
        p.close()
    assert live.errors == []
    dumped = sources.from_dump_dir(dump_store(api, tmp_path / "dump"), max_bytes=64 * 2**20)
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


def test_platform_errors_are_findings_and_a_missing_crd_is_a_note(
        api: FakeKubeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from . import fake_kube_api

    monkeypatch.delitem(fake_kube_api.RESOURCES, ("cert-manager.io", "v1", "certificates"))  # CRD not installed
    api.rbac = [{"apiGroups": [g], "resources": [r], "verbs": ["list"]}
                for (g, _v, r), (kind, ns, _w) in RESOURCES.items() if ns and kind != "Secret"]
    api.cluster_rbac = [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles",
                                                                                  "clusterrolebindings"],
                         "verbs": ["list"]}]
    p = _platform(api, tmp_path)
    try:
        inv = sources.from_platform(p, ["smc-trading"])
    finally:
        p.close()
    [(where, why)] = inv.errors
    assert where == "kubernetes:Secret in smc-trading" and "403" in why and 'cannot list resource "secrets"' in why
    assert any("certificates.cert-manager.io is not installed" in n for n in inv.notes), inv.notes
    found = _fingerprints(inv)
    assert "AUDIT-001:kubernetes:Secret in smc-trading" in found
    assert "RBAC-001:ClusterRoleBinding/ops-team-admin" in found
