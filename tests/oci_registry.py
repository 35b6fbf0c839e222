"""A real HTTP server on 127.0.0.1 implementing the OCI distribution tags endpoint
(``GET /v2/<name>/tags/list?n=&last=``, Link header paging) with optional anonymous bearer tokens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "anon-token-" + "4f1e"


@dataclass
class Registry:
    repos: dict[str, list[str]]
    page_size: int = 3
    require_token: bool = False
    delay_seconds: float = 0.0
    url: str = ""
    requests: list[str] = field(default_factory=list)


@contextmanager
def oci_registry(repos: dict[str, list[str]], **kw: Any) -> Iterator[Registry]:
    reg = Registry(repos, **kw)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            reg.requests.append(self.path)
            if reg.delay_seconds:
                time.sleep(reg.delay_seconds)
            url = urlparse(self.path)
            q = parse_qs(url.query)
            if url.path == "/token":
                self._send(200, {"token": TOKEN})
                return
            if reg.require_token and self.headers.get("authorization") != f"Bearer {TOKEN}":
                self._send(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {
                    "WWW-Authenticate": f'Bearer realm="{reg.url}/token",service="test",scope="repository:x:pull"'})
                return
            if not (url.path.startswith("/v2/") and url.path.endswith("/tags/list")):
                self._send(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
                return
            name = url.path[len("/v2/"):-len("/tags/list")]
            if name not in reg.repos:
                self._send(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
                return
            tags = sorted(reg.repos[name])
            n = min(int(q.get("n", ["100"])[0]), reg.page_size)
            last = q.get("last", [None])[0]
            start = tags.index(last) + 1 if last in tags else 0
            page = tags[start:start + n]
            headers = {}
            if start + n < len(tags):
                headers["Link"] = f'</v2/{name}/tags/list?n={n}&last={page[-1]}>; rel="next"'
            self._send(200, {"name": name, "tags": page}, headers)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    reg.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield reg
    finally:
        server.shutdown()
        server.server_close()
