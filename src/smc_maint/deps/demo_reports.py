"""Dependency reports for the demo: the sample reports (same files as tests/fixtures/deps) copied
into ``<home>/deps`` and the settings that point the procedure at them."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

SAMPLES = {
    "pip-audit": ("pip-audit.json", "trading-engine"),
    "pip-outdated": ("pip-outdated.json", "trading-engine"),
    "npm-outdated": ("npm-outdated.json", "api-gateway"),
    "npm-audit": ("npm-audit.json", "api-gateway"),
    "cargo-audit": ("cargo-audit.json", "execution-engine"),
}
MANIFEST = "k8s-deployments.yaml"


def write_demo_reports(directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    source = files("smc_maint.deps").joinpath("samples")
    for name in [f for f, _ in SAMPLES.values()] + [MANIFEST]:
        (directory / name).write_bytes(source.joinpath(name).read_bytes())
    return {
        "reports": [{"kind": kind, "path": str(directory / f), "component": comp}
                    for kind, (f, comp) in SAMPLES.items()],
        "manifests": [str(directory / MANIFEST)],
        "image_latest": {"ghcr.io/smc-trading/trading-engine": "2.0.1", "prom/statsd-exporter": "v0.28.0"},
    }
