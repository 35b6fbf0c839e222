"""Files for the demo: application logs of various ages and security scan reports.

Each demo run tops these up, so log-cleanup and vulnerability-review always have real work.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

DAY = 86400.0

# (relative path, age in days): live logs of quiet processes are old but must survive cleanup.
LOG_FILES: list[tuple[str, float]] = [
    ("trading-engine/engine.log", 0.1),
    ("trading-engine/engine.log.1", 3),
    ("trading-engine/engine.log.2.gz", 9),
    ("trading-engine/engine.log.3.gz", 16),
    ("trading-engine/orders-2026-10-01.log", 40),
    ("api-gateway/access.log", 0.01),
    ("api-gateway/access.log.1", 8),
    ("api-gateway/access.log.2.gz", 20),
    ("api-gateway/error.log", 12),  # live log of a quiet process: old mtime, still open for writing
    ("execution-engine/exec.log", 0.5),
    ("execution-engine/exec.log.1", 30),
]


def _touch(path: Path, age_days: float, now: float, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        if path.suffix == ".gz":
            path.write_bytes(gzip.compress(content))
        else:
            path.write_bytes(content)
        stamp = now - age_days * DAY
        os.utime(path, (stamp, stamp))


def lay_out_logs(root: Path, now: float | None = None) -> list[Path]:
    now = time.time() if now is None else now
    made = []
    for rel, age in LOG_FILES:
        line = f"2026-01-01T00:00:00Z INFO {rel} demo line\n".encode()
        _touch(root / rel, age, now, line * 2000)
        made.append(root / rel)
    return made


def _vuln(vid: str, severity: str, resource: str, installed: str, fixed: str, score: float) -> dict[str, Any]:
    return {"vulnerabilityID": vid, "resource": resource, "installedVersion": installed, "fixedVersion": fixed,
            "severity": severity, "score": score, "title": f"{resource}: {vid}",
            "primaryLink": f"https://avd.aquasec.com/nvd/{vid.lower()}"}


def vulnerability_report_list() -> dict[str, Any]:
    """The JSON of ``kubectl get vulnerabilityreports -o json`` for the platform's images."""
    images = {
        "trading-engine": ("smc-trading/trading-engine", "1.8.2", [
            _vuln("CVE-2024-6345", "HIGH", "setuptools", "65.5.0", "70.0.0", 8.8),
            _vuln("CVE-2023-50782", "HIGH", "cryptography", "41.0.3", "42.0.0", 7.5),
            _vuln("CVE-2024-0727", "MEDIUM", "openssl", "3.0.11", "3.0.13", 5.5),
        ]),
        "api-gateway": ("smc-trading/api-gateway", "2.3.0", [
            _vuln("CVE-2024-21538", "CRITICAL", "cross-spawn", "7.0.3", "7.0.5", 9.8),
            _vuln("CVE-2023-45857", "MEDIUM", "axios", "1.5.0", "1.6.0", 6.5),
            _vuln("CVE-2022-25883", "LOW", "semver", "7.5.1", "", 3.1),
        ]),
        "execution-engine": ("smc-trading/execution-engine", "0.9.4", [
            _vuln("CVE-2023-5678", "LOW", "openssl", "3.0.11", "", 2.0),
        ]),
        "web-app": ("smc-trading/web-app", "3.1.1", []),
    }
    items = []
    for name, (repo, tag, vulns) in images.items():
        counts = {s: sum(1 for v in vulns if v["severity"] == s)
                  for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")}
        items.append({
            "apiVersion": "aquasecurity.github.io/v1alpha1",
            "kind": "VulnerabilityReport",
            "metadata": {"name": f"replicaset-{name}-7d9f8b-{name}", "namespace": "smc-trading",
                         "labels": {"trivy-operator.resource.kind": "ReplicaSet",
                                    "trivy-operator.resource.name": f"{name}-7d9f8b",
                                    "trivy-operator.container.name": name}},
            "report": {
                "artifact": {"repository": repo, "tag": tag},
                "registry": {"server": "ghcr.io"},
                "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.50.1"},
                "summary": {"criticalCount": counts["CRITICAL"], "highCount": counts["HIGH"],
                            "mediumCount": counts["MEDIUM"], "lowCount": counts["LOW"],
                            "unknownCount": counts["UNKNOWN"]},
                "updateTimestamp": time.strftime("%Y-%m-%dT02:00:00Z", time.gmtime()),  # scanned last night
                "vulnerabilities": vulns,
            },
        })
    return {"apiVersion": "v1", "kind": "List", "items": items}


def lay_out(home: Path) -> None:
    lay_out_logs(home / "logs-app")
    security = home / "security"
    security.mkdir(parents=True, exist_ok=True)
    reports = vulnerability_report_list()
    (security / "vulnerabilityreports.json").write_text(json.dumps(reports, indent=2))
    from . import demo_audit

    demo_audit.lay_out(home / "audit" / "namespace-dump", reports)
