"""Secrets hygiene from metadata only: a Secret's values are stripped when it is loaded.

TLS expiry comes from cert-manager (the Certificate's ``status.notAfter``, found by
``spec.secretName`` or the secret's ``cert-manager.io/certificate-name`` annotation), never from
``tls.crt``: reading it would mean reading a secret's value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..vulnerability_reports import parse_time
from .findings import Finding, Severity, finding
from .objects import Inventory, meta, name_of, namespace_of, ref, ref_of, seq
from .workloads import PodSource

SA_TOKEN = "kubernetes.io/service-account-token"  # noqa: S105 - a Secret type name
TLS = "kubernetes.io/tls"
CERT_ANNOTATION = "cert-manager.io/certificate-name"
HELM = "helm.sh/release.v1"  # Helm's own release records: used by Helm, not by pods


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def pod_references(pod: PodSource) -> Iterator[tuple[str, str]]:
    """(secret name, how) for every secret a pod spec uses."""
    spec = pod.spec
    for v in seq(spec.get("volumes")):
        v = _m(v)
        if _m(v.get("secret")).get("secretName"):
            yield str(v["secret"]["secretName"]), "volume"
        for src in seq(_m(v.get("projected")).get("sources")):
            if _m(_m(src).get("secret")).get("name"):
                yield str(src["secret"]["name"]), "projected volume"
    for s in seq(spec.get("imagePullSecrets")):
        if _m(s).get("name"):
            yield str(s["name"]), "imagePullSecret"
    for c in pod.containers():
        for name, _, _ in env_references(c):
            yield name, "env"


def env_references(container: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(secret, env var, key) for secretKeyRef and envFrom secretRef ('*' for every key)."""
    for e in seq(container.get("env")):
        key_ref = _m(_m(_m(e).get("valueFrom")).get("secretKeyRef"))
        if key_ref.get("name"):
            yield str(key_ref["name"]), str(_m(e).get("name")), str(key_ref.get("key") or "")
    for src in seq(container.get("envFrom")):
        sref = _m(_m(src).get("secretRef"))
        if sref.get("name"):
            yield str(sref["name"]), f"{_m(src).get('prefix') or ''}*", "*"


def used_secrets(inv: Inventory, pods: Sequence[PodSource]) -> set[tuple[str, str]]:
    used = {(p.namespace, name) for p in pods for name, _ in pod_references(p)}
    accounts = {(namespace_of(sa), name_of(sa)) for sa in inv.of("ServiceAccount")}
    for sa in inv.of("ServiceAccount"):
        for key in ("secrets", "imagePullSecrets"):
            used |= {(namespace_of(sa), str(_m(s).get("name"))) for s in seq(sa.get(key))}
    for ing in inv.of("Ingress"):
        used |= {(namespace_of(ing), str(_m(t).get("secretName"))) for t in seq(_m(ing.get("spec")).get("tls"))}
    for cert in inv.of("Certificate"):
        used.add((namespace_of(cert), str(_m(cert.get("spec")).get("secretName"))))
    for s in inv.of("Secret"):
        owner = _m(meta(s).get("annotations")).get("kubernetes.io/service-account.name")
        if s.get("type") == SA_TOKEN and (namespace_of(s), str(owner)) in accounts:
            used.add((namespace_of(s), name_of(s)))
    return used


def rotated_at(secret: Mapping[str, Any], annotations: Sequence[str]) -> tuple[datetime | None, str]:
    notes = _m(meta(secret).get("annotations"))
    for key in annotations:
        when = parse_time(str(notes.get(key) or ""))
        if when is not None:
            return when, f"annotation {key}"
    return parse_time(str(meta(secret).get("creationTimestamp") or "")), "creationTimestamp"


def check(inv: Inventory, pods: Sequence[PodSource], now: datetime, *, max_age_days: float,
          tls_warning_days: float, rotation_annotations: Sequence[str], oldest_listed: int = 10
          ) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Findings, and the oldest secrets (name, age, where the age comes from) for the report."""
    found: list[Finding] = []
    for pod in pods:
        exposed: dict[str, list[str]] = defaultdict(list)
        for c in pod.containers():
            for secret, var, key in env_references(c):
                exposed[secret].append(f"{c.get('name')}:{var}" + (f" (key {key})" if key != "*" else " (all keys)"))
        if exposed:
            text = "; ".join(f"secret {s} -> {', '.join(v)}" for s, v in sorted(exposed.items()))
            found.append(finding("SEC-001", pod.ref, text, namespace=pod.namespace,
                                 secrets=sorted(exposed), env=dict(exposed)))
    used = used_secrets(inv, pods)
    certs = {(namespace_of(c), str(_m(c.get("spec")).get("secretName"))): c for c in inv.of("Certificate")}
    by_name = {(namespace_of(c), name_of(c)): c for c in inv.of("Certificate")}
    ages: list[dict[str, Any]] = []
    for s in inv.of("Secret"):
        ns, name, kind = namespace_of(s), name_of(s), str(s.get("type") or "Opaque")
        obj = ref_of(s)
        if (ns, name) not in used and kind not in (HELM, SA_TOKEN):
            found.append(finding("SEC-002", obj, f"{kind} secret referenced by no pod, service account, "
                                 "imagePullSecrets, Ingress or Certificate", namespace=ns))
        when, basis = rotated_at(s, rotation_annotations)
        if when is not None:
            age = (now - when).total_seconds() / 86400
            ages.append({"secret": obj, "age_days": round(age, 1), "since": when.isoformat(), "basis": basis})
            if max_age_days and age > max_age_days:
                found.append(finding("SEC-003", obj, f"last rotated {age:.0f} days ago (by {basis}); "
                                     f"limit {max_age_days:g} days", namespace=ns, age_days=round(age, 1)))
        if kind == TLS:
            found += _tls(s, obj, certs, by_name, now, tls_warning_days)
    ages.sort(key=lambda a: -a["age_days"])
    return found, ages[:oldest_listed]


def _tls(secret: Mapping[str, Any], obj: str, certs: Mapping[tuple[str, str], Mapping[str, Any]],
         by_name: Mapping[tuple[str, str], Mapping[str, Any]], now: datetime, warn_days: float) -> list[Finding]:
    ns, name = namespace_of(secret), name_of(secret)
    cert_name = _m(meta(secret).get("annotations")).get(CERT_ANNOTATION)
    cert = certs.get((ns, name)) or (by_name.get((ns, str(cert_name))) if cert_name else None)
    not_after = parse_time(str(_m(cert.get("status")).get("notAfter") or "")) if cert else None
    if not_after is None:
        why = "no cert-manager Certificate manages it" if cert is None else "its Certificate has no status.notAfter"
        return [finding("SEC-005", obj, f"expiry unknown: {why} (certificate values are never read)", namespace=ns)]
    days = (not_after - now).total_seconds() / 86400
    cert_ref = ref("Certificate", ns, name_of(cert or {}))
    if days <= 0:
        return [finding("SEC-004", obj, f"EXPIRED {-days:.1f} days ago ({cert_ref} notAfter {not_after:%Y-%m-%d})",
                        namespace=ns, severity=Severity.CRITICAL, days_left=round(days, 1))]
    if days < warn_days:
        sev = Severity.HIGH if days < 7 else Severity.MEDIUM
        return [finding("SEC-004", obj, f"expires in {days:.1f} days ({cert_ref} notAfter {not_after:%Y-%m-%d})",
                        namespace=ns, severity=sev, days_left=round(days, 1))]
    return []
