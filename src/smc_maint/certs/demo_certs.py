"""Certificates for the demo environment: a healthy one, one near expiry, and cert-manager state."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _cert(cn: str, not_before: datetime, not_after: datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def write_demo_certs(directory: Path, now: datetime) -> dict[str, Path]:
    """Write the demo's PEM files and cert-manager JSON (regenerated relative to ``now``)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "api.smc-trading.local.pem").write_bytes(
        _cert("api.smc-trading.local", now - timedelta(days=30), now + timedelta(days=335)))
    (directory / "grafana.smc-trading.local.pem").write_bytes(  # a 90-day certificate nobody renewed
        _cert("grafana.smc-trading.local", now - timedelta(days=85), now + timedelta(days=5)))
    day = timedelta(days=1)

    def ts(at: datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def certificate(name: str, nb: datetime, na: datetime, ready: bool, message: str, failed: int = 0) -> dict[
            str, object]:
        status: dict[str, object] = {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "Ready" if ready
                            else "Failed", "message": message, "lastTransitionTime": ts(nb), "observedGeneration": 1}],
            "notBefore": ts(nb), "notAfter": ts(na), "renewalTime": ts(na - (na - nb) / 3), "revision": 4}
        if failed:
            status["failedIssuanceAttempts"] = failed
            status["lastFailureTime"] = ts(now - day)
        return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": {"name": name, "namespace": "smc-trading", "generation": 1},
                "spec": {"secretName": f"{name}-tls", "dnsNames": [f"{name}.smc-trading.com"],
                         "issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer"}},
                "status": status}

    doc = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
        # 32 days left, renewal due in 2 days (one third of its lifetime): not an alarm
        certificate("api-gateway", now - 58 * day, now + 32 * day, True,
                    "Certificate is up to date and has not expired"),
        certificate("web-app", now - 70 * day, now + 20 * day, False,
                    "Issuing certificate as Secret was previously issued by Issuer.cert-manager.io/letsencrypt-staging",
                    failed=3),
    ]}
    cm = directory / "cert-manager-certificates.json"
    cm.write_text(json.dumps(doc, indent=2))
    return {"dir": directory, "cert_manager": cm}
