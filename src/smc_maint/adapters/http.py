"""Every outbound HTTP request, bounded by a TOTAL deadline.

httpx's timeouts apply to each network operation: a receiver that trickles one byte a second
never trips a 2 s read timeout and holds the run (and its group lock) for as long as it likes.
Here the whole request (connect, send, headers, body) runs as one task that is cancelled at
the deadline, which closes the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class DeadlineExceeded(httpx.TimeoutException):
    """The request did not complete (body included) within its total deadline."""


async def arequest(method: str, url: str, *, deadline: float, json: object = None, content: bytes | None = None,
                   headers: Mapping[str, str] | None = None, verify: ssl.SSLContext | bool = True,
                   follow_redirects: bool = False, trust_env: bool = True, auth: tuple[str, str] | None = None,
                   transport: httpx.AsyncBaseTransport | None = None) -> httpx.Response:
    """One request, completely read, or :class:`DeadlineExceeded` after ``deadline`` seconds."""
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(verify=verify, follow_redirects=follow_redirects, trust_env=trust_env,
                                     timeout=httpx.Timeout(deadline), transport=transport) as client:
            return await client.request(method, url, json=json, content=content, headers=dict(headers or {}),
                                        auth=auth)

    try:
        return await asyncio.wait_for(call(), deadline)
    except TimeoutError:
        raise DeadlineExceeded(f"no complete answer within {deadline:g} s") from None


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, also when called inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="http-deadline") as pool:
        return pool.submit(asyncio.run, coro).result()


def request(method: str, url: str, *, deadline: float, **kwargs: Any) -> httpx.Response:
    """Synchronous :func:`arequest` (same arguments)."""
    return run_sync(arequest(method, url, deadline=deadline, **kwargs))
