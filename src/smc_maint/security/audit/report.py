"""Write the audit: Markdown and HTML (Jinja2 templates beside this module), JSON and SARIF.

Every text written passes :func:`redact` (a secret value can never be in an audit: values are
stripped at load; this is the second line).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...redact import redact
from ...reporting.render import environment
from ...reporting.service import write_atomic
from .engine import Audit
from .findings import CHECKS, SEVERITIES
from .sarif import to_sarif

FORMATS = ("md", "html", "json", "sarif")
SUFFIX = {"md": "md", "html": "html", "json": "json", "sarif": "sarif.json"}


def render(audit: Audit, kind: str, *, trend: Sequence[dict[str, Any]] = ()) -> str:
    if kind == "json":
        return json.dumps({**audit.to_json(), "trend": list(trend)}, indent=1, default=str) + "\n"
    if kind == "sarif":
        return json.dumps(to_sarif(audit), separators=(",", ":"), default=str) + "\n"
    if kind not in FORMATS:
        raise ValueError(f"unknown audit format {kind!r} (use {', '.join(FORMATS)})")
    template = environment("smc_maint.security.audit").get_template(f"audit.{kind}.j2")
    by_family: dict[str, list[Any]] = {}
    for f in audit.findings:
        by_family.setdefault(CHECKS[f.check].family, []).append(f)
    return template.render(a=audit, by_family=by_family, severities=[s.value for s in SEVERITIES],
                           checks=CHECKS, trend=list(trend))


def file_name(stamp: str, kind: str) -> str:
    return f"security_audit_{stamp}.{SUFFIX[kind]}"


def write(audit: Audit, formats: Sequence[str], out_dir: Path, stamp: str, *,
          trend: Sequence[dict[str, Any]] = ()) -> list[Path]:
    """Write each format atomically (owner-only); returns the paths."""
    paths = []
    for kind in formats:
        path = out_dir / file_name(stamp, kind)
        write_atomic(path, redact(render(audit, kind, trend=trend)))
        os.chmod(path, 0o600)  # where the platform is weak: for the operator only
        paths.append(path)
    return paths
