"""A DR drill in a child process, for kill -9 tests: ``python -m tests.dr_child CONFIG MODE REACHED``.

MODE ``restore``: hang inside the restore (scratch server up) after writing REACHED.
MODE ``k8s``: the configured KubernetesPlatform (the test's fake API server); hangs while waiting for
the DR workloads, i.e. after the scale-down and the DR namespace.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from smc_maint.backups import restore_test
from smc_maint.config.loader import load_config
from smc_maint.dr import drill
from smc_maint.runner import run_group


def main() -> None:
    config, mode, reached = sys.argv[1:4]
    cfg = load_config(Path(config))
    if mode == "restore":
        real = restore_test.restore_archive

        def hang(*args: Any, **kwargs: Any) -> None:
            real(*args, **kwargs)
            Path(reached).write_text("restoring")
            time.sleep(600)

        restore_test.restore_archive = hang  # type: ignore[assignment]
        run_group(cfg, "quarterly", only=["dr-drill"], isolation="thread")  # the patch must be seen
    else:
        def hang_waiting(*args: Any, **kwargs: Any) -> Any:
            Path(reached).write_text("scaled down")
            time.sleep(600)

        drill.wait_workloads = hang_waiting  # type: ignore[assignment]
        run_group(cfg, "quarterly", only=["dr-drill"], isolation="thread")

if __name__ == "__main__":
    main()
