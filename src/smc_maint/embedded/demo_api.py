"""The demo's stand-in of the platform API, behind a real nginx (part of the demo, not the product).

A small stdlib HTTP app serves ``/health`` and a read-only ``/api/trades`` from the demo database
in its own process group; Debian's nginx (workers non-root) proxies to it on a free 127.0.0.1 port
and ``include``s the snippet that ``smc-maint emergency`` switches. Without nginx the demo still
works: it says so and leaves the API front out (emergency then has no maintenance switch).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .postgres import free_port

STATE = "demo-api.json"
FLAG_TABLE = "public.trading_flags"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def nginx_conf(prefix: Path, listen_port: int, upstream_port: int, snippet: Path) -> str:
    """A self-contained nginx.conf under ``prefix``; runs unprivileged (workers are nobody under root)."""
    return f"""# Written by smc-maint demo: the API front. Regenerated on every demo run.
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    default_type application/octet-stream;
    types {{ text/html html; }}
    server {{
        listen 127.0.0.1:{listen_port};
        server_name localhost;
        include {snippet};
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_connect_timeout 5s;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


def nginx_command(prefix: Path) -> list[str]:
    binary = nginx_binary() or "nginx"
    return [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]


def write_front(prefix: Path, listen_port: int, upstream_port: int) -> dict[str, Any]:
    """Lay out nginx's config, the (off) snippet and the page directory; world-traversable for workers."""
    from ..emergency.plan import OFF_SNIPPET

    for d in (prefix, prefix / "temp", prefix / "page"):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
    snippet = prefix / "maintenance.conf"
    if not snippet.exists() or "maintenance mode ON" not in snippet.read_text(encoding="utf-8"):
        snippet.write_text(OFF_SNIPPET, encoding="utf-8")
    snippet.chmod(0o644)
    (prefix / "nginx.conf").write_text(nginx_conf(prefix, listen_port, upstream_port, snippet), encoding="utf-8")
    return {"prefix": str(prefix), "command": nginx_command(prefix), "snippet": str(snippet),
            "page": str(prefix / "page" / "maintenance.html"), "port": listen_port}


def _run(argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


def start_nginx(front: dict[str, Any]) -> None:
    """Test the config, then start (or reload a running) nginx; raises RuntimeError with nginx's words."""
    cmd = list(front["command"])
    test = _run([*cmd, "-t"])
    if test.returncode != 0:
        raise RuntimeError(f"nginx -t failed: {test.stderr.strip()[-400:]}")
    pidfile = Path(front["prefix"]) / "nginx.pid"
    if pidfile.is_file() and _alive(int(pidfile.read_text().strip() or 0)):
        proc = _run([*cmd, "-s", "reload"])
    else:
        proc = _run(cmd)
    if proc.returncode != 0:
        raise RuntimeError(f"nginx failed to start: {proc.stderr.strip()[-400:]}")
    _wait_port(int(front["port"]))


def stop_nginx(front: dict[str, Any]) -> None:
    pidfile = Path(front["prefix"]) / "nginx.pid"
    if not pidfile.is_file():
        return
    pid = int(pidfile.read_text().strip() or 0)
    _run([*front["command"], "-s", "quit"])
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid) and "nginx" in _cmdline(pid):
        os.kill(pid, signal.SIGTERM)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _wait_port(port: int, timeout: float = 15) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(socket.socket()) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


# -- the app ------------------------------------------------------------------------------------
def _handler(dsn: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    import psycopg

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(**dsn, connect_timeout=5, options="-c default_transaction_read_only=on "
                             "-c statement_timeout=5000") as conn:
            return list(conn.execute(sql).fetchall())

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: Any) -> None:
            raw = json.dumps(body, default=str).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                if path == "/health":
                    query("SELECT 1")
                    self._send(200, {"status": "ok"})
                elif path == "/api/trades":
                    rows = query("SELECT id, symbol, side, quantity, price, status, \"timestamp\" FROM trades "
                                 "ORDER BY \"timestamp\" DESC LIMIT 20")
                    keys = ("id", "symbol", "side", "quantity", "price", "status", "timestamp")
                    self._send(200, {"trades": [dict(zip(keys, r, strict=True)) for r in rows]})
                else:
                    self._send(404, {"error": "not found"})
            except Exception as exc:  # the demo app answers, never dies
                self._send(500, {"error": type(exc).__name__})

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def serve(port: int, dsn: dict[str, Any]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(dsn))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


def start_app(home: Path, db_port: int, password_file: Path, port: int) -> int:
    """Start the app in its own process group (the DB password is read from the file, not argv)."""
    logf = open(home / "demo-api" / "app.log", "ab")  # noqa: SIM115 - handed to the child
    with logf:
        proc = subprocess.Popen([sys.executable, "-m", "smc_maint.embedded.demo_api", "--port", str(port),
                                 "--db-port", str(db_port), "--password-file", str(password_file)],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
    _wait_port(port)
    return proc.pid


def _flag_table(db_port: int, password_file: Path) -> None:
    """The flag row the demo's emergency halt sets (a stand-in for the engine's switch)."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=db_port, user="postgres", dbname="smc_trading", autocommit=True,
                         password=password_file.read_text().strip(), connect_timeout=5) as c:
        c.execute("CREATE TABLE IF NOT EXISTS public.trading_flags (name text PRIMARY KEY, value text NOT NULL)")
        c.execute("INSERT INTO public.trading_flags VALUES ('trading_halted', 'false') ON CONFLICT DO NOTHING")


def _state(home: Path) -> dict[str, Any]:
    path = home / STATE
    try:
        return dict(json.loads(path.read_text())) if path.is_file() else {}
    except ValueError:
        return {}


def start(home: Path, db_port: int, password_file: Path) -> dict[str, Any]:
    """Bring the app and (where installed) nginx up; idempotent; returns what runs where."""
    (home / "demo-api").mkdir(exist_ok=True)
    state = _state(home)
    _flag_table(db_port, password_file)
    if not (state.get("app_pid") and _alive(int(state["app_pid"])) and "demo_api" in _cmdline(int(state["app_pid"]))):
        state["app_port"] = free_port()
        state["app_pid"] = start_app(home, db_port, password_file, int(state["app_port"]))
    state["nginx"] = None
    if nginx_binary() is None:
        state["note"] = "nginx is not installed: the demo API runs without its front (no maintenance switch)"
    else:
        port = int(state.get("front_port") or 0) or free_port()
        front = write_front(home / "nginx", port, int(state["app_port"]))
        try:
            start_nginx(front)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            state["note"] = f"nginx did not start ({exc}): the demo API runs without its front"
        else:
            state["front_port"], state["nginx"], state["note"] = port, front, None
    (home / STATE).write_text(json.dumps(state))
    return state


def stop(home: Path) -> None:
    state = _state(home)
    if state.get("nginx"):
        with contextlib.suppress(Exception):
            stop_nginx(state["nginx"])
    pid = int(state.get("app_pid") or 0)
    if _alive(pid) and "demo_api" in _cmdline(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)  # its own group: the app and nothing else


def describe(home: Path) -> str | None:
    """One line for the demo's output: where the API is, or why its front is missing."""
    state = _state(home)
    if not state:
        return None
    if state.get("nginx"):
        return (f"demo API behind nginx: http://127.0.0.1:{state['front_port']}/api/trades "
                f"(try: smc-maint emergency start --reason test --duration 10m)")
    return f"demo API: http://127.0.0.1:{state.get('app_port')}/api/trades — {state.get('note')}"


def emergency_settings(home: Path) -> dict[str, Any]:
    """The demo's ``procedures.emergency``: nginx switch (if running), flag-row halt, no confirmation."""
    state = _state(home)
    settings: dict[str, Any] = {"production": False, "default_duration_minutes": 10,
                                "halt": {"kind": "flag_row", "flag_row": {"table": FLAG_TABLE}}}
    front = state.get("nginx")
    if front:
        settings["maintenance"] = {"kind": "nginx", "open_paths": ["/health"], "nginx": {
            "snippet": front["snippet"], "page": front["page"], "command": front["command"],
            "probe_url": f"http://127.0.0.1:{front['port']}/api/trades"}}
    return settings


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db-port", type=int, required=True)
    ap.add_argument("--password-file", type=Path, required=True)
    args = ap.parse_args(argv)
    serve(args.port, {"host": "127.0.0.1", "port": args.db_port, "user": "postgres", "dbname": "smc_trading",
                      "password": args.password_file.read_text().strip()})


if __name__ == "__main__":
    main()
