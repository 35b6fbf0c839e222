"""The shipped alerting rules: valid for promtool, and they fire (and stay silent) as intended."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from smc_maint.reporting.rules import rules_text

from .prom_support import PROMTOOL, need_binary

FIXTURE = Path(__file__).parent / "fixtures" / "prometheus" / "alerts.test.yml"


def test_rules_pass_promtool_check_and_unit_tests(tmp_path: Path) -> None:
    promtool = need_binary(PROMTOOL, "prometheus")
    (tmp_path / "alerts.rules.yml").write_text(rules_text())
    shutil.copy(FIXTURE, tmp_path / "alerts.test.yml")
    check = subprocess.run([promtool, "check", "rules", "alerts.rules.yml"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run([promtool, "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_every_rule_has_a_promtool_unit_test() -> None:
    rules = {r["alert"] for g in yaml.safe_load(rules_text())["groups"] for r in g["rules"]}
    tested = {case["alertname"] for t in yaml.safe_load(FIXTURE.read_text())["tests"]
              for case in t["alert_rule_test"] if case["exp_alerts"]}
    assert rules == tested


def test_cli_prints_the_rules() -> None:
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "metrics", "rules"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == rules_text()
    assert "SmcMaintBackupTooOld" in proc.stdout


def test_the_daily_rule_names_exactly_the_daily_procedures() -> None:
    from smc_maint import registry

    rule = next(r for g in yaml.safe_load(rules_text())["groups"] for r in g["rules"]
                if r["alert"] == "SmcMaintDailyProcedureNotSucceeded")
    listed = rule["expr"].split('procedure=~"', 1)[1].split('"', 1)[0].split("|")
    # the point-in-time recovery steps skip (never succeed) where no backup.engine is configured: the
    # recoverability verdict and the RPO rule watch them instead
    optional = {"recovery-marker", "physical-backup", "recoverability"}
    assert listed == [p for p in registry.GROUPS["daily"] if p not in optional]
