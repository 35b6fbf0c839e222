"""The ``procedures.emergency`` settings: which maintenance switch, which trading halt, which work."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config.model import Section


class NginxSwitch(Section):
    """A real nginx in front of the API: a generated include toggled and reloaded (``nginx -t`` first).

    The server block must ``include`` ``snippet``; the tool owns that file and ``page``.
    """

    snippet: Path = Field(description="the include file the tool writes (empty when maintenance is off)")
    page: Path = Field(description="the maintenance page the tool writes (served with 503)")
    command: list[str] = Field(default_factory=lambda: ["nginx"],
                               description="nginx and its options, e.g. [nginx, -p, PREFIX, -c, CONF]")
    timeout_seconds: float = Field(20, gt=0, description="deadline of each nginx -t / -s reload")
    probe_url: str | None = Field(None, description="after a switch, wait until this URL answers 503 (on) or "
                                  "not 503 (off)")


class KubernetesSwitch(Section):
    """Swap the API Service's selector to a maintenance deployment's pods (and back, exactly)."""

    service: str = "smc-api"
    maintenance_selector: dict[str, str] = Field(default_factory=lambda: {"app": "smc-maintenance-page"})


class MaintenanceSettings(Section):
    kind: Literal["none", "nginx", "kubernetes"] = "none"
    open_paths: list[str] = Field(default_factory=lambda: ["/health"],
                                  description="paths that stay reachable (health checks)")
    nginx: NginxSwitch | None = None
    kubernetes: KubernetesSwitch = KubernetesSwitch()

    @model_validator(mode="after")
    def _complete(self) -> MaintenanceSettings:
        if self.kind == "nginx" and self.nginx is None:
            raise ValueError("maintenance.kind nginx needs maintenance.nginx (snippet, page)")
        for p in self.open_paths:
            if not p.startswith("/") or any(c in p for c in "\"'{};\\ \n"):
                raise ValueError(f"open_paths: {p!r} must be a plain path starting with /")
        return self


class ScaleHalt(Section):
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    name: str = "smc-trading-engine"


class HttpHalt(Section):
    """Halt and resume URLs (secrets: named env vars); the token, if any, goes in a Bearer header."""

    halt_url_env: str = "SMC_MAINT_HALT_URL"
    resume_url_env: str = "SMC_MAINT_RESUME_URL"
    token_env: str | None = None
    timeout_seconds: float = Field(30, gt=0, description="total deadline of each call, retries included")


class FlagRowHalt(Section):
    """A row the engine reads: ``UPDATE table SET value_column = halted_value WHERE key_column = key``."""

    table: str = "public.trading_flags"
    key_column: str = "name"
    key: str = "trading_halted"
    value_column: str = "value"
    halted_value: str = "true"


class HaltSettings(Section):
    kind: Literal["none", "scale", "http", "flag_row"] = "none"
    scale: ScaleHalt = ScaleHalt()
    http: HttpHalt = HttpHalt()
    flag_row: FlagRowHalt = FlagRowHalt()


class WorkSettings(Section):
    """The operator's work: wait for ``emergency finish`` (no commands), or run these with a deadline."""

    commands: list[list[str]] = Field(default_factory=list, description="argv lists, run in order")
    procedures: list[str] = Field(default_factory=list, description="procedure ids, run in order")
    timeout_seconds: float = Field(1800, gt=0, description="deadline of all the work together")


class Settings(Section):
    default_duration_minutes: float = Field(60, gt=0)
    max_duration_minutes: float = Field(240, gt=0, description="a longer --duration is refused")
    auto_off_at_deadline: bool = Field(False, description="at the deadline, health/scheduler aborts the "
                                       "window (resume trading, maintenance off); else it only alerts")
    production: bool = Field(True, description="start needs typed confirmation (the namespace/host name)")
    backup: bool = Field(True, description="take and verify an emergency backup into the store")
    maintenance: MaintenanceSettings = MaintenanceSettings()
    halt: HaltSettings = HaltSettings()
    work: WorkSettings = WorkSettings()
    verify_procedures: list[str] = Field(default_factory=lambda: ["health", "backup-verify"],
                                         description="run before trading resumes")
    alert_channel: str = "default"
