"""Node and pod CPU/memory per workload (``kubectl top nodes`` / ``kubectl top pods``) as history
figures. ``add_to`` is pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..adapters.platform import Platform, PlatformError, Usage
from ..redact import redact
from ..result import Result, Status, worst


@dataclass
class UsageFacts:
    nodes: list[Usage] = field(default_factory=list)
    pods: list[Usage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def collect(open_platform: Callable[[], Platform]) -> UsageFacts:
    facts = UsageFacts()
    try:
        platform = open_platform()
    except Exception as exc:  # opening failed: say so, keep the other figures
        facts.errors.append(redact(f"{type(exc).__name__}: {exc}"))
        return facts
    for what, call in (("node usage", platform.node_usage), ("pod usage", platform.pod_usage)):
        try:
            (facts.nodes if what == "node usage" else facts.pods).extend(call())
        except PlatformError as exc:
            facts.errors.append(f"{what}: {exc}")
    return facts


def per_workload(pods: list[Usage]) -> dict[str, tuple[float, int, int]]:
    """workload -> (CPU cores, memory bytes, pods), pods without a known workload under their own name."""
    out: dict[str, tuple[float, int, int]] = {}
    for u in pods:
        key = u.owner or u.name
        cpu, mem, n = out.get(key, (0.0, 0, 0))
        out[key] = (cpu + u.cpu_cores, mem + u.memory_bytes, n + 1)
    return out


def add_to(result: Result, facts: UsageFacts) -> Result:
    figures = dict(result.figures)
    for n in facts.nodes:
        figures[f"node_cpu_cores.{n.name}"] = round(n.cpu_cores, 4)
        figures[f"node_memory_bytes.{n.name}"] = float(n.memory_bytes)
    workloads = per_workload(facts.pods)
    for name, (cpu, mem, _n) in sorted(workloads.items()):
        figures[f"workload_cpu_cores.{name}"] = round(cpu, 4)
        figures[f"workload_memory_bytes.{name}"] = float(mem)
    details: dict[str, Any] = dict(result.details)
    details["platform"] = {
        "nodes": [{"name": n.name, "cpu_cores": round(n.cpu_cores, 4), "memory_bytes": n.memory_bytes}
                  for n in facts.nodes],
        "workloads": [{"workload": k, "cpu_cores": round(c, 4), "memory_bytes": m, "pods": n}
                      for k, (c, m, n) in sorted(workloads.items())],
        "errors": facts.errors,
    }
    summary = result.summary
    if workloads or facts.nodes:
        top = sorted(workloads.items(), key=lambda kv: -kv[1][0])[:3]
        summary += (f"; platform: {len(facts.nodes)} nodes, {len(workloads)} workloads"
                    + (" (top CPU " + ", ".join(f"{k} {c * 1000:.0f}m" for k, (c, _m, _n) in top) + ")" if top else ""))
    status = result.status
    if facts.errors:
        summary += "; platform usage unavailable: " + "; ".join(facts.errors)
        status = worst([status, Status.WARNING])
    return Result(status, summary, details, figures, result.artifacts, result.alert_channel)
