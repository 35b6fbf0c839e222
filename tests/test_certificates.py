"""certificates: real TLS servers on 127.0.0.1 with trustme-issued certificates, PEM files, cert-manager JSON."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from smc_maint.certs.assess import CertFacts, Thresholds, judge
from smc_maint.certs.demo_certs import write_demo_certs
from smc_maint.config.loader import LoadedConfig
from smc_maint.procedures.certificates import Settings, gather, summarize
from smc_maint.result import Status
from smc_maint.runner import run_group

from .fake_kube_api import FakeKubeApi

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


class TlsServer:
    """A real TLS server in a thread; ``certs`` maps SNI names to trustme leaf certificates."""

    def __init__(self, default: trustme.LeafCert, by_sni: dict[str, trustme.LeafCert] | None = None) -> None:
        self.ctx = self._ctx(default)
        self.sni = {name: self._ctx(leaf) for name, leaf in (by_sni or {}).items()}
        self.ctx.sni_callback = self._pick
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _ctx(leaf: trustme.LeafCert) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(ctx)
        return ctx

    def _pick(self, sslobj: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name in self.sni:
            sslobj.context = self.sni[name]

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass  # clients that reject the certificate abort the handshake

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def tls_server() -> Iterator[Callable[..., TlsServer]]:
    servers: list[TlsServer] = []

    def start(default: trustme.LeafCert, by_sni: dict[str, trustme.LeafCert] | None = None) -> TlsServer:
        servers.append(TlsServer(default, by_sni))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _settings(**kw: Any) -> Settings:
    return Settings.model_validate(kw)


def _ctx_run(settings: Settings) -> Any:
    """What ``run`` does, with the clock read here: gather from the real sources, then judge."""
    return summarize(gather(settings), datetime.now(UTC), settings)


def test_healthy_endpoint_is_ok_and_verified(ca: trustme.CA, ca_file: Path,
                                             tls_server: Callable[..., TlsServer]) -> None:
    srv = tls_server(ca.issue_cert("api.smc.test", not_before=NOW - 30 * DAY, not_after=NOW + 200 * DAY))
    result = _ctx_run(_settings(endpoints=[{"host": "127.0.0.1", "port": srv.port, "server_name": "api.smc.test",
                                            "ca_file": str(ca_file)}]))
    assert result.status is Status.OK, result.summary
    cert = result.details["certificates"][0]
    assert cert["subject"] == "api.smc.test" and 199 < cert["days_left"] < 201


def test_expiring_endpoint_warns_and_sni_selects_the_certificate(
        ca: trustme.CA, ca_file: Path, tls_server: Callable[..., TlsServer]) -> None:
    good = ca.issue_cert("api.smc.test", not_before=NOW - 30 * DAY, not_after=NOW + 200 * DAY)
    expiring = ca.issue_cert("legacy.smc.test", not_before=NOW - 80 * DAY, not_after=NOW + 10 * DAY)
    srv = tls_server(good, {"legacy.smc.test": expiring})
    eps = [{"host": "127.0.0.1", "port": srv.port, "server_name": n, "ca_file": str(ca_file)}
           for n in ("api.smc.test", "legacy.smc.test")]
    result = _ctx_run(_settings(endpoints=eps))
    by_subject = {c["subject"]: c for c in result.details["certificates"]}
    assert by_subject["api.smc.test"]["status"] == "ok"
    assert by_subject["legacy.smc.test"]["status"] == "warning"  # 10 of 90 days left: under 20 % of lifetime
    assert "expires in 10.0 days (11% of its lifetime left)" in by_subject["legacy.smc.test"]["findings"][0]
    assert result.status is Status.WARNING


def test_expired_untrusted_and_wrong_host_are_critical(ca: trustme.CA, ca_file: Path,
                                                       tls_server: Callable[..., TlsServer]) -> None:
    expired = tls_server(ca.issue_cert("old.smc.test", not_before=NOW - 400 * DAY, not_after=NOW - 2 * DAY))
    fine = tls_server(ca.issue_cert("api.smc.test", not_before=NOW - DAY, not_after=NOW + 300 * DAY))
    result = _ctx_run(_settings(endpoints=[
        {"host": "127.0.0.1", "port": expired.port, "server_name": "old.smc.test", "ca_file": str(ca_file)},
        {"host": "127.0.0.1", "port": fine.port, "server_name": "api.smc.test"},  # system store: untrusted CA
        {"host": "127.0.0.1", "port": fine.port, "server_name": "www.smc.test", "ca_file": str(ca_file)},
    ]))
    certs = result.details["certificates"]
    assert certs[0]["findings"][0].startswith("expired 2.0 days ago")
    assert "clients reject it" in certs[1]["findings"][0] and "certificate" in certs[1]["findings"][0]
    assert "clients reject it" in certs[2]["findings"][0] and "mismatch" in certs[2]["findings"][0]
    assert [c["status"] for c in certs] == ["critical"] * 3
    assert result.status is Status.CRITICAL


def test_missing_ca_file_is_a_clear_unknown(ca: trustme.CA, tls_server: Callable[..., TlsServer],
                                            tmp_path: Path) -> None:
    srv = tls_server(ca.issue_cert("api.smc.test", not_before=NOW - DAY, not_after=NOW + 300 * DAY))
    result = _ctx_run(_settings(endpoints=[{"host": "127.0.0.1", "port": srv.port, "server_name": "api.smc.test",
                                            "ca_file": str(tmp_path / "no-such-ca.pem")}]))
    assert result.status is Status.UNKNOWN and "cannot load ca_file" in result.summary


def test_unreachable_endpoint_is_unknown_not_ok() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    result = _ctx_run(_settings(endpoints=[{"host": "127.0.0.1", "port": port}]))
    assert result.status is Status.UNKNOWN and "TLS connection failed" in result.summary


def test_pem_files_and_directories(ca: trustme.CA, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    future = ca.issue_cert("future.smc.test", not_before=NOW + 3 * DAY, not_after=NOW + 90 * DAY)
    future.cert_chain_pems[0].write_to_path(str(certs / "future.crt"))
    chain = ca.issue_cert("chain.smc.test", not_before=NOW - DAY, not_after=NOW + 300 * DAY)
    (certs / "chain.pem").write_bytes(b"".join(p.bytes() for p in chain.cert_chain_pems) + ca.cert_pem.bytes())
    chain.private_key_pem.write_to_path(str(certs / "chain-key.pem"))  # a key next to it: ignored
    (certs / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    result = _ctx_run(_settings(pem_paths=[str(certs), str(tmp_path / "missing.pem")]))
    rows = {Path(c["name"]).name: c for c in result.details["certificates"]}
    assert rows["future.crt"]["status"] == "critical"
    assert rows["future.crt"]["findings"][0].startswith("not yet valid")
    assert rows["chain.pem"]["status"] == "ok" and rows["chain.pem#1"]["status"] == "ok"  # leaf, then the CA
    assert rows["broken.pem"]["status"] == "unknown" and "cannot parse" in rows["broken.pem"]["findings"][0]
    assert rows["missing.pem"]["findings"] == ["path does not exist"]
    assert "chain-key.pem" not in rows


def _cm(name: str, nb: datetime, na: datetime, ready: bool, renewal: datetime | None = None,
        failed: int = 0) -> dict[str, Any]:
    def ts(x: datetime) -> str:
        return x.strftime("%Y-%m-%dT%H:%M:%SZ")
    status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": str(ready), "reason": "Ready",
                                              "message": "Certificate is up to date and has not expired"}],
                              "notBefore": ts(nb), "notAfter": ts(na), "revision": 2}
    if renewal:
        status["renewalTime"] = ts(renewal)
    if failed:
        status["failedIssuanceAttempts"] = failed
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": name, "namespace": "smc-trading"}, "spec": {"dnsNames": [f"{name}.example"]},
            "status": status}


def test_cert_manager_states(tmp_path: Path) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        # renewal point of a 90-day certificate (29.5 days left): the runbook's 30-day alarm fires, we do not
        _cm("normal", NOW - 60.5 * DAY, NOW + 29.5 * DAY, True, renewal=NOW + 0.5 * DAY),
        _cm("stale-ready", NOW - 92 * DAY, NOW - 2 * DAY, True, renewal=NOW - 32 * DAY),
        _cm("stuck", NOW - 75 * DAY, NOW + 15 * DAY, False, renewal=NOW - 15 * DAY, failed=4),
    ]}
    path = tmp_path / "certs.json"
    path.write_text(json.dumps(doc))
    result = _ctx_run(_settings(cert_manager_files=[str(path)]))
    rows = {c["name"]: c for c in result.details["certificates"]}
    assert rows["smc-trading/normal"]["status"] == "ok"
    assert rows["smc-trading/stale-ready"]["status"] == "critical"
    assert any("Ready but expired" in f for f in rows["smc-trading/stale-ready"]["findings"])
    stuck = rows["smc-trading/stuck"]
    assert stuck["status"] == "warning"
    assert any(f.startswith("renewal overdue since") and "4 failed issuance attempt(s)" in f for f in stuck["findings"])
    assert any(f.startswith("not Ready") for f in stuck["findings"])


def test_thresholds_use_the_smaller_of_days_and_lifetime_share() -> None:
    t = Thresholds()
    day_cert = CertFacts("file", "short", NOW - 14 * timedelta(hours=1), NOW + 10 * timedelta(hours=1))
    assert judge(day_cert, NOW, t).status is Status.OK  # a 24-hour certificate with 10 h left
    ca_cert = CertFacts("file", "ca", NOW - 3550 * DAY, NOW + 100 * DAY)
    assert judge(ca_cert, NOW, t).status is Status.OK  # 10-year CA, 100 days left: not flagged years ahead
    assert judge(CertFacts("file", "x", NOW - 360 * DAY, NOW + 20 * DAY), NOW, t).status is Status.WARNING
    assert judge(CertFacts("file", "x", NOW - 360 * DAY, NOW + 5 * DAY), NOW, t).status is Status.CRITICAL


def test_no_sources_is_skipped() -> None:
    assert summarize([], NOW, Settings()).status is Status.SKIPPED
    assert summarize(gather(Settings()), NOW, Settings()).status is Status.SKIPPED


def test_configured_sources_without_certificates_are_findings_not_skipped(ca: trustme.CA, tmp_path: Path) -> None:
    """An empty directory, a key-only file or an empty cert-manager listing checked nothing: say so."""
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    key_only = tmp_path / "tls.key.pem"
    ca.issue_cert("key.smc.test").private_key_pem.write_to_path(str(key_only))
    listing = tmp_path / "certificates.json"
    listing.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))
    result = _ctx_run(_settings(pem_paths=[str(empty_dir), str(key_only)], cert_manager_files=[str(listing)]))
    assert result.status is Status.UNKNOWN
    findings = {c["name"]: c["findings"] for c in result.details["certificates"]}
    assert findings == {where: [f"no certificates found in {where}"]
                        for where in (str(empty_dir), str(key_only), str(listing))}


def test_empty_cluster_listing_is_a_finding(tmp_path: Path, make_config: Callable[..., LoadedConfig]) -> None:
    fake = FakeKubeApi(token="kube-" + "t0ken-empty").start()
    try:
        cfg = make_config({"platform": {"kind": "kubernetes", "namespace": "smc-trading",
                                        "kubeconfig": str(fake.kubeconfig(tmp_path / "kubeconfig"))}})
        result = run_group(cfg, "weekly", only=["certificates"]).procedures[0].result
    finally:
        fake.stop()
    assert result.status is Status.UNKNOWN
    assert "no certificates found in kubernetes:smc-trading/certificates" in result.summary


def test_demo_certificates_produce_findings_through_the_runner(tmp_path: Path,
                                                               make_config: Callable[..., LoadedConfig]) -> None:
    paths = write_demo_certs(tmp_path / "certs", NOW)
    cfg = make_config({"procedures": {"certificates": {"pem_paths": [str(paths["dir"])],
                                                       "cert_manager_files": [str(paths["cert_manager"])]}}})
    result = run_group(cfg, "weekly", only=["certificates"]).procedures[0].result
    assert result.status is Status.CRITICAL  # grafana: 5 days left of 90
    assert "grafana.smc-trading.local.pem" in result.summary and "smc-trading/web-app" in result.summary
    assert "smc-trading/api-gateway" not in result.summary


def test_certificates_listed_through_the_kubernetes_api(tmp_path: Path,
                                                        make_config: Callable[..., LoadedConfig]) -> None:
    fake = FakeKubeApi(token="kube-" + "t0ken-certs").start()  # no API server can run here: see its docstring
    try:
        fake.put(_cm("api-gateway", NOW - 92 * DAY, NOW - DAY, True, renewal=NOW - 31 * DAY))
        cfg = make_config({"platform": {"kind": "kubernetes", "namespace": "smc-trading",
                                        "kubeconfig": str(fake.kubeconfig(tmp_path / "kubeconfig"))}})
        result = run_group(cfg, "weekly", only=["certificates"]).procedures[0].result
    finally:
        fake.stop()
    assert result.status is Status.CRITICAL
    assert "smc-trading/api-gateway: expired 1.0 days ago" in result.summary
    assert "Ready but expired" in result.summary


def test_cluster_unreachable_is_unknown(tmp_path: Path, make_config: Callable[..., LoadedConfig]) -> None:
    fake = FakeKubeApi(token="kube-" + "t0ken-right").start()
    try:
        kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
        kubeconfig.write_text(kubeconfig.read_text().replace("t0ken-right", "t0ken-wrong"))
        cfg = make_config({"platform": {"kind": "kubernetes", "kubeconfig": str(kubeconfig)}})
        result = run_group(cfg, "weekly", only=["certificates"]).procedures[0].result
    finally:
        fake.stop()
    assert result.status is Status.UNKNOWN and "401" in result.summary
    assert "t0ken-wrong" not in result.summary
