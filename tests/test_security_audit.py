"""security-audit checks over a realistic namespace dump: every planted problem found, every clean object clean."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from smc_maint.security.audit import network, podsecurity, rbac, sources
from smc_maint.security.audit.engine import Options, audit, run_checks
from smc_maint.security.audit.findings import CHECKS, Finding
from smc_maint.security.audit.objects import Inventory
from smc_maint.security.audit.suppressions import Suppression, apply
from smc_maint.security.audit.workloads import pod_sources, selector_matches

from .audit_support import FIXTURE, NOW, PLANTED, fixture_inventory

EXPECTED = {
    "RBAC-001:ClusterRoleBinding/ops-team-admin",
    "RBAC-002:Role/smc-trading/everything",
    "RBAC-003:Role/smc-trading/execution-ops",
    "RBAC-004:Role/smc-trading/execution-ops",
    "RBAC-005:ClusterRole/impersonator",
    "RBAC-006:ClusterRole/ci-deployer",
    "RBAC-007:RoleBinding/smc-trading/legacy-default-view",
    "RBAC-008:Deployment/smc-trading/web-app",
    "NET-001:Namespace/smc-staging",
    "NET-002:Namespace/smc-staging",
    "NET-004:Deployment/smc-trading/pgbouncer",
    "NET-004:Deployment/smc-trading/web-app",
    "NET-004:Pod/smc-trading/debug-shell",
    "PSS-001:Deployment/smc-trading/execution-engine",
    "PSS-001:StatefulSet/smc-trading/postgres-primary",
    "PSS-002:Deployment/smc-trading/api-gateway",
    "PSS-002:Deployment/smc-trading/web-app",
    "PSS-003:Deployment/smc-trading/api-gateway",
    "PSS-003:Deployment/smc-trading/execution-engine",
    "PSS-003:Deployment/smc-trading/web-app",
    "PSS-003:StatefulSet/smc-trading/postgres-primary",
    "SEC-001:Deployment/smc-trading/api-gateway",
    "SEC-001:Pod/smc-trading/debug-shell",
    "SEC-001:StatefulSet/smc-trading/postgres-primary",
    "SEC-002:Secret/smc-trading/abandoned-webhook",
    "SEC-002:Secret/smc-trading/legacy-tls",
    "SEC-003:Secret/smc-trading/api-gateway-jwt",
    "SEC-003:Secret/smc-trading/legacy-tls",
    "SEC-003:Secret/smc-trading/old-exchange-keys",
    "SEC-004:Secret/smc-trading/api-gateway-tls",
    "SEC-005:Secret/smc-trading/legacy-tls",
    "VULN-001:Deployment/smc-trading/api-gateway",
    "VULN-002:Deployment/smc-trading/trading-engine",
}


def _findings(inv: Inventory | None = None) -> list[Finding]:
    return run_checks(inv or fixture_inventory(), NOW, Options())[0]


def test_fixture_dump_gives_exactly_the_planted_findings() -> None:
    found = _findings()
    assert {f.fingerprint for f in found} == EXPECTED
    # every check of the catalogue (but the input error) fails somewhere in the fixture
    assert {f.check for f in found} == set(CHECKS) - {"AUDIT-001", "NET-003"}


def test_clean_objects_have_no_findings() -> None:
    objects = {f.object for f in _findings() if not f.check.startswith("VULN")}
    # its image has vulnerabilities, but otherwise: the restricted, read-only, token-less workloads and the built-in RBAC objects are clean
    for clean in ("Deployment/smc-trading/trading-engine", "ClusterRoleBinding/cluster-admin", "ClusterRole/cluster-admin",
                  "Role/smc-trading/trading-engine-reader", "Secret/smc-trading/trading-engine-api-keys",
                  "Secret/smc-trading/web-app-tls", "Secret/smc-trading/regcred", "Secret/smc-trading/pgbouncer-userlist",
                  "Secret/smc-trading/web-app-token-7h2k9", "Pod/smc-staging/staging-probe"):
        assert clean not in objects, clean
    table = run_checks(fixture_inventory(), NOW, Options())[1]["pod_security"]
    assert {k: v["level"] for k, v in table.items()} == {
        "Deployment/smc-trading/trading-engine": "restricted", "Deployment/smc-trading/api-gateway": "baseline",
        "Deployment/smc-trading/execution-engine": "privileged", "Deployment/smc-trading/web-app": "baseline",
        "Deployment/smc-trading/pgbouncer": "restricted", "StatefulSet/smc-trading/postgres-primary": "privileged",
        "Pod/smc-trading/debug-shell": "restricted", "Pod/smc-staging/staging-probe": "restricted"}


def test_default_deny_ingress_counts_as_coverage() -> None:
    found = _findings()
    # smc-trading has podSelector: {} + policyTypes [Ingress] and no rules: no ingress finding there
    assert not [f for f in found if f.check in ("NET-001", "NET-003") and f.namespace == "smc-trading"]
    # without it, every workload but the api-gateway (its own allow policy) is uncovered
    inv = fixture_inventory()
    inv.objects["NetworkPolicy"] = [p for p in inv.of("NetworkPolicy") if p["metadata"]["name"] != "default-deny-ingress"]
    uncovered = {f.object for f in _findings(inv) if f.check == "NET-003"}
    assert "Deployment/smc-trading/api-gateway" not in uncovered
    assert "Deployment/smc-trading/trading-engine" in uncovered


def test_egress_default_deny_and_policy_type_defaulting() -> None:
    pol = {"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "n"},
           "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}
    assert network.policy_types(pol) == {"Egress"}
    assert network.policy_types({"spec": {"podSelector": {}}}) == {"Ingress"}
    assert network.policy_types({"spec": {"podSelector": {}, "egress": [{}]}}) == {"Ingress", "Egress"}
    inv = Inventory()
    inv.add(pol)
    inv.add({"kind": "Pod", "metadata": {"name": "p", "namespace": "n", "labels": {"app": "x"}}, "spec": {"containers": []}})
    found = network.check(inv, pod_sources(inv))
    assert [f.fingerprint for f in found] == ["NET-001:Namespace/n"]  # egress covered by the default deny


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ({}, {"a": "1"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
])
def test_label_selectors(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


RESTRICTED_POD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "image": "x", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        "readOnlyRootFilesystem": True}}],
    "volumes": [{"name": "c", "configMap": {"name": "c"}}, {"name": "t", "emptyDir": {}}],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(RESTRICTED_POD)
    cursor: Any = spec
    keys = path.split(".")
    for key in keys[:-1]:
        cursor = cursor[int(key)] if key.isdigit() else cursor.setdefault(key, {})
    cursor[keys[-1]] = value
    return spec


@pytest.mark.parametrize(("path", "value"), [
    ("hostNetwork", True), ("hostPID", True), ("hostIPC", True),
    ("securityContext.windowsOptions", {"hostProcess": True}),
    ("containers.0.securityContext.privileged", True),
    ("containers.0.securityContext.capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
    ("volumes", [{"name": "h", "hostPath": {"path": "/"}}]),
    ("containers.0.ports", [{"containerPort": 80, "hostPort": 80}]),
    ("containers.0.securityContext.procMount", "Unmasked"),
    ("containers.0.securityContext.seLinuxOptions", {"type": "spc_t"}),
    ("securityContext.seLinuxOptions", {"user": "system_u"}),
    ("securityContext.seccompProfile", {"type": "Unconfined"}),
    ("containers.0.securityContext.appArmorProfile", {"type": "Unconfined"}),
    ("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}]),
    ("containers.0.livenessProbe", {"httpGet": {"host": "10.0.0.1", "port": 80}}),
])
def test_each_baseline_field_makes_the_pod_privileged(path: str, value: Any) -> None:
    assert podsecurity.evaluate(RESTRICTED_POD, {}).level == "restricted"
    result = podsecurity.evaluate(_with(path, value), {})
    assert result.level == "privileged"
    assert len(result.baseline) == 1, result.baseline


def test_apparmor_annotation_and_safe_values() -> None:
    bad = podsecurity.evaluate(RESTRICTED_POD, {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"})
    assert bad.level == "privileged"
    for ok in ("runtime/default", "localhost/my-profile"):
        assert podsecurity.evaluate(RESTRICTED_POD, {"container.apparmor.security.beta.kubernetes.io/app": ok}).level \
            == "restricted"
    assert podsecurity.evaluate(_with("securityContext.sysctls", [{"name": "net.ipv4.ip_unprivileged_port_start"}]),
                                {}).level == "restricted"
    assert podsecurity.evaluate(_with("containers.0.securityContext.seLinuxOptions", {"type": "container_init_t"}),
                                {}).level == "restricted"


@pytest.mark.parametrize(("path", "value"), [
    ("containers.0.securityContext.allowPrivilegeEscalation", True),
    ("securityContext.runAsNonRoot", False),
    ("securityContext.runAsUser", 0),
    ("containers.0.securityContext.runAsUser", 0),
    ("securityContext.seccompProfile", None),
    ("containers.0.securityContext.capabilities", {"drop": ["NET_RAW"]}),
    ("containers.0.securityContext.capabilities", {"drop": ["ALL"], "add": ["CHOWN"]}),
    ("volumes", [{"name": "n", "nfs": {"server": "x", "path": "/"}}]),
])
def test_each_restricted_field_keeps_the_pod_at_baseline(path: str, value: Any) -> None:
    result = podsecurity.evaluate(_with(path, value), {})
    assert result.level == "baseline"
    assert result.restricted, result


def test_container_level_seccomp_and_nonroot_satisfy_restricted_without_pod_level() -> None:
    spec = copy.deepcopy(RESTRICTED_POD)
    spec["securityContext"] = {}
    spec["containers"][0]["securityContext"].update(runAsNonRoot=True, seccompProfile={"type": "Localhost",
                                                                                         "localhostProfile": "p.json"})
    assert podsecurity.evaluate(spec, {}).level == "restricted"


@pytest.mark.parametrize(("rule", "checks"), [
    ({"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create"]}, {"RBAC-004"}),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}, {"RBAC-003"}),
    ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate", "bind"]},
     {"RBAC-005"}),
    ({"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}, {"RBAC-006"}),
    ({"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}, {"RBAC-002"}),
    ({"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list"]}, set()),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete"]}, set()),
])
def test_rbac_rules(rule: dict[str, Any], checks: set[str]) -> None:
    assert set(rbac.rule_problems(rule)) == checks


def test_secret_values_are_stripped_at_load() -> None:
    inv = fixture_inventory()
    text = repr(inv.of("Secret"))
    assert PLANTED not in text and "data" not in {k for s in inv.of("Secret") for k in s}
    assert "kubectl.kubernetes.io/last-applied-configuration" not in text
    assert "UExBTlRFRC1zM2NyM3QtVkFMVUUtOWY4ZTdk" not in text  # the base64 of the planted value


def test_bad_files_are_findings_and_hide_nothing(tmp_path: Any) -> None:
    import shutil

    dump = tmp_path / "dump"
    shutil.copytree(FIXTURE, dump)
    (dump / "truncated.json").write_text('{"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod"')
    (dump / "latin1.yaml").write_bytes(b"kind: Pod\nmetadata: {name: caf\xe9}\n")
    (dump / "huge.json").write_text(" " * 200_000)
    (dump / "notalist.json").write_text("[1, 2]")
    inv = sources.from_dump_dir(dump, max_bytes=100_000)
    errors = dict(inv.errors)
    assert set(errors) == {str(dump / n) for n in ("truncated.json", "latin1.yaml", "huge.json", "notalist.json")}
    assert errors[str(dump / "latin1.yaml")] == "not UTF-8 text"
    assert "over the 100000-byte limit" in errors[str(dump / "huge.json")]
    assert "malformed JSON/YAML" in errors[str(dump / "truncated.json")]
    found = _findings(inv)
    assert {f.object for f in found if f.check == "AUDIT-001"} == set(errors)
    assert {f.fingerprint for f in found} >= EXPECTED  # the good files were all audited


def test_suppressions_active_expired_and_unused() -> None:
    found = _findings()
    sups = [Suppression(check="NET-004", object="Deployment/smc-trading/pgbouncer", reason="egress via sidecar proxy",
                        expires=date(2026, 12, 31)),
            Suppression(check="SEC-003", object="Secret/smc-trading/*", reason="rotation project Q1",
                        expires=date(2026, 11, 30)),
            Suppression(check="RBAC-001", object="ClusterRoleBinding/nobody", reason="old", expires=date(2027, 1, 1))]
    applied = apply(found, sups, NOW.date())
    assert [f.fingerprint for f in applied.suppressed] == ["NET-004:Deployment/smc-trading/pgbouncer"]
    expired = [f for f in applied.open if f.check == "SEC-003"]
    assert len(expired) == 3 and all("suppression expired 2026-11-30" in f.message for f in expired)
    assert [s.object for s in applied.unused] == ["ClusterRoleBinding/nobody"]
    # the suppression is active through its expiry day
    assert len(apply(found, sups, date(2026, 11, 30)).suppressed) == 4


def test_unknown_check_id_in_a_suppression_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown check id 'RBAC-999'"):
        Suppression(check="RBAC-999", object="x", reason="because", expires=date(2027, 1, 1))


def test_month_over_month_diff_and_suppression_is_not_a_fix() -> None:
    from smc_maint.security.audit.diff import Previous

    first = audit(fixture_inventory(), NOW, Options(), [], None)
    assert first.diff.previous is None and len(first.diff.new) == len(EXPECTED)
    inv = fixture_inventory()
    inv.objects["ClusterRoleBinding"] = [b for b in inv.of("ClusterRoleBinding")
                                         if b["metadata"]["name"] != "ops-team-admin"]
    inv.add({"kind": "ClusterRoleBinding", "metadata": {"name": "vendor-admin"},
             "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": "bob"}]})
    prev = Previous(NOW.isoformat(), "run-1", first.fingerprints())
    sup = Suppression(check="PSS-003", object="Deployment/smc-trading/web-app", reason="nginx cache",
                      expires=date(2027, 1, 1))
    second = audit(inv, NOW, Options(), [sup], prev)
    assert second.diff.new == ["RBAC-001:ClusterRoleBinding/vendor-admin"]
    assert second.diff.fixed == ["RBAC-001:ClusterRoleBinding/ops-team-admin"]
    assert "PSS-003:Deployment/smc-trading/web-app" in second.diff.still_open
    assert len(second.diff.still_open) == len(EXPECTED) - 1


@pytest.mark.parametrize("junk", ["text", 7, ["a"], {"x": "y"}, None])
def test_malformed_objects_of_every_kind_do_not_stop_the_audit(junk: Any) -> None:
    inv = fixture_inventory()
    for kind in ("Pod", "Deployment", "StatefulSet", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
                 "NetworkPolicy", "ServiceAccount", "Secret", "Certificate", "VulnerabilityReport"):
        inv.add({"kind": kind, "metadata": {"name": f"junk-{kind.lower()}", "namespace": "smc-trading",
                                            "labels": junk if isinstance(junk, dict) else {}},
                 "spec": junk, "rules": junk, "roleRef": junk, "subjects": junk, "status": junk, "report": junk,
                 "secrets": junk, "type": "kubernetes.io/tls" if kind == "Secret" else None})
        inv.add({"kind": kind, "metadata": junk, "spec": {"containers": junk, "volumes": junk, "template": junk}})
    assert {f.fingerprint for f in _findings(inv)} >= EXPECTED
