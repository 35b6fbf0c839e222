"""Probe HTTP health endpoints concurrently; a redirect, TLS error or timeout is a failure with a reason."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
from pydantic import Field

from ..adapters import http
from ..config.model import Section
from ..redact import redact

E = TypeVar("E", bound=BaseException)


class Endpoint(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="short name; figure endpoint_up.<name>")
    url: str = Field(pattern=r"^https?://", description="http(s) URL of the health endpoint")
    expected_status: int = Field(200, ge=100, le=599)
    timeout_seconds: float = Field(5.0, gt=0, le=300)
    verify_tls: bool = Field(True, description="verify the server certificate (never turn off in production)")
    ca_file: Path | None = Field(None, description="CA bundle for an internal CA, instead of the system store")


@dataclass(frozen=True)
class Probe:
    name: str
    url: str
    ok: bool
    status_code: int | None
    seconds: float
    reason: str


def _cause(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of ``kind`` in the cause/context chain (httpx wraps the OS error)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, kind):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _failure_reason(exc: Exception, ep: Endpoint) -> str:
    tls = _cause(exc, ssl.SSLError)
    if tls is not None:
        detail = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or str(tls)
        return f"TLS error: {detail}"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return f"timed out after {ep.timeout_seconds:g} s"
    if isinstance(exc, OSError) and not isinstance(exc, httpx.HTTPError):
        return f"cannot use ca_file {ep.ca_file}: {exc.strerror or exc}"
    if isinstance(exc, httpx.ConnectError):
        if _cause(exc, ConnectionRefusedError) is not None:
            return "connection refused"
        os_error = _cause(exc, OSError)
        text = (os_error.strerror if os_error is not None else None) or str(exc) or type(exc).__name__
        return f"cannot connect: {text}"
    return f"{type(exc).__name__}: {exc}"


def judge(ep: Endpoint, status_code: int, location: str | None) -> tuple[bool, str]:
    """Pure: is this answer healthy? Redirects are failures unless the expected status is that redirect."""
    if status_code == ep.expected_status:
        return True, f"HTTP {status_code}"
    if 300 <= status_code < 400:
        return False, f"redirected (HTTP {status_code}) to {location or '?'}; expected HTTP {ep.expected_status}"
    return False, f"HTTP {status_code}; expected {ep.expected_status}"


def tls_context(ep: Endpoint) -> ssl.SSLContext:
    """The client TLS context of ``ep``: system store, its CA file, or (verify_tls: false) none."""
    if not ep.verify_tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=str(ep.ca_file) if ep.ca_file else None)


async def _probe(ep: Endpoint, contexts: dict[tuple[bool, Path | None], ssl.SSLContext]) -> Probe:
    t0 = time.monotonic()
    try:
        key = (ep.verify_tls, ep.ca_file)
        if key not in contexts:  # building a context loads the CA store: once per distinct setting
            contexts[key] = tls_context(ep)
        resp = await http.arequest("GET", ep.url, deadline=ep.timeout_seconds, verify=contexts[key],
                                   follow_redirects=False, trust_env=False)
        ok, reason = judge(ep, resp.status_code, resp.headers.get("location"))
        return Probe(ep.name, redact(ep.url), ok, resp.status_code, time.monotonic() - t0, redact(reason))
    except Exception as exc:  # every failure mode of one endpoint becomes its probe result
        return Probe(ep.name, redact(ep.url), False, None, time.monotonic() - t0, redact(_failure_reason(exc, ep)))


async def _probe_all(endpoints: list[Endpoint]) -> list[Probe]:
    contexts: dict[tuple[bool, Path | None], ssl.SSLContext] = {}
    return list(await asyncio.gather(*(_probe(ep, contexts) for ep in endpoints)))


def probe_all(endpoints: list[Endpoint]) -> list[Probe]:
    """All endpoints at once: the total time is the slowest endpoint, not the sum."""
    if not endpoints:
        return []
    return asyncio.run(_probe_all(endpoints))
