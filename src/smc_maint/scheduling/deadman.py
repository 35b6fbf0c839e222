"""Dead-man's-switch pings (Healthchecks-style): ``<url>/start``, then ``<url>/<exit code>``.

The URL is a secret (it lets anyone mark the job healthy): it comes from an environment variable,
is registered for redaction, and a failed ping is logged without it and never fails the run.
"""

from __future__ import annotations

import logging

import httpx

from ..config.model import read_secret
from ..redact import redact

log = logging.getLogger("smc_maint.scheduling.deadman")


class Pinger:
    """Pings one check URL; without a URL every call does nothing."""

    def __init__(self, url: str | None, *, timeout: float = 10.0, attempts: int = 3,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/") if url else None
        self._timeout = timeout
        self._attempts = attempts
        self._transport = transport

    @classmethod
    def from_env(cls, env_name: str | None) -> Pinger:
        return cls(read_secret(env_name, None) if env_name else None)

    def start(self) -> bool:
        return self._ping("start")

    def finish(self, exit_code: int) -> bool:
        """Report the run's exit code: 0 is success, anything else a failure."""
        return self._ping(str(max(0, min(int(exit_code), 255))))

    def fail(self) -> bool:
        return self._ping("fail")

    def _ping(self, suffix: str) -> bool:
        if not self.url:
            return False
        last = ""
        with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
            for _ in range(self._attempts):
                try:
                    resp = client.post(f"{self.url}/{suffix}", content=b"")
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                    continue
                if resp.status_code < 400:
                    return True
                last = f"HTTP {resp.status_code}"
                if resp.status_code < 500:
                    break
        log.warning("dead-man's-switch ping %r failed: %s", suffix, redact(last))
        return False
