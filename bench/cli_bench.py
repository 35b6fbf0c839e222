"""Print how long ``smc-maint --help`` and ``--version`` take (median of N fresh processes).

Usage: .venv/bin/python bench/cli_bench.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("smc-maint")


def measure(args: list[str], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([str(EXE), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=60)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for args in (["--help"], ["--version"], ["metrics", "--help"]):
        t = measure(args, n)
        print(f"smc-maint {' '.join(args):<16} median {statistics.median(t) * 1000:6.0f} ms  "
              f"min {min(t) * 1000:6.0f} ms  max {max(t) * 1000:6.0f} ms  (n={n})")


if __name__ == "__main__":
    main()
