"""Alert delivery: Slack-compatible webhooks and Apprise URLs, with retries and backoff.

A dead webhook becomes a :class:`Delivery` with a reason; it never raises into the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .adapters import http
from .config.model import AlertsConfig, ChannelConfig
from .redact import redact
from .result import Result

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Delivery:
    channel: str
    delivered: bool
    attempts: int
    error: str | None = None


def format_alert(group: str, procedure_id: str, result: Result, host: str) -> str:
    """One-line alert text: what, where, how bad, and the summary (redacted: it leaves the process)."""
    return redact(f"[smc-maint] {result.status.value.upper()} {group}/{procedure_id} on {host}: {result.summary}")


def post_with_retries(
    url: str,
    *,
    payload: object = None,
    attempts: int,
    timeout: float,
    backoff_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
    what: str = "webhook",
) -> tuple[bool, int, str | None]:
    """POST with retries and exponential backoff (honouring Retry-After); never raises.

    Returns (delivered, attempts made, reason). Transient failures (network, 408/425/429/5xx) are
    retried; another 4xx is final. Any exception, even a malformed URL, becomes a reason: an alert
    or a dead-man ping must never abort the run it reports on. The reason never contains the URL.
    ``timeout`` bounds each attempt in total (a trickling receiver cannot stretch it).
    """
    last = "not attempted"
    for attempt in range(1, attempts + 1):
        retry_after = None
        try:
            resp = http.request("POST", url, deadline=timeout, transport=transport,
                                json=payload, content=None if payload is not None else b"")
        except httpx.UnsupportedProtocol as exc:
            return False, attempt, f"{what} not sent: {type(exc).__name__}"
        except httpx.TransportError as exc:
            last = f"{what} unreachable: {type(exc).__name__}"
        except Exception as exc:  # InvalidURL, UnsupportedProtocol...: retrying cannot help
            return False, attempt, f"{what} not sent: {type(exc).__name__}"
        else:
            if resp.is_success:
                return True, attempt, None
            last = f"{what} answered HTTP {resp.status_code}"
            if resp.status_code not in _RETRY_STATUS:
                return False, attempt, last
            retry_after = resp.headers.get("retry-after")
        if attempt < attempts:
            sleep(backoff_delay(backoff_seconds, attempt, retry_after))
    return False, attempts, f"{last} after {attempts} attempts"


def backoff_delay(base: float, attempt: int, retry_after: str | None = None) -> float:
    """Exponential backoff from ``base``; a server's Retry-After (seconds, at most 60) wins if longer."""
    delay = base * 2.0 ** (attempt - 1)
    if retry_after and retry_after.isdigit():
        delay = max(delay, min(float(retry_after), 60.0))
    return delay


class Notifier:
    """Sends alert text to a named channel (falls back to ``default``)."""

    def __init__(
        self,
        cfg: AlertsConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._cfg = cfg
        self._sleep = sleep
        self._transport = transport

    def _channel(self, name: str) -> tuple[str, ChannelConfig | None]:
        if name in self._cfg.channels:
            return name, self._cfg.channels[name]
        return "default", self._cfg.channels.get("default")

    def send(self, channel: str, text: str) -> Delivery:
        name, chan = self._channel(channel)
        if chan is None:
            return Delivery(name, False, 0, "no alert channel configured")
        try:
            url = chan.webhook_url()
            apprise_urls = chan.apprise_urls()
        except (OSError, ValueError) as exc:  # unreadable or non-UTF-8 url_file
            return Delivery(name, False, 0, redact(f"cannot read alert destination: {type(exc).__name__}: {exc}"))
        if not url and not apprise_urls:
            return Delivery(name, False, 0, f"no destination for channel {name!r} (set {chan.url_env or 'url_file'})")
        errors: list[str] = []
        attempts = 0
        delivered = True
        if url:
            ok, n, err = self._post_webhook(url, text)
            attempts += n
            delivered &= ok
            if err:
                errors.append(err)
        if apprise_urls:
            ok, n, err = self._apprise(apprise_urls, text)
            attempts += n
            delivered &= ok
            if err:
                errors.append(err)
        return Delivery(name, delivered, attempts, redact("; ".join(errors)) if errors else None)

    def _post_webhook(self, url: str, text: str) -> tuple[bool, int, str | None]:
        return post_with_retries(url, payload={"text": text}, attempts=self._cfg.attempts,
                                 timeout=self._cfg.timeout_seconds, backoff_seconds=self._cfg.backoff_seconds,
                                 sleep=self._sleep, transport=self._transport)

    def _apprise(self, urls: list[str], text: str) -> tuple[bool, int, str | None]:
        for attempt in range(1, self._cfg.attempts + 1):
            try:
                if apprise_notify(urls, text, deadline=self._cfg.timeout_seconds):
                    return True, attempt, None
            except TimeoutError:
                return False, attempt, f"apprise gave no answer within {self._cfg.timeout_seconds:g} s"
            except Exception as exc:  # a plugin bug must not abort the run it reports on
                return False, attempt, f"apprise failed: {type(exc).__name__}"
            if attempt < self._cfg.attempts:
                self._sleep(backoff_delay(self._cfg.backoff_seconds, attempt))
        return False, self._cfg.attempts, f"apprise delivery failed after {self._cfg.attempts} attempts"


def apprise_notify(urls: list[str], text: str, *, deadline: float) -> bool:
    """Apprise's notify, bounded in total: its plugins use per-read timeouts of their own, so it runs
    in a daemon thread that is abandoned (never waited for) at the deadline; raises TimeoutError."""
    import apprise

    box: dict[str, object] = {}

    def target() -> None:
        try:
            app = apprise.Apprise()
            for url in urls:
                app.add(url)
            box["ok"] = bool(app.notify(body=text, title="smc-maint"))
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="apprise-notify", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise TimeoutError(f"apprise gave no answer within {deadline:g} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return bool(box.get("ok"))
