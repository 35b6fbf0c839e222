"""Read certificates: the chain a TLS endpoint serves, PEM files/directories, cert-manager JSON.

Failures become a :class:`CertFacts` with ``error`` set, never an exception, so one bad source
cannot hide the others.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..adapters.clock import parse_iso
from ..adapters.deadline import Deadline, socket_deadline
from ..adapters.input_files import DEFAULT_MAX_BYTES, InputFileError, load_documents, read_limited, unexpected
from .assess import CertFacts

PEM_SUFFIXES = (".pem", ".crt", ".cer")


def _from_x509(cert: x509.Certificate, source: str, name: str) -> CertFacts:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        dns = ()
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertFacts(source, name, cert.not_valid_before_utc, cert.not_valid_after_utc,
                     subject=str(cn[0].value) if cn else dns[0] if dns else cert.subject.rfc4514_string(),
                     issuer=cert.issuer.rfc4514_string(), dns_names=dns)


def from_endpoint(host: str, port: int, server_name: str | None, timeout: float, verify: bool,
                  ca_file: Path | None) -> CertFacts:
    """The leaf certificate ``host:port`` serves for ``server_name`` (SNI); verification is a separate try."""
    sni = server_name or host
    label = f"{host}:{port}" + (f" ({sni})" if sni != host else "")
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE  # read even expired or untrusted certificates: that is the point
    deadline = Deadline()
    connected = False
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                socket_deadline(sock, timeout) as deadline:
            connected = True
            with insecure.wrap_socket(sock, server_hostname=sni) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        # The per-read timeout and the total deadline have the same length: on a loaded machine
        # either may fire first, and both mean the handshake did not complete in time.
        late = deadline.fired or (connected and isinstance(exc, TimeoutError))
        why = f"no complete TLS handshake within {timeout:g} s" if late else str(exc)
        return CertFacts("endpoint", label, error=f"TLS connection failed: {why}")
    if not der:
        return CertFacts("endpoint", label, error="the server sent no certificate")
    try:
        facts = _from_x509(x509.load_der_x509_certificate(der), "endpoint", label)
    except Exception as exc:  # a hostile or broken certificate is this endpoint's finding
        return CertFacts("endpoint", label, error=f"cannot parse the served certificate: {unexpected(exc)}")
    if not verify:
        return facts
    try:
        strict = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        return CertFacts(**{**facts.__dict__, "error": f"cannot load ca_file {ca_file}: {exc}"})
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                socket_deadline(sock, timeout) as deadline, strict.wrap_socket(sock, server_hostname=sni):
            pass
    except ssl.SSLCertVerificationError as exc:
        return CertFacts(**{**facts.__dict__, "verify_error": exc.verify_message or str(exc)})
    except (OSError, ssl.SSLError) as exc:
        why = f"no complete TLS handshake within {timeout:g} s" if deadline.fired else str(exc)
        return CertFacts(**{**facts.__dict__, "verify_error": f"handshake failed: {why}"})
    return facts


def _pem_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in PEM_SUFFIXES))
        else:
            out.append(p)
    return out


def from_pem_paths(paths: Iterable[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> list[CertFacts]:
    """Every certificate in the files (a chain file yields each certificate); keys are ignored.

    Each file is judged on its own: one that cannot be read or parsed is a finding with the
    reason, never an exception that would hide the certificates in the other files.
    """
    found: list[CertFacts] = []
    for f in _pem_files(paths):
        try:
            data = read_limited(f, max_bytes)
        except InputFileError as exc:
            found.append(CertFacts("file", str(f), error=str(exc)))
            continue
        try:
            found.extend(_from_pem_bytes(data, f))
        except Exception as exc:  # malformed extensions or names surface lazily, on access
            found.append(CertFacts("file", str(f), error=f"cannot parse: {unexpected(exc)}"))
    return found


def _from_pem_bytes(data: bytes, f: Path) -> list[CertFacts]:
    found: list[CertFacts] = []
    if b"-----BEGIN CERTIFICATE-----" not in data:
        if f.suffix.lower() in (".crt", ".cer"):
            try:
                found.append(_from_x509(x509.load_der_x509_certificate(data), "file", str(f)))
            except ValueError:
                found.append(CertFacts("file", str(f), error="not a PEM or DER certificate"))
        return found  # e.g. a private key .pem next to the certificate
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        found.append(CertFacts("file", str(f), error=f"cannot parse: {exc}"))
        return found
    for i, cert in enumerate(certs):
        found.append(_from_x509(cert, "file", str(f) if i == 0 else f"{f}#{i}"))
    return found


def _time(value: Any) -> datetime | None:
    """A cert-manager status time; garbage raises ValueError (reported as a malformed status)."""
    return parse_iso(str(value)) if value else None


def from_cert_manager(doc: Any, origin: str) -> list[CertFacts]:
    """Certificates from ``kubectl get certificates -o json`` (a List) or a single Certificate object."""
    items = doc.get("items") if isinstance(doc, dict) and "items" in doc else [doc]
    if not isinstance(items, list):
        return [CertFacts("cert-manager", origin, error=f"malformed {origin}: 'items' is not a list")]
    found: list[CertFacts] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get("kind") not in (None, "Certificate"):
            continue
        try:
            found.append(_cert_manager_item(item, origin))
        except Exception as exc:  # wrong types anywhere in one item: that item is the finding
            found.append(CertFacts("cert-manager", f"{origin} items[{index}]",
                                   error=f"malformed Certificate: {unexpected(exc)}"))
    return found


def _cert_manager_item(item: dict[str, Any], origin: str) -> CertFacts:
    meta = item.get("metadata") or {}
    name = f"{meta.get('namespace', '-')}/{meta.get('name', '?')}"
    status = item.get("status") or {}
    ready_cond = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    try:
        return CertFacts(
            "cert-manager", name, _time(status.get("notBefore")), _time(status.get("notAfter")),
            subject=(item.get("spec") or {}).get("commonName") or ", ".join((item.get("spec") or {}).get(
                "dnsNames") or []),
            issuer=str(((item.get("spec") or {}).get("issuerRef") or {}).get("name", "")),
            dns_names=tuple((item.get("spec") or {}).get("dnsNames") or ()),
            ready=None if ready_cond is None else ready_cond.get("status") == "True",
            ready_message=str((ready_cond or {}).get("message", "")),
            renewal_time=_time(status.get("renewalTime")),
            failed_issuance_attempts=int(status.get("failedIssuanceAttempts") or 0))
    except (ValueError, TypeError) as exc:
        return CertFacts("cert-manager", name, error=f"malformed status in {origin}: {exc}")


def from_cert_manager_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> list[CertFacts]:
    try:
        docs = load_documents(path, max_bytes)
    except InputFileError as exc:
        return [CertFacts("cert-manager", str(path), error=f"cannot read cert-manager JSON: {exc}")]
    return [facts for doc in docs for facts in from_cert_manager(doc, str(path))]
