"""NetworkPolicy coverage, ingress and egress apart.

A pod is covered for a direction when some policy of its namespace selects it and has that
policy type, whatever its rules: a default deny (``podSelector: {}``, the type, no rules) covers
every pod -- it must not be reported as missing, as other tools do. Policies are indexed per
namespace, and a namespace-wide policy short-cuts the per-pod selector matching.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .findings import Finding, finding
from .objects import Inventory, as_map, namespace_of, ref
from .workloads import PodSource, selector_matches

DIRECTIONS = (("Ingress", "NET-001", "NET-003"), ("Egress", "NET-002", "NET-004"))


def policy_types(policy: Mapping[str, Any]) -> set[str]:
    """``spec.policyTypes``, or as the API defaults it: Ingress, plus Egress when egress rules exist."""
    spec = as_map(policy.get("spec"))
    declared = spec.get("policyTypes")
    if isinstance(declared, list) and declared:
        return {str(t) for t in declared}
    return {"Ingress"} | ({"Egress"} if "egress" in spec else set())


@dataclass
class NamespacePolicies:
    everything: set[str] = field(default_factory=set)  # directions a podSelector {} policy covers
    selective: dict[str, list[Mapping[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    any_of: set[str] = field(default_factory=set)  # directions some policy covers at all

    def covers(self, direction: str, labels: Mapping[str, str]) -> bool:
        if direction in self.everything:
            return True
        return any(selector_matches(sel, labels) for sel in self.selective.get(direction, []))


def index(inv: Inventory) -> dict[str, NamespacePolicies]:
    out: dict[str, NamespacePolicies] = defaultdict(NamespacePolicies)
    for policy in inv.of("NetworkPolicy"):
        entry = out[namespace_of(policy)]
        selector = as_map(as_map(policy.get("spec")).get("podSelector"))
        for direction in policy_types(policy):
            entry.any_of.add(direction)
            if not selector:
                entry.everything.add(direction)
            else:
                entry.selective[direction].append(selector)
    return out


def check(inv: Inventory, pods: list[PodSource]) -> list[Finding]:
    policies = index(inv)
    by_ns: dict[str, list[PodSource]] = defaultdict(list)
    for pod in pods:
        by_ns[pod.namespace].append(pod)
    found: list[Finding] = []
    for ns, members in sorted(by_ns.items()):
        entry = policies.get(ns, NamespacePolicies())
        for direction, ns_check, pod_check in DIRECTIONS:
            if direction not in entry.any_of:
                found.append(finding(ns_check, ref("Namespace", "", ns),
                                     f"no NetworkPolicy of type {direction}: all {len(members)} workload(s) "
                                     f"accept any {direction.lower()} traffic", namespace=ns,
                                     workloads=sorted(p.ref for p in members)))
                continue
            for pod in members:
                if not entry.covers(direction, pod.labels):
                    found.append(finding(pod_check, pod.ref, f"no {direction} NetworkPolicy selects its pods "
                                         f"(labels {dict(pod.labels) or '{}'})", namespace=ns))
    return found
