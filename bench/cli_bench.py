"""Print how long ``smc-maint --help`` and ``--version`` take (median of N fresh processes).

Usage: .venv/bin/python bench/cli_bench.py [N] [path/to/smc-maint]
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXE = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(sys.executable).with_name("smc-maint")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(args: list[str], n: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user+sys) seconds per run; CPU time is what a loaded machine inflates least."""
    wall, cpu = [], []
    for _ in range(n):
        start, cpu0 = time.perf_counter(), _cpu()
        subprocess.run([str(EXE), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=60)
        wall.append(time.perf_counter() - start)
        cpu.append(_cpu() - cpu0)
    return wall, cpu


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for args in (["--help"], ["--version"], ["metrics", "--help"]):
        wall, cpu = measure(args, n)
        print(f"smc-maint {' '.join(args):<16} wall median {statistics.median(wall) * 1000:5.0f} ms "
              f"min {min(wall) * 1000:5.0f} ms | cpu median {statistics.median(cpu) * 1000:5.0f} ms (n={n})")


if __name__ == "__main__":
    main()
