"""Serving the WSGI app with the standard library (threads: a slow page never blocks /metrics)."""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .app import DashboardApp

log = logging.getLogger("smc_maint.web")


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def make(app: DashboardApp, host: str, port: int) -> WSGIServer:
    return make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)


def start_in_thread(app: DashboardApp, host: str = "127.0.0.1", port: int = 0) -> tuple[WSGIServer, str]:
    """Start serving in a daemon thread; returns the server and its base URL (tests, embedding)."""
    server = make(app, host, port)
    threading.Thread(target=server.serve_forever, name="smc-maint-serve", daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"
