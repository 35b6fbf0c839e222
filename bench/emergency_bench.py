"""Benchmark: how long the nginx maintenance switch takes until clients see it, on and off.

Starts a throwaway upstream and Debian's nginx (as the demo does), then times ``N`` rounds of
the switch's ``apply`` (write snippet, nginx -t, reload, wait until a probe answers 503) and
``restore`` (back to the original, wait until it answers 200).

Usage: python bench/emergency_bench.py --rounds 10
Prints median and worst seconds; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from smc_maint.embedded import demo_api
from smc_maint.embedded.postgres import free_port
from smc_maint.emergency.settings import NginxSwitch
from smc_maint.emergency.switches import NginxFlagSwitch


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    base = Path(tempfile.mkdtemp(prefix="smc-emergency-bench-"))
    base.chmod(0o755)
    front = demo_api.write_front(base / "nginx", free_port(), upstream.server_address[1])
    demo_api.start_nginx(front)
    switch = NginxFlagSwitch(NginxSwitch(snippet=Path(front["snippet"]), page=Path(front["page"]),
                                         command=front["command"],
                                         probe_url=f"http://127.0.0.1:{front['port']}/api"), ["/health"])
    on: list[float] = []
    off: list[float] = []
    try:
        for _ in range(args.rounds):
            captured = switch.capture()
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            switch.apply(now, now + timedelta(minutes=10))
            on.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            switch.restore(captured)
            off.append(time.perf_counter() - t0)
    finally:
        demo_api.stop_nginx(front)
        upstream.shutdown()
        shutil.rmtree(base, ignore_errors=True)
    for name, xs in (("maintenance on (until 503 seen)", on), ("maintenance off (until 200 seen)", off)):
        print(f"{name}: median {statistics.median(xs):.3f} s, worst {max(xs):.3f} s over {len(xs)} rounds")


if __name__ == "__main__":
    main()
