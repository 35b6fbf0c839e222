"""RBAC checks: who is bound to what, and which rules grant more than a workload needs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .findings import Finding, Severity, finding
from .objects import Inventory, as_map, labels_of, name_of, namespace_of, ref_of, seq
from .workloads import PodSource

READ = frozenset({"get", "list", "watch", "*"})
ESCALATE = frozenset({"bind", "escalate", "impersonate"})
CREATE = frozenset({"create", "*"})
WORKLOADS = frozenset({"pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs",
                       "replicationcontrollers"})
CORE = frozenset({"", "*"})


def is_default(obj: Mapping[str, Any]) -> bool:
    """Kubernetes' own roles and bindings (``system:`` names, the rbac-defaults bootstrap label)."""
    return name_of(obj).startswith("system:") or labels_of(obj).get("kubernetes.io/bootstrapping") == "rbac-defaults"


def role_key(binding: Mapping[str, Any]) -> tuple[str, str, str]:
    role = as_map(binding.get("roleRef"))
    kind = str(role.get("kind") or "")
    return kind, (namespace_of(binding) if kind == "Role" else ""), str(role.get("name") or "")


def subject_text(subject: Mapping[str, Any], binding_ns: str) -> str:
    kind = str(subject.get("kind") or "?")
    if kind == "ServiceAccount":
        return f"ServiceAccount/{subject.get('namespace') or binding_ns}/{subject.get('name')}"
    return f"{kind}/{subject.get('name')}"


def subjects(binding: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in seq(binding.get("subjects")) if isinstance(s, Mapping)]


def _set(value: Any) -> set[str]:
    return {str(v) for v in seq(value)}


def rule_problems(rule: Mapping[str, Any]) -> dict[str, str]:
    """Check id -> what in this rule triggers it."""
    verbs, resources, groups = _set(rule.get("verbs")), _set(rule.get("resources")), _set(rule.get("apiGroups"))
    core = bool(groups & CORE) or not groups
    out: dict[str, str] = {}
    wild = [w for w, hit in (("verbs", "*" in verbs), ("resources", "*" in resources)) if hit]
    if wild:
        out["RBAC-002"] = f"'*' in {' and '.join(wild)}"
    if core and "secrets" in resources and verbs & READ:
        out["RBAC-003"] = f"{'/'.join(sorted(verbs & READ))} on secrets"
    sub = sorted(r for r in resources & {"pods/exec", "pods/attach"})
    if core and sub and verbs & {"create", "get", "*"}:
        out["RBAC-004"] = ", ".join(sub)
    esc = sorted(verbs & ESCALATE)
    if esc:
        out["RBAC-005"] = ", ".join(esc)
    made = sorted(resources & WORKLOADS)
    if made and verbs & CREATE:
        out["RBAC-006"] = "create on " + ", ".join(made)
    return out


def check(inv: Inventory, pods: list[PodSource]) -> list[Finding]:
    found: list[Finding] = []
    bindings = inv.of("RoleBinding", "ClusterRoleBinding")
    bound: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    sa_bound: set[tuple[str, str]] = set()
    for b in bindings:
        ns = namespace_of(b)
        for s in subjects(b):
            bound[role_key(b)].append(subject_text(s, ns))
            if s.get("kind") == "ServiceAccount":
                sa_bound.add((str(s.get("namespace") or ns), str(s.get("name"))))
        if is_default(b):
            continue
        key = role_key(b)
        people = [subject_text(s, ns) for s in subjects(b) if s.get("name") != "system:masters"]
        if key[0] == "ClusterRole" and key[2] == "cluster-admin" and people:
            found.append(finding("RBAC-001", ref_of(b), f"binds cluster-admin to {', '.join(people)}",
                                 namespace=ns, subjects=people))
        defaults = [subject_text(s, ns) for s in subjects(b)
                    if s.get("kind") == "ServiceAccount" and s.get("name") == "default"]
        if defaults:
            found.append(finding("RBAC-007", ref_of(b), f"binds {key[0]} {key[2]} to {', '.join(defaults)}",
                                 namespace=ns, role=f"{key[0]}/{key[2]}"))
    for role in inv.of("Role", "ClusterRole"):
        if is_default(role):
            continue
        key = (str(role.get("kind")), namespace_of(role), name_of(role))
        who = sorted(set(bound.get(key, [])))
        hits: dict[str, list[str]] = defaultdict(list)
        for rule in seq(role.get("rules")):
            if isinstance(rule, Mapping):
                for cid, why in rule_problems(rule).items():
                    hits[cid].append(why)
        for cid, whys in hits.items():
            sev = None if who else Severity.LOW
            tail = f"; bound to {', '.join(who[:5])}" if who else "; not bound to any subject"
            found.append(finding(cid, ref_of(role), "; ".join(sorted(set(whys))) + tail, namespace=key[1],
                                 severity=sev, bound_to=who))
    groups = {s for b in bindings for s in bound.get(role_key(b), []) if s.startswith("Group/system:serviceaccounts")}
    accounts = {(namespace_of(o), name_of(o)): o for o in inv.of("ServiceAccount")}
    for pod in pods:
        if _needs_no_token(pod, accounts, sa_bound, groups):
            found.append(finding("RBAC-008", pod.ref, f"service account {pod.service_account} has no RBAC binding, "
                                 "yet its API token is mounted", namespace=pod.namespace))
    return found


def _needs_no_token(pod: PodSource, accounts: Mapping[tuple[str, str], Mapping[str, Any]],
                    sa_bound: set[tuple[str, str]], groups: set[str]) -> bool:
    """Token mounted (pod setting, else service account's, else true) while the SA is bound to nothing."""
    automount = pod.spec.get("automountServiceAccountToken")
    if automount is None:
        sa = accounts.get((pod.namespace, pod.service_account))
        automount = sa.get("automountServiceAccountToken") if sa else None
    if automount is False:
        return False
    if (pod.namespace, pod.service_account) in sa_bound:
        return False
    return not ({"Group/system:serviceaccounts", f"Group/system:serviceaccounts:{pod.namespace}"} & groups)

