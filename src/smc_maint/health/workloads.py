"""Workload and pod health on the platform (Kubernetes or this machine): what ``kubectl get
deployments,statefulsets,pods`` shows, judged. Pure functions apart from ``gather``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..adapters.platform import Platform, PlatformError, Pod, Workload
from ..result import Status

BAD_WAITING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
               "CreateContainerError", "InvalidImageName", "RunContainerError")


@dataclass
class PlatformFacts:
    workloads: list[Workload] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    error: str | None = None


def gather(platform: Platform) -> PlatformFacts:
    try:
        return PlatformFacts(platform.list_workloads(), platform.list_pods())
    except PlatformError as exc:
        return PlatformFacts(error=str(exc))


def evaluate(facts: PlatformFacts, restart_warning: int) -> tuple[list[tuple[Status, str]], dict[str, float]]:
    """Problems (severity, words) and figures: workloads below desired replicas, pods not ready,
    waiting in CrashLoopBackOff and the like, or restarting often."""
    problems: list[tuple[Status, str]] = []
    if facts.error:
        return [(Status.WARNING, f"platform: cannot list workloads and pods: {facts.error}")], {}
    degraded = 0
    for w in facts.workloads:
        if w.ready < w.desired:
            degraded += 1
            level = Status.CRITICAL if w.ready == 0 else Status.WARNING
            problems.append((level, f"{w.kind.lower()} {w.name}: {w.ready}/{w.desired} ready"))
    not_ready = 0
    for p in facts.pods:
        bad = [r for r in p.waiting_reasons if r in BAD_WAITING]
        if bad:
            problems.append((Status.CRITICAL, f"pod {p.name}: {', '.join(sorted(set(bad)))} ({p.restarts} restarts)"))
        elif not p.ready and p.phase not in ("Succeeded",):
            problems.append((Status.WARNING, f"pod {p.name}: not ready (phase {p.phase})"))
        elif restart_warning and p.restarts >= restart_warning:
            problems.append((Status.WARNING, f"pod {p.name}: {p.restarts} restarts"))
        not_ready += 0 if p.ready or p.phase == "Succeeded" else 1
    figures = {"workloads_total": float(len(facts.workloads)), "workloads_degraded": float(degraded),
               "pods_total": float(len(facts.pods)), "pods_not_ready": float(not_ready),
               "pod_restarts": float(sum(p.restarts for p in facts.pods))}
    return problems, figures


def details(facts: PlatformFacts) -> dict[str, Any]:
    """The rows ``kubectl get`` would print."""
    return {
        "error": facts.error,
        "workloads": [{"kind": w.kind, "name": w.name, "ready": f"{w.ready}/{w.desired}", "available": w.available,
                       "images": list(w.images)} for w in facts.workloads],
        "pods": [{"name": p.name, "workload": p.owner, "phase": p.phase, "ready": p.ready, "restarts": p.restarts,
                  "waiting": list(p.waiting_reasons), "node": p.node} for p in facts.pods],
    }
