"""The audit as SARIF 2.1.0 (OASIS): one rule per check, one result per finding.

Kubernetes objects are not files, so each result names its object as a logical location
(``Kind/namespace/name``); the fingerprint goes into ``partialFingerprints`` and last month's
comparison into ``baselineState`` (new / unchanged, and ``absent`` for fixed findings).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ... import __version__
from .engine import Audit
from .findings import CHECKS, Finding, Severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
         Severity.INFO: "note"}
RANK = {Severity.CRITICAL: 95.0, Severity.HIGH: 75.0, Severity.MEDIUM: 50.0, Severity.LOW: 25.0, Severity.INFO: 5.0}


def _hash(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()


def _location(obj: str) -> dict[str, Any]:
    kind = obj.split("/", 1)[0]
    return {"logicalLocations": [{"name": obj.rsplit("/", 1)[-1], "fullyQualifiedName": obj,
                                  "kind": "object", "properties": {"kubernetesKind": kind}}]}


def _result(f: Finding, index: dict[str, int], state: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.check, "ruleIndex": index[f.check], "level": LEVEL[f.severity], "kind": "fail",
        "message": {"text": f"{f.object}: {f.message}"}, "locations": [_location(f.object)],
        "partialFingerprints": {"smcAuditFingerprint/v1": _hash(f.fingerprint)},
        "baselineState": state, "rank": RANK[f.severity],
        "properties": {"severity": f.severity.value, "object": f.object, "fingerprint": f.fingerprint,
                       "fix": f.fix},
    }
    if f.suppression:
        out["suppressions"] = [{"kind": "external", "status": "rejected" if f.suppression["expired"] else "accepted",
                                "justification": str(f.suppression["reason"])}]
    return out


def to_sarif(audit: Audit) -> dict[str, Any]:
    ids = sorted(CHECKS)
    index = {cid: i for i, cid in enumerate(ids)}
    rules = [{"id": cid, "name": CHECKS[cid].title.replace(" ", ""),
              "shortDescription": {"text": CHECKS[cid].title}, "help": {"text": CHECKS[cid].fix},
              "defaultConfiguration": {"level": LEVEL[CHECKS[cid].severity], "rank": RANK[CHECKS[cid].severity]},
              "properties": {"family": CHECKS[cid].family, "severity": CHECKS[cid].severity.value}} for cid in ids]
    results = [_result(f, index, audit.state_of(f)) for f in audit.findings]
    results += [_result(f, index, audit.state_of(f)) for f in audit.suppressed]
    for fp in audit.diff.fixed:
        check, _, obj = fp.partition(":")
        if check in index:
            results.append({"ruleId": check, "ruleIndex": index[check], "kind": "pass", "level": "none",
                            "message": {"text": f"{obj}: fixed since the last audit"}, "locations": [_location(obj)],
                            "partialFingerprints": {"smcAuditFingerprint/v1": _hash(fp)}, "baselineState": "absent",
                            "properties": {"object": obj, "fingerprint": fp}})
    return {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "smc-maint security-audit", "version": __version__,
                                "informationUri": "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
                                "rules": rules}},
            "automationDetails": {"id": f"smc-maint/security-audit/{audit.generated_at[:10]}"},
            "invocations": [{"executionSuccessful": not any(f.check == "AUDIT-001" for f in audit.findings),
                             "endTimeUtc": audit.generated_at}],
            "results": results,
            "properties": {"score": audit.score, "counts": audit.counts, "namespaces": audit.namespaces},
        }],
    }
