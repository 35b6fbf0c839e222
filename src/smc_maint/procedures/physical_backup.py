"""``physical-backup`` (daily): pgBackRest full or differential backup, with retention (expire).

smc-maint writes the engine's configuration from ``backup.engine``, checks its files (owner,
mode, drift), creates the stanza when missing, then backs up: full when the newest full is older
than ``full_every_days``, else differential. Skipped when no engine is configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.model import Section
from ..context import Context
from ..pitr import engine
from ..pitr.sets import backup_sets, next_backup_type, status_message
from ..result import Result, Status


class Settings(Section):
    pass


def run(ctx: Context, settings: Settings) -> Result:
    if ctx.cfg.config.backup.engine.kind == "none":
        return Result(Status.SKIPPED, "no physical backup engine configured (backup.engine.kind: none)")
    e = ctx.cfg.config.backup.engine
    try:
        lay = engine.layout(ctx.cfg)
        if ctx.dry_run:
            return Result(Status.OK, f"WOULD write {lay.config_dir}/pgbackrest.conf, create stanza {e.stanza} "
                          "if missing, back up and expire (dry run)", {"config": engine.render_conf(lay)})
        drifted = lay.conf_file.is_file() and lay.conf_file.read_text() != engine.render_conf(lay)
        engine.write_config(lay)
        problems = engine.config_problems(lay)
        if problems:
            return Result(Status.CRITICAL, "pgBackRest files: " + "; ".join(problems), {"problems": problems},
                          force_alert=True)
        before = engine.info(lay)
        if status_message(before)[0] != 0:
            engine.check_ok(engine.run(lay, "stanza-create", timeout=600), "stanza-create")
            before = engine.info(lay)
        kind = next_backup_type(backup_sets(before), ctx.clock.now(), e.full_every_days)
        engine.check_ok(engine.run(lay, f"--type={kind}", "backup"), "backup")
        engine.check_ok(engine.run(lay, "expire", timeout=1800), "expire")
        sets = backup_sets(engine.info(lay))
    except engine.EngineError as exc:
        return Result(Status.CRITICAL, str(exc), {"error": str(exc)}, force_alert=True)
    newest = sets[-1]
    details: dict[str, Any] = {"stanza": e.stanza, "type": kind, "label": newest.label,
                               "sets": [s.label for s in sets], "repo": lay.repo_path}
    if drifted:
        details["config_rewritten"] = f"{lay.conf_file} differed from backup.engine (hand edit?) and was rewritten"
    return Result(Status.OK, f"pgBackRest {kind} backup {newest.label} ({newest.size_bytes} bytes); "
                  f"{len(sets)} set(s) kept, oldest from {sets[0].stopped_at:%Y-%m-%d %H:%M} UTC", details,
                  {"physical_backup_bytes": float(newest.size_bytes),
                   "physical_backup_seconds": (newest.stopped_at - newest.started_at).total_seconds(),
                   "physical_backup_sets": float(len(sets))})


def demo_settings(home: Path) -> dict[str, Any]:
    return {}
