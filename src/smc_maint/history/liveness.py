"""Is a run that history shows as ``running`` still alive? ONE rule, used by every reader.

Health's missed-run check, metrics, the dashboard, ``history`` and the runner all see runs
through :class:`History`, which applies :func:`is_dead` before it answers; a killed run is
marked interrupted the first time anyone looks, not when its group next runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psutil

HEARTBEAT_SECONDS = 10.0  # how often a runner refreshes its runs' heartbeat
STALE_AFTER_SECONDS = 6 * HEARTBEAT_SECONDS  # a heartbeat older than this: the other host's runner is gone
START_TOLERANCE_SECONDS = 1.0  # create_time is rounded; a reused pid starts much later


@dataclass(frozen=True)
class Liveness:
    host: str
    pid: int
    process_started: float | None  # psutil create_time of the runner process
    heartbeat_at: datetime


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), or None if there is no such process."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:  # AccessDenied: it exists; its start time is unknown
        return -1.0


def is_dead(live: Liveness | None, *, run_host: str, run_pid: int, run_started: datetime, here: str,
            now: datetime, longest_seconds: float | None,
            probe: Callable[[int], float | None] = process_started) -> bool:
    """Whether a ``running`` run can no longer finish (pure but for ``probe``).

    On this host: its runner process is gone, or the pid now belongs to a process started at
    another time. On another host: its heartbeat stopped; a run recorded before heartbeats
    existed is dead once it outlived every timeout of its procedures (``longest_seconds``).
    """
    host = live.host if live else run_host
    pid = live.pid if live else run_pid
    if host == here:
        if pid <= 0:  # no pid recorded: only age can tell
            return longest_seconds is not None and (now - run_started).total_seconds() > longest_seconds
        started = probe(pid)
        if started is None:
            return True
        if live is None or live.process_started is None or started < 0:
            return False
        return abs(started - live.process_started) > START_TOLERANCE_SECONDS
    if live is not None:
        return (now - live.heartbeat_at).total_seconds() > STALE_AFTER_SECONDS
    return longest_seconds is not None and (now - run_started).total_seconds() > longest_seconds
