"""FakeKubeApi: a stand-in for the Kubernetes API server (none can run here), over real HTTP.

It serves only what the tool reads, in the shapes the real API server returns: a namespaced
custom-resource list with ``metadata.continue`` paging, and ``Status`` objects for 401/403/404.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

VR_PATH = "/apis/aquasecurity.github.io/v1alpha1/namespaces/{ns}/vulnerabilityreports"


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


@dataclass
class FakeKubeApi:
    token: str
    namespace: str = "smc-trading"
    reports: list[dict[str, Any]] = field(default_factory=list)
    max_page: int = 2  # the API may return fewer items than asked for, with a continue token
    page_size_seen: list[int] = field(default_factory=list)
    # other custom resources, one page each: API path template ("{ns}" = namespace) -> items
    custom: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path, namespace: str | None = None) -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "smc-maint", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "smc-maint",
                                                      "namespace": namespace or self.namespace}}],
        }))
        return path

    def answer(self, path: str, query: dict[str, list[str]], auth: str | None) -> tuple[int, dict[str, Any]]:
        if auth != f"Bearer {self.token}":
            return 401, status(401, "Unauthorized", "Unauthorized")
        for template, objects in self.custom.items():
            if path == template.format(ns=self.namespace):
                return 200, {"apiVersion": template.split("/")[2] + "/" + template.split("/")[3], "kind": "List",
                             "metadata": {"resourceVersion": "4243", "continue": ""}, "items": objects}
        for ns in (self.namespace, "*"):
            if path == VR_PATH.format(ns=ns):
                break
        else:
            if path.startswith("/apis/aquasecurity.github.io/v1alpha1/namespaces/"):
                other = path.split("/")[5]
                return 403, status(403, "Forbidden", f'vulnerabilityreports.aquasecurity.github.io is forbidden: '
                                   f'User "system:serviceaccount:smc-trading:smc-maint" cannot list resource '
                                   f'"vulnerabilityreports" in API group "aquasecurity.github.io" in the '
                                   f'namespace "{other}"')
            return 404, status(404, "NotFound", "the server could not find the requested resource")
        asked = int(query.get("limit", ["0"])[0])
        self.page_size_seen.append(asked)
        limit = min(asked or self.max_page, self.max_page)
        start = int(query.get("continue", ["0"])[0] or 0)
        items = self.reports[start:start + limit]
        more = start + limit < len(self.reports)
        return 200, {"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReportList",
                     "metadata": {"resourceVersion": "4242", "continue": str(start + limit) if more else ""},
                     "items": items}

    def start(self) -> FakeKubeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                code, body = fake.answer(parsed.path, parse_qs(parsed.query), self.headers.get("authorization"))
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
