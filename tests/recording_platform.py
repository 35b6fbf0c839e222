"""``RecordingPlatform``: a small in-memory implementation of the Platform protocol for the emergency
tests (scales and Service selectors, every call recorded). The lead re-points these tests at the
fake Kubernetes API (tests/fake_kube_api.py) once issue 12's KubernetesPlatform is merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smc_maint.adapters.platform import ExecResult, PlatformError, Pod, ServerVersion, Usage, Workload


class RecordingPlatform:
    kind = "kubernetes"

    def __init__(self, namespace: str = "smc-trading", *, scales: dict[str, int] | None = None,
                 selectors: dict[str, dict[str, str]] | None = None) -> None:
        self.namespace = namespace
        self.scales = dict(scales or {})  # "Deployment/name" -> replicas
        self.selectors = {k: dict(v) for k, v in (selectors or {}).items()}
        self.calls: list[tuple[Any, ...]] = []
        self.fail_on: set[str] = set()  # method names that raise PlatformError
        self.fail_once: set[str] = set()  # ...once, then work again

    def _check(self, name: str) -> None:
        if name in self.fail_once:
            self.fail_once.discard(name)
            raise PlatformError(f"{name}: forbidden (recorded failure)", status=403)
        if name in self.fail_on:
            raise PlatformError(f"{name}: forbidden (recorded failure)", status=403)

    # -- what emergency uses ------------------------------------------------------------------
    def get_scale(self, kind: str, name: str, namespace: str | None = None) -> int:
        self.calls.append(("get_scale", kind, name))
        self._check("get_scale")
        key = f"{kind}/{name}"
        if key not in self.scales:
            raise PlatformError(f"{key} not found", status=404)
        return self.scales[key]

    def scale(self, kind: str, name: str, replicas: int, namespace: str | None = None) -> int:
        self.calls.append(("scale", kind, name, replicas))
        self._check("scale")
        key = f"{kind}/{name}"
        if key not in self.scales:
            raise PlatformError(f"{key} not found", status=404)
        before, self.scales[key] = self.scales[key], replicas
        return before

    def get_service_selector(self, name: str, namespace: str | None = None) -> dict[str, str]:
        self.calls.append(("get_service_selector", name))
        self._check("get_service_selector")
        if name not in self.selectors:
            raise PlatformError(f"Service {name} not found", status=404)
        return dict(self.selectors[name])

    def set_service_selector(self, name: str, selector: Mapping[str, str], namespace: str | None = None
                             ) -> dict[str, str]:
        self.calls.append(("set_service_selector", name, dict(selector)))
        self._check("set_service_selector")
        if name not in self.selectors:
            raise PlatformError(f"Service {name} not found", status=404)
        before, self.selectors[name] = self.selectors[name], dict(selector)
        return before

    def writes(self) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] in ("scale", "set_service_selector")]

    # -- the rest of the protocol: not needed here ------------------------------------------------
    def server_version(self) -> ServerVersion:
        raise NotImplementedError

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        return []  # health reads the platform too: an empty namespace

    def list_pods(self, namespace: str | None = None, selector: Mapping[str, str] | None = None) -> list[Pod]:
        return []

    def node_usage(self) -> list[Usage]:
        raise NotImplementedError

    def pod_usage(self, namespace: str | None = None) -> list[Usage]:
        raise NotImplementedError

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def list_custom(self, group: str, version: str, plural: str, namespace: str | None = None
                    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def exec(self, pod: str, argv: Sequence[str], *, container: str | None = None,
             namespace: str | None = None, timeout_seconds: float = 60) -> ExecResult:
        raise NotImplementedError

    def namespace_exists(self, name: str) -> bool:
        raise NotImplementedError

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        raise NotImplementedError

    def delete_namespace(self, name: str) -> None:
        raise NotImplementedError

    def apply(self, manifests: Sequence[Mapping[str, Any]], namespace: str) -> list[str]:
        raise NotImplementedError
