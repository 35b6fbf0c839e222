"""The diagnostic report written when a health check fails (the runbook's generate-diagnostic-report.sh).

Everything in it passes :func:`redact`; the file is created 0600 because query texts can be sensitive.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..adapters.host import HostFacts, ProcessInfo
from ..redact import redact
from .endpoints import Probe

LONG_QUERIES = """
SELECT pid, usename, state, extract(epoch FROM now() - query_start)::float8 AS seconds,
       wait_event_type, left(query, 300)
FROM pg_stat_activity
WHERE state IS DISTINCT FROM 'idle' AND query_start < now() - make_interval(secs => %(secs)s)
  AND pid <> pg_backend_pid()
ORDER BY query_start LIMIT 20
"""

CONNECTIONS = """
SELECT coalesce(datname, '-'), coalesce(state, backend_type), count(*)
FROM pg_stat_activity GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
"""


@dataclass
class DbDiagnostics:
    """PostgreSQL facts for the report; ``error`` when they could not be gathered."""

    connections: list[tuple[str, str, int]] = field(default_factory=list)
    max_connections: int | None = None
    long_queries: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def gather_db(conn: Any, long_query_seconds: float) -> DbDiagnostics:
    diag = DbDiagnostics()
    diag.connections = [(str(d), str(s), int(n)) for d, s, n in conn.execute(CONNECTIONS).fetchall()]
    row = conn.execute("SELECT current_setting('max_connections')::int").fetchone()
    diag.max_connections = int(row[0]) if row else None
    for pid, user, state, secs, wait, query in conn.execute(LONG_QUERIES, {"secs": long_query_seconds}).fetchall():
        diag.long_queries.append({"pid": pid, "user": user, "state": state, "seconds": round(float(secs), 1),
                                  "wait": wait, "query": redact(str(query or ""))})  # PASSWORD '...' etc.
    return diag


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


_BAD_RESULT = re.compile(r"^[\w.-]+: (WARNING|CRITICAL|UNKNOWN): ")


def _noteworthy(line: str) -> bool:
    """A WARNING/ERROR record, or the runner's line for a procedure that was not ok."""
    parts = line.split(" ", 4)  # date time level logger: message
    if len(parts) < 5:
        return False
    return parts[2] in ("WARNING", "ERROR", "CRITICAL") or bool(_BAD_RESULT.match(parts[4]))


def recent_log_errors(log_dir: Path, *, runs: int = 3, limit: int = 50) -> list[str]:
    """WARNING/ERROR lines of the newest ``runs`` run logs (this run's included), oldest first."""
    logs = sorted(log_dir.glob("*.log"), key=_mtime, reverse=True)[:runs]
    lines: list[str] = []
    for path in reversed(logs):
        try:
            with path.open(encoding="utf-8", errors="replace") as fh:
                lines.extend(f"{path.name}: {ln.rstrip()}" for ln in fh if _noteworthy(ln))
        except OSError:
            continue
    return lines[-limit:]


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    head = list(header)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return out


def render(*, at: datetime, run_id: str, problems: list[str], db_error: str | None, db_latency: float | None,
           probes: list[Probe], host: HostFacts, processes: list[ProcessInfo], db: DbDiagnostics | None,
           log_lines: list[str]) -> str:
    """The report as Markdown (plain text that also renders nicely)."""
    out = ["# smc-maint health diagnostic report", "", f"- time: {at.isoformat()}", f"- run: {run_id}", "",
           "## What failed", ""]
    out += [f"- {p}" for p in problems] or ["- (nothing failed)"]
    out += ["", "## Database", ""]
    if db_error:
        out.append(f"- unreachable: {db_error}")
    else:
        out.append(f"- reachable, SELECT 1 round trip {db_latency:.4f} s" if db_latency is not None else "- reachable")
    if db is not None:
        if db.error:
            out.append(f"- diagnostics unavailable: {db.error}")
        else:
            out += ["", f"Connections (max_connections = {db.max_connections}):", ""]
            out += _table(["database", "state", "count"], db.connections)
            out += ["", "Long-running queries:", ""]
            out += _table(["pid", "user", "state", "seconds", "wait", "query"],
                          ([q["pid"], q["user"], q["state"], q["seconds"], q["wait"], q["query"]]
                           for q in db.long_queries)) if db.long_queries else ["(none)"]
    out += ["", "## HTTP endpoints", ""]
    out += _table(["name", "url", "result", "seconds"],
                  ([p.name, p.url, ("ok: " if p.ok else "FAILED: ") + p.reason, f"{p.seconds:.3f}"] for p in probes)
                  ) if probes else ["(none configured)"]
    out += ["", "## Host resources", "", f"- CPU {host.cpu_percent:.1f}%", f"- memory {host.memory_percent:.1f}%"]
    if host.load1 is not None:
        out.append(f"- load (1 min) {host.load1:.2f}")
    out += [f"- disk {d.path}: {d.percent:.1f}% ({d.used_bytes / 2**30:.1f} of {d.total_bytes / 2**30:.1f} GiB)"
            for d in host.disks]
    out += [f"- disk {e.path}: {e.reason}" for e in host.disk_errors]
    out += ["", "## Top processes", ""]
    out += _table(["pid", "name", "cpu %", "mem %"],
                  ([p.pid, p.name, f"{p.cpu_percent:.1f}", f"{p.memory_percent:.1f}"] for p in processes))
    out += ["", "## Recent warnings and errors in run logs", ""]
    out += [f"    {ln}" for ln in log_lines] or ["(none)"]
    return redact("\n".join(out) + "\n")


def write(report_dir: Path, run_id: str, text: str) -> Path:
    path = report_dir / f"health-{run_id}.md"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
