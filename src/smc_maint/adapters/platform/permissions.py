"""The one permissions table: which Kubernetes API calls each platform method makes, and which
methods each procedure calls.

``KubernetesPlatform`` names the permission it lacked when the API answers 403, and
``k8s manifests`` builds the Role (namespaced) and ClusterRole (cluster-scoped) from the same
rows, for the procedures that are registered: a verb no implemented procedure uses is never granted.
A procedure that starts using a new method adds it to ``PROCEDURE_USES``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Permission:
    api_group: str
    resource: str  # "pods", "pods/exec", "deployments/scale"
    verb: str
    cluster: bool = False  # cluster-scoped: granted by a ClusterRole


def _p(group: str, resource: str, *verbs: str, cluster: bool = False) -> tuple[Permission, ...]:
    return tuple(Permission(group, resource, v, cluster) for v in verbs)


# kind -> (group, version, plural, namespaced): the built-in kinds the seam reads or writes.
KINDS: dict[str, tuple[str, str, str, bool]] = {
    "Pod": ("", "v1", "pods", True),
    "Service": ("", "v1", "services", True),
    "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "Secret": ("", "v1", "secrets", True),
    "ConfigMap": ("", "v1", "configmaps", True),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "Namespace": ("", "v1", "namespaces", False),
    "Node": ("", "v1", "nodes", False),
    "Deployment": ("apps", "v1", "deployments", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "CronJob": ("batch", "v1", "cronjobs", True),
    "Job": ("batch", "v1", "jobs", True),
}


def _list(kind: str) -> tuple[Permission, ...]:
    group, _v, plural, namespaced = KINDS[kind]
    return _p(group, plural, "list", cluster=not namespaced)


# method (or method:argument) -> the API permissions it needs.
METHODS: dict[str, tuple[Permission, ...]] = {
    "server_version": (),  # /version is a non-resource URL every authenticated user may read
    "list_workloads": _p("apps", "deployments", "list") + _p("apps", "statefulsets", "list"),
    "list_pods": _p("", "pods", "list"),
    "node_usage": _p("metrics.k8s.io", "nodes", "list", cluster=True),
    "pod_usage": _p("metrics.k8s.io", "pods", "list") + _p("", "pods", "list"),
    "exec": _p("", "pods/exec", "create"),
    "get_scale": _p("apps", "deployments/scale", "get") + _p("apps", "statefulsets/scale", "get"),
    "scale": (_p("apps", "deployments/scale", "get", "patch") + _p("apps", "statefulsets/scale", "get", "patch")),
    "get_service_selector": _p("", "services", "get"),
    "set_service_selector": _p("", "services", "get", "patch"),
    "namespace_exists": _p("", "namespaces", "get", cluster=True),
    "create_namespace": _p("", "namespaces", "create", cluster=True),
    "delete_namespace": _p("", "namespaces", "delete", cluster=True),
    "list_custom:cert-manager.io/certificates": _p("cert-manager.io", "certificates", "list"),
    "list_custom:aquasecurity.github.io/vulnerabilityreports": _p("aquasecurity.github.io", "vulnerabilityreports",
                                                                  "list"),
    **{f"list_objects:{kind}": _list(kind) for kind in KINDS},
    **{f"apply:{kind}": _p(g, plural, "create", "get", "update", cluster=not ns)
       for kind, (g, _v, plural, ns) in KINDS.items()},
}

# The DR drill applies its manifests into a namespace it creates, which the Role (namespaced to the
# platform namespace) cannot cover: these writes go into the ClusterRole, limited to the kinds a DR
# manifest may hold. Granting at the cluster scope is the documented trade-off (docs/quarterly.md).
DR_KINDS = ("Deployment", "StatefulSet", "Service", "ConfigMap")
METHODS.update({f"apply_dr:{kind}": tuple(Permission(p.api_group, p.resource, p.verb, True)
                                          for p in METHODS[f"apply:{kind}"]) for kind in DR_KINDS})
METHODS["list_workloads_dr"] = tuple(Permission(p.api_group, p.resource, p.verb, True)
                                     for p in METHODS["list_workloads"])  # DR workloads available

# procedure id -> the platform methods it calls (on platform.kind kubernetes).
PROCEDURE_USES: dict[str, tuple[str, ...]] = {
    "health": ("list_workloads", "list_pods"),
    "metrics-snapshot": ("list_workloads", "pod_usage", "node_usage"),
    "log-cleanup": ("list_workloads", "list_pods", "exec"),
    "dependencies": ("list_workloads", "list_pods", "exec"),
    "certificates": ("list_custom:cert-manager.io/certificates",),
    "vulnerability-review": ("list_custom:aquasecurity.github.io/vulnerabilityreports",),
    # the audit reads Secrets only as metadata, and only where --secret-metadata grants the list
    "security-audit": (*(f"list_objects:{k}" for k in ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Role",
                                                        "RoleBinding", "ClusterRole", "ClusterRoleBinding",
                                                        "NetworkPolicy", "ServiceAccount", "Ingress")),
                       "list_custom:cert-manager.io/certificates",
                       "list_custom:aquasecurity.github.io/vulnerabilityreports"),
    "emergency": ("get_scale", "scale", "get_service_selector", "set_service_selector"),
    "updates-review": ("server_version", "list_workloads"),
    # the DR drill's namespace and its objects are created in a namespace of its own: see docs/quarterly.md
    "dr-drill": ("list_workloads", "get_scale", "scale", "namespace_exists", "create_namespace", "delete_namespace",
                 "list_workloads_dr", *(f"apply_dr:{k}" for k in DR_KINDS)),
}

# Granted only on request (``k8s manifests --secret-metadata``): list on secrets is the verb
# that could also read values, though the seam asks only for metadata.
SECRET_METADATA = "list_objects:Secret"  # noqa: S105 - a method key, not a secret


def method_key(method: str, argument: str | None = None) -> str:
    return f"{method}:{argument}" if argument else method


def needed(methods: Iterable[str]) -> list[Permission]:
    """The permissions a set of methods needs, sorted and without repeats (KeyError: unknown method)."""
    return sorted({p for m in methods for p in METHODS[m]})


def for_procedures(procedure_ids: Iterable[str], *, extra_methods: Iterable[str] = ()) -> list[Permission]:
    """What the given procedures need (procedures that never touch the platform need nothing)."""
    methods = [m for pid in procedure_ids for m in PROCEDURE_USES.get(pid, ())]
    return needed([*methods, *extra_methods])


def describe(perms: Iterable[Permission]) -> str:
    return ", ".join(f"{p.verb} {p.resource}" + (f".{p.api_group}" if p.api_group else "") for p in perms)
