"""Pure conversions from the Kubernetes API's JSON to the seam's typed values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .base import Container, Pod, Usage, Workload

_SUFFIX = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
           "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
           "P": Decimal(10**15), "E": Decimal(10**18),
           "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
           "Pi": Decimal(2**50), "Ei": Decimal(2**60)}


def parse_quantity(text: Any) -> Decimal:
    """A Kubernetes quantity ("250m", "128Mi", "1234n", "1.5", "2e3") as a number; ValueError if malformed."""
    s = str(text).strip()
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"):
        if s.endswith(suffix):
            number, factor = s[: -len(suffix)], _SUFFIX[suffix]
            break
    else:
        number, factor = s, _SUFFIX[""]
    try:
        return Decimal(number) * factor
    except InvalidOperation:
        raise ValueError(f"not a Kubernetes quantity: {text!r}") from None


def _str_map(m: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (m or {}).items()} if isinstance(m, Mapping) else {}


def _containers(spec: Mapping[str, Any]) -> tuple[Container, ...]:
    return tuple(Container(str(c.get("name", "")), str(c.get("image", ""))) for c in spec.get("containers") or [])


def workload(kind: str, obj: Mapping[str, Any]) -> Workload:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    template = spec.get("template") or {}
    desired = spec.get("replicas")
    return Workload(
        kind=kind, name=str(meta.get("name", "")), namespace=str(meta.get("namespace", "")),
        desired=1 if desired is None else int(desired), ready=int(status.get("readyReplicas") or 0),
        available=int(status.get("availableReplicas") or status.get("readyReplicas") or 0)
        if kind == "StatefulSet" else int(status.get("availableReplicas") or 0),
        containers=_containers(template.get("spec") or {}), labels=_str_map(meta.get("labels")),
        selector=_str_map((spec.get("selector") or {}).get("matchLabels")), pod_template=template)


def _time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def owner_name(meta: Mapping[str, Any]) -> str | None:
    """The workload a pod belongs to: a StatefulSet by name, a Deployment through its ReplicaSet."""
    for ref in meta.get("ownerReferences") or []:
        name = str(ref.get("name", ""))
        if ref.get("kind") == "ReplicaSet":
            labels = _str_map(meta.get("labels"))
            suffix = labels.get("pod-template-hash")
            if suffix and name.endswith("-" + suffix):
                return name[: -len(suffix) - 1]
            return name.rsplit("-", 1)[0]
        if name:
            return name
    return None


def pod(obj: Mapping[str, Any]) -> Pod:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    statuses = list(status.get("containerStatuses") or []) + list(status.get("initContainerStatuses") or [])
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    reasons = tuple(str(((c.get("state") or {}).get("waiting") or {}).get("reason"))
                    for c in statuses if ((c.get("state") or {}).get("waiting") or {}).get("reason"))
    return Pod(
        name=str(meta.get("name", "")), namespace=str(meta.get("namespace", "")),
        phase=str(status.get("phase") or "Unknown"), ready=ready,
        restarts=sum(int(c.get("restartCount") or 0) for c in statuses), waiting_reasons=reasons,
        owner=owner_name(meta), node=spec.get("nodeName"), containers=_containers(spec),
        labels=_str_map(meta.get("labels")), started_at=_time(status.get("startTime")))


def usage(obj: Mapping[str, Any], owner: str | None) -> Usage:
    """A metrics.k8s.io NodeMetrics or PodMetrics item (pods: summed over containers)."""
    meta = obj.get("metadata") or {}
    parts = [obj["usage"]] if "usage" in obj else [c.get("usage") or {} for c in obj.get("containers") or []]
    cpu = sum((parse_quantity(u.get("cpu", "0")) for u in parts), Decimal(0))
    mem = sum((parse_quantity(u.get("memory", "0")) for u in parts), Decimal(0))
    return Usage(str(meta.get("name", "")), float(cpu), int(mem), meta.get("namespace"), owner)


def secret_metadata(obj: Mapping[str, Any], secret_type: str | None = None) -> dict[str, Any]:
    """A Secret reduced to what may be known about it: never ``data`` or ``stringData``. A
    metadata-only list has no ``type``: the caller passes it when a field-selected list told it."""
    meta = dict(obj.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)  # holds the values when applied
    meta["annotations"] = annotations
    meta.pop("managedFields", None)
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    if secret_type or "type" in obj:
        out["type"] = secret_type or obj["type"]
    return out
