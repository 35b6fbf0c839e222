"""Dead-man's-switch pings (Healthchecks-style): ``<url>/start``, then ``<url>/<exit code>``.

The URL is a secret (it lets anyone mark the job healthy): it comes from an environment variable,
is registered for redaction, and a failed ping is logged without it and never fails the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from ..alerts import post_with_retries
from ..config.model import read_secret
from ..redact import redact

log = logging.getLogger("smc_maint.scheduling.deadman")


class Pinger:
    """Pings one check URL; without a URL every call does nothing."""

    def __init__(self, url: str | None, *, timeout: float = 10.0, attempts: int = 3, backoff_seconds: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/") if url else None
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
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
        """Never raises (the shared retry helper turns every failure into a reason)."""
        if not self.url:
            return False
        ok, _, reason = post_with_retries(f"{self.url}/{suffix}", attempts=self._attempts, timeout=self._timeout,
                                          backoff_seconds=self._backoff, sleep=self._sleep,
                                          transport=self._transport, what="ping")
        if not ok:
            log.warning("dead-man's-switch ping %r failed: %s", suffix, redact(reason or ""))
        return ok
