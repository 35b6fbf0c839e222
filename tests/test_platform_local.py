"""LocalPlatform: this machine's configured processes as workloads, local exec, psutil usage; and the
runbook steps (health, metrics-snapshot, log-cleanup in "pods", dependencies) on it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smc_maint.adapters.platform import PlatformError
from smc_maint.adapters.platform.local import LocalPlatform
from smc_maint.config.loader import LoadedConfig
from smc_maint.config.model import LocalPlatformConfig, LocalWorkload, PlatformConfig
from smc_maint.result import Status
from smc_maint.runner import run_group

DAY = 86400.0
MARKER = "smc-i12-local-workload"


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    """A real process standing in for a trading service (its command line carries a marker)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", MARKER])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _platform(replicas: int = 1) -> LocalPlatform:
    return LocalPlatform(PlatformConfig(local=LocalPlatformConfig(workloads=[
        LocalWorkload(name="trading-engine", process=MARKER, replicas=replicas)])))


def test_processes_are_workloads_with_pods_and_usage(worker: subprocess.Popen[bytes]) -> None:
    p = _platform(replicas=2)
    (w,) = p.list_workloads()
    assert (w.kind, w.name, w.desired, w.ready) == ("Process", "trading-engine", 2, 1)
    (pod,) = p.list_pods()
    assert pod.name == f"trading-engine-{worker.pid}" and pod.ready and pod.owner == "trading-engine"
    (u,) = p.pod_usage()
    assert u.owner == "trading-engine" and u.memory_bytes > 1_000_000
    assert p.node_usage()[0].memory_bytes > 0


def test_exec_is_local_bounded_and_gets_no_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMC_MAINT_DATABASE_PASSWORD", "local-secret-" + "zz9")
    p = _platform()
    res = p.exec("any", ["sh", "-c", 'echo "pw=$SMC_MAINT_DATABASE_PASSWORD"; echo oops >&2; exit 3'])
    assert (res.stdout, res.stderr, res.exit_code) == ("pw=\n", "oops\n", 3)
    slow = p.exec("any", ["sleep", "5"], timeout_seconds=0.3)
    assert slow.timed_out and slow.exit_code is None
    missing = p.exec("any", ["no-such-tool-i12"])
    assert missing.exit_code is None and "not found" in missing.stderr


@pytest.mark.parametrize("call", [
    lambda p: p.scale("Deployment", "x", 1), lambda p: p.get_scale("Deployment", "x"),
    lambda p: p.set_service_selector("x", {}), lambda p: p.create_namespace("dr"),
    lambda p: p.delete_namespace("dr"), lambda p: p.namespace_exists("dr"), lambda p: p.apply([], "dr"),
    lambda p: p.list_custom("cert-manager.io", "v1", "certificates"), lambda p: p.list_objects("Secret"),
])
def test_what_means_nothing_on_one_machine_is_refused(call: Callable[[LocalPlatform], object]) -> None:
    with pytest.raises(PlatformError, match="not supported on the local platform"):
        call(_platform())


def _aged(path: Path, age_days: float, now: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x" * 10)
    os.utime(path, (now - age_days * DAY, now - age_days * DAY))
    return path


def local_config(make_config: Callable[..., LoadedConfig], tmp_path: Path, logs: Path,
                 replicas: int = 1) -> LoadedConfig:
    return make_config({
        "platform": {"kind": "local", "local": {"workloads": [
            {"name": "trading-engine", "process": MARKER, "replicas": replicas}]}},
        "procedures": {
            "health": {"endpoints": [], "cpu_sample_seconds": 0.1, "disk_paths": [str(tmp_path)]},
            "metrics-snapshot": {"disk_paths": [str(tmp_path)], "cpu_sample_seconds": 0.1},
            "log-cleanup": {"pods": [{"workload": "trading-engine", "path": str(logs), "max_age_days": 7}]},
        },
    })


def test_runbook_steps_on_the_local_platform(make_config: Callable[..., LoadedConfig], tmp_path: Path,
                                             worker: subprocess.Popen[bytes]) -> None:
    import time

    now = time.time()
    logs = tmp_path / "app-logs"
    old_rotated = _aged(logs / "app.log.1", 10, now)
    old_gz = _aged(logs / "sub" / "app.log.3.gz", 30, now)
    live = _aged(logs / "app.log", 20, now)
    recent = _aged(logs / "app.log.0", 1, now)
    outside = _aged(tmp_path / "elsewhere" / "app.log.1", 40, now)
    cfg = local_config(make_config, tmp_path, logs, replicas=2)
    out = {p.procedure_id: p.result for p in run_group(cfg, "daily", only=["health", "log-cleanup",
                                                                           "metrics-snapshot"]).procedures}
    health = out["health"]
    assert "process trading-engine: 1/2 ready" in health.summary
    assert health.details["platform"]["pods"][0]["name"] == f"trading-engine-{worker.pid}"
    assert out["metrics-snapshot"].figures["workload_memory_bytes.trading-engine"] > 1_000_000
    cleanup = out["log-cleanup"]
    assert cleanup.figures["files_removed"] == 2, cleanup.summary
    assert not old_rotated.exists() and not old_gz.exists()
    assert live.exists() and recent.exists() and outside.exists()


def test_a_workload_that_is_not_running_is_a_warning_and_nothing_is_deleted(
        make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    import time

    logs = tmp_path / "app-logs"
    old = _aged(logs / "app.log.1", 10, time.time())
    cfg = local_config(make_config, tmp_path, logs)
    result = run_group(cfg, "daily", only=["log-cleanup"]).procedures[0].result
    assert result.status is Status.WARNING and "trading-engine: no running pod" in result.summary
    assert old.exists()


def test_local_dry_run_deletes_nothing(make_config: Callable[..., LoadedConfig], tmp_path: Path,
                                       worker: subprocess.Popen[bytes]) -> None:
    import time

    logs = tmp_path / "app-logs"
    old = _aged(logs / "app.log.1", 10, time.time())
    cfg = local_config(make_config, tmp_path, logs)
    result = run_group(cfg, "daily", only=["log-cleanup"], dry_run=True).procedures[0].result
    assert result.figures["files_to_remove"] == 1 and old.exists()
    assert result.details["pods"][0]["would_remove"] == [str(old)]


def test_dependencies_exec_on_the_local_platform(make_config: Callable[..., LoadedConfig], tmp_path: Path,
                                                 worker: subprocess.Popen[bytes]) -> None:
    report = '[{"name": "requests", "version": "2.0.0", "latest_version": "2.32.3", "latest_filetype": "wheel"}]'
    cfg = make_config({
        "platform": {"kind": "local", "local": {"workloads": [{"name": "trading-engine", "process": MARKER}]}},
        "procedures": {"dependencies": {"in_pods": [
            {"workload": "trading-engine", "kind": "pip-outdated", "argv": [sys.executable, "-c", f"print({report!r})"]},
            {"workload": "trading-engine", "kind": "npm-outdated", "argv": ["no-such-npm-i12", "outdated"]}]}},
    })
    result = run_group(cfg, "weekly", only=["dependencies"]).procedures[0].result
    assert [(o["component"], o["name"], o["latest"]) for o in result.details["outdated"]] == [
        ("trading-engine", "requests", "2.32.3")]
    assert result.status is Status.UNKNOWN
    assert any("no-such-npm-i12 is not available" in e for e in result.details["errors"])
