"""Maintenance-mode switches: nginx on one machine, the Service selector on Kubernetes.

Each has ``capture`` (the state to restore, journaled before acting), ``apply`` and ``restore``
(back to exactly the captured state; safe to repeat).
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..adapters import http
from ..adapters.child_env import minimal_env
from ..adapters.platform import Platform
from ..durable import write_atomic
from ..redact import redact
from . import plan
from .settings import KubernetesSwitch, MaintenanceSettings, NginxSwitch


class SwitchError(Exception):
    """The switch could not be thrown; the message says why (redacted)."""


class Switch(Protocol):
    def capture(self) -> dict[str, Any]: ...

    def apply(self, now: datetime, deadline: datetime) -> dict[str, Any]: ...

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]: ...


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, text, mode=0o644)  # nginx workers (another user) must read it


class NginxFlagSwitch:
    """A generated include: maintenance ON is a 503 snippet with the Retry-After of this window."""

    def __init__(self, cfg: NginxSwitch, open_paths: list[str]) -> None:
        self.cfg = cfg
        self.open_paths = open_paths

    def _nginx(self, *args: str) -> None:
        argv = [*self.cfg.command, *args]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=self.cfg.timeout_seconds,
                                  check=False, stdin=subprocess.DEVNULL, env=minimal_env())
        except FileNotFoundError:
            raise SwitchError(f"nginx not found: {self.cfg.command[0]}") from None
        except subprocess.TimeoutExpired:
            raise SwitchError(f"{' '.join(argv)} timed out after {self.cfg.timeout_seconds:g} s") from None
        if proc.returncode != 0:
            raise SwitchError(redact(f"{' '.join(argv)} failed ({proc.returncode}): "
                                     f"{(proc.stderr or proc.stdout).strip()[-400:]}"))

    def _switch(self, text: str, old: str) -> None:
        """Write, test (``nginx -t``), reload; a config nginx rejects is put back before failing."""
        _write_atomic(self.cfg.snippet, text)
        try:
            self._nginx("-t")
        except SwitchError:
            _write_atomic(self.cfg.snippet, old)
            raise
        self._nginx("-s", "reload")

    def _await(self, want_503: bool) -> None:
        if not self.cfg.probe_url:
            return
        deadline = time.monotonic() + self.cfg.timeout_seconds
        seen = "no answer"
        while time.monotonic() < deadline:
            try:
                left = max(0.1, min(2.0, deadline - time.monotonic()))
                code = http.request("GET", self.cfg.probe_url, deadline=left).status_code  # total, not per read
                if (code == 503) == want_503:
                    return
                seen = f"HTTP {code}"
            except httpx.HTTPError as exc:
                seen = type(exc).__name__
            time.sleep(0.1)
        raise SwitchError(f"{self.cfg.probe_url} still answers {seen} after the reload "
                          f"(wanted {'503' if want_503 else 'not 503'})")

    def capture(self) -> dict[str, Any]:
        path = self.cfg.snippet
        text = path.read_text(encoding="utf-8") if path.is_file() else None
        if text is not None and "maintenance mode ON" in text:
            raise SwitchError(f"{path} already switches maintenance ON (an earlier window not restored?): "
                              "run `smc-maint emergency abort` or restore it by hand")
        return {"snippet": str(path), "old_text": text}

    def apply(self, now: datetime, deadline: datetime) -> dict[str, Any]:
        old = self.cfg.snippet.read_text(encoding="utf-8") if self.cfg.snippet.is_file() else plan.OFF_SNIPPET
        retry_after = plan.retry_after_seconds(now, deadline)
        _write_atomic(self.cfg.page, plan.maintenance_page(deadline))
        self._switch(plan.nginx_snippet(self.open_paths, self.cfg.page, retry_after), old)
        self._await(True)
        return {"retry_after_seconds": retry_after}

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]:
        old = captured.get("old_text")
        now_text = self.cfg.snippet.read_text(encoding="utf-8") if self.cfg.snippet.is_file() else ""
        self._switch(old if old is not None else plan.OFF_SNIPPET, now_text)
        self._await(False)
        return {"restored": "snippet"}


class SelectorSwitch:
    """Kubernetes: the API Service selects the maintenance deployment's pods while the mode is on."""

    def __init__(self, cfg: KubernetesSwitch, platform: Platform) -> None:
        self.cfg = cfg
        self.platform = platform

    def capture(self) -> dict[str, Any]:
        old = self.platform.get_service_selector(self.cfg.service)
        if old == dict(self.cfg.maintenance_selector):
            raise SwitchError(f"Service {self.cfg.service} already selects the maintenance pods "
                              f"{old}; its real selector is unknown: restore it by hand")
        return {"service": self.cfg.service, "selector": old}

    def apply(self, now: datetime, deadline: datetime) -> dict[str, Any]:
        self.platform.set_service_selector(self.cfg.service, dict(self.cfg.maintenance_selector))
        return {"selector": dict(self.cfg.maintenance_selector)}

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]:
        self.platform.set_service_selector(captured["service"], dict(captured["selector"]))
        return {"selector": captured["selector"]}


class NoSwitch:
    def capture(self) -> dict[str, Any]:
        return {"kind": "none"}

    def apply(self, now: datetime, deadline: datetime) -> dict[str, Any]:
        return {"kind": "none"}

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "none"}


def make_switch(cfg: MaintenanceSettings, platform: Any) -> Switch:
    """``platform`` is a zero-argument callable returning the Platform (opened only when needed)."""
    if cfg.kind == "nginx" and cfg.nginx is not None:
        return NginxFlagSwitch(cfg.nginx, cfg.open_paths)
    if cfg.kind == "kubernetes":
        return SelectorSwitch(cfg.kubernetes, platform())
    return NoSwitch()
