"""FakeKubeApi: a fake Kubernetes API server (none can run here), over real HTTP(S), that the
official ``kubernetes`` client talks to unmodified.

Faithful where the product depends on it: the real paths (core ``/api/v1``, groups under
``/apis/{group}/{version}``, namespaced and cluster-scoped, ``/scale`` and ``/exec``
subresources, ``/version``), the verbs get/list/create/patch (merge-patch and strategic-merge)/
update (PUT)/delete, ``resourceVersion`` (optimistic concurrency: a stale one is 409), opaque
continue tokens that expire (410), label selectors, ``PartialObjectMetadataList`` for metadata-only
lists, ``Status`` bodies for 401/403/404/405/409/410/415/422, objects validated against the
official schemas (kubernetes-validate), exec over a websocket with the ``v4.channel.k8s.io``
subprotocol (stdout 1, stderr 2, status 3), and RBAC: given rules, any request they do not allow
is 403 with the API server's wording. ``used`` records every (group, resource, verb) asked for.

A tiny controller keeps Deployments and StatefulSets observable: their status and pods follow
``spec.replicas`` (a workload annotated ``fake.smc/crashloop: "true"`` never gets ready pods:
its containers wait in CrashLoopBackOff). Exec runs small programs against a per-pod virtual
filesystem (``find`` and ``rm``) or programs a test registers; an unknown one fails as the
container runtime does.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import hashlib
import json
import posixpath
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import kubernetes_validate
import yaml

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
V4 = "v4.channel.k8s.io"
SCHEMA_VERSION = "1.30"
CRASHLOOP = "fake.smc/crashloop"
SA_USER = "system:serviceaccount:smc-trading:smc-maint"

# (group, version, plural) -> (kind, namespaced, writable)
RESOURCES: dict[tuple[str, str, str], tuple[str, bool, bool]] = {
    ("", "v1", "pods"): ("Pod", True, True),
    ("", "v1", "services"): ("Service", True, True),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True, True),
    ("", "v1", "secrets"): ("Secret", True, True),
    ("", "v1", "configmaps"): ("ConfigMap", True, True),
    ("", "v1", "persistentvolumeclaims"): ("PersistentVolumeClaim", True, True),
    ("", "v1", "endpoints"): ("Endpoints", True, True),
    ("", "v1", "namespaces"): ("Namespace", False, True),
    ("", "v1", "nodes"): ("Node", False, True),
    ("apps", "v1", "deployments"): ("Deployment", True, True),
    ("apps", "v1", "statefulsets"): ("StatefulSet", True, True),
    ("apps", "v1", "daemonsets"): ("DaemonSet", True, True),
    ("batch", "v1", "cronjobs"): ("CronJob", True, True),
    ("batch", "v1", "jobs"): ("Job", True, True),
    ("rbac.authorization.k8s.io", "v1", "roles"): ("Role", True, True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): ("RoleBinding", True, True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): ("ClusterRole", False, True),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"): ("ClusterRoleBinding", False, True),
    ("networking.k8s.io", "v1", "networkpolicies"): ("NetworkPolicy", True, True),
    ("networking.k8s.io", "v1", "ingresses"): ("Ingress", True, True),
    ("cert-manager.io", "v1", "certificates"): ("Certificate", True, True),
    ("aquasecurity.github.io", "v1alpha1", "vulnerabilityreports"): ("VulnerabilityReport", True, True),
    ("metrics.k8s.io", "v1beta1", "nodes"): ("NodeMetrics", False, False),
    ("metrics.k8s.io", "v1beta1", "pods"): ("PodMetrics", True, False),
}
BUILTIN_GROUPS = {"", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io"}


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body = status(code, reason, message, details)
        self.code = code


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Strategic merge for the shapes used here: maps merge, lists of named objects merge by name."""
    if isinstance(patch, dict) and isinstance(target, dict):
        out = dict(target)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = strategic_merge_patch(out.get(k), v)
        return out
    if (isinstance(patch, list) and isinstance(target, list) and patch
            and all(isinstance(i, dict) and "name" in i for i in patch + target)):
        merged = {i["name"]: i for i in target}
        for item in patch:
            merged[item["name"]] = strategic_merge_patch(merged.get(item["name"]), item)
        return list(merged.values())
    return copy.deepcopy(patch)


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif labels.get(term) is None:
            return False
    return True


@dataclass
class VirtualFile:
    mtime: float
    size: int = 100


Program = Callable[["ExecCall"], tuple[str, str, int]]


@dataclass
class ExecCall:
    fake: FakeKubeApi
    namespace: str
    pod: str
    container: str
    argv: list[str]

    @property
    def files(self) -> dict[str, VirtualFile]:
        return self.fake.files.setdefault((self.namespace, self.pod), {})


def _find(call: ExecCall) -> tuple[str, str, int]:
    """GNU/busybox ``find ROOT [-xdev] [-type f] [( -name G -o -name G )] [-mtime +N] [-print]``."""
    args = call.argv[1:]
    if not args:
        return "", "find: missing path\n", 1
    root, rest = posixpath.normpath(args[0]), args[1:]
    names: list[str] = []
    older: float | None = None
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("-xdev", "-print", "(", ")", "-o", "-P"):
            i += 1
        elif a == "-type":
            if rest[i + 1] != "f":
                return "", f"find: unsupported -type {rest[i + 1]}\n", 1
            i += 2
        elif a == "-name":
            names.append(rest[i + 1])
            i += 2
        elif a == "-mtime":
            value = rest[i + 1]
            if not value.startswith("+"):
                return "", f"find: unsupported -mtime {value}\n", 1
            older = float(value[1:])
            i += 2
        else:
            return "", f"find: unknown predicate '{a}'\n", 1
    if not any(p == root or p.startswith(root + "/") for p in call.files) and root not in call.fake.dirs(call):
        return "", f"find: '{args[0]}': No such file or directory\n", 1
    now = call.fake.now.timestamp()
    out = []
    for path, f in sorted(call.files.items()):
        if not path.startswith(root.rstrip("/") + "/"):
            continue
        if names and not any(fnmatch.fnmatchcase(posixpath.basename(path), n) for n in names):
            continue
        if older is not None and int((now - f.mtime) // 86400) <= older:
            continue  # find -mtime +N: whole days of age, strictly more than N
        out.append(path + "\n")
    return "".join(out), "", 0


def _rm(call: ExecCall) -> tuple[str, str, int]:
    args = call.argv[1:]
    force = "-f" in args
    paths = args[args.index("--") + 1:] if "--" in args else [a for a in args if not a.startswith("-")]
    err, code = "", 0
    for p in paths:
        if p in call.files:
            del call.files[p]
            call.fake.deleted.append((call.namespace, call.pod, p))
        elif not force:
            err += f"rm: cannot remove '{p}': No such file or directory\n"
            code = 1
    return "", err, code


@dataclass
class FakeKubeApi:
    token: str
    namespace: str = "smc-trading"
    now: datetime = field(default_factory=lambda: datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    max_page: int = 3  # the server may return fewer items than asked for, with a continue token
    rbac: list[dict[str, Any]] | None = None  # Role rules (namespaced) in self.namespace; None = allow all
    cluster_rbac: list[dict[str, Any]] = field(default_factory=list)  # ClusterRole rules
    tls: ssl.SSLContext | None = None
    version: dict[str, str] = field(default_factory=lambda: {
        "major": "1", "minor": "30", "gitVersion": "v1.30.4", "platform": "linux/amd64"})
    store: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)  # (group, plural, ns, name)
    files: dict[tuple[str, str], dict[str, VirtualFile]] = field(default_factory=dict)
    programs: dict[tuple[str, str], dict[str, Program]] = field(default_factory=dict)  # (ns, pod) -> argv0 -> fn
    used: set[tuple[str, str, str]] = field(default_factory=set)
    denied: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    served: list[bytes] = field(default_factory=list)  # every response body, to prove what crossed the wire
    exec_log: list[tuple[str, list[str]]] = field(default_factory=list)
    deleted: list[tuple[str, str, str]] = field(default_factory=list)
    page_size_seen: list[int] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    _rv: int = 1000
    _compacted: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- setup ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def kubeconfig(self, path: Path, namespace: str | None = None, ca_file: Path | None = None) -> Path:
        cluster: dict[str, Any] = {"server": self.url}
        if ca_file:
            cluster["certificate-authority"] = str(ca_file)
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": cluster}],
            "users": [{"name": "smc-maint", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "smc-maint",
                                                      "namespace": namespace or self.namespace}}],
        }))
        return path

    def expire_continue_tokens(self) -> None:
        """As an etcd compaction does: continue tokens issued so far answer 410 Expired."""
        with self._lock:
            self._rv += 1  # the compaction revision: lists from now on are newer
            self._compacted = self._rv

    def dirs(self, call: ExecCall) -> set[str]:
        return {posixpath.dirname(p) for p in call.files}

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def put(self, obj: dict[str, Any], *, validate: bool = True) -> dict[str, Any]:
        """Seed an object as if it had been created (no RBAC); the controller runs on workloads."""
        with self._lock:
            group, version, plural = self._resource_of(obj)
            kind, namespaced, _w = RESOURCES[(group, version, plural)]
            ns = obj["metadata"].get("namespace", self.namespace) if namespaced else ""
            stored = self._admit(group, plural, kind, ns, copy.deepcopy(obj), validate=validate)
            self.store[(group, plural, ns, stored["metadata"]["name"])] = stored
            self._reconcile(group, plural, ns, stored["metadata"]["name"])
            return stored

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        for (group, _version, plural), (k, namespaced, _w) in RESOURCES.items():
            if k == kind:
                ns = (namespace or self.namespace) if namespaced else ""
                return self.store.get((group, plural, ns, name))
        raise KeyError(kind)

    def objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        for (group, _version, plural), (k, namespaced, _w) in RESOURCES.items():
            if k == kind:
                ns = (namespace or self.namespace) if namespaced else ""
                return [o for (g, p, n, _), o in sorted(self.store.items()) if g == group and p == plural and n == ns]
        raise KeyError(kind)

    def _resource_of(self, obj: dict[str, Any]) -> tuple[str, str, str]:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        group, _, version = api_version.rpartition("/")
        for (g, v, plural), (k, _n, _w) in RESOURCES.items():
            if g == group and v == version and k == kind:
                return g, v, plural
        raise ApiError(400, "BadRequest", f"no kind {kind!r} is registered for version {api_version!r}")

    # -- admission, controller -----------------------------------------------------------
    def _admit(self, group: str, plural: str, kind: str, ns: str, obj: dict[str, Any], *,
               validate: bool = True, old: dict[str, Any] | None = None) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ApiError(422, "Invalid", f"{kind} \"\" is invalid: metadata.name: Required value: name is required")
        if ns:
            if meta.get("namespace", ns) != ns:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = ns
        if validate and group in BUILTIN_GROUPS:
            try:
                kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise ApiError(422, "Invalid", f"{kind}.{group or 'core'} \"{meta['name']}\" is invalid: "
                               f"{'.'.join(str(p) for p in exc.path)}: {exc.message}",
                               {"name": meta["name"], "kind": plural}) from None
        meta["uid"] = (old or {}).get("metadata", {}).get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = ((old or {}).get("metadata", {}).get("creationTimestamp")
                                     or self.now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        meta["resourceVersion"] = self._next_rv()
        meta["generation"] = int((old or {}).get("metadata", {}).get("generation") or 0) + 1
        return obj

    def _reconcile(self, group: str, plural: str, ns: str, name: str) -> None:
        """The controller: workload status and pods follow spec.replicas."""
        if group != "apps" or plural not in ("deployments", "statefulsets"):
            return
        obj = self.store.get((group, plural, ns, name))
        owned = [k for k, p in self.store.items() if k[1] == "pods" and k[2] == ns
                 and (p["metadata"].get("annotations") or {}).get("fake.smc/owner") == f"{plural}/{name}"]
        if obj is None:
            for k in owned:
                del self.store[k]
            return
        desired = int(obj["spec"].get("replicas", 1))
        crash = (obj["metadata"].get("annotations") or {}).get(CRASHLOOP) == "true"
        template = obj["spec"].get("template") or {}
        rs_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        names = ([f"{name}-{i}" for i in range(desired)] if plural == "statefulsets"
                 else [f"{name}-{rs_hash}-{hashlib.sha256(f'{name}{i}'.encode()).hexdigest()[:5]}"
                       for i in range(desired)])
        for k in owned:
            if k[3] not in names:
                del self.store[k]
        for pod_name in names:
            if ("", "pods", ns, pod_name) in self.store:
                continue
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            owner = ({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name, "uid": obj["metadata"]["uid"]}
                     if plural == "statefulsets" else
                     {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-{rs_hash}", "uid": str(uuid.uuid4())})
            if plural == "deployments":
                labels["pod-template-hash"] = rs_hash
            spec = copy.deepcopy(template.get("spec") or {})
            spec["nodeName"] = "node-a" if len(pod_name) % 2 else "node-b"
            cstatuses = [{"name": c["name"], "image": c.get("image", ""), "ready": not crash,
                          "restartCount": 17 if crash else 0, "imageID": "", "containerID": "",
                          "started": not crash,
                          "state": ({"waiting": {"reason": "CrashLoopBackOff",
                                                 "message": "back-off 5m0s restarting failed container"}}
                                    if crash else {"running": {"startedAt": "2026-11-20T08:00:00Z"}})}
                         for c in spec.get("containers") or []]
            self.store[("", "pods", ns, pod_name)] = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns, "labels": labels, "uid": str(uuid.uuid4()),
                             "resourceVersion": self._next_rv(), "ownerReferences": [owner],
                             "annotations": {"fake.smc/owner": f"{plural}/{name}"},
                             "creationTimestamp": "2026-11-20T08:00:00Z"},
                "spec": spec,
                "status": {"phase": "Running", "startTime": "2026-11-20T08:00:00Z",
                           "conditions": [{"type": "Ready", "status": "False" if crash else "True"}],
                           "containerStatuses": cstatuses}}
        ready = 0 if crash else desired
        obj["status"] = {"observedGeneration": obj["metadata"].get("generation", 1), "replicas": desired,
                         "readyReplicas": ready, **({"availableReplicas": ready} if plural == "deployments" else {}),
                         **({"currentReplicas": desired} if plural == "statefulsets" else {})}

    # -- authorization -------------------------------------------------------------------
    def _allowed(self, group: str, resource: str, verb: str, ns: str) -> bool:
        if self.rbac is None:
            return True
        rules = list(self.cluster_rbac) + (list(self.rbac) if ns == self.namespace else [])
        for r in rules:
            if (group in r.get("apiGroups", []) or "*" in r.get("apiGroups", [])) and \
               (resource in r.get("resources", []) or "*" in r.get("resources", [])) and \
               (verb in r.get("verbs", []) or "*" in r.get("verbs", [])):
                return True
        return False

    def _authorize(self, group: str, resource: str, verb: str, ns: str, plural: str) -> None:
        self.used.add((group, resource, verb))
        if not self._allowed(group, resource, verb, ns):
            where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
            message = (f'{plural}{"." + group if group else ""} is forbidden: User "{SA_USER}" cannot {verb} '
                       f'resource "{resource}" in API group "{group}"{where}')
            self.denied.append(message)
            raise ApiError(403, "Forbidden", message, {"kind": plural, "group": group})

    def _authenticated(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token == self.token  # the scheme is case-insensitive (RFC 7235)

    # -- routing -------------------------------------------------------------------------
    def parse(self, path: str) -> tuple[str, str, str, str, str | None, str | None]:
        """(group, version, plural, namespace, name, subresource) of a resource path."""
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        plural = rest[0]
        if (group, version, plural) not in RESOURCES:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        _kind, namespaced, _w = RESOURCES[(group, version, plural)]
        if namespaced != bool(ns) and not (namespaced and len(rest) == 1):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return group, version, plural, ns, name, sub

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((method, path))
            if not self._authenticated(headers):
                return 401, status(401, "Unauthorized", "Unauthorized")
            if path == "/version":
                return 200, dict(self.version)
            try:
                return self._handle(method, path, query, headers, body)
            except ApiError as exc:
                return exc.code, exc.body

    def _handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, Any]]:
        group, version, plural, ns, name, sub = self.parse(path)
        kind, namespaced, writable = RESOURCES[(group, version, plural)]
        resource = f"{plural}/{sub}" if sub else plural
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[method]
        self._authorize(group, resource, verb, ns, plural)
        if method != "GET" and not writable:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if sub not in (None, "scale"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "scale" and plural not in ("deployments", "statefulsets"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if namespaced and ns and method == "POST" and ("", "namespaces", "", ns) not in self.store:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                           {"name": ns, "kind": "namespaces"})
        if method == "GET" and name is None:
            return 200, self._list(group, version, plural, kind, ns, query, headers.get("accept", ""))
        if method == "POST":
            obj = self._body(body)
            if name is not None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if obj.get("kind") != kind:
                raise ApiError(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) does not "
                               f"match the expected API version")
            key = (group, plural, ns, obj.get("metadata", {}).get("name", ""))
            if key in self.store:
                raise ApiError(409, "AlreadyExists", f'{plural}{"." + group if group else ""} "{key[3]}" already exists',
                               {"name": key[3], "kind": plural})
            stored = self._admit(group, plural, kind, ns, obj)
            self.store[key] = stored
            self._reconcile(group, plural, ns, key[3])
            return 201, stored
        assert name is not None
        key = (group, plural, ns, name)
        current = self.store.get(key)
        if current is None:
            raise ApiError(404, "NotFound", f'{plural}{"." + group if group else ""} "{name}" not found',
                           {"name": name, "kind": plural})
        if sub == "scale":
            return self._scale(method, key, current, headers, body)
        if method == "GET":
            return 200, current
        if method == "DELETE":
            del self.store[key]
            if plural == "namespaces":
                for k in [k for k in self.store if k[2] == name]:
                    del self.store[k]
            self._reconcile(group, plural, ns, name)
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": {"name": name, "kind": plural}}
        if method == "PUT":
            obj = self._body(body)
            self._check_version(obj, current, plural, name)
            obj.pop("status", None)
            if "status" in current:
                obj["status"] = current["status"]  # PUT on the main resource never changes status
        else:
            obj = self._patch(current, headers, body)
        if obj.get("metadata", {}).get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        stored = self._admit(group, plural, kind, ns, obj, old=current)
        self.store[key] = stored
        self._reconcile(group, plural, ns, name)
        return 200, stored

    def _body(self, raw: bytes) -> dict[str, Any]:
        try:
            obj = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format") from None
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
        return obj

    def _check_version(self, obj: dict[str, Any], current: dict[str, Any], plural: str, name: str) -> None:
        sent = (obj.get("metadata") or {}).get("resourceVersion")
        if sent and sent != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": the object has '
                           "been modified; please apply your changes to the latest version and try again",
                           {"name": name, "kind": plural})

    def _patch(self, current: dict[str, Any], headers: dict[str, str], body: bytes) -> dict[str, Any]:
        ctype = headers.get("content-type", "").split(";")[0].strip()
        patch = self._body(body)
        self._check_version(patch, current, current.get("kind", "").lower() + "s", current["metadata"]["name"])
        if ctype == "application/merge-patch+json":
            out = merge_patch(copy.deepcopy(current), patch)
        elif ctype == "application/strategic-merge-patch+json":
            out = strategic_merge_patch(copy.deepcopy(current), patch)
        else:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml, application/strategic-merge-patch+json")
        out.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
        return dict(out)

    def _scale(self, method: str, key: tuple[str, str, str, str], current: dict[str, Any], headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, Any]]:
        if method not in ("GET", "PATCH", "PUT"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method != "GET":
            scale_now = self._scale_obj(current)
            new = (self._patch(scale_now, headers, body) if method == "PATCH" else self._body(body))
            replicas = (new.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", f'Scale.autoscaling "{key[3]}" is invalid: spec.replicas: Invalid '
                               f"value: {replicas!r}: must be greater than or equal to 0")
            current["spec"]["replicas"] = replicas
            current["metadata"]["resourceVersion"] = self._next_rv()
            current["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
            self._reconcile(key[0], key[1], key[2], key[3])
        return 200, self._scale_obj(current)

    def _scale_obj(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"].get("namespace"),
                             "resourceVersion": obj["metadata"]["resourceVersion"]},
                "spec": {"replicas": int(obj["spec"].get("replicas", 1))},
                "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0))}}

    def _list(self, group: str, version: str, plural: str, kind: str, ns: str, query: dict[str, list[str]],
              accept: str) -> dict[str, Any]:
        asked = int(query.get("limit", ["0"])[0] or 0)
        self.page_size_seen.append(asked)
        selector = query.get("labelSelector", [""])[0]
        items = [o for (g, p, n, _), o in sorted(self.store.items())
                 if g == group and p == plural and (not ns or n == ns)
                 and _selector_matches(selector, (o.get("metadata") or {}).get("labels") or {})]
        fields = query.get("fieldSelector", [""])[0]
        if fields:  # the API server's field selectors: Secrets support `type` (one term here)
            field, _, value = fields.partition("=")
            if plural != "secrets" or field != "type":
                raise ApiError(400, "BadRequest", f'"{field}" is not a known field selector: only "type"')
            items = [o for o in items if o.get("type", "Opaque") == value]
        token = query.get("continue", [""])[0]
        list_rv = str(self._rv)
        start = 0
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                issued, start, list_rv = int(state["rv"]), int(state["start"]), str(state["rv"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "BadRequest", "continue key is not valid: illegal base64 data") from None
            if issued < self._compacted:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent "
                               "list result. You can start a new list without the continue parameter.")
        limit = min(asked or self.max_page, self.max_page)
        page = items[start:start + limit]
        more = start + limit < len(items)
        cont = (base64.urlsafe_b64encode(json.dumps({"rv": int(list_rv), "start": start + limit}).encode()).decode()
                if more else "")
        meta: dict[str, Any] = {"resourceVersion": list_rv}
        if cont:
            meta["continue"] = cont
        if "as=PartialObjectMetadataList" in accept:
            return {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": meta,
                    "items": [{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                               "metadata": copy.deepcopy(o["metadata"])} for o in page]}
        return {"apiVersion": f"{group}/{version}" if group else version, "kind": f"{kind}List", "metadata": meta,
                "items": page}

    # -- exec ----------------------------------------------------------------------------
    def exec_call(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> ExecCall:
        """Authorize and check an exec request (raises ApiError)."""
        with self._lock:
            self.requests.append(("EXEC", path))
            if not self._authenticated(headers):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            group, _v, plural, ns, name, sub = self.parse(path)
            if (group, plural, sub) != ("", "pods", "exec") or name is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            # Since Kubernetes 1.31 a websocket exec needs `create` on pods/exec, as a POST always did.
            self._authorize("", "pods/exec", "create", ns, "pods")
            pod = self.store.get(("", "pods", ns, name))
            if pod is None:
                raise ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
            names = [c["name"] for c in pod["spec"].get("containers") or []]
            container = query.get("container", [names[0] if names else ""])[0]
            if container not in names:
                raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
            argv = query.get("command", [])
            if not argv:
                raise ApiError(400, "BadRequest", "you must specify at least 1 command")
            self.exec_log.append((name, list(argv)))
            return ExecCall(self, ns, name, container, list(argv))

    def run_exec(self, call: ExecCall) -> tuple[str, str, int | None, str]:
        """stdout, stderr, exit code (None: the runtime could not start it) and the status message."""
        with self._lock:
            programs = {"find": _find, "rm": _rm, **self.programs.get((call.namespace, call.pod), {})}
            program = programs.get(posixpath.basename(call.argv[0]))
            if program is None:
                return "", "", None, (f'OCI runtime exec failed: exec failed: unable to start container process: '
                                      f'exec: "{call.argv[0]}": executable file not found in $PATH: unknown')
            out, err, code = program(call)
            return out, err, code, ""

    # -- server --------------------------------------------------------------------------
    def start(self) -> FakeKubeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _headers(self) -> dict[str, str]:
                return {k.lower(): v for k, v in self.headers.items()}

            def _send(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                fake.served.append(raw)
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _any(self, method: str) -> None:
                parsed = urlparse(self.path)
                query = parse_qs(parsed.query)
                headers = self._headers()
                if method == "GET" and headers.get("upgrade", "").lower() == "websocket":
                    self._websocket(parsed.path, query, headers)
                    return
                length = int(headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                code, answer = fake.handle(method, parsed.path, query, headers, body)
                self._send(code, answer)

            def do_GET(self) -> None:
                self._any("GET")

            def do_POST(self) -> None:
                self._any("POST")

            def do_PUT(self) -> None:
                self._any("PUT")

            def do_PATCH(self) -> None:
                self._any("PATCH")

            def do_DELETE(self) -> None:
                self._any("DELETE")

            def _frame(self, opcode: int, payload: bytes) -> bytes:
                n = len(payload)
                head = bytes([0x80 | opcode])
                if n < 126:
                    head += bytes([n])
                elif n < 65536:
                    head += bytes([126]) + n.to_bytes(2, "big")
                else:
                    head += bytes([127]) + n.to_bytes(8, "big")
                return head + payload

            def _websocket(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> None:
                offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
                try:
                    call = fake.exec_call(path, query, headers)
                    if V4 not in offered:
                        raise ApiError(400, "BadRequest", f"unsupported subprotocols {offered}; need {V4}")
                except ApiError as exc:
                    self._send(exc.code, exc.body)
                    return
                accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + WS_GUID).encode()).digest())
                self.send_response(101, "Switching Protocols")
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept.decode())
                self.send_header("Sec-WebSocket-Protocol", V4)
                self.end_headers()
                out, err, code, failure = fake.run_exec(call)
                frames = b""
                for channel, text in ((1, out), (2, err)):
                    data = text.encode()
                    for i in range(0, len(data), 32768):
                        frames += self._frame(0x2, bytes([channel]) + data[i:i + 32768])
                if failure:
                    result = status(500, "InternalError", failure)
                elif code == 0:
                    result = {"metadata": {}, "status": "Success"}
                else:
                    result = {"metadata": {}, "status": "Failure",
                              "message": f"command terminated with non-zero exit code: error executing command "
                                         f"{call.argv}, exit code {code}",
                              "reason": "NonZeroExitCode",
                              "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
                frames += self._frame(0x2, bytes([3]) + json.dumps(result).encode())
                frames += self._frame(0x8, (1000).to_bytes(2, "big"))
                fake.served.append(frames)
                self.wfile.write(frames)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
