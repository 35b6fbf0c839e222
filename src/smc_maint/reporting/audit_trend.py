"""The security audits' trend from history: score and open findings per severity, per audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..history.store import History

PROCEDURE = "security-audit"
SERIES = ("score", "critical", "high", "medium", "low", "info", "new", "fixed")


def audit_trend(history: History, *, until: datetime | None = None, limit: int = 12) -> list[dict[str, Any]]:
    """The last ``limit`` audits (oldest first) recorded before ``until``: one row per audit run."""
    rows: dict[str, dict[str, Any]] = {}
    for name in SERIES:
        figure = "audit_score" if name == "score" else f"audit_findings_{name}"
        for p in history.figure_series(figure, procedure_id=PROCEDURE):
            if until is not None and p.at >= until:
                continue
            rows.setdefault(p.run_id, {"at": p.at.isoformat(), "run_id": p.run_id})[name] = p.value
    ordered = sorted(rows.values(), key=lambda r: str(r["at"]))[-limit:]
    return [{**dict.fromkeys(SERIES, 0.0), **r} for r in ordered]


def trend_series(trend: list[dict[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Chart series (name -> [(iso time, value)]) for ``charts.line_chart``."""
    return {sev: [(str(t["at"]), float(t[sev])) for t in trend] for sev in ("critical", "high", "medium", "low")}
