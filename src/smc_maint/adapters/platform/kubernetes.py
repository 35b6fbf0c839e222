"""``KubernetesPlatform``: the seam over the official ``kubernetes`` client (kubeconfig or in-cluster).

Requests go through ``ApiClient.call_api`` with raw JSON (``_preload_content=False``), so answers
keep the API's own shape and every call carries ``_request_timeout``. Lists follow
``limit``/``continue`` (a 410 Expired token restarts the listing once). Secrets are listed as
``PartialObjectMetadataList``: their values never cross the wire. Exec uses
``kubernetes.stream`` (v4.channel.k8s.io) with a total deadline; the exit code comes from the
status channel.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ...config.model import PlatformConfig
from ...redact import redact
from . import kube_objects, permissions
from .base import ExecResult, PlatformError, Pod, ServerVersion, Usage, Workload

METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
MERGE_PATCH = "application/merge-patch+json"
# Secret types asked for by field selector (metadata-only lists carry no type); others read as Opaque.
SECRET_TYPES = ("kubernetes.io/tls", "kubernetes.io/service-account-token", "helm.sh/release.v1",
                "kubernetes.io/dockerconfigjson")
MAX_OUTPUT = 4 * 2**20  # bytes kept of an exec's stdout or stderr
_SCALABLE = {"deployment": "deployments", "statefulset": "statefulsets"}


def _status_message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message") or "")
    except (TypeError, ValueError, AttributeError):
        return ""


def collection_path(group: str, version: str, plural: str, namespace: str | None) -> str:
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


_HANDSHAKE = re.compile(r"Handshake status (\d{3})")


def handshake_error(reason: str) -> tuple[int, str]:
    """A refused exec upgrade: websocket-client's "Handshake status 404 ... -+-+- headers -+-+- body"
    carries the API's Status body; return its code and message."""
    m = _HANDSHAKE.search(reason)
    if not m:
        return 0, reason[:500]
    body = reason.rsplit("-+-+-", 1)[-1].strip() if "-+-+-" in reason else ""
    return int(m.group(1)), _status_message(body) or reason[:300]


def exit_status(channel3: str) -> tuple[int | None, str]:
    """The exit code from the status channel: Success is 0, NonZeroExitCode carries it; any other
    failure (the runtime could not start the command) is no code and the API's message."""
    try:
        st = json.loads(channel3) if channel3 else {}
    except ValueError:
        return None, f"unreadable exec status: {channel3[:200]}"
    if not isinstance(st, dict) or not st:
        return None, "the exec ended without a status"
    if st.get("status") == "Success":
        return 0, ""
    for cause in (st.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message")), ""
            except (TypeError, ValueError):
                break
    return None, str(st.get("message") or "the command failed to run")


class KubernetesPlatform:
    """The trading platform as a Kubernetes namespace."""

    kind = "kubernetes"

    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        try:
            from kubernetes import client
            from kubernetes import config as kconfig
        except ImportError:
            raise PlatformError("the kubernetes client is not installed (pip install 'smc-maint[kubernetes]')") from None
        conf = client.Configuration()
        try:
            if config.in_cluster:
                kconfig.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
            else:
                kconfig.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=str(config.kubeconfig) if config.kubeconfig else None,
                    client_configuration=conf, persist_config=False)
        except Exception as exc:  # ConfigException, YAML errors, missing files: all mean 'cannot load'
            raise PlatformError(redact(f"cannot load the Kubernetes configuration: {type(exc).__name__}: {exc}")
                                ) from None
        conf.retries = 1
        self._conf = conf
        self._client = client
        self._api = client.ApiClient(conf)
        self._timeout = config.request_timeout_seconds

    @property
    def namespace(self) -> str:
        return self.config.namespace

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    # -- transport ------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                 content_type: str = "application/json", accept: str = "application/json",
                 need: str | None = None) -> dict[str, Any]:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            verb, url, sent_headers, sent_body, post = self._api.param_serialize(
                method=method, resource_path=path,
                query_params=[(k, v) for k, v in (query or {}).items() if v is not None],
                header_params=headers, body=body, auth_settings=["BearerToken"])
            resp = self._api.call_api(verb, url, header_params=sent_headers, body=sent_body, post_params=post,
                                      _request_timeout=self._timeout)
            raw = resp.read()  # type: ignore[no-untyped-call]
        except Exception as exc:  # urllib3 connection, TLS and timeout errors (ApiException status 0)
            raise PlatformError(redact(f"cannot reach the Kubernetes API at {self._conf.host}: "
                                       f"{type(exc).__name__}: {exc}")) from None
        if not 200 <= resp.status <= 299:
            message = _status_message(raw) or str(resp.reason)
            hint = ""
            if resp.status == 403 and need and need in permissions.METHODS:
                hint = f" (needs {permissions.describe(permissions.METHODS[need])}: see `smc-maint k8s manifests`)"
            raise PlatformError(redact(f"Kubernetes API {method} {path}: {resp.status} {message}{hint}"),
                                status=resp.status)
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise PlatformError(f"Kubernetes API {method} {path}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise PlatformError(f"Kubernetes API {method} {path}: the answer is not an object")
        return data

    def _list(self, path: str, *, accept: str = "application/json", need: str | None = None,
              fields: str | None = None) -> list[dict[str, Any]]:
        for attempt in (1, 2):
            items: list[dict[str, Any]] = []
            token: str | None = None
            try:
                while True:
                    page = self._request("GET", path, query={"limit": self.config.page_size, "continue": token,
                                                             "fieldSelector": fields},
                                         accept=accept, need=need)
                    items.extend(i for i in page.get("items") or [] if isinstance(i, dict))
                    token = (page.get("metadata") or {}).get("continue") or None
                    if not token:
                        return items
            except PlatformError as exc:
                if exc.status != 410 or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _ns(self, namespace: str | None) -> str:
        return namespace or self.config.namespace

    # -- reading --------------------------------------------------------------------------
    def server_version(self) -> ServerVersion:
        v = self._request("GET", "/version", need="server_version")
        return ServerVersion(str(v.get("major", "")), str(v.get("minor", "")), str(v.get("gitVersion", "")),
                             str(v.get("platform", "")))

    def list_workloads(self, namespace: str | None = None) -> list[Workload]:
        ns = self._ns(namespace)
        out = []
        for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets")):
            for obj in self._list(collection_path("apps", "v1", plural, ns), need="list_workloads"):
                out.append(kube_objects.workload(kind, obj))
        return out

    def list_pods(self, namespace: str | None = None, selector: Mapping[str, str] | None = None) -> list[Pod]:
        ns = self._ns(namespace)
        path = collection_path("", "v1", "pods", ns)
        pods = [kube_objects.pod(o) for o in self._list(path, need="list_pods")]
        if selector:
            pods = [p for p in pods if all(p.labels.get(k) == v for k, v in selector.items())]
        return pods

    def node_usage(self) -> list[Usage]:
        items = self._list("/apis/metrics.k8s.io/v1beta1/nodes", need="node_usage")
        return [kube_objects.usage(o, None) for o in items]

    def pod_usage(self, namespace: str | None = None) -> list[Usage]:
        ns = self._ns(namespace)
        owners = {p.name: p.owner for p in self.list_pods(ns)}
        items = self._list(collection_path("metrics.k8s.io", "v1beta1", "pods", ns), need="pod_usage")
        return [kube_objects.usage(o, owners.get(str((o.get("metadata") or {}).get("name")))) for o in items]

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        if kind not in permissions.KINDS:
            raise PlatformError(f"unknown kind {kind!r} (known: {', '.join(sorted(permissions.KINDS))})")
        group, version, plural, namespaced = permissions.KINDS[kind]
        path = collection_path(group, version, plural, self._ns(namespace) if namespaced else None)
        if kind == "Secret":
            # Metadata only: values never cross the wire; drop them anyway should a server ignore `as=`.
            items = self._list(path, accept=METADATA_ONLY, need="list_objects:Secret")
            # Metadata has no `type`: the types the audit tells apart come from field-selected lists.
            typed = {}
            for secret_type in SECRET_TYPES:
                for o in self._list(path, accept=METADATA_ONLY, need="list_objects:Secret",
                                    fields=f"type={secret_type}"):
                    typed[str((o.get("metadata") or {}).get("uid") or (o.get("metadata") or {}).get("name"))] = (
                        secret_type)
            return [kube_objects.secret_metadata(o, typed.get(str((o.get("metadata") or {}).get("uid")
                                                                  or (o.get("metadata") or {}).get("name"))))
                    for o in items]
        return [{"apiVersion": f"{group}/{version}" if group else version, "kind": kind, **o}
                for o in self._list(path, need=f"list_objects:{kind}")]

    def list_custom(self, group: str, version: str, plural: str, namespace: str | None = None
                    ) -> list[dict[str, Any]]:
        return self._list(collection_path(group, version, plural, self._ns(namespace)),
                          need=f"list_custom:{group}/{plural}")

    # -- acting ---------------------------------------------------------------------------
    def exec(self, pod: str, argv: Sequence[str], *, container: str | None = None,
             namespace: str | None = None, timeout_seconds: float = 60) -> ExecResult:
        from kubernetes.stream import stream

        ns = self._ns(namespace)
        core = self._client.CoreV1Api(self._api)
        deadline = time.monotonic() + timeout_seconds
        kwargs: dict[str, Any] = {"command": list(argv), "stderr": True, "stdin": False, "stdout": True,
                                  "tty": False, "_preload_content": False,
                                  "_request_timeout": min(self._timeout, timeout_seconds)}
        if container:
            kwargs["container"] = container
        try:
            ws = stream(core.connect_get_namespaced_pod_exec, pod, ns, **kwargs)
        except self._client.ApiException as exc:
            refused, message = handshake_error(str(exc.reason))
            refused = refused or int(exc.status or 0)
            raise PlatformError(redact(f"exec in pod {ns}/{pod}: {refused} {message}"), status=refused or None
                                ) from None
        except Exception as exc:  # connection errors
            raise PlatformError(redact(f"exec in pod {ns}/{pod}: {type(exc).__name__}: {exc}")) from None
        out: list[str] = []
        err: list[str] = []
        sizes = [0, 0]
        timed_out = False
        try:
            while ws.is_open():
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                ws.update(timeout=min(left, 1.0))
                chunks = ((ws.read_stdout(timeout=0), out), (ws.read_stderr(timeout=0), err))
                for i, (chunk, sink) in enumerate(chunks):
                    if chunk and sizes[i] < MAX_OUTPUT:
                        sink.append(chunk)
                        sizes[i] += len(chunk)
            code: int | None = None
            if not timed_out:
                code, failure = exit_status(ws.read_channel(3))
                if failure:
                    err.append(failure)
        except Exception as exc:
            raise PlatformError(redact(f"exec in pod {ns}/{pod}: {type(exc).__name__}: {exc}")) from None
        finally:
            ws.close()
        return ExecResult("".join(out), "".join(err), None if timed_out else code, timed_out)

    def _scale_path(self, kind: str, name: str, namespace: str | None) -> str:
        plural = _SCALABLE.get(kind.lower())
        if plural is None:
            raise PlatformError(f"cannot scale a {kind}: only Deployment and StatefulSet")
        return collection_path("apps", "v1", plural, self._ns(namespace)) + f"/{name}/scale"

    def get_scale(self, kind: str, name: str, namespace: str | None = None) -> int:
        obj = self._request("GET", self._scale_path(kind, name, namespace), need="get_scale")
        return int((obj.get("spec") or {}).get("replicas") or 0)

    def scale(self, kind: str, name: str, replicas: int, namespace: str | None = None) -> int:
        if replicas < 0:
            raise PlatformError(f"cannot scale {kind}/{name} to {replicas} replicas")
        before = self.get_scale(kind, name, namespace)
        self._request("PATCH", self._scale_path(kind, name, namespace), body={"spec": {"replicas": replicas}},
                      content_type=MERGE_PATCH, need="scale")
        return before

    def _service_path(self, name: str, namespace: str | None) -> str:
        return collection_path("", "v1", "services", self._ns(namespace)) + f"/{name}"

    def get_service_selector(self, name: str, namespace: str | None = None) -> dict[str, str]:
        obj = self._request("GET", self._service_path(name, namespace), need="get_service_selector")
        return {str(k): str(v) for k, v in ((obj.get("spec") or {}).get("selector") or {}).items()}

    def set_service_selector(self, name: str, selector: Mapping[str, str], namespace: str | None = None
                             ) -> dict[str, str]:
        before = self.get_service_selector(name, namespace)
        # A JSON merge patch replaces the keys given and removes those set to null.
        patch: dict[str, Any] = {k: None for k in before if k not in selector}
        patch.update(selector)
        self._request("PATCH", self._service_path(name, namespace), body={"spec": {"selector": patch}},
                      content_type=MERGE_PATCH, need="set_service_selector")
        return before

    def namespace_exists(self, name: str) -> bool:
        try:
            self._request("GET", f"/api/v1/namespaces/{name}", need="namespace_exists")
        except PlatformError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        self._request("POST", "/api/v1/namespaces", need="create_namespace", body={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}})

    def delete_namespace(self, name: str) -> None:
        self._request("DELETE", f"/api/v1/namespaces/{name}", need="delete_namespace")

    def apply(self, manifests: Sequence[Mapping[str, Any]], namespace: str) -> list[str]:
        done = []
        for obj in manifests:
            kind = str(obj.get("kind", ""))
            name = str((obj.get("metadata") or {}).get("name", ""))
            if kind not in permissions.KINDS or not name:
                raise PlatformError(f"cannot apply {kind or '?'}/{name or '?'}: unknown kind or no name")
            group, version, plural, namespaced = permissions.KINDS[kind]
            path = collection_path(group, version, plural, namespace if namespaced else None)
            body = {**obj, "metadata": {**dict(obj.get("metadata") or {}),
                                        **({"namespace": namespace} if namespaced else {})}}
            try:
                self._request("POST", path, body=body, need=f"apply:{kind}")
            except PlatformError as exc:
                if exc.status != 409:
                    raise
                current = self._request("GET", f"{path}/{name}", need=f"apply:{kind}")
                version_now = (current.get("metadata") or {}).get("resourceVersion")
                body["metadata"]["resourceVersion"] = version_now
                self._request("PUT", f"{path}/{name}", body=body, need=f"apply:{kind}")
            done.append(f"{kind}/{name}")
        return done

