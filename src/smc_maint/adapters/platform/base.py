"""The platform seam: where the trading platform runs (a Kubernetes namespace, or this machine).

One small interface, in the spirit of httpx's transport: procedures ask it questions and get
typed answers. Every failure is a :class:`PlatformError` with a reason (already redacted), never
a client library's exception; every call is bounded by a timeout. Implementations:
``kubernetes.KubernetesPlatform`` (the official client, kubeconfig or in-cluster) and
``local.LocalPlatform`` (one machine: configured processes or systemd units as workloads).

Raw Kubernetes-shaped objects (``list_objects``) are plain dicts in the API's JSON shape, so the
same pure checks run on a live cluster and on a ``kubectl get -o json`` dump. A Secret is only
ever metadata: implementations drop ``data`` and ``stringData`` before returning it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class PlatformError(Exception):
    """The platform could not answer; the message says why (redacted). ``status`` is the API's
    HTTP status where there was one (403 forbidden, 404 not found, 409 conflict...)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Container:
    name: str
    image: str


@dataclass(frozen=True)
class Workload:
    """A Deployment or StatefulSet (or, locally, a configured process/unit)."""

    kind: str  # "Deployment", "StatefulSet", "Process", "SystemdUnit"
    name: str
    namespace: str
    desired: int
    ready: int
    available: int
    containers: tuple[Container, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    selector: Mapping[str, str] = field(default_factory=dict)
    pod_template: Mapping[str, Any] = field(default_factory=dict)  # spec.template as the API has it

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(c.image for c in self.containers)


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    ready: bool
    restarts: int
    waiting_reasons: tuple[str, ...] = ()  # CrashLoopBackOff, ImagePullBackOff, ...
    owner: str | None = None  # the workload's name where it can be told
    node: str | None = None
    containers: tuple[Container, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    started_at: datetime | None = None


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int | None  # None when it did not finish (timeout) or the code was not reported
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class Usage:
    """What ``kubectl top`` shows for a node or a pod (summed over its containers)."""

    name: str
    cpu_cores: float
    memory_bytes: int
    namespace: str | None = None  # None for nodes
    owner: str | None = None


@dataclass(frozen=True)
class ServerVersion:
    major: str
    minor: str
    git_version: str
    platform: str = ""


@runtime_checkable
class Platform(Protocol):
    """What procedures may ask of the platform. ``namespace=None`` means the configured one."""

    @property
    def kind(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    # -- reading --------------------------------------------------------------------------
    def server_version(self) -> ServerVersion: ...

    def list_workloads(self, namespace: str | None = None) -> list[Workload]: ...

    def list_pods(self, namespace: str | None = None, selector: Mapping[str, str] | None = None) -> list[Pod]: ...

    def node_usage(self) -> list[Usage]: ...

    def pod_usage(self, namespace: str | None = None) -> list[Usage]: ...

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Raw objects of a built-in kind (``Role``, ``ClusterRole``, ``RoleBinding``,
        ``ClusterRoleBinding``, ``NetworkPolicy``, ``ServiceAccount``, ``Secret`` (metadata only),
        ``Pod``, ``Deployment``, ``StatefulSet``, ``Service``, ``Ingress``, ``Namespace``), pages
        followed. Cluster-scoped kinds ignore ``namespace``."""
        ...

    def list_custom(self, group: str, version: str, plural: str, namespace: str | None = None
                    ) -> list[dict[str, Any]]: ...

    # -- acting ---------------------------------------------------------------------------
    def exec(self, pod: str, argv: Sequence[str], *, container: str | None = None,
             namespace: str | None = None, timeout_seconds: float = 60) -> ExecResult: ...

    def get_scale(self, kind: str, name: str, namespace: str | None = None) -> int: ...

    def scale(self, kind: str, name: str, replicas: int, namespace: str | None = None) -> int:
        """Set the replica count; returns the count it had before."""
        ...

    def get_service_selector(self, name: str, namespace: str | None = None) -> dict[str, str]: ...

    def set_service_selector(self, name: str, selector: Mapping[str, str], namespace: str | None = None
                             ) -> dict[str, str]:
        """Replace a Service's selector; returns the selector it had before."""
        ...

    def namespace_exists(self, name: str) -> bool: ...

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None: ...

    def delete_namespace(self, name: str) -> None: ...

    def apply(self, manifests: Sequence[Mapping[str, Any]], namespace: str) -> list[str]:
        """Create (or replace) each object in ``namespace``; returns ``Kind/name`` of each."""
        ...
