"""Figures for the daily procedures (prints them; asserts nothing).

    .venv/bin/python bench/daily_bench.py

- health: N endpoints that each answer after a delay, probed concurrently (wall time vs the sum);
- log-cleanup: open-file scan of every process, then a dry-run and a real run over a tree of files;
- vulnerability-review: parsing a large ``kubectl get vulnerabilityreports -o json`` list.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from smc_maint.adapters import open_files
from smc_maint.embedded import demo_files
from smc_maint.health.endpoints import Endpoint, probe_all
from smc_maint.procedures import log_cleanup
from smc_maint.security.vulnerability_reports import load_file

DELAY = 0.5


def bench_endpoints(n: int = 40) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(DELAY)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default backlog of 5 would make the server the bottleneck

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    eps = [Endpoint(name=f"ep{i}", url=url, timeout_seconds=10) for i in range(n)]
    t0 = time.monotonic()
    probes = probe_all(eps)
    took = time.monotonic() - t0
    server.shutdown()
    print(f"health: {n} endpoints x {DELAY} s each: {took:.2f} s wall (sequential would be {n * DELAY:.0f} s), "
          f"{sum(p.ok for p in probes)} up")


def bench_log_cleanup(files: int = 20000) -> None:
    t0 = time.monotonic()
    held = open_files.scan()
    print(f"log-cleanup: open-file scan of {held.processes_scanned} processes "
          f"({sum(len(p) for p in held.holders.values())} open files): {time.monotonic() - t0:.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        now = time.time()
        for i in range(files):
            path = root / f"svc{i % 50}" / f"app.log.{i}"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"x" * 100)
            age = (i % 14) * 86400.0
            os.utime(path, (now - age, now - age))
        rule = log_cleanup.Rule(path=root, max_age_days=7)
        for dry in (True, False):
            t0 = time.monotonic()
            out = log_cleanup.apply_rule(rule, held, now, dry_run=dry)
            n = len(out.planned if dry else out.removed)
            print(f"log-cleanup: {'dry-run' if dry else 'real run'} over {files} files: "
                  f"{time.monotonic() - t0:.2f} s, {n} {'would go' if dry else 'removed'}")


def bench_vulnerability_parse(reports: int = 500) -> None:
    base = demo_files.vulnerability_report_list()["items"]
    items = []
    for i in range(reports):
        item = json.loads(json.dumps(base[i % len(base)]))
        item["report"]["vulnerabilities"] = item["report"]["vulnerabilities"] * 60
        items.append(item)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vr.json"
        path.write_text(json.dumps({"kind": "List", "items": items}))
        t0 = time.monotonic()
        parsed = load_file(path)
        print(f"vulnerability-review: {reports} reports, {path.stat().st_size / 2**20:.1f} MiB: "
              f"{time.monotonic() - t0:.2f} s, {sum(len(r.fixable) for r in parsed)} fixable findings")


if __name__ == "__main__":
    bench_endpoints()
    bench_log_cleanup()
    bench_vulnerability_parse()
