"""Benchmark: how long hostile inputs and receivers can hold a run (issue 11).

  parse:   a 10 MiB non-JSON ``.json`` report (was 23 s through the pure-Python YAML fallback),
           a 1 MiB ``.yaml`` report (the largest YAML parsed),
           a 10 MiB ``.yaml`` report (C loader when available), and a deeply nested JSON file;
  deadline: a webhook that answers one byte every 0.2 s, against a 2 s timeout.

Usage: python bench/hostile_input_bench.py
Prints wall times; asserts nothing.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path

from smc_maint.adapters.input_files import SafeLoader
from smc_maint.alerts import post_with_retries
from smc_maint.security.vulnerability_reports import ReportError, load_file


def _time_load(path: Path) -> tuple[float, str]:
    t0 = time.monotonic()
    try:
        load_file(path, 64 * 2**20)
        outcome = "parsed"
    except ReportError as exc:
        outcome = str(exc)[:70]
    return time.monotonic() - t0, outcome


def _trickling_server() -> int:
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            try:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100:
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    return int(srv.getsockname()[1])


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hostile-bench-"))
    (tmp / "big.json").write_text("key: value\n" * (10 * 2**20 // 11))
    (tmp / "big.yaml").write_text("key: value\n" * (10 * 2**20 // 11))
    (tmp / "1mib.yaml").write_text("- key: value\n" * (2**20 // 14))
    (tmp / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    print(f"YAML loader: {SafeLoader.__name__}")
    for name in ("big.json", "big.yaml", "1mib.yaml", "deep.json"):
        seconds, outcome = _time_load(tmp / name)
        print(f"{name:10} {seconds:7.2f} s  {outcome}")
    port = _trickling_server()
    t0 = time.monotonic()
    ok, _, reason = post_with_retries(f"http://127.0.0.1:{port}/", payload={"text": "x"}, attempts=1, timeout=2.0,
                                      backoff_seconds=0)
    print(f"trickling webhook, timeout 2 s: {time.monotonic() - t0:.2f} s ({'delivered' if ok else reason})")


if __name__ == "__main__":
    main()
