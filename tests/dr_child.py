"""A DR drill in a child process, for kill -9 tests: ``python -m tests.dr_child CONFIG MODE STATE REACHED``.

MODE ``restore``: hang inside the restore (scratch server up) after writing REACHED.
MODE ``k8s``: a RecordingPlatform in STATE that hangs in list_workloads (after the scale-down).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smc_maint.backups import restore_test
from smc_maint.config.loader import load_config
from smc_maint.dr import drill
from smc_maint.dr.settings import DrDrillSettings
from smc_maint.runner import run_group
from smc_maint.stores import open_store

from .dr_recording_platform import RecordingPlatform


def main() -> None:
    config, mode, state, reached = sys.argv[1:5]
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
        platform = RecordingPlatform(Path(state), block_on="list_workloads", reached=Path(reached))
        settings = cfg.settings_for("dr-drill")
        assert isinstance(settings, DrDrillSettings)
        drill.run_drill(cfg, open_store(cfg), settings, run_id="child-drill", platform=lambda: platform,
                        mode="kubernetes", now=datetime.now(UTC))


if __name__ == "__main__":
    main()
