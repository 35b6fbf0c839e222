"""The command line as a user drives it: exit codes, JSON shape, history, the embedded demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from smc_maint import registry
from smc_maint.config.loader import LoadedConfig
from smc_maint.errors import EXIT_USAGE


def smc(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smc_maint", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_usage_error_is_not_confused_with_critical() -> None:
    proc = smc("run")
    assert proc.returncode == EXIT_USAGE
    assert "usage error" in proc.stderr
    assert smc("no-such-command").returncode == EXIT_USAGE


def test_unknown_group_or_only_id_is_a_usage_error(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config()
    proc = smc("run", "hourly", "--config", str(cfg.source))
    assert proc.returncode == EXIT_USAGE and "unknown group" in proc.stderr, proc.stderr
    proc = smc("run", "daily", "--only", "helth", "--config", str(cfg.source))
    assert proc.returncode == EXIT_USAGE and "not in group daily: helth" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_json_shape_and_history(make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config()
    proc = smc("run", "daily", "--only", "trading-summary", "--json", "--config", str(cfg.source))
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert set(body) >= {"group", "status", "started_at", "duration_seconds", "procedures"}
    (proc_result,) = body["procedures"]
    assert set(proc_result) == {"id", "status", "summary", "duration_seconds", "details"}
    assert proc_result["id"] == "trading-summary" and proc_result["status"] == "ok"
    days = proc_result["details"]["days"]
    assert 1 <= len(days) <= 7 and all(d["trades"] > 0 for d in days)

    hist = smc("history", "--json", "--config", str(cfg.source))
    runs = json.loads(hist.stdout)["runs"]
    assert runs[0]["run_id"] == body["run_id"] and runs[0]["status"] == "ok"
    assert runs[0]["procedures"][0]["id"] == "trading-summary"
    table = smc("history", "--config", str(cfg.source))
    assert body["run_id"] in table.stdout


def test_demo_end_to_end_and_rerun(base_dir: Path) -> None:
    """`smc-maint demo` from nothing: a real PostgreSQL, data, and every daily procedure has a verdict."""
    home = base_dir / "demo-home"
    env = {"SMC_MAINT_HOME": str(home), "SMC_MAINT_CONFIG": ""}
    first = smc("demo", "--json", env=env)
    assert first.returncode in (0, 1, 2), first.stderr
    body = json.loads(first.stdout)
    assert [p["id"] for p in body["procedures"]] == registry.GROUPS["daily"]
    assert all(p["status"] != "unknown" for p in body["procedures"]), body
    status = {p["id"]: p["status"] for p in body["procedures"]}
    assert status["backup"] == "ok", body  # a regular backup, so backup-verify needs no emergency one
    assert status["backup-verify"] == "ok", body
    # The demo's platform is this machine: its embedded PostgreSQL is the one workload.
    procs = {p["id"]: p for p in body["procedures"]}
    (workload,) = procs["health"]["details"]["platform"]["workloads"]
    assert (workload["kind"], workload["name"], workload["ready"]) == ("Process", "postgres", "1/1")
    (pod_rule,) = procs["log-cleanup"]["details"]["pods"]
    assert sorted(Path(f).name for f in pod_rule["removed"]) == ["postgres.log.1", "postgres.log.2.gz"]
    exports = smc("demo", "env", env=env)
    assert exports.returncode == 0
    assert exports.stdout.startswith("export SMC_MAINT_CONFIG=")
    config_file = exports.stdout.strip().split("=", 1)[1].strip("'")
    assert Path(config_file).is_file()
    again = smc("demo", "--json", env=env)
    assert again.returncode in (0, 1, 2), again.stderr
    hist = smc("history", "--json", env={**env, "SMC_MAINT_CONFIG": config_file})
    assert len(json.loads(hist.stdout)["runs"]) == 2
    weekly = smc("demo", "--json", "--group", "weekly", env=env)
    assert weekly.returncode in (0, 1, 2), weekly.stderr
    assert all(p["status"] != "unknown" for p in json.loads(weekly.stdout)["procedures"]), weekly.stdout
    smc("demo", "stop", env=env)


@pytest.mark.parametrize("flag", ["--version"])
def test_version_flag(flag: str) -> None:
    assert smc(flag).stdout.startswith("smc-maint ")
