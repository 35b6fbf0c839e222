"""Shared helpers for the security-audit tests: the fixture dump, a clock, the dump in a fake API server."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from smc_maint.security.audit import sources
from smc_maint.security.audit.objects import KNOWN, Inventory, namespace_of

from .fake_kube_api import RESOURCES, FakeKubeApi

FIXTURE = Path(__file__).parent / "fixtures" / "audit" / "smc-trading"
PLANTED = "PLANTED-s3cr3t-VALUE-9f8e7d"
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
NAMESPACES = ["smc-trading", "smc-staging"]


def fixture_inventory(path: Path = FIXTURE) -> Inventory:
    return sources.from_dump_dir(path, max_bytes=64 * 2**20)


def load_fixture(api: FakeKubeApi, path: Path = FIXTURE) -> FakeKubeApi:
    """Put the objects of the fixture dump into a fake API server (its controller adds the Pods of
    the Deployments, as a real one would)."""
    for name in NAMESPACES:
        api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    for file in sorted(path.glob("*.json")):
        for item in json.loads(file.read_text())["items"]:
            api.put(item, validate=False)
    return api


def dump_store(api: FakeKubeApi, out: Path) -> Path:
    """What `kubectl get <kind> -A -o json` shows of the fake's store, one List per kind."""
    out.mkdir()
    for (group, version, plural), (kind, _ns, _w) in RESOURCES.items():
        items = [o for (g, p, _n, _), o in sorted(api.store.items()) if (g, p) == (group, plural)]
        if items and kind in KNOWN:
            api_version = f"{group}/{version}" if group else version
            (out / f"{kind}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": api_version, "kind": kind, **o} for o in items]}))
    return out


def namespaces(inv: Inventory) -> Sequence[str]:
    return sorted({namespace_of(o) for objs in inv.objects.values() for o in objs if namespace_of(o)})
