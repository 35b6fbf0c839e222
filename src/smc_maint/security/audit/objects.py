"""The audited objects: plain dicts as the Kubernetes API returns them, grouped by kind.

Secrets keep only metadata (``strip_secret``): ``data``/``stringData`` and the
``last-applied-configuration`` annotation (which holds the whole manifest, values included)
are dropped before anything else sees the object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Built-in kinds the audit reads (``Platform.list_objects``) and the custom resources it asks for.
KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Role", "RoleBinding", "ClusterRole",
         "ClusterRoleBinding", "NetworkPolicy", "ServiceAccount", "Secret", "Ingress")
CUSTOM: dict[str, tuple[str, str, str]] = {
    "VulnerabilityReport": ("aquasecurity.github.io", "v1alpha1", "vulnerabilityreports"),
    "Certificate": ("cert-manager.io", "v1", "certificates"),
}
KNOWN = frozenset(KINDS) | frozenset(CUSTOM) | {"Namespace"}
CLUSTER_SCOPED = frozenset({"ClusterRole", "ClusterRoleBinding", "Namespace"})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_META_KEPT = ("name", "namespace", "uid", "creationTimestamp", "labels", "ownerReferences")


def strip_secret(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret reduced to what the audit may know: identity, type, labels, annotations (no values)."""
    source = meta(obj)
    kept: dict[str, Any] = {k: source[k] for k in _META_KEPT if k in source}
    annotations = source.get("annotations")
    if isinstance(annotations, Mapping):
        kept["annotations"] = {str(k): str(v) for k, v in annotations.items() if k != LAST_APPLIED}
    return {"apiVersion": obj.get("apiVersion", "v1"), "kind": "Secret", "type": obj.get("type", "Opaque"),
            "metadata": kept}


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else {} (a malformed field must not stop the audit)."""
    return value if isinstance(value, Mapping) else {}


def seq(value: Any) -> list[Any]:
    """``value`` if it is a list, else [] (a malformed field must not stop the audit)."""
    return value if isinstance(value, list) else []


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, Mapping) else {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "?")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    value = meta(obj).get("labels")
    return value if isinstance(value, Mapping) else {}


def ref(kind: str, namespace: str, name: str) -> str:
    """How a finding names its object: ``Kind/namespace/name`` (``Kind/name`` when cluster-scoped)."""
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def ref_of(obj: Mapping[str, Any]) -> str:
    return ref(str(obj.get("kind") or "?"), namespace_of(obj), name_of(obj))


@dataclass
class Inventory:
    """Every object read, by kind, plus the sources that could not be read (source, reason)."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, obj: dict[str, Any], kind: str | None = None) -> bool:
        """Add one object (secrets stripped); False for kinds the audit does not look at."""
        kind = str(obj.get("kind") or kind or "")
        if kind not in KNOWN:
            return False
        obj = strip_secret(obj) if kind == "Secret" else {**obj, "kind": kind}
        self.objects.setdefault(kind, []).append(obj)
        return True

    def of(self, *kinds: str) -> list[dict[str, Any]]:
        return [o for k in kinds for o in self.objects.get(k, [])]

    def has(self, kind: str) -> bool:
        return kind in self.objects

    def restrict(self, namespaces: Iterable[str]) -> Inventory:
        """Only the objects of ``namespaces`` (cluster-scoped objects stay)."""
        wanted = set(namespaces)
        kept = {k: [o for o in objs if k in CLUSTER_SCOPED or namespace_of(o) in wanted]
                for k, objs in self.objects.items()}
        return Inventory(kept, list(self.errors), list(self.sources), list(self.notes))

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.objects.values())

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in sorted(self.objects.items())}
