"""Host resource facts (CPU, memory, load, disks, busiest processes) read through psutil.

Shared by ``health`` (judges them against thresholds) and ``metrics-snapshot`` (records them).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass(frozen=True)
class DiskUsage:
    path: str
    used_bytes: int
    total_bytes: int
    percent: float


@dataclass(frozen=True)
class DiskError:
    path: str
    reason: str


@dataclass(frozen=True)
class HostFacts:
    cpu_percent: float
    memory_percent: float
    load1: float | None
    disks: list[DiskUsage] = field(default_factory=list)
    disk_errors: list[DiskError] = field(default_factory=list)
    cpu_count: int = 1

    @property
    def sustained_cpu_percent(self) -> float:
        """CPU use that lasted: the sample, capped by the 1-minute load per CPU (a spike is not an outage)."""
        if self.load1 is None:
            return self.cpu_percent
        return min(self.cpu_percent, self.load1 / max(self.cpu_count, 1) * 100)


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    name: str
    cpu_percent: float
    memory_percent: float


def disk_usage(paths: list[Path]) -> tuple[list[DiskUsage], list[DiskError]]:
    """Usage of the filesystem holding each path; a missing path is an error, not a crash."""
    found: list[DiskUsage] = []
    errors: list[DiskError] = []
    for path in paths:
        try:
            usage = psutil.disk_usage(str(path))
        except OSError as exc:
            errors.append(DiskError(str(path), exc.strerror or type(exc).__name__))
            continue
        found.append(DiskUsage(str(path), int(usage.used), int(usage.total), float(usage.percent)))
    return found, errors


def collect(disk_paths: list[Path], cpu_sample_seconds: float = 0.5) -> HostFacts:
    """CPU is sampled over ``cpu_sample_seconds`` (an instant reading is meaningless)."""
    cpu = float(psutil.cpu_percent(interval=cpu_sample_seconds))
    memory = float(psutil.virtual_memory().percent)
    try:
        load1: float | None = os.getloadavg()[0]
    except OSError:
        load1 = None
    disks, errors = disk_usage(disk_paths)
    return HostFacts(cpu, memory, load1, disks, errors, psutil.cpu_count() or 1)


def top_processes(limit: int = 10, sample_seconds: float = 0.3) -> list[ProcessInfo]:
    """The busiest processes by CPU (then memory), measured over ``sample_seconds``."""
    procs = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            continue
    time.sleep(sample_seconds)
    found = []
    for proc in procs:
        try:
            found.append(ProcessInfo(proc.pid, str(proc.info.get("name") or "?"), float(proc.cpu_percent(None)),
                                     float(proc.memory_percent())))
        except psutil.Error:
            continue
    found.sort(key=lambda p: (p.cpu_percent, p.memory_percent), reverse=True)
    return found[:limit]
