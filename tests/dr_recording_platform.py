"""``RecordingPlatform`` for the DR-drill and updates-review tests (scales, namespaces, applied objects recorded).
Kubernetes API (issue 12) can serve them. Its state lives in a JSON file so a drill in a child
process (killed with SIGKILL) and the test see the same cluster; every call is recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from smc_maint.adapters.platform.base import (
    ExecResult,
    Platform,
    PlatformError,
    Pod,
    ServerVersion,
    Usage,
    Workload,
)


class RecordingPlatform:
    """Workloads with replica counts per namespace, namespaces, applied objects, a call log."""

    kind = "kubernetes"

    def __init__(self, state: Path, namespace: str = "smc-trading", *, block_on: str | None = None,
                 reached: Path | None = None) -> None:
        self.state = state
        self._namespace = namespace
        self.block_on = block_on  # a method name: write ``reached`` and hang there (a kill test)
        self.reached = reached

    # -- state ---------------------------------------------------------------------------
    @classmethod
    def create(cls, state: Path, workloads: Mapping[str, int], namespace: str = "smc-trading",
               **kw: Any) -> RecordingPlatform:
        data = {"namespaces": [namespace], "calls": [], "applied": {},
                "workloads": {f"{namespace}/Deployment/{n}": r for n, r in workloads.items()}}
        state.write_text(json.dumps(data))
        return cls(state, namespace, **kw)

    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state.read_text())
        return loaded

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.state)

    def _call(self, name: str, *args: Any) -> dict[str, Any]:
        data = self.data()
        data["calls"].append([name, *args])
        self._save(data)
        if self.block_on == name:
            assert self.reached is not None
            self.reached.write_text("reached")
            time.sleep(600)
        return data

    def replicas(self, name: str, namespace: str | None = None, kind: str = "Deployment") -> int:
        return int(self.data()["workloads"][f"{namespace or self._namespace}/{kind}/{name}"])

    @property
    def calls(self) -> list[list[Any]]:
        return list(self.data()["calls"])

    # -- Platform ------------------------------------------------------------------------
    @property
    def namespace(self) -> str:
        return self._namespace

    def server_version(self) -> ServerVersion:
        self._call("server_version")
        return ServerVersion("1", "29", "v1.29.4")

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        ns = namespace or self._namespace
        data = self._call("list_workloads", ns)
        out = []
        for key, replicas in data["workloads"].items():
            wns, kind, name = key.split("/")
            if wns == ns:
                out.append(Workload(kind, name, ns, replicas, replicas, replicas))
        return out

    def get_scale(self, kind: str, name: str, namespace: str | None = None) -> int:
        ns = namespace or self._namespace
        data = self._call("get_scale", kind, name, ns)
        key = f"{ns}/{kind}/{name}"
        if key not in data["workloads"]:
            raise PlatformError(f"{kind}/{name} not found in {ns}", status=404)
        return int(data["workloads"][key])

    def scale(self, kind: str, name: str, replicas: int, namespace: str | None = None) -> int:
        ns = namespace or self._namespace
        data = self._call("scale", kind, name, replicas, ns)
        key = f"{ns}/{kind}/{name}"
        if key not in data["workloads"]:
            raise PlatformError(f"{kind}/{name} not found in {ns}", status=404)
        before = int(data["workloads"][key])
        data["workloads"][key] = replicas
        self._save(data)
        return before

    def namespace_exists(self, name: str) -> bool:
        return name in self._call("namespace_exists", name)["namespaces"]

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        data = self._call("create_namespace", name, dict(labels or {}))
        if name in data["namespaces"]:
            raise PlatformError(f"namespace {name} exists", status=409)
        data["namespaces"].append(name)
        self._save(data)

    def delete_namespace(self, name: str) -> None:
        data = self._call("delete_namespace", name)
        data["namespaces"] = [n for n in data["namespaces"] if n != name]
        data["workloads"] = {k: v for k, v in data["workloads"].items() if not k.startswith(f"{name}/")}
        data["applied"].pop(name, None)
        self._save(data)

    def apply(self, manifests: Sequence[Mapping[str, Any]], namespace: str) -> list[str]:
        data = self._call("apply", namespace, len(manifests))
        if namespace not in data["namespaces"]:
            raise PlatformError(f"namespace {namespace} not found", status=404)
        names = []
        for obj in manifests:
            kind, name = obj["kind"], obj["metadata"]["name"]
            names.append(f"{kind}/{name}")
            data["applied"].setdefault(namespace, []).append(dict(obj))
            if kind in ("Deployment", "StatefulSet"):
                data["workloads"][f"{namespace}/{kind}/{name}"] = int(obj.get("spec", {}).get("replicas", 1))
        self._save(data)
        return names

    # -- not needed by the drill ---------------------------------------------------------
    def list_pods(self, namespace: str | None = None, selector: Mapping[str, str] | None = None) -> list[Pod]:
        raise PlatformError("list_pods: not recorded")

    def node_usage(self) -> list[Usage]:
        raise PlatformError("node_usage: not recorded")

    def pod_usage(self, namespace: str | None = None) -> list[Usage]:
        raise PlatformError("pod_usage: not recorded")

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        raise PlatformError("list_objects: not recorded")

    def list_custom(self, group: str, version: str, plural: str, namespace: str | None = None
                    ) -> list[dict[str, Any]]:
        raise PlatformError("list_custom: not recorded")

    def exec(self, pod: str, argv: Sequence[str], *, container: str | None = None,
             namespace: str | None = None, timeout_seconds: float = 60) -> ExecResult:
        raise PlatformError("exec: not recorded")

    def get_service_selector(self, name: str, namespace: str | None = None) -> dict[str, str]:
        raise PlatformError("get_service_selector: not recorded")

    def set_service_selector(self, name: str, selector: Mapping[str, str], namespace: str | None = None
                             ) -> dict[str, str]:
        raise PlatformError("set_service_selector: not recorded")


def _check(p: RecordingPlatform) -> Platform:
    return p  # mypy: it satisfies the Protocol
