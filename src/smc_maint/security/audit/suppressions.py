"""Suppressions from the config: check id + object (exact, or an fnmatch pattern) + reason + expiry.

A suppression is active through its ``expires`` day (UTC). Once expired, the finding is open
again and says which suppression lapsed; an unknown check id is a configuration error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

from pydantic import Field, field_validator

from ...config.model import Section
from .findings import CHECKS, Finding


class Suppression(Section):
    check: str = Field(description="check id, e.g. RBAC-001")
    object: str = Field(description="the finding's object, e.g. Deployment/smc-trading/pgbouncer (fnmatch patterns allowed)")
    reason: str = Field(min_length=3, description="why this is accepted")
    expires: date = Field(description="last day (UTC) the suppression applies; then the finding is open again")

    @field_validator("check")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CHECKS:
            raise ValueError(f"unknown check id {value!r} (known: {', '.join(sorted(CHECKS))})")
        return value

    def matches(self, f: Finding) -> bool:
        return f.check == self.check and (f.object == self.object or fnmatchcase(f.object, self.object))


@dataclass(frozen=True)
class Applied:
    open: list[Finding]  # findings that count (including ones whose suppression expired)
    suppressed: list[Finding]
    unused: list[Suppression]  # active suppressions that matched nothing (the problem may be fixed)


def apply(findings: Sequence[Finding], suppressions: Sequence[Suppression], today: date) -> Applied:
    open_: list[Finding] = []
    suppressed: list[Finding] = []
    used: set[int] = set()
    for f in findings:
        match = next(((i, s) for i, s in enumerate(suppressions) if s.matches(f)), None)
        if match is None:
            open_.append(f)
            continue
        index, sup = match
        used.add(index)
        info = {"reason": sup.reason, "expires": sup.expires.isoformat(), "expired": sup.expires < today}
        if sup.expires < today:
            open_.append(f.with_(suppression=info,
                                 message=f"{f.message} [suppression expired {sup.expires}: {sup.reason}]"))
        else:
            suppressed.append(f.with_(suppression=info))
    unused = [s for i, s in enumerate(suppressions) if i not in used and s.expires >= today]
    return Applied(open_, suppressed, unused)
