"""Every outbound request has a total deadline (issue 11, item 6).

A real HTTP server on 127.0.0.1 answers one byte every 0.2 s: each read succeeds in time, so
per-read timeouts never fire. The server counts the bytes it managed to send before the client
hung up: far fewer than the full answer means the client gave up at its deadline.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry, Gauge

from smc_maint.alerts import Notifier, post_with_retries
from smc_maint.config.model import AlertsConfig, ChannelConfig
from smc_maint.config.observability import PushgatewayConfig
from smc_maint.health.endpoints import Endpoint, probe_all
from smc_maint.reporting.publish import push
from smc_maint.scheduling.deadman import Pinger

BODY = b'{"ok": true}' + b" " * 28
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY
STEP = 0.2  # seconds per byte: the full answer would take about 25 s


@dataclass
class Trickler:
    port: int
    sent: list[int] = field(default_factory=list)  # bytes sent per connection before it ended
    requests: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    srv = socket.create_server(("127.0.0.1", 0))
    state = Trickler(srv.getsockname()[1])
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        sent = 0
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request (small)
                state.requests += 1
                for byte in ANSWER:
                    if stop.is_set():
                        break
                    conn.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(STEP)
            except OSError:
                pass
        state.sent.append(sent)

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield state
    stop.set()
    thread.join(5)
    srv.close()


def _gave_up_early(t: Trickler, connections: int = 1) -> None:
    deadline = time.monotonic() + 10
    while len(t.sent) < connections and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the server side to notice the hang-up (not a timing assertion)
    assert len(t.sent) >= connections, "the client never hung up"
    assert all(n < len(ANSWER) // 2 for n in t.sent), t.sent


def test_webhook_post_is_bounded_in_total(trickler: Trickler) -> None:
    ok, attempts, reason = post_with_retries(trickler.url, payload={"text": "x"}, attempts=2, timeout=1.0,
                                             backoff_seconds=0.0)
    assert not ok and attempts == 2
    assert reason == "webhook unreachable: DeadlineExceeded after 2 attempts"
    _gave_up_early(trickler, 2)


def test_alert_channel_is_bounded(trickler: Trickler, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_TEST_HOOK", trickler.url)
    cfg = AlertsConfig(channels={"default": ChannelConfig(url_env="SMC_TEST_HOOK")}, attempts=1,
                       timeout_seconds=1.0, backoff_seconds=0)
    delivery = Notifier(cfg).send("default", "CRITICAL test")
    assert not delivery.delivered and "DeadlineExceeded" in (delivery.error or "")
    _gave_up_early(trickler)


def test_apprise_is_bounded(trickler: Trickler, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMC_TEST_APPRISE", f"json://127.0.0.1:{trickler.port}/")
    cfg = AlertsConfig(channels={"default": ChannelConfig(apprise_urls_env="SMC_TEST_APPRISE")}, attempts=1,
                       timeout_seconds=1.0, backoff_seconds=0)
    delivery = Notifier(cfg).send("default", "CRITICAL test")
    assert not delivery.delivered
    assert delivery.error == "apprise gave no answer within 1 s"
    assert trickler.requests == 1


def test_deadman_ping_is_bounded(trickler: Trickler) -> None:
    assert Pinger(trickler.url, timeout=1.0, attempts=1, backoff_seconds=0).start() is False
    _gave_up_early(trickler)


def test_health_endpoint_is_bounded(trickler: Trickler) -> None:
    (probe,) = probe_all([Endpoint(name="slow", url=f"{trickler.url}/health", timeout_seconds=1.0)])
    assert not probe.ok and "timed out" in probe.reason
    _gave_up_early(trickler)


def test_pushgateway_push_is_bounded(trickler: Trickler) -> None:
    registry = CollectorRegistry()
    Gauge("smc_test", "test", registry=registry).set(1)
    with pytest.raises(Exception, match="no complete answer within 1 s"):
        push(registry, PushgatewayConfig(url=trickler.url, timeout_seconds=1.0))
    _gave_up_early(trickler)


def test_tls_handshake_of_a_certificate_check_is_bounded() -> None:
    """A TLS peer that announces a 16 KiB handshake record and then trickles it (certificates procedure)."""
    from smc_maint.certs.sources import from_endpoint

    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    sent: list[int] = []

    def serve() -> None:
        conn, _ = srv.accept()
        n = 0
        with conn:
            try:
                conn.recv(65536)  # ClientHello
                conn.sendall(b"\x16\x03\x03\x40\x00")
                for _ in range(200):  # 40 s if nobody hangs up
                    conn.sendall(b"\x00")
                    n += 1
                    time.sleep(STEP)
            except OSError:
                pass
        sent.append(n)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    facts = from_endpoint("127.0.0.1", port, None, timeout=1.0, verify=False, ca_file=None)
    assert facts.error == "TLS connection failed: no complete TLS handshake within 1 s"
    thread.join(10)
    srv.close()
    assert sent and sent[0] < 100, sent


def test_emergency_http_halt_is_bounded_in_total(trickler: Trickler, monkeypatch: pytest.MonkeyPatch) -> None:
    """The halt/resume call of an emergency window: a trickling endpoint must not hold the window."""
    from smc_maint.emergency.halts import HaltError, HttpCalls
    from smc_maint.emergency.settings import HttpHalt

    monkeypatch.setenv("SMC_TEST_HALT", trickler.url + "/halt")
    with pytest.raises(HaltError, match="DeadlineExceeded"):
        HttpCalls(HttpHalt(halt_url_env="SMC_TEST_HALT", timeout_seconds=1.0)).apply()
    _gave_up_early(trickler)


def test_image_tags_lookup_is_bounded_in_total(trickler: Trickler) -> None:
    """updates-review's OCI tags list: a trickling registry ends at the deadline as TagsUnavailable."""
    from smc_maint.updates import tags

    with pytest.raises(tags.TagsUnavailable, match="DeadlineExceeded"):
        tags.list_tags(tags.parse_image("x.io/smc/api:1.0"), base_url=trickler.url, deadline_seconds=1.0)
    _gave_up_early(trickler)
