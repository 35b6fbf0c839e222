"""``smc-maint audit``: the monthly security audit now, through the runner (lock, history, alerts).

``--from DIR`` audits a directory of ``kubectl get ... -o json`` dumps instead of the configured
source; ``--format`` prints that report (md, html, json, sarif) on stdout, ``--json`` the run.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config.loader import LoadedConfig, load_config
from ..procedures import security_audit
from ..security.audit.report import FORMATS
from . import render
from .progress import run_with_progress

out = Console()
err = Console(stderr=True)


def with_overrides(cfg: LoadedConfig, dump_dir: Path | None, fmt: str | None) -> LoadedConfig:
    """The configuration with the audit reading ``dump_dir`` and writing ``fmt`` too."""
    current = cfg.procedure_settings.get("security-audit")
    if not isinstance(current, security_audit.Settings):
        current = security_audit.Settings()
    update: dict[str, object] = {}
    if dump_dir is not None:
        update["dump_dir"] = dump_dir
    if fmt is not None and fmt not in current.formats:
        update["formats"] = [*current.formats, fmt]
    if not update:
        return cfg
    settings = current.model_copy(update=update)
    return dataclasses.replace(cfg, procedure_settings={**cfg.procedure_settings, "security-audit": settings})


def audit(
    from_dir: Annotated[Path | None, typer.Option("--from", help="directory (or file) of kubectl get ... "
                                                  "-o json dumps to audit instead of the cluster")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="print this report on stdout: "
                                            "md, html, json or sarif")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="audit, but write no report")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the run as one JSON object on stdout")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config file")] = None,
) -> None:
    """Run the security audit now. Exit code = its status (0 ok, 1 warning, 2 critical, 3 unknown)."""
    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="--format")
    if from_dir is not None and not from_dir.exists():
        raise typer.BadParameter(f"{from_dir}: no such file or directory", param_hint="--from")
    cfg = with_overrides(load_config(config), from_dir, fmt)
    outcome = run_with_progress(cfg, "monthly", as_json=as_json, only=["security-audit"], dry_run=dry_run)
    result = outcome.procedures[0].result
    if as_json:
        sys.stdout.write(json.dumps(outcome.to_json(), default=str) + "\n")
    elif fmt is not None and not dry_run:
        suffix = f".{fmt}" if fmt != "sarif" else ".sarif.json"
        path = next((Path(p) for p in result.artifacts if p.endswith(suffix)), None)
        if path is None:
            err.print(f"no {fmt} report was written: {result.summary}", markup=False, highlight=False)
        else:
            sys.stdout.write(path.read_text(encoding="utf-8"))
            err.print(f"{result.status.value.upper()}: {result.summary}", markup=False, highlight=False)
    else:
        out.print(render.run_outcome(outcome))
    raise typer.Exit(outcome.status.exit_code)
