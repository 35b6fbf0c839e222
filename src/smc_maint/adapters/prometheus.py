"""The one seam to a Prometheus server: instant queries over its HTTP API, with a total deadline."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from ..redact import redact


class PrometheusError(Exception):
    """Prometheus could not be asked or refused the query (the message is redacted)."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class Prometheus:
    """Instant queries at a given time; every call shares one total deadline."""

    def __init__(self, url: str, *, timeout_seconds: float = 30.0, transport: httpx.BaseTransport | None = None
                 ) -> None:
        self._url = url.rstrip("/")
        self._deadline = time.monotonic() + timeout_seconds
        self._transport = transport

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise PrometheusError("deadline exceeded talking to Prometheus")
        return left

    def query(self, expr: str, at: datetime) -> list[Sample]:
        """The instant vector of ``expr`` evaluated at ``at`` (NaN values dropped)."""
        try:
            with httpx.Client(timeout=self._left(), transport=self._transport) as client:
                resp = client.get(f"{self._url}/api/v1/query", params={"query": expr, "time": f"{at.timestamp():.3f}"})
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PrometheusError(redact(f"{type(exc).__name__}: {exc}")) from None
        if resp.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(redact(f"HTTP {resp.status_code}: {body.get('error', resp.text[:200])}"))
        data = body.get("data", {})
        if data.get("resultType") != "vector":
            raise PrometheusError(f"expected an instant vector, got {data.get('resultType')}")
        out = []
        for item in data.get("result", []):
            value = float(item["value"][1])
            if not math.isnan(value):
                out.append(Sample(dict(item.get("metric", {})), value))
        return out
