"""``recovery-marker`` (daily, or every N minutes from the scheduler): one marker row in the platform
database, so any later restore to a moment can be checked against the markers on either side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..backups.markers import write_marker
from ..config.model import Section
from ..context import Context
from ..result import Result, Status


class Settings(Section):
    purpose: str = "scheduled"


def run(ctx: Context, settings: Settings) -> Result:
    if ctx.dry_run:
        return Result(Status.OK, "WOULD write a recovery marker (dry run)")
    with ctx.connect() as conn:
        marker = write_marker(conn, settings.purpose, ctx.run_id)
    return Result(Status.OK, f"recovery marker {marker.id} at {marker.written_at.isoformat()}",
                  {"id": marker.id, "written_at": marker.written_at.isoformat()})


def demo_settings(home: Path) -> dict[str, Any]:
    return {}
