"""The Prometheus alerting rules shipped as package data (reporting/alerts.rules.yml)."""

from __future__ import annotations

from importlib.resources import files

RULES_FILE = "alerts.rules.yml"


def rules_text() -> str:
    return files("smc_maint.reporting").joinpath(RULES_FILE).read_text(encoding="utf-8")
