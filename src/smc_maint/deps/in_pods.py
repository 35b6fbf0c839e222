"""Dependency tools run inside the platform's pods (the runbook's ``kubectl exec ... pip list
--outdated`` and ``npm outdated``), and container images read from the live workloads."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from ..adapters.platform import Platform, PlatformError, Workload
from ..config.model import Section
from ..redact import redact
from .images import ImageRef, split_image

PodToolKind = Literal["pip-outdated", "npm-outdated"]
ARGV: dict[str, list[str]] = {"pip-outdated": ["pip", "list", "--outdated", "--format", "json"],
                              "npm-outdated": ["npm", "outdated", "--json"]}
# Exit codes that still carry a report: npm outdated exits 1 when something is outdated.
REPORTING_EXITS: dict[str, tuple[int, ...]] = {"pip-outdated": (0,), "npm-outdated": (0, 1)}


class PodTool(Section):
    workload: str = Field(min_length=1, description="e.g. trading-engine; one running pod of it is used")
    kind: PodToolKind
    container: str | None = None
    argv: list[str] | None = Field(None, description="override the command (default: pip list --outdated "
                                   "--format json / npm outdated --json)")
    timeout_seconds: float = Field(300, gt=0)


def run_in_pod(platform: Platform, tool: PodTool, workloads: dict[str, Workload]) -> Any:
    """The tool's JSON report; raises ValueError with the reason (missing tool, no pod, no JSON)."""
    w = workloads.get(tool.workload)
    if w is None:
        raise ValueError(f"workload {tool.workload} not found")
    pods = [p for p in platform.list_pods(selector=w.selector or None)
            if p.phase == "Running" and p.owner in (None, w.name)]
    if not pods:
        raise ValueError(f"workload {tool.workload}: no running pod")
    pod = sorted(pods, key=lambda p: (not p.ready, p.name))[0]
    argv = tool.argv or ARGV[tool.kind]
    res = platform.exec(pod.name, argv, container=tool.container, timeout_seconds=tool.timeout_seconds)
    if res.timed_out:
        raise ValueError(f"{argv[0]} in pod {pod.name} did not finish within {tool.timeout_seconds:g} s")
    if res.exit_code is None or res.exit_code in (126, 127):
        raise ValueError(f"{argv[0]} is not available in pod {pod.name}: "
                         f"{redact(res.stderr.strip().splitlines()[-1] if res.stderr.strip() else 'not found')[:300]}")
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        raise ValueError(f"{argv[0]} in pod {pod.name} exited {res.exit_code} without JSON: "
                         f"{redact(res.stderr.strip()[:300])}") from None
    if res.exit_code not in REPORTING_EXITS[tool.kind]:
        raise ValueError(f"{argv[0]} in pod {pod.name} exited {res.exit_code}")
    return doc


def collect(platform: Platform, tools: list[PodTool]) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """(kind, component, report) per tool, and the reasons for those that gave none."""
    sources: list[tuple[str, str, Any]] = []
    errors: list[str] = []
    if not tools:
        return sources, errors
    try:
        workloads = {w.name: w for w in platform.list_workloads()}
    except PlatformError as exc:
        return sources, [f"{t.workload}: {exc}" for t in tools]
    for t in tools:
        try:
            sources.append((t.kind, t.workload, run_in_pod(platform, t, workloads)))
        except (ValueError, PlatformError) as exc:
            errors.append(f"{t.workload} ({t.kind}): {exc}")
    return sources, errors


def live_images(platform: Platform) -> list[ImageRef]:
    """The images the platform's Deployments and StatefulSets run now (what `kubectl get` shows)."""
    refs = []
    for w in platform.list_workloads():
        for c in w.containers:
            repo, tag, digest = split_image(c.image)
            refs.append(ImageRef(f"live:{w.kind}/{w.name}", w.name, c.name, c.image, repo, tag, digest))
    return refs
