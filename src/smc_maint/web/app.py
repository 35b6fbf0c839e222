"""The WSGI application: dashboard pages, /metrics, reports, and the token-protected run trigger.

Read-only without a token. ``POST /api/runs`` needs ``Authorization: Bearer <token>`` where the
token comes from the environment variable (or file) named in ``serve:``; it is never rendered.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import registry
from ..adapters.clock import Clock, SystemClock
from ..config.loader import LoadedConfig
from ..emergency.journal import live_state
from ..errors import SmcMaintError
from ..history import History, open_history
from ..redact import redact
from ..reporting.metrics import registry_for
from ..reporting.month import Month
from ..reporting.render import FORMATS, environment, render
from ..reporting.schedule import expected
from ..reporting.service import monthly_report
from .auth import check_bearer
from .views import dashboard_context, run_context

log = logging.getLogger("smc_maint.web")

StartResponse = Callable[..., Any]
Runner = Callable[[LoadedConfig, str, list[str] | None, bool], None]
_RUN_ID = re.compile(r"^/runs/([A-Za-z0-9_.-]{1,80})$")
_CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
          "json": "application/json"}


def _default_runner(cfg: LoadedConfig, group: str, only: list[str] | None, dry_run: bool) -> None:
    from ..reporting.publish import publish_after_run
    from ..runner import run_group

    run_group(cfg, group, only=only, dry_run=dry_run, trigger="web",
              after_run=None if dry_run else publish_after_run(cfg))


class DashboardApp:
    """A small WSGI app; ``runner`` is injectable so the trigger can be tested without real procedures."""

    def __init__(self, cfg: LoadedConfig, *, clock: Clock | None = None, runner: Runner | None = None,
                 history: Callable[[], History] | None = None) -> None:
        self.cfg = cfg
        self.clock = clock or SystemClock()
        self.runner = runner or _default_runner
        self._history_factory = history or (lambda: open_history(cfg))
        self._history: History | None = None
        self._lock = threading.Lock()
        self.triggered: list[dict[str, Any]] = []
        self.env = environment("smc_maint.web")
        rep = cfg.config.reporting
        self.metrics = registry_for(self.history, self.clock.now, window_days=rep.window_days,
                                    backup_procedures=rep.backup_procedures,
                                    maintenance_mode=lambda: live_state(cfg.home), schedule=expected(cfg))

    def history(self) -> History:
        with self._lock:
            if self._history is None:
                self._history = self._history_factory()
            return self._history

    # -- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        try:
            status, ctype, body, extra = self.route(method, path, environ)
        except Exception as exc:  # never a traceback (or a secret) in a response
            log.warning("request %s %s failed: %s: %s", method, path, type(exc).__name__, redact(str(exc)))
            status, ctype, body, extra = 500, "text/plain; charset=utf-8", b"internal error (see server log)", []
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                   ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                   ("Content-Security-Policy", _CSP), *extra]
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return [body] if method != "HEAD" else []

    def route(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        if path == "/api/runs":
            if method != "POST":
                return _text(405, "use POST to trigger a run", [("Allow", "POST")])
            return self.trigger(environ)
        if method not in ("GET", "HEAD"):
            return _text(405, "read-only: this endpoint accepts GET only", [("Allow", "GET, HEAD")])
        now = self.clock.now()
        if path == "/":
            html = self.env.get_template("dashboard.html.j2").render(**dashboard_context(self.history(), self.cfg, now),
                                                                     triggered=list(self.triggered))
            return 200, "text/html; charset=utf-8", html.encode(), []
        if path == "/healthz":
            return _text(200, "ok")
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.metrics), []
        if path == "/static/dashboard.js":
            script = files("smc_maint.web").joinpath("templates/dashboard.js").read_bytes()
            return 200, "text/javascript; charset=utf-8", script, []
        if path == "/api/status":
            ctx = dashboard_context(self.history(), self.cfg, now)
            data = [s.__dict__ for s in ctx["statuses"]]
            return 200, "application/json", json.dumps({"procedures": data}).encode(), []
        if path == "/report":
            return self.report(environ, now)
        match = _RUN_ID.match(path)
        if match:
            run = run_context(self.history(), self.cfg, match[1])
            if run is None:
                return _text(404, f"no run {match[1]} in history")
            html = self.env.get_template("run.html.j2").render(**run)
            return 200, "text/html; charset=utf-8", html.encode(), []
        return _text(404, "not found")

    def report(self, environ: dict[str, Any], now: datetime) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        kind = query.get("format", ["html"])[0]
        if kind not in FORMATS:
            return _text(400, f"format must be one of {', '.join(FORMATS)}")
        try:
            month = Month.parse(query["month"][0]) if "month" in query else Month.of(now)
        except ValueError as exc:
            return _text(400, str(exc))
        report = monthly_report(self.cfg, self.history(), month, now)
        body = render(report, kind, dashboard_url="").encode()
        return 200, _TYPES[kind], body, []

    def trigger(self, environ: dict[str, Any]) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        decision = check_bearer(environ.get("HTTP_AUTHORIZATION"), self.cfg.config.serve.token())
        if not decision.allowed:
            log.warning("run trigger refused from %s: %s", environ.get("REMOTE_ADDR", "?"), decision.reason)
            extra = [("WWW-Authenticate", 'Bearer realm="smc-maint"')] if decision.status == 401 else []
            return _json(decision.status, {"error": decision.reason}, extra)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(min(length, 65536)) if length else b"{}"
            body = json.loads(raw or b"{}")
        except (ValueError, KeyError):
            return _json(400, {"error": "body must be JSON: {\"group\": \"daily\", \"only\": [...], \"dry_run\": false}"})
        group = body.get("group") if isinstance(body, dict) else None
        if group not in registry.GROUPS or not registry.GROUPS[group]:
            known = [g for g, ids in registry.GROUPS.items() if ids]
            return _json(400, {"error": f"unknown or empty group {group!r} (known: {', '.join(known)})"})
        only = body.get("only")
        if only is not None and (not isinstance(only, list) or not all(p in registry.GROUPS[group] for p in only)):
            return _json(400, {"error": f"'only' must list members of {group}: {', '.join(registry.GROUPS[group])}"})
        dry_run = bool(body.get("dry_run", False))
        entry: dict[str, Any] = {"group": group, "only": only, "dry_run": dry_run,
                                 "at": self.clock.now().strftime("%Y-%m-%d %H:%M:%S UTC"), "state": "running"}
        self.triggered.append(entry)
        del self.triggered[:-20]

        def work() -> None:
            try:
                self.runner(self.cfg, group, only, dry_run)
                entry["state"] = "finished"
            except SmcMaintError as exc:
                entry["state"] = f"not run: {redact(str(exc))}"
            except Exception as exc:
                entry["state"] = f"failed: {type(exc).__name__}"
                log.warning("triggered run failed: %s", redact(str(exc)))

        threading.Thread(target=work, name=f"trigger-{group}", daemon=True).start()
        log.info("run of %s triggered over HTTP from %s", group, environ.get("REMOTE_ADDR", "?"))
        return _json(202, {"status": "started", "group": group, "only": only, "dry_run": dry_run})


_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}


def _text(status: int, text: str, extra: list[tuple[str, str]] | None = None
          ) -> tuple[int, str, bytes, list[tuple[str, str]]]:
    return status, "text/plain; charset=utf-8", (text + "\n").encode(), extra or []


def _json(status: int, obj: Any, extra: list[tuple[str, str]] | None = None
          ) -> tuple[int, str, bytes, list[tuple[str, str]]]:
    return status, "application/json", json.dumps(obj).encode(), extra or []
