"""The runbook's Prometheus half of the monthly performance review: container CPU and memory,
API p95 latency over the review window. Queries are built by pure functions; the one I/O seam
is :class:`smc_maint.adapters.prometheus.Prometheus`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .adapters.prometheus import Prometheus, PrometheusError


@dataclass(frozen=True)
class UsageQueries:
    days: int
    container_selector: str
    latency_selector: str
    rate_window: str
    step: str = "1h"

    def cpu(self, fn: str) -> str:
        inner = f"sum by (container) (rate(container_cpu_usage_seconds_total{{{self.container_selector}}}[{self.rate_window}]))"
        return f"{fn}_over_time(({inner})[{self.days}d:{self.step}])"

    def memory(self, fn: str) -> str:
        inner = f"sum by (container) (container_memory_working_set_bytes{{{self.container_selector}}})"
        return f"{fn}_over_time(({inner})[{self.days}d:{self.step}])"

    def p95_latency(self) -> str:
        return (f"histogram_quantile(0.95, sum by (le) "
                f"(rate(http_request_duration_seconds_bucket{{{self.latency_selector}}}[{self.days}d])))")


def platform_usage(prom: Prometheus, q: UsageQueries, at: datetime) -> tuple[dict[str, Any], dict[str, float]]:
    """Details (per container) and figures of the window ending ``at``; raises PrometheusError."""
    containers: dict[str, dict[str, float]] = {}
    for key, expr in (("cpu_cores_avg", q.cpu("avg")), ("cpu_cores_max", q.cpu("max")),
                      ("memory_bytes_avg", q.memory("avg")), ("memory_bytes_max", q.memory("max"))):
        for s in prom.query(expr, at):
            containers.setdefault(s.labels.get("container", ""), {})[key] = s.value
    latency = prom.query(q.p95_latency(), at)
    p95 = latency[0].value if latency else None
    details: dict[str, Any] = {"window_days": q.days, "containers": dict(sorted(containers.items())),
                               "api_p95_latency_seconds": p95}
    figures = {f"container_{k}.{name}": v for name, vals in containers.items() for k, v in vals.items()}
    if p95 is not None:
        figures["api_p95_latency_seconds"] = p95
    return details, figures


def review_platform(url: str | None, q: UsageQueries, at: datetime, timeout_seconds: float
                    ) -> tuple[dict[str, Any], dict[str, float], str | None]:
    """(details, figures, problem): without a URL a reason in details, never a failure."""
    if not url:
        return {"skipped": "no prometheus_url configured: container CPU/memory and API latency not reviewed"}, {}, None
    try:
        details, figures = platform_usage(Prometheus(url, timeout_seconds=timeout_seconds), q, at)
    except PrometheusError as exc:
        return {"error": str(exc)}, {}, f"Prometheus: {exc}"
    if not details["containers"]:
        return details, figures, "Prometheus has no container metrics for the selector"
    return details, figures, None
