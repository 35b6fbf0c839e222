"""Alert delivery to a real HTTP receiver: payload, retries with backoff, dead webhooks, Apprise."""

from __future__ import annotations

import pytest

from smc_maint.alerts import Notifier, format_alert
from smc_maint.config.model import AlertsConfig, ChannelConfig
from smc_maint.embedded.postgres import free_port
from smc_maint.result import Result, Status

from .conftest import Receiver


def notifier(sleeps: list[float], **channels: ChannelConfig) -> Notifier:
    cfg = AlertsConfig(channels=channels, attempts=3, backoff_seconds=0.5, timeout_seconds=2)
    return Notifier(cfg, sleep=sleeps.append)


def test_slack_payload_is_text_json(webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK", webhook.url)
    sleeps: list[float] = []
    text = format_alert("daily", "health", Result(Status.CRITICAL, "db down"), "node-1")
    delivery = notifier(sleeps, default=ChannelConfig(url_env="HOOK")).send("default", text)
    assert delivery.delivered and delivery.attempts == 1
    assert webhook.requests[0]["body"] == {"text": "[smc-maint] CRITICAL daily/health on node-1: db down"}
    assert webhook.requests[0]["headers"]["Content-Type"] == "application/json"


def test_retries_with_exponential_backoff_then_delivers(webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK", webhook.url)
    webhook.fail_first = 2
    sleeps: list[float] = []
    delivery = notifier(sleeps, default=ChannelConfig(url_env="HOOK")).send("default", "hello")
    assert delivery.delivered and delivery.attempts == 3
    assert sleeps == [0.5, 1.0]
    assert len(webhook.requests) == 3


def test_dead_webhook_is_a_reason_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/secret-token-123"
    monkeypatch.setenv("HOOK", url)
    sleeps: list[float] = []
    delivery = notifier(sleeps, default=ChannelConfig(url_env="HOOK")).send("default", "hello")
    assert not delivery.delivered and delivery.attempts == 3
    assert delivery.error is not None and "unreachable" in delivery.error
    assert "secret-token-123" not in delivery.error


def test_client_error_is_not_retried(webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK", webhook.url)
    webhook.status = 404
    delivery = notifier([], default=ChannelConfig(url_env="HOOK")).send("default", "hello")
    assert not delivery.delivered and delivery.attempts == 1 and "HTTP 404" in (delivery.error or "")


def test_security_channel_is_separate_and_unknown_channels_fall_back(webhook: Receiver,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK", webhook.url + "/default")
    monkeypatch.setenv("SEC_HOOK", webhook.url + "/security")
    n = notifier([], default=ChannelConfig(url_env="HOOK"), security=ChannelConfig(url_env="SEC_HOOK"))
    assert n.send("security", "cve").delivered
    assert n.send("billing", "x").channel == "default"
    assert [r["path"].rsplit("/", 1)[1] for r in webhook.requests] == ["security", "default"]


def test_missing_destination_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    delivery = notifier([], default=ChannelConfig(url_env="NOPE")).send("default", "x")
    assert not delivery.delivered and "NOPE" in (delivery.error or "")


def test_apprise_url_reaches_a_real_json_endpoint(webhook: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    port = webhook.url.split(":")[2].split("/")[0]
    monkeypatch.setenv("APPRISE_URLS", f"json://127.0.0.1:{port}/apprise")
    delivery = notifier([], default=ChannelConfig(apprise_urls_env="APPRISE_URLS")).send("default", "via apprise")
    assert delivery.delivered
    assert webhook.requests[0]["path"] == "/apprise"
    assert webhook.requests[0]["body"]["message"] == "via apprise"
