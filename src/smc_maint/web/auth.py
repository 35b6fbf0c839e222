"""Bearer-token check for state-changing requests (constant-time comparison)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int
    reason: str


def check_bearer(header: str | None, token: str | None) -> Decision:
    """Allow only ``Authorization: Bearer <token>`` matching the configured token."""
    if not token:
        return Decision(False, 403, "triggering runs is disabled: no token is configured on the server")
    if not header or not header.startswith("Bearer "):
        return Decision(False, 401, "a bearer token is required to trigger a run")
    given = header.removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        return Decision(False, 401, "invalid token")
    return Decision(True, 202, "accepted")
