"""``pgbouncer``: pools and clients from the admin console; warns on waiting clients and long waits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from ..adapters import pgbouncer
from ..config.model import Section, read_secret
from ..context import Context
from ..result import Result, Status, worst


class Settings(Section):
    host: str | None = Field(None, description="pgbouncer host; unset = no pgbouncer (skipped)")
    port: int = Field(6432, ge=1, le=65535)
    user: str = Field("pgbouncer", description="a user listed in admin_users or stats_users")
    password_env: str = "SMC_MAINT_PGBOUNCER_PASSWORD"  # noqa: S105 - a variable name
    password_file: Path | None = None
    connect_timeout_seconds: int = Field(5, ge=1)
    waiting_clients_warning: int = Field(1, ge=1, description="waiting clients in one pool that warn")
    waiting_clients_critical: int = Field(20, ge=1)
    max_wait_warning_seconds: float = Field(1.0, ge=0, description="oldest waiting client's wait that warns")
    max_wait_critical_seconds: float = Field(10.0, ge=0)


@dataclass(frozen=True)
class PoolState:
    pool: str
    cl_active: int
    cl_waiting: int
    sv_active: int
    sv_idle: int
    sv_used: int
    max_wait_seconds: float
    pool_mode: str


def _int(row: Mapping[str, Any], *names: str) -> int:
    """First present column among ``names`` (pgbouncer renamed some between versions)."""
    for name in names:
        if name in row and row[name] is not None:
            return int(row[name])
    return 0


def _wait_seconds(row: Mapping[str, Any], whole: str, micro: str) -> float:
    return _int(row, whole) + _int(row, micro) / 1_000_000


def assess(pools: Sequence[Mapping[str, Any]], clients: Sequence[Mapping[str, Any]], settings: Settings) -> Result:
    """Pure decision over SHOW POOLS / SHOW CLIENTS rows (dicts keyed by column name)."""
    statuses = [Status.OK]
    problems: list[str] = []
    table: list[PoolState] = []
    for p in pools:
        if p.get("database") == "pgbouncer":
            continue  # the admin console's own pseudo-pool
        waiting = _int(p, "cl_waiting")
        max_wait = _wait_seconds(p, "maxwait", "maxwait_us")
        name = f"{p.get('database')}/{p.get('user')}"
        table.append(PoolState(name, _int(p, "cl_active"), waiting, _int(p, "sv_active"), _int(p, "sv_idle"),
                               _int(p, "sv_used"), round(max_wait, 3), str(p.get("pool_mode") or "")))
        if waiting >= settings.waiting_clients_critical or max_wait >= settings.max_wait_critical_seconds:
            statuses.append(Status.CRITICAL)
        elif waiting >= settings.waiting_clients_warning or max_wait >= settings.max_wait_warning_seconds:
            statuses.append(Status.WARNING)
        else:
            continue
        problems.append(f"pool {name}: {waiting} client(s) waiting, longest {max_wait:.1f} s")
    waiting_clients = [
        {"user": c.get("user"), "database": c.get("database"), "addr": c.get("addr"),
         "application_name": c.get("application_name"), "wait_seconds": round(_wait_seconds(c, "wait", "wait_us"), 3)}
        for c in clients if str(c.get("state", "")).startswith("waiting")]
    active = sum(e.cl_active for e in table)
    waiting_total = sum(e.cl_waiting for e in table)
    max_wait_all = max((e.max_wait_seconds for e in table), default=0.0)
    figures = {"pgbouncer_clients_active": float(active), "pgbouncer_clients_waiting": float(waiting_total),
               "pgbouncer_max_wait_seconds": float(max_wait_all),
               "pgbouncer_server_connections": float(sum(e.sv_active + e.sv_idle + e.sv_used for e in table))}
    details = {"pools": [asdict(e) for e in table], "waiting_clients": waiting_clients, "clients_total": len(clients),
               "problems": problems}
    summary = (f"{len(table)} pool(s), {active} active and {waiting_total} waiting client(s), "
               f"longest wait {max_wait_all:.1f} s")
    if problems:
        summary += "; " + "; ".join(problems)
    return Result(worst(statuses), summary, details, figures)


def run(ctx: Context, settings: Settings) -> Result:
    if not settings.host:
        return Result(Status.SKIPPED, "no pgbouncer configured (procedures.pgbouncer.host)")
    password = read_secret(settings.password_env, settings.password_file)
    try:
        rows = pgbouncer.show(settings.host, settings.port, settings.user, password, ["POOLS", "CLIENTS"],
                              settings.connect_timeout_seconds)
    except pgbouncer.PgbouncerUnavailable as exc:
        return Result(Status.CRITICAL, f"pgbouncer admin console {settings.host}:{settings.port} unreachable: {exc}")
    return assess(rows["POOLS"], rows["CLIENTS"], settings)


def demo_settings(home: Path) -> dict[str, Any]:
    return {}  # the demo has no pgbouncer: the procedure reports SKIPPED with the reason
