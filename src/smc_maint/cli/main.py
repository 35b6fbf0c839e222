"""``smc-maint``: run the maintenance runbook's procedures, record, alert and report."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from ..errors import (
    EXIT_CONFIG_ERROR,
    EXIT_INTERNAL,
    EXIT_LOCK_HELD,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    ConfigError,
    HistoryUnavailable,
    LockHeld,
    SafetyRefusal,
    SmcMaintError,
    UsageError,
)
from ..history.store import SlotTaken
from ..redact import RedactingFilter, redact
from . import lazy

if TYPE_CHECKING:  # heavy (pydantic): imported inside the commands that need it
    from ..config.loader import LoadedConfig

try:  # recent Typer vendors its own copy of click
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older Typer uses click itself
    from click import exceptions as click_exc  # type: ignore[no-redef]

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  cls=lazy.LazyGroup)
config_app = typer.Typer(help="Validate or create the configuration file.", no_args_is_help=True)
app.add_typer(config_app, name="config")

out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="config file (else SMC_MAINT_CONFIG, "
                                                "./smc-maint.yaml, user config dir)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("smc_maint")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    handler.setLevel(root.level)
    root.propagate = False


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        out.print(f"smc-maint {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="log more (repeatable)")] = 0,
) -> None:
    """SMC Maintenance: the SMC Trading Agent runbook as tested software."""
    setup_logging(verbose)


def load(config: Path | None) -> LoadedConfig:
    from ..config.loader import load_config

    return load_config(config)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=False) + "\n")


@app.command()
def run(
    group: Annotated[str, typer.Argument(help="daily, weekly, monthly or quarterly")],
    only: Annotated[list[str] | None, typer.Option("--only", help="run only this procedure (repeatable)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan; change and delete nothing")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Run a group of procedures; exit code is the worst status (0 ok, 1 warning, 2 critical, 3 unknown)."""
    from ..forkserver import warm
    from ..registry import GROUPS

    warm(only or GROUPS.get(group, []))  # first: the worker fork server boots while the rest loads
    from . import render
    from .progress import run_with_progress

    cfg = load(config)
    outcome = run_with_progress(cfg, group, as_json=as_json, only=only, dry_run=dry_run)
    if as_json:
        emit_json(outcome.to_json())
    else:
        out.print(render.run_outcome(outcome))
    raise typer.Exit(outcome.status.exit_code)


@app.command()
def history(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="how many runs")] = 20,
    group: Annotated[str | None, typer.Option("--group", help="only this group")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Recorded runs and their procedure results, newest first."""
    from ..history import open_history
    from . import render

    cfg = load(config)
    hist = open_history(cfg)
    runs = hist.runs(limit=limit, group=group)
    results = {r.id: hist.results(r.id) for r in runs}
    if as_json:
        emit_json({"runs": [
            {
                "run_id": r.id, "group": r.group, "trigger": r.trigger, "slot": r.slot,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "status": r.status, "duration_seconds": r.duration_seconds, "dry_run": r.dry_run,
                "log_path": r.log_path, "note": r.note,
                "procedures": [{"id": x.procedure_id, "status": x.status, "summary": x.summary,
                                "duration_seconds": x.duration_seconds, "details": x.details}
                               for x in results[r.id]],
            } for r in runs]})
    else:
        out.print(render.history_table(runs, results))


@config_app.command("check")
def config_check(path: Annotated[Path | None, typer.Argument(help="file to check")] = None,
                 config: ConfigOpt = None) -> None:
    """Validate a configuration file (exit 78 with key and line on error)."""
    cfg = load(path or config)
    out.print(f"configuration OK: {cfg.source or '<defaults>'} (home {cfg.home})")


@config_app.command("init")
def config_init(
    path: Annotated[Path, typer.Argument(help="where to write")] = Path("smc-maint.yaml"),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write a commented default configuration."""
    from importlib.resources import files

    if path.exists() and not force:
        raise SmcMaintError(f"{path} exists; use --force to overwrite")
    path.write_text(files("smc_maint.config").joinpath("default.yaml").read_text(encoding="utf-8"))
    out.print(f"wrote {path}")


def _register_subcommands() -> None:
    """Sub-applications live in their own modules, imported only when their command runs (cli/lazy.py)."""
    lazy.register("demo", "demo_cmd:app", "Run the daily group against an embedded PostgreSQL with demo data.")
    lazy.register("schedule", "schedule_cmd:app", "Schedules: explain them, write systemd units, run what is due, find missed runs.")
    lazy.register("scheduler", "schedule_cmd:scheduler", "Run scheduled groups in the foreground until SIGTERM/SIGINT (a run in progress is marked interrupted).")
    lazy.register("k8s", "k8s_cmd:app", "Kubernetes: CronJobs per group with least-privilege RBAC.")
    lazy.register("report", "report_cmd:report", "Write the monthly maintenance report; every number comes from recorded runs.")
    lazy.register("serve", "serve_cmd:serve", "Serve the web dashboard and Prometheus /metrics computed from the history store.")
    lazy.register("dashboard", "dashboard_cmd:app", "Grafana dashboard for the metrics smc-maint exports.")
    lazy.register("metrics", "metrics_cmd:app", "Prometheus metrics computed from the run history.")
    lazy.register("db-maintenance", "weekly_cmd:db_maintenance_cmd", "Targeted VACUUM/ANALYZE and database checks now; --all for the runbook's blanket vacuum.")
    lazy.register("backup", "backup_cmd:app", "Backups that prove they restore: create, list, verify, prune, restore-test.")
    lazy.register("audit", "audit_cmd:audit", "Run the security audit now. Exit code = its status (0 ok, 1 warning, 2 critical, 3 unknown).")
    lazy.register("dr-drill", "dr_cmd:app", "Disaster-recovery drill: recover into an isolated target, measure RTO/RPO, undo.")
    lazy.register("updates", "updates_cmd:app", "End-of-life data for updates-review.")
    lazy.register("emergency", "emergency_cmd:app", "Emergency maintenance: maintenance mode, trading halt, backup, work, restore.")
    lazy.register("pitr", "pitr_cmd:app", "Point-in-time recovery on pgBackRest: restore to a moment, proven.")
    lazy.register("recoverability", "pitr_cmd:recoverability_cmd", "One verdict: recoverable from A to B, last proven restore, RTO, RPO now, retention (recorded).")


_register_subcommands()


def _exit(code: int, message: str | None = None) -> NoReturn:
    if message:
        err.print(redact(message), markup=False, highlight=False)
    sys.exit(code)


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps errors to documented exit codes, never shows a traceback."""
    # Everything we write (backups, history, run logs, reports) is for the operator only; no file
    # may be born world-readable under a permissive umask, even for a moment.
    os.umask(0o077)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="smc-maint")
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except click_exc.UsageError as exc:
        _exit(EXIT_USAGE, f"usage error: {exc.format_message()}\n(see smc-maint --help)")
    except typer.Abort:
        _exit(130, "aborted")
    except UsageError as exc:
        _exit(EXIT_USAGE, f"usage error: {exc}\n(see smc-maint --help)")
    except ConfigError as exc:
        _exit(EXIT_CONFIG_ERROR, f"config error: {exc}")
    except LockHeld as exc:
        _exit(EXIT_LOCK_HELD, f"locked: {exc}")
    except SlotTaken as exc:
        _exit(0, f"skipped: {exc}")
    except SafetyRefusal as exc:
        _exit(EXIT_REFUSED, f"refused: {exc}")
    except HistoryUnavailable as exc:
        _exit(EXIT_UNAVAILABLE, f"unavailable: {exc}")
    except SmcMaintError as exc:
        _exit(EXIT_INTERNAL, f"error: {exc}")
    except KeyboardInterrupt:
        _exit(130, "interrupted")
    except Exception as exc:  # a bug: say what, without a traceback full of secrets
        logging.getLogger("smc_maint").debug("unhandled error", exc_info=True)
        _exit(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
    sys.exit(rv if isinstance(rv, int) else 0)
