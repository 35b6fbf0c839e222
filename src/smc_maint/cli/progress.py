"""Running a group from the command line: live progress on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from ..config.loader import LoadedConfig
from ..reporting.publish import publish_after_run
from ..runner import ProcedureOutcome, RunOutcome, run_group
from .render import status_text


def run_with_progress(cfg: LoadedConfig, group: str, *, as_json: bool, only: Sequence[str] | None = None,
                      dry_run: bool = False, trigger: str = "manual", **kwargs: Any) -> RunOutcome:
    """Run ``group``; on an interactive stderr (and not --json) show each procedure as it finishes."""
    interactive = sys.stderr.isatty() and not as_json
    if not dry_run:
        kwargs.setdefault("after_run", publish_after_run(cfg, kwargs.get("clock")))
    if not interactive:
        return run_group(cfg, group, only=only, dry_run=dry_run, trigger=trigger, **kwargs)
    err = Console(stderr=True)
    with err.status(f"running {group}...") as status:

        def show(outcome: ProcedureOutcome) -> None:
            err.print(status_text(outcome.result.status.value), outcome.procedure_id,
                      f"[dim]({outcome.duration_seconds:.1f} s)[/dim]")
            status.update(f"running {group}...")

        return run_group(cfg, group, only=only, dry_run=dry_run, trigger=trigger, interactive=True,
                         on_result=show, **kwargs)
