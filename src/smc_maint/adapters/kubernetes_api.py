"""Read custom resources from the Kubernetes API with the official client (an optional extra).

Configuration comes from ``platform``: in-cluster service account, or a kubeconfig file
(default ``~/.kube/config``). Every failure becomes :class:`KubernetesUnavailable` with a reason.
"""

from __future__ import annotations

import json
from typing import Any

from ..config.model import PlatformConfig
from ..redact import redact


class KubernetesUnavailable(Exception):
    """The API could not be used; the message says why (already redacted)."""


def _status_message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message") or "")
    except (TypeError, ValueError, AttributeError):
        return ""


def list_namespaced_custom_objects(platform: PlatformConfig, group: str, version: str, plural: str,
                                   *, page_size: int = 500, timeout_seconds: float = 30) -> dict[str, Any]:
    """All objects of ``plural`` in ``platform.namespace`` as one list document (pages followed)."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise KubernetesUnavailable("the kubernetes client is not installed "
                                    "(pip install 'smc-maint[kubernetes]')") from None
    conf = client.Configuration()
    try:
        if platform.in_cluster:
            config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(config_file=str(platform.kubeconfig) if platform.kubeconfig else None,
                                    client_configuration=conf, persist_config=False)  # type: ignore[no-untyped-call]
    except Exception as exc:  # ConfigException, YAML errors, missing files: all mean 'cannot load'
        raise KubernetesUnavailable(redact(f"cannot load the Kubernetes configuration: {type(exc).__name__}: {exc}")) from None
    conf.retries = 1
    items: list[Any] = []
    document: dict[str, Any] = {}
    token: str | None = None
    with client.ApiClient(conf) as api_client:
        api = client.CustomObjectsApi(api_client)
        while True:
            try:
                page: Any = api.list_namespaced_custom_object(
                    group, version, platform.namespace, plural, limit=page_size, _continue=token,
                    _request_timeout=timeout_seconds)
            except client.ApiException as exc:
                message = _status_message(exc.body) or str(exc.reason)
                raise KubernetesUnavailable(redact(f"Kubernetes API answered {exc.status}: {message}")) from None
            except Exception as exc:  # urllib3 connection/TLS errors
                raise KubernetesUnavailable(redact(f"cannot reach the Kubernetes API at {conf.host}: "
                                                   f"{type(exc).__name__}: {exc}")) from None
            if not isinstance(page, dict):
                raise KubernetesUnavailable("the Kubernetes API returned something that is not a list")
            document = page
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                break
    return {**document, "items": items}
