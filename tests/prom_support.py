"""Real Prometheus and node_exporter for the observability tests (Debian's packages).

Each is started on 127.0.0.1 on a free port with its own temp storage and stopped after the
test; every wait has a deadline.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from .conftest import need

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_binary(path: str, package: str) -> str:
    found = path if os.access(path, os.X_OK) else shutil.which(Path(path).name)
    need(found is not None, f"{path} (apt install {package})")
    assert found is not None
    return found


def _wait_ready(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} did not become ready in {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def prometheus(workdir: Path, *, scrape: list[dict[str, Any]] | None = None, rule_files: list[Path] | None = None,
               storage: Path | None = None, interval: str = "1s", extra: list[str] | None = None) -> Iterator[str]:
    """Run Prometheus with ``scrape`` configs (short intervals); yields its base URL."""
    binary = need_binary(PROMETHEUS, "prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = {"global": {"scrape_interval": interval, "evaluation_interval": interval},
              "scrape_configs": scrape or [], "rule_files": [str(p) for p in rule_files or []]}
    cfg_path = workdir / "prometheus.yml"
    cfg_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen([binary, f"--config.file={cfg_path}", f"--storage.tsdb.path={storage or workdir / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", *(extra or [])],
                            stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/-/ready", proc, "prometheus")
        yield url
    finally:
        _stop(proc)
        log.close()


@contextmanager
def node_exporter(textfile_dir: Path) -> Iterator[str]:
    """node_exporter reading ``textfile_dir``, as an unprivileged user when we are root (as in production)."""
    binary = need_binary(NODE_EXPORTER, "prometheus-node-exporter")
    port = free_port()
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}", f"--collector.textfile.directory={textfile_dir}",
            "--collector.disable-defaults", "--collector.textfile"]
    if os.geteuid() == 0:
        # setpriv execs (no forked parent): terminate() reaches node_exporter itself
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/metrics", proc, "node_exporter")
        yield url
    finally:
        _stop(proc)


def query(url: str, expr: str, at: float | None = None) -> list[dict[str, Any]]:
    """An instant query through the HTTP API; the result vector."""
    params: dict[str, str] = {"query": expr}
    if at is not None:
        params["time"] = f"{at:.3f}"
    resp = httpx.get(f"{url}/api/v1/query", params=params, timeout=30)
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
