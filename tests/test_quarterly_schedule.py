"""The quarterly group is scheduled by default: scheduler, Kubernetes CronJob and systemd timer."""

from __future__ import annotations

from pathlib import Path

import yaml

from smc_maint import registry
from smc_maint.config.loader import load_config
from smc_maint.scheduling.daemon import scheduled_groups

from .test_schedule_cli import cli, write_config


def test_quarterly_group_holds_the_drill_and_the_review() -> None:
    assert registry.GROUPS["quarterly"] == ["dr-drill", "updates-review"]


def test_quarterly_is_scheduled_and_gets_a_cronjob_and_a_timer(tmp_path: Path) -> None:
    cfg_file = write_config(tmp_path, "store:\n  kind: s3\n")
    cfg = load_config(cfg_file, environ={})
    assert "quarterly" in scheduled_groups(cfg)
    assert cfg.config.schedule.groups["quarterly"].cron == "0 5 1 1,4,7,10 *"
    result = cli("k8s", "manifests", "--config", str(cfg_file), "--image", "registry.example.com/smc/m:0.1.0",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "CronJob"}
    quarterly = jobs["smc-maint-quarterly"]
    assert quarterly["spec"]["schedule"] == "0 5 1 1,4,7,10 *"
    container = quarterly["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert "quarterly" in " ".join(container.get("args", []) + container.get("command", []))
    out = tmp_path / "units"
    result = cli("schedule", "systemd", "--output-dir", str(out), "--executable", "/opt/smc/bin/smc-maint",
                 "--config", str(cfg_file), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OnCalendar=*-01,04,07,10-01 05:00:00 UTC" in (out / "smc-maint-quarterly.timer").read_text()
    assert "schedule run quarterly" in (out / "smc-maint-quarterly.service").read_text()
