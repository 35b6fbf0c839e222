"""Build the Kubernetes objects: ServiceAccount, Role, RoleBinding, ConfigMap and a CronJob per group.

Every CronJob: concurrencyPolicy Forbid, the schedule's time zone, a starting deadline equal to
the group's grace period (the window in which ``schedule run`` treats the slot as on time),
history limits, resources, a non-root read-only security context and a pinned image. The run
inside is ``smc-maint schedule run GROUP``: it keys the slot in the (PostgreSQL) history store,
so a Job started twice runs once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ConfigError
from ..registry import GROUPS, PROCEDURES
from ..scheduling.config import ScheduleConfig
from .rbac import Rule, rules

APP = "smc-maint"
CONFIG_DIR = "/etc/smc-maint"
HOME = "/var/lib/smc-maint"
RUN_AS = 10001
DEFAULT_SECRET = "smc-maint-secrets"  # noqa: S105 - the name of a Secret object, not a secret
TMP = "/tmp"  # noqa: S108 - a private emptyDir mounted over the read-only root
STORE_DIR = "/var/lib/smc-maint-store"  # where --store-pvc is mounted; the pod's store.path
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_TAG = re.compile(r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Requests/limits per group: the monthly restore test and quarterly drill restore a database.
RESOURCES: Mapping[str, dict[str, dict[str, str]]] = {
    "daily": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    "weekly": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    "monthly": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    "quarterly": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
}


def check_image(ref: str) -> str:
    """Accept an image pinned by a tag other than ``latest`` or by a sha256 digest."""
    if _DIGEST.search(ref):
        return ref
    if "@" in ref:
        raise ConfigError(f"image {ref!r}: malformed digest; pin with @sha256:<64 hex digits> or a version tag")
    last = ref.rsplit("/", 1)[-1]
    match = _TAG.search(last)
    if not match:
        raise ConfigError(f"image {ref!r} is not pinned: give a version tag or @sha256:<digest>")
    if match.group(0) == ":latest":
        raise ConfigError(f"image {ref!r} uses :latest; pin a version tag or digest")
    return ref


@dataclass(frozen=True)
class Options:
    namespace: str = "smc-trading"
    image: str = "smc-trading/smc-maint:0.1.0"
    secret_name: str = DEFAULT_SECRET
    config_yaml: str = ""
    groups: Sequence[str] = ()
    timeouts_seconds: Mapping[str, float] = field(default_factory=dict)  # group -> longest run
    secret_metadata: bool = False
    # procedures run by hand with the same service account (e.g. "emergency"): granted too
    on_demand: Sequence[str] = ()
    store_kind: str = "local"  # store.kind of the configuration
    store_pvc: str | None = None  # PersistentVolumeClaim holding a local store
    # The work directory (SMC_MAINT_HOME: dumps, scratch restores) sized for the database: a generic
    # ephemeral volume of work_size (deleted with the pod, not counted against node ephemeral storage),
    # or an existing PersistentVolumeClaim (work_pvc).
    work_size: str = "20Gi"
    work_storage_class: str | None = None
    work_pvc: str | None = None


def check_store(opts: Options) -> None:
    """Refuse a store that would live in the pod: an emptyDir is deleted with the pod, backups with it."""
    if opts.store_kind == "s3":
        if opts.store_pvc:
            raise ConfigError("--store-pvc is for a local store; store.kind is s3")
        return
    if not opts.store_pvc:
        raise ConfigError(f"store.kind is {opts.store_kind}: the backups would be written into the pod and lost "
                          "with it; set store.kind: s3, or give --store-pvc CLAIM (a PersistentVolumeClaim, "
                          "ReadWriteMany when groups may overlap)")
    if not _NAME.match(opts.store_pvc):
        raise ConfigError(f"store PVC name {opts.store_pvc!r} is not a valid Kubernetes name")


_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$")


def work_volume(opts: Options) -> dict[str, Any]:
    """The pod's work directory volume: a PVC when given, else a generic ephemeral volume."""
    if opts.work_pvc:
        if not _NAME.match(opts.work_pvc):
            raise ConfigError(f"work PVC name {opts.work_pvc!r} is not a valid Kubernetes name")
        return {"name": "home", "persistentVolumeClaim": {"claimName": opts.work_pvc}}
    if not _QUANTITY.match(opts.work_size):
        raise ConfigError(f"work size {opts.work_size!r} is not a Kubernetes quantity (e.g. 20Gi)")
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": opts.work_size}}}
    if opts.work_storage_class:
        spec["storageClassName"] = opts.work_storage_class
    return {"name": "home", "ephemeral": {"volumeClaimTemplate": {
        "metadata": {"labels": {"app.kubernetes.io/name": APP}}, "spec": spec}}}


def _meta(name: str, ns: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/name": APP, **extra}}


def _cronjob(group: str, sched: ScheduleConfig, opts: Options) -> dict[str, Any]:
    gs = sched.groups[group]
    deadline = int(gs.grace_minutes * 60)
    container = {
        "name": "smc-maint",
        "image": opts.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["schedule", "run", group, "--trigger", "kubernetes", "--config", f"{CONFIG_DIR}/smc-maint.yaml"],
        "env": [
            {"name": "SMC_MAINT_HOME", "value": HOME},
            # Job pods are ephemeral: slot keys and history must live in PostgreSQL.
            {"name": "SMC_MAINT_HISTORY__BACKEND", "value": "postgresql"},
            {"name": "SMC_MAINT_PLATFORM__KIND", "value": "kubernetes"},
            {"name": "SMC_MAINT_PLATFORM__IN_CLUSTER", "value": "true"},
            {"name": "SMC_MAINT_PLATFORM__NAMESPACE", "value": opts.namespace},
            # The store kind checked by check_store; `env` wins over the Secret's envFrom.
            {"name": "SMC_MAINT_STORE__KIND", "value": opts.store_kind},
            *([{"name": "SMC_MAINT_STORE__PATH", "value": STORE_DIR}] if opts.store_pvc else []),
        ],
        "envFrom": [{"secretRef": {"name": opts.secret_name}}],
        "resources": RESOURCES.get(group, RESOURCES["daily"]),
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS,
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "home", "mountPath": HOME},
            {"name": "tmp", "mountPath": TMP},
            *([{"name": "store", "mountPath": STORE_DIR}] if opts.store_pvc else []),
        ],
    }
    pod = {
        "serviceAccountName": APP,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 120,
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": f"{APP}-config"}},
            work_volume(opts),
            {"name": "tmp", "emptyDir": {"sizeLimit": "4Gi" if group in ("monthly", "quarterly") else "512Mi"}},
            *([{"name": "store", "persistentVolumeClaim": {"claimName": opts.store_pvc}}]
              if opts.store_pvc else []),
        ],
    }
    labels = {"app.kubernetes.io/component": group}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(f"{APP}-{group}", opts.namespace, **labels),
        "spec": {
            "schedule": gs.cron,
            "timeZone": sched.timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": deadline,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "suspend": not gs.enabled,
            "jobTemplate": {
                "metadata": {"labels": {"app.kubernetes.io/name": APP, **labels}},
                "spec": {
                    # A retry would start another pod for the same slot; the slot key stops it, but
                    # a failed run must be seen (history + alert), not silently retried.
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": int(opts.timeouts_seconds.get(group, 3600)),
                    "ttlSecondsAfterFinished": 7 * 86400,
                    "template": {"metadata": {"labels": {"app.kubernetes.io/name": APP, **labels}}, "spec": pod},
                },
            },
        },
    }


def _cluster_rbac(cluster_rules: list[Rule], ns: str) -> list[dict[str, Any]]:
    """Cluster-scoped reads (node metrics) need a ClusterRole; named per namespace, as it is cluster-wide."""
    if not cluster_rules:
        return []
    name = f"{APP}-{ns}"
    meta = {"name": name, "labels": {"app.kubernetes.io/name": APP}}
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta,
         "rules": [r.to_k8s() for r in cluster_rules]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": ns}]},
    ]


def build(sched: ScheduleConfig, opts: Options) -> list[dict[str, Any]]:
    """All objects, in apply order."""
    if not _NAME.match(opts.namespace) or len(opts.namespace) > 63:
        raise ConfigError(f"namespace {opts.namespace!r} is not a valid Kubernetes name")
    if not _NAME.match(opts.secret_name):
        raise ConfigError(f"secret name {opts.secret_name!r} is not a valid Kubernetes name")
    check_image(opts.image)
    check_store(opts)
    ns = opts.namespace
    work_volume(opts)
    unknown = [p for p in opts.on_demand if p not in PROCEDURES]
    if unknown:
        raise ConfigError(f"--on-demand: unknown procedure(s) {', '.join(unknown)}")
    # exactly what the deployed groups' procedures (and the on-demand ones asked for) call
    deployed = [pid for g in opts.groups for pid in GROUPS.get(g, [])] + list(opts.on_demand)
    all_rules = rules(secret_metadata=opts.secret_metadata, procedure_ids=deployed)
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(APP, ns)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(APP, ns),
         "rules": [r.to_k8s() for r in all_rules if not r.cluster]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta(APP, ns),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": APP},
         "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": ns}]},
        *_cluster_rbac([r for r in all_rules if r.cluster], ns),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"{APP}-config", ns),
         "data": {"smc-maint.yaml": opts.config_yaml}},
    ]
    objects += [_cronjob(g, sched, opts) for g in opts.groups]
    return objects


def to_yaml(objects: Sequence[Mapping[str, Any]], secret_name: str = DEFAULT_SECRET) -> str:
    """The manifests with a header; the Secret comes from a file, so no value lands in argv or shell history."""
    header = ("# smc-maint Kubernetes manifests (generated by `smc-maint k8s manifests`).\n"
              "# Create the Secret yourself (never in git): write NAME=value lines (SMC_MAINT_DATABASE_PASSWORD,\n"
              "# SMC_MAINT_HISTORY_DSN, SLACK_WEBHOOK_URL, ...) into a file only you can read (chmod 600), then\n"
              f"#   kubectl create secret generic {secret_name} --from-env-file=smc-maint.env\n"
              "# and delete the file. Never put a value on a command line: it stays in shell history and argv.\n")
    return header + yaml.safe_dump_all(list(objects), sort_keys=False, default_flow_style=False)
