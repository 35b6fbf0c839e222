"""Pure judgement of one certificate's dates and, for cert-manager, its renewal state.

The warning point is the *smaller* of a number of days and a share of the certificate's
lifetime: a 90-day certificate that cert-manager renews at one third of its life (30 days
left) is not an alarm, a 10-year CA is not flagged years ahead, and a 24-hour certificate
is not permanently "expiring".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..result import Status


@dataclass(frozen=True)
class CertFacts:
    source: str  # endpoint | file | cert-manager
    name: str
    not_before: datetime | None = None
    not_after: datetime | None = None
    subject: str = ""
    issuer: str = ""
    dns_names: tuple[str, ...] = ()
    ready: bool | None = None  # cert-manager Ready condition
    ready_message: str = ""
    renewal_time: datetime | None = None
    failed_issuance_attempts: int = 0
    verify_error: str | None = None
    error: str | None = None  # could not be read at all


@dataclass(frozen=True)
class Thresholds:
    warning_days: float = 21
    critical_days: float = 7
    warning_share: float = 0.2
    critical_share: float = 0.07
    renewal_grace_hours: float = 1


@dataclass(frozen=True)
class Verdict:
    status: Status
    findings: list[str] = field(default_factory=list)
    days_left: float | None = None
    share_left: float | None = None


def judge(c: CertFacts, now: datetime, t: Thresholds) -> Verdict:
    if c.error:
        return Verdict(Status.UNKNOWN, [c.error])
    if c.not_after is None:
        return Verdict(Status.UNKNOWN, ["no notAfter reported (not issued yet?)"] +
                       ([f"not Ready: {c.ready_message}"] if c.ready is False else []))
    left = c.not_after - now
    days_left = left.total_seconds() / 86400
    lifetime = (c.not_after - c.not_before) if c.not_before else None
    share = left / lifetime if lifetime and lifetime.total_seconds() > 0 else None
    findings: list[str] = []
    statuses = [Status.OK]
    if left.total_seconds() <= 0:
        statuses.append(Status.CRITICAL)
        findings.append(f"expired {-days_left:.1f} days ago ({c.not_after:%Y-%m-%d %H:%M} UTC)")
        if c.ready:
            findings.append("Ready but expired: cert-manager's condition is stale, notAfter is what counts")
    elif c.not_before is not None and now < c.not_before:
        statuses.append(Status.CRITICAL)
        findings.append(f"not yet valid: starts {c.not_before:%Y-%m-%d %H:%M} UTC (clock skew or early deploy)")
    else:
        def limit(days: float, part: float) -> timedelta:
            by_days = timedelta(days=days)
            return min(by_days, lifetime * part) if lifetime else by_days

        if left <= limit(t.critical_days, t.critical_share):
            statuses.append(Status.CRITICAL)
            findings.append(f"expires in {days_left:.1f} days" + (f" ({share:.0%} of its lifetime left)" if share else ""))
        elif left <= limit(t.warning_days, t.warning_share):
            statuses.append(Status.WARNING)
            findings.append(f"expires in {days_left:.1f} days" + (f" ({share:.0%} of its lifetime left)" if share else ""))
    if c.renewal_time is not None and now - c.renewal_time > timedelta(hours=t.renewal_grace_hours):
        statuses.append(Status.WARNING)
        findings.append(f"renewal overdue since {c.renewal_time:%Y-%m-%d %H:%M} UTC"
                        + (f", {c.failed_issuance_attempts} failed issuance attempt(s)"
                           if c.failed_issuance_attempts else ""))
    elif c.failed_issuance_attempts:
        statuses.append(Status.WARNING)
        findings.append(f"{c.failed_issuance_attempts} failed issuance attempt(s)")
    if c.ready is False:
        statuses.append(Status.WARNING)
        findings.append(f"not Ready: {c.ready_message or 'no message'}")
    if c.verify_error:
        statuses.append(Status.CRITICAL)
        findings.append(f"clients reject it: {c.verify_error}")
    return Verdict(max(statuses, key=lambda s: s.rank), findings, round(days_left, 2),
                   round(share, 4) if share is not None else None)
