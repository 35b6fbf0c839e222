"""Shared helpers for the security-audit tests: the fixture dump, a clock, a Platform over a dump."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smc_maint.adapters.platform.base import PlatformError
from smc_maint.security.audit import sources
from smc_maint.security.audit.objects import CLUSTER_SCOPED, CUSTOM, Inventory, namespace_of

FIXTURE = Path(__file__).parent / "fixtures" / "audit" / "smc-trading"
SARIF_SUBSET = Path(__file__).parent / "fixtures" / "audit" / "sarif-2.1.0-subset.schema.json"
PLANTED = "PLANTED-s3cr3t-VALUE-9f8e7d"
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def fixture_inventory(path: Path = FIXTURE) -> Inventory:
    return sources.from_dump_dir(path, max_bytes=64 * 2**20)


class DumpPlatform:
    """A Platform that answers list_objects/list_custom from a dump, as the API would: items have no
    ``kind`` (the List has it), Secrets come back with their data (the audit must strip it), cluster-scoped
    kinds ignore the namespace, and an absent CRD is a 404. (To be replaced by the fake Kubernetes API.)"""

    kind = "kubernetes"
    namespace = "smc-trading"

    def __init__(self, raw: Mapping[str, list[dict[str, Any]]]) -> None:
        self.raw = raw
        self.calls: list[tuple[str, str | None]] = []

    @classmethod
    def from_dump(cls, path: Path = FIXTURE) -> DumpPlatform:
        import json

        raw: dict[str, list[dict[str, Any]]] = {}
        for file in sorted(path.glob("*.json")):
            for item in json.loads(file.read_text())["items"]:
                raw.setdefault(item["kind"], []).append(item)
        return cls(raw)

    def _items(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        self.calls.append((kind, namespace))
        items = self.raw.get(kind, [])
        if kind not in CLUSTER_SCOPED:
            items = [o for o in items if namespace_of(o) == (namespace or self.namespace)]
        return [{k: v for k, v in o.items() if k != "kind"} for o in items]

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self._items(kind, namespace)

    def list_custom(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        kind = next(k for k, (g, _, p) in CUSTOM.items() if (g, p) == (group, plural))
        if kind not in self.raw:
            raise PlatformError(f"the server could not find the requested resource ({plural}.{group})", status=404)
        return self._items(kind, namespace)

    def __getattr__(self, name: str) -> Any:  # everything else of the Protocol is not needed here
        raise PlatformError(f"{name} is not available in this test platform")


def namespaces(inv: Inventory) -> Sequence[str]:
    return sorted({namespace_of(o) for objs in inv.objects.values() for o in objs if namespace_of(o)})
