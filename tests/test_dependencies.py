"""dependencies: the tools' JSON shapes (tests/fixtures/deps, see its README), manifests, a real pip run."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smc_maint.config.loader import LoadedConfig
from smc_maint.deps import reports
from smc_maint.deps.demo_reports import write_demo_reports
from smc_maint.result import Status
from smc_maint.runner import run_group

FIX = Path(__file__).parent / "fixtures" / "deps"


def _parse(kind: str, name: str, component: str = "c") -> reports.Parsed:
    return reports.parse(kind, json.loads((FIX / name).read_text()), component)


def test_major_update_rule() -> None:
    assert reports.is_major_update("1.26.4", "2.2.1")
    assert reports.is_major_update("0.109.0", "0.115.6")  # 0.x: a minor bump may break
    assert not reports.is_major_update("2.31.0", "2.32.3")
    assert reports.is_major_update("v0.26.0", "v1.0.0")
    assert not reports.is_major_update(None, "1.0")


def test_python_reports() -> None:
    audit = _parse("pip-audit", "pip-audit.json", "trading-engine")
    assert [(v.name, v.ids[0], v.fixed_in) for v in audit.vulnerable] == [
        ("requests", "GHSA-9wx4-h78v-vm56", ("2.32.0",)), ("cryptography", "PYSEC-2024-225", ("42.0.4",))]
    assert audit.vulnerable[1].fix_is_major and "CVE-2024-26130" in audit.vulnerable[1].ids
    assert "smc-trading-engine not audited" in audit.notes[0]
    outdated = _parse("pip-outdated", "pip-outdated.json")
    assert {o.name for o in outdated.outdated if o.major} == {"numpy", "fastapi"}


def test_node_reports() -> None:
    outdated = _parse("npm-outdated", "npm-outdated.json")
    assert {o.name: o.major for o in outdated.outdated} == {"express": True, "jsonwebtoken": False, "ws": False,
                                                            "redis": False}
    assert any("redis is not installed" in n for n in outdated.notes)
    audit = {v.name: v for v in _parse("npm-audit", "npm-audit.json").vulnerable}
    assert set(audit) == {"body-parser", "jsonwebtoken", "cookie"}  # express is vulnerable only via others
    assert audit["jsonwebtoken"].severity == "critical" and audit["jsonwebtoken"].fix_is_major
    assert audit["jsonwebtoken"].fixed_in == ("jsonwebtoken@9.0.2",)
    assert audit["cookie"].fixed_in == () and audit["cookie"].severity == "low"


def test_rust_report() -> None:
    parsed = _parse("cargo-audit", "cargo-audit.json", "execution-engine")
    [v] = parsed.vulnerable
    assert (v.name, v.version, v.ids[0], v.fixed_in) == ("mio", "0.8.8", "RUSTSEC-2024-0019", (">=0.8.11",))
    assert v.severity == "unknown"  # RustSec gives a CVSS vector, not a severity: not guessed
    assert "instant 0.1.12 is unmaintained (RUSTSEC-2024-0384)" in parsed.notes[0]


def test_weekly_run_over_demo_reports_and_manifests(tmp_path: Path,
                                                     make_config: Callable[..., LoadedConfig]) -> None:
    settings = write_demo_reports(tmp_path / "deps")
    result = run_group(make_config({"procedures": {"dependencies": settings}}), "weekly",
                       only=["dependencies"]).procedures[0].result
    assert result.status is Status.CRITICAL  # jsonwebtoken: critical advisory
    assert "api-gateway/jsonwebtoken" in result.summary
    assert "8 outdated (3 major: fastapi 0.109.0 -> 0.115.6, numpy 1.26.4 -> 2.2.1, express 4.18.2 -> 5.0.1)" \
        in result.summary
    assert "6 vulnerable (1 critical, 1 high, 1 low, 3 unknown)" in result.summary
    assert "mutable tags: ghcr.io/smc-trading/api-gateway:latest, postgres" in result.summary
    imgs = {(i["workload"], i["container"]): i["problems"] for i in result.details["images"]}
    assert imgs[("Deployment/api-gateway", "api-gateway")][0].startswith("mutable tag 'latest'")
    assert imgs[("CronJob/weekly-maintenance", "maintenance")][0].startswith("mutable tag '(none)'")
    assert imgs[("StatefulSet/postgres-primary", "postgres")] == []  # digest-pinned
    assert imgs[("Deployment/trading-engine", "migrate")] == ["major update available: 1.14.2 -> 2.0.1"]
    assert result.figures["images_mutable_tags"] == 2
    assert result.figures["dependencies_vulnerable"] == 6


def test_wrong_or_missing_report_is_unknown_with_the_reason(tmp_path: Path,
                                                             make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"procedures": {"dependencies": {"reports": [
        {"kind": "pip-outdated", "path": str(FIX / "npm-audit.json"), "component": "api"},
        {"kind": "cargo-audit", "path": str(tmp_path / "nope.json")}]}}})
    result = run_group(cfg, "weekly", only=["dependencies"]).procedures[0].result
    assert result.status is Status.UNKNOWN
    assert "api (pip-outdated): not a pip-outdated report: expected a list of packages" in result.summary
    assert "nope.json: cannot read" in result.summary


def test_configured_tool_missing_is_unknown_not_ok(tmp_path: Path, make_config: Callable[..., LoadedConfig]) -> None:
    cfg = make_config({"procedures": {"dependencies": {"tools": [
        {"kind": "pip-audit", "cwd": str(tmp_path), "executable": "pip-audit-not-installed-here"}]}}})
    result = run_group(cfg, "weekly", only=["dependencies"]).procedures[0].result
    assert result.status is Status.UNKNOWN and "pip-audit-not-installed-here is not installed" in result.summary


def test_runs_real_pip_list_outdated_offline(tmp_path: Path, make_config: Callable[..., LoadedConfig]) -> None:
    index = tmp_path / "wheels"
    index.mkdir()
    (index / "pyyaml-99.0.0-py3-none-any.whl").touch()  # pip judges find-links candidates by file name
    cfg = make_config({"procedures": {"dependencies": {"tools": [
        {"kind": "pip-outdated", "cwd": str(tmp_path), "component": "smc-maint", "executable": sys.executable,
         "extra_args": ["--no-index", "--find-links", str(index)]}]}}})
    result = run_group(cfg, "weekly", only=["dependencies"]).procedures[0].result
    outdated: list[dict[str, Any]] = result.details["outdated"]
    assert [(o["name"], o["latest"], o["major"]) for o in outdated] == [("PyYAML", "99.0.0", True)]
    assert result.status is Status.OK  # major updates are called out, not alarmed, by default
    assert "1 outdated (1 major: PyYAML " in result.summary


def test_packaged_demo_samples_match_the_fixtures() -> None:
    samples = Path(reports.__file__).parent / "samples"
    for f in samples.iterdir():
        assert f.read_bytes() == (FIX / f.name).read_bytes(), f.name
