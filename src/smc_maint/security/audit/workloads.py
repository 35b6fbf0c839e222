"""Pod specs to audit: each Deployment/StatefulSet/DaemonSet template once, plus bare pods.

Pods created by a workload in the dump are not audited again (their template already is); a pod
whose ReplicaSet belongs to a Deployment is recognised by the ReplicaSet name ``<deployment>-<hash>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .objects import Inventory, labels_of, meta, name_of, namespace_of, ref, seq

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class PodSource:
    """A pod spec and where it comes from (a workload's template, or a bare pod)."""

    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    spec: Mapping[str, Any]

    @property
    def ref(self) -> str:
        return ref(self.kind, self.namespace, self.name)

    @property
    def service_account(self) -> str:
        return str(self.spec.get("serviceAccountName") or self.spec.get("serviceAccount") or "default")

    def containers(self) -> Iterator[Mapping[str, Any]]:
        for key in ("initContainers", "containers", "ephemeralContainers"):
            for c in seq(self.spec.get(key)):
                if isinstance(c, Mapping):
                    yield c


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _template(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(obj.get("spec")).get("template"))


def owned_by_workload(pod: Mapping[str, Any], workloads: set[tuple[str, str, str]]) -> bool:
    ns = namespace_of(pod)
    for owner in seq(meta(pod).get("ownerReferences")):
        if not isinstance(owner, Mapping):
            continue
        kind, name = str(owner.get("kind") or ""), str(owner.get("name") or "")
        if kind == "ReplicaSet" and ("Deployment", ns, name.rsplit("-", 1)[0]) in workloads:
            return True
        if (kind, ns, name) in workloads:
            return True
    return False


def pod_sources(inv: Inventory) -> list[PodSource]:
    out: list[PodSource] = []
    present: set[tuple[str, str, str]] = set()
    for kind in WORKLOAD_KINDS:
        for obj in inv.of(kind):
            tmpl = _template(obj)
            tmeta = _mapping(tmpl.get("metadata"))
            present.add((kind, namespace_of(obj), name_of(obj)))
            out.append(PodSource(kind, namespace_of(obj), name_of(obj), _mapping(tmeta.get("labels")),
                                 _mapping(tmeta.get("annotations")), _mapping(tmpl.get("spec"))))
    for pod in inv.of("Pod"):
        if owned_by_workload(pod, present):
            continue
        out.append(PodSource("Pod", namespace_of(pod), name_of(pod), labels_of(pod),
                             _mapping(meta(pod).get("annotations")), _mapping(pod.get("spec"))))
    return out


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist); {} matches all."""
    if not selector:
        return True
    for key, value in _mapping(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for expr in seq(selector.get("matchExpressions")):
        if not isinstance(expr, Mapping):
            return False
        key, op = str(expr.get("key")), str(expr.get("operator"))
        values = set(seq(expr.get("values")))
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False  # an unknown operator selects nothing (as the API would reject it)
    return True
