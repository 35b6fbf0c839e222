"""``emergency`` (on demand, in no scheduled group): the emergency maintenance window's settings,
and as a procedure run, the deadline watch: an open window is reported, one past its deadline is
critical (and switched off when ``auto_off_at_deadline``). ``smc-maint emergency`` drives windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..context import Context
from ..emergency.settings import Settings
from ..emergency.watch import enforce
from ..result import Result, Status, worst

__all__ = ["Settings", "run"]


def run(ctx: Context, settings: Settings) -> Result:
    findings = enforce(ctx, settings)
    if not findings:
        return Result(Status.OK, "no emergency window open", {"findings": []}, {"maintenance_window_open": 0.0})
    status = worst(s for s, _ in findings)
    return Result(status, "; ".join(t for _, t in findings), {"findings": [t for _, t in findings]},
                  {"maintenance_window_open": 1.0}, force_alert=status is Status.CRITICAL)


def demo_settings(home: Path) -> dict[str, Any]:
    from ..embedded import demo_api

    return demo_api.emergency_settings(home)
