"""Alert delivery: Slack-compatible webhooks and Apprise URLs, with retries and backoff.

A dead webhook becomes a :class:`Delivery` with a reason; it never raises into the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

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
    """One-line alert text: what, where, how bad, and the summary."""
    return f"[smc-maint] {result.status.value.upper()} {group}/{procedure_id} on {host}: {result.summary}"


class Notifier:
    """Sends alert text to a named channel (falls back to ``default``)."""

    def __init__(
        self,
        cfg: AlertsConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
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
        except OSError as exc:
            return Delivery(name, False, 0, redact(f"cannot read alert destination: {exc}"))
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

    def _backoff(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self._cfg.backoff_seconds * (2 ** (attempt - 1))
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 60.0))
        self._sleep(delay)

    def _post_webhook(self, url: str, text: str) -> tuple[bool, int, str | None]:
        last = "not attempted"
        with httpx.Client(timeout=self._cfg.timeout_seconds, transport=self._transport) as client:
            for attempt in range(1, self._cfg.attempts + 1):
                retry_after = None
                try:
                    resp = client.post(url, json={"text": text})
                except httpx.HTTPError as exc:
                    last = f"webhook unreachable: {type(exc).__name__}"
                else:
                    if resp.is_success:
                        return True, attempt, None
                    last = f"webhook answered HTTP {resp.status_code}"
                    if resp.status_code not in _RETRY_STATUS:
                        return False, attempt, last
                    retry_after = resp.headers.get("retry-after")
                if attempt < self._cfg.attempts:
                    self._backoff(attempt, retry_after)
        return False, self._cfg.attempts, f"{last} after {self._cfg.attempts} attempts"

    def _apprise(self, urls: list[str], text: str) -> tuple[bool, int, str | None]:
        import apprise

        for attempt in range(1, self._cfg.attempts + 1):
            app = apprise.Apprise()
            for url in urls:
                app.add(url)
            if bool(app.notify(body=text, title="smc-maint")):
                return True, attempt, None
            if attempt < self._cfg.attempts:
                self._backoff(attempt)
        return False, self._cfg.attempts, f"apprise delivery failed after {self._cfg.attempts} attempts"
