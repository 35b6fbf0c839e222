"""Runner overhead: the daily demo group in worker processes vs the old in-thread way (prints; asserts nothing).

    .venv/bin/python bench/runner_bench.py

Each procedure now starts a worker (``python -m smc_maint.worker``: interpreter, imports, config
rebuilt from JSON). Goal: under 0.5 s of overhead for the whole daily group.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from smc_maint import demo
from smc_maint.config.loader import load_config
from smc_maint.runner import Isolation, run_group

ROUNDS = 3


def bench(home: Path) -> None:
    cfg = load_config(demo.prepare(home=home))
    run_group(cfg, "daily", trigger="bench", isolation="thread")  # warm caches and the first backup
    walls: dict[Isolation, list[float]] = {"thread": [], "process": []}
    per: dict[Isolation, dict[str, list[float]]] = {"thread": {}, "process": {}}
    for _ in range(ROUNDS):
        for isolation in ("thread", "process"):
            outcome = run_group(cfg, "daily", trigger="bench", isolation=isolation)
            walls[isolation].append(outcome.duration_seconds)
            for p in outcome.procedures:
                per[isolation].setdefault(p.procedure_id, []).append(p.duration_seconds)
    for isolation, values in walls.items():
        print(f"daily group, {isolation:7s}: median {statistics.median(values):.2f} s wall over {ROUNDS} runs "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    overhead = statistics.median(walls["process"]) - statistics.median(walls["thread"])
    print(f"overhead of worker processes: {overhead:+.2f} s for {len(per['process'])} procedures "
          f"({overhead / max(1, len(per['process'])):+.3f} s each; goal < 0.5 s for the group)")
    for pid in per["process"]:
        t, p = statistics.median(per["thread"][pid]), statistics.median(per["process"][pid])
        print(f"  {pid:22s} thread {t:6.2f} s  process {p:6.2f} s  ({p - t:+.2f})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="smc-maint-runner-bench-") as tmp:
        home = Path(tmp)
        try:
            bench(home)
        finally:
            demo.stop(home)


if __name__ == "__main__":
    main()
