"""A procedure's deadline: an absolute ``time.monotonic()`` value that travels in the Context.

CLOCK_MONOTONIC is system-wide on Linux, so the runner and its worker child read the same
deadline. Long steps call :func:`check` before they publish, prune or start something new: a
result the runner already declared timed out must never be followed by a published backup.
"""

from __future__ import annotations

import math
import time


class DeadlineExceeded(Exception):
    """The procedure's time is up; the step named in the message was not started."""


def remaining(deadline: float | None) -> float | None:
    """Seconds left (never negative), or None without a deadline."""
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def check(deadline: float | None, step: str) -> None:
    """Raise :class:`DeadlineExceeded` when ``deadline`` has passed, naming the ``step`` not taken."""
    left = remaining(deadline)
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"deadline passed before {step}; not done")


def server_bounds(deadline: float | None, *, statement_seconds: float, lock_seconds: float,
                  grace_seconds: float = 0.0) -> dict[str, int]:
    """Server-side timeouts (milliseconds) for a session opened now; pure but for the clock.

    ``statement_timeout`` and ``idle_in_transaction_session_timeout`` end at the deadline plus the
    grace (a backstop for a worker the runner could not stop); ``lock_timeout`` is at most half of
    what is left, so a blocked lock fails with a reason well before the runner's timeout.
    """
    left = remaining(deadline)
    statement = statement_seconds if left is None else min(statement_seconds, left + grace_seconds)
    lock = lock_seconds if left is None else min(lock_seconds, left / 2)
    idle = statement
    return {"statement_timeout": _ms(statement), "lock_timeout": _ms(lock),
            "idle_in_transaction_session_timeout": _ms(idle)}


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
