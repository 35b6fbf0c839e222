"""Vulnerabilities of the images that run now, from trivy-operator VulnerabilityReports.

trivy-operator keeps a report per ReplicaSet, so old ReplicaSets of a Deployment leave stale
reports behind: a report counts only if its resource still runs (a ReplicaSet that owns a pod in
the dump, or -- when no pod of the Deployment is in the dump -- the newest report of that
Deployment's container), or its StatefulSet/DaemonSet/Pod still exists. Totals are the
vulnerability-review figures (one report per image, fixable critical/high apart).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ..vulnerability_reports import SEVERITIES, ImageReport, ReportError, from_vulnerability_report, latest_per_image
from .findings import Finding, finding
from .objects import Inventory, labels_of, meta, name_of, namespace_of, ref, ref_of, seq

KIND = "trivy-operator.resource.kind"
NAME = "trivy-operator.resource.name"
CONTAINER = "trivy-operator.container.name"


def _owners(inv: Inventory) -> set[tuple[str, str, str]]:
    out = set()
    for pod in inv.of("Pod"):
        for o in seq(meta(pod).get("ownerReferences")):
            if isinstance(o, Mapping):
                out.add((str(o.get("kind")), namespace_of(pod), str(o.get("name"))))
    return out


def current_reports(inv: Inventory) -> tuple[list[tuple[str, ImageReport]], list[str], list[tuple[str, str]]]:
    """(workload ref, report) of running resources; the stale reports dropped; unreadable ones."""
    owners = _owners(inv)
    existing = {(o["kind"], namespace_of(o), name_of(o)) for o in inv.of("Deployment", "StatefulSet", "DaemonSet", "Pod")}
    deployments_with_pods = {(ns, name.rsplit("-", 1)[0]) for kind, ns, name in owners if kind == "ReplicaSet"}
    newest: dict[tuple[str, str, str], tuple[str, ImageReport]] = {}
    kept: list[tuple[str, ImageReport]] = []
    stale: list[str] = []
    errors: list[tuple[str, str]] = []
    for obj in inv.of("VulnerabilityReport"):
        labels, ns = labels_of(obj), namespace_of(obj)
        kind, name = str(labels.get(KIND) or ""), str(labels.get(NAME) or "")
        try:
            report = from_vulnerability_report(obj, ref_of(obj))
        except ReportError as exc:
            errors.append((ref_of(obj), str(exc)))
            continue
        if kind == "ReplicaSet":
            deploy = name.rsplit("-", 1)[0]
            workload = ref("Deployment", ns, deploy)
            if (kind, ns, name) in owners:
                kept.append((workload, report))
            elif ("Deployment", ns, deploy) in existing and (ns, deploy) not in deployments_with_pods:
                key = (ns, deploy, str(labels.get(CONTAINER) or report.image))
                best = newest.get(key)
                if best is None or (report.updated or "") > (best[1].updated or ""):
                    if best is not None:
                        stale.append(best[1].source)
                    newest[key] = (workload, report)
                else:
                    stale.append(report.source)
            else:
                stale.append(report.source)
        elif kind in ("StatefulSet", "DaemonSet", "Pod", "Deployment") and inv.has(kind):
            if (kind, ns, name) in existing:
                kept.append((ref(kind, ns, name), report))
            else:
                stale.append(report.source)
        else:  # a kind the dump does not hold (Job, CronJob...): cannot tell, keep it
            kept.append((ref(kind or "Workload", ns, name or name_of(obj)), report))
    return kept + list(newest.values()), sorted(stale), errors


def check(inv: Inventory, max_listed: int = 20) -> tuple[list[Finding], dict[str, Any]]:
    current, stale, errors = current_reports(inv)
    found: list[Finding] = []
    per_workload: dict[str, list[ImageReport]] = defaultdict(list)
    for workload, rep in current:
        per_workload[workload].append(rep)
    for workload, reps in sorted(per_workload.items()):
        ns = workload.split("/")[1] if workload.count("/") == 2 else ""
        for sev, cid in (("critical", "VULN-001"), ("high", "VULN-002")):
            n = sum(r.counts[sev] for r in reps)
            if not n:
                continue
            fixes = sorted({f"{f.package} {f.installed_version} -> {f.fixed_version}" for r in reps
                            for f in r.fixable if f.severity == sev})
            images = sorted({r.image for r in reps if r.counts[sev]})
            text = f"{n} {sev} in {', '.join(images)}; " + (f"{len(fixes)} fixable: {'; '.join(fixes[:5])}"
                                                              if fixes else "no fix available yet")
            found.append(finding(cid, workload, text, namespace=ns, images=images, count=n, fixable=fixes[:max_listed]))
    latest = latest_per_image([r for _, r in current])
    totals = dict.fromkeys(SEVERITIES, 0)
    for rep in latest:
        for sev, n in rep.counts.items():
            totals[sev] += n
    fixable = sorted({(f.image, f.vulnerability_id, f.package) for r in latest for f in r.fixable})
    summary = {"totals": totals, "fixable_critical_high": len(fixable), "images": len(latest),
               "reports_used": len(current), "stale_reports_dropped": stale,
               "unreadable_reports": [{"report": s, "reason": why} for s, why in errors]}
    found += [finding("AUDIT-001", s, f"unreadable VulnerabilityReport: {why}", namespace=s.split("/")[1])
              for s, why in errors]
    return found, summary
