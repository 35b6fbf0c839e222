"""Hostile input never hides real findings (issue 11, item 8).

Each bad file (deep nesting, wrong types, oversize, YAML bombs in a .json) sits next to a real
finding: a critical CVE, a certificate with 5 days left, a vulnerable dependency. The bad file
is a finding with its path and reason; the real one still counts; nothing raises.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from smc_maint.adapters.input_files import load_documents
from smc_maint.config.loader import LoadedConfig
from smc_maint.result import Status
from smc_maint.runner import run_group

from .procedure_run import run_one


def run_weekly(cfg: LoadedConfig, procedure_id: str) -> Any:
    outcome = run_group(cfg, "weekly", only=[procedure_id])
    return outcome.procedures[0].result

FIXTURES = Path(__file__).parent / "fixtures"
REAL_CRITICAL = FIXTURES / "security" / "trivy-operator-vulnerabilityreport.yaml"  # 2 critical CVEs
DEEP = "[" * 200_000 + "]" * 200_000


def _hostile_reports(folder: Path) -> dict[str, str]:
    """Bad files by name -> the reason fragment each must produce."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deep.json").write_text(DEEP)
    (folder / "deep.yaml").write_text("a: " + "[" * 100_000 + "]" * 100_000)
    (folder / "wrong-types.json").write_text(json.dumps(
        {"kind": "VulnerabilityReport", "metadata": "not-an-object",
         "report": {"summary": {"criticalCount": 1}, "artifact": ["a", "list"]}}))
    (folder / "wrong-items.json").write_text(json.dumps({"kind": "List", "items": [{"report": 5}]}))
    (folder / "big-not-json.json").write_text("key: value\n" * (10 * 2**20 // 11))  # 10 MiB of YAML-ish text
    (folder / "too-big.json").write_bytes(b" " * (3 * 2**20))
    return {"deep.json": "nested too deeply", "deep.yaml": "nest",
            "wrong-types.json": "unexpected structure", "wrong-items.json": "items[0]: VulnerabilityReport has no 'report' object",
            "big-not-json.json": "larger than the limit", "too-big.json": "larger than the limit"}


def test_vulnerability_review_counts_the_real_cve_next_to_hostile_reports(
        make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    expected = _hostile_reports(folder)
    shutil.copy(REAL_CRITICAL, folder / "real.yaml")
    cfg = make_config({"procedures": {"vulnerability-review": {"paths": [str(folder)],
                                                               "max_file_bytes": 2 * 2**20}}})
    result, _ = run_one(cfg, "vulnerability-review")
    assert result.status is Status.CRITICAL, result.summary
    assert result.figures["vulnerabilities_critical"] >= 1
    reasons = {Path(e["file"]).name: e["reason"] for e in result.details["errors"]}
    for name, fragment in expected.items():
        assert fragment in reasons[name], (name, reasons.get(name))
    assert "real.yaml" not in reasons
    assert result.details["by_image"]["index.docker.io/library/nginx:1.16"]["critical"] == 2


def test_a_big_non_json_file_is_not_fed_to_the_yaml_parser(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text("key: value\n" * (10 * 2**20 // 11))
    from smc_maint.adapters.input_files import InputFileError

    try:
        load_documents(path)
    except InputFileError as exc:
        assert str(exc).startswith("malformed JSON")
    else:
        raise AssertionError("a .json file of YAML must not be read as YAML")


def _duplicate_extension_pem(ca: trustme.CA) -> bytes:
    """A certificate whose extensions cryptography only rejects lazily (DuplicateExtension, not ValueError)."""
    der = x509.load_pem_x509_certificate(ca.issue_cert("dup.smc.test").cert_chain_pems[0].bytes()
                                         ).public_bytes(Encoding.DER)
    bad = der.replace(bytes.fromhex("0603551d13"), bytes.fromhex("0603551d11"), 1)  # basicConstraints -> SAN
    return b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bad) + b"-----END CERTIFICATE-----\n"


def test_certificates_report_the_5_day_certificate_next_to_hostile_files(
        make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ca = trustme.CA()
    pems = tmp_path / "pems"
    pems.mkdir()
    ca.issue_cert("soon.smc.test", not_before=now - timedelta(days=85),
                  not_after=now + timedelta(days=5)).cert_chain_pems[0].write_to_path(str(pems / "soon.pem"))
    (pems / "dup.pem").write_bytes(_duplicate_extension_pem(ca))
    (pems / "huge.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (3 * 2**20))
    cm = tmp_path / "cm"
    cm.mkdir()
    (cm / "deep.json").write_text(DEEP)
    (cm / "types.json").write_text(json.dumps({"items": [{"kind": "Certificate", "metadata": "x",
                                                          "status": {"conditions": ["not-a-dict"]}}]}))
    (cm / "items.json").write_text(json.dumps({"items": 7}))
    cfg = make_config({"procedures": {"certificates": {
        "pem_paths": [str(pems)], "cert_manager_files": [str(cm / n) for n in ("deep.json", "types.json", "items.json")],
        "max_file_bytes": 2 * 2**20}}})
    result = run_weekly(cfg, "certificates")
    assert result.status is Status.CRITICAL, result.summary
    rows: dict[str, Any] = {Path(c["name"].split(" ")[0]).name: c for c in result.details["certificates"]}
    assert rows["soon.pem"]["status"] == "critical" and "expires in 5.0 days" in rows["soon.pem"]["findings"][0]
    assert "DuplicateExtension" in rows["dup.pem"]["findings"][0]
    assert "larger than the limit" in rows["huge.pem"]["findings"][0]
    assert "nested too deeply" in rows["deep.json"]["findings"][0]
    assert "malformed Certificate" in rows["types.json"]["findings"][0]
    assert "'items' is not a list" in rows["items.json"]["findings"][0]


def test_dependencies_report_the_vulnerable_package_next_to_hostile_reports(
        make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    good = FIXTURES / "deps" / "npm-audit.json"  # critical advisories
    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "types.json").write_text(json.dumps({"dependencies": [{"name": 5, "vulns": "nope"}]}))
    (tmp_path / "big.json").write_bytes(b"{" + b" " * (3 * 2**20))
    (tmp_path / "deep-manifest.yaml").write_text("a: " + "[" * 100_000)
    (tmp_path / "types-manifest.yaml").write_text("kind: Pod\nspec:\n  containers: [5, 6]\n")
    cfg = make_config({"procedures": {"dependencies": {
        "reports": [{"kind": "npm-audit", "path": str(good), "component": "web"},
                    {"kind": "pip-audit", "path": str(tmp_path / "deep.json"), "component": "deep"},
                    {"kind": "pip-audit", "path": str(tmp_path / "types.json"), "component": "types"},
                    {"kind": "pip-audit", "path": str(tmp_path / "big.json"), "component": "big"}],
        "manifests": [str(tmp_path / "deep-manifest.yaml"), str(tmp_path / "types-manifest.yaml")],
        "max_file_bytes": 2 * 2**20}}})
    result = run_weekly(cfg, "dependencies")
    assert result.status is Status.CRITICAL, result.summary
    assert result.figures["dependencies_vulnerable_critical"] >= 1
    for fragment in ("deep.json: nested too deeply", "big.json: larger than the limit",
                     "types (pip-audit): unexpected structure", "deep-manifest.yaml: cannot read manifest",
                     "types-manifest.yaml: cannot read manifest: unexpected structure"):
        assert fragment in result.summary, fragment


def test_cli_shows_no_traceback_for_hostile_reports(make_config: Callable[..., LoadedConfig], tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    _hostile_reports(folder)
    shutil.copy(REAL_CRITICAL, folder / "real.yaml")
    cfg = make_config({"procedures": {"vulnerability-review": {"paths": [str(folder)], "max_file_bytes": 2 * 2**20}}})
    proc = subprocess.run([sys.executable, "-m", "smc_maint", "run", "daily", "--only", "vulnerability-review",
                           "--config", str(cfg.source)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == Status.CRITICAL.exit_code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_big_yaml_is_refused_before_the_slow_parser(tmp_path: Path) -> None:
    from smc_maint.adapters.input_files import InputFileError

    path = tmp_path / "big.yaml"
    path.write_text("- key: value\n" * (3 * 2**20 // 13))
    try:
        load_documents(path)
    except InputFileError as exc:
        assert "YAML larger than 1,048,576 bytes" in str(exc)
    else:
        raise AssertionError("a 3 MiB YAML file must not be parsed")
