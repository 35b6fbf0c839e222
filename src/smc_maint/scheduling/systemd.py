"""systemd service + timer units per group, the alternative to ``smc-maint scheduler``.

The timer only wakes ``smc-maint schedule run GROUP``; that command computes the slot, applies
the catch-up policy and keys the run in history, so the timer's own catch-up is not relied on.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from croniter import croniter

from ..errors import ConfigError
from .config import GroupSchedule, ScheduleConfig

_DOW = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


def _field(values: list[int | str], width: int = 2) -> str:
    if values == ["*"]:
        return "*"
    return ",".join(f"{int(v):0{width}d}" for v in values)


def on_calendar(cron: str, timezone: str) -> str:
    """The systemd OnCalendar= form of a five-field cron expression in ``timezone``."""
    fields, _ = croniter.expand(cron)
    minute, hour, dom, month, dow = fields
    if dom != ["*"] and dow != ["*"]:
        raise ConfigError(f"cron {cron!r} restricts both day of month and day of week: cron ORs them, systemd "
                          "ANDs them; use two groups or one of the two fields")
    days = "" if dow == ["*"] else ",".join(_DOW[int(d) % 7] for d in dow) + " "
    return f"{days}*-{_field(month)}-{_field(dom)} {_field(hour)}:{_field(minute)}:00 {timezone}"


def units(group: str, gs: GroupSchedule, sched: ScheduleConfig, *, executable: str, config: Path | None,
          user: str) -> dict[str, str]:
    """File name -> text of the service and timer of one group."""
    args = [executable, "schedule", "run", group, "--trigger", "systemd"]
    if config is not None:
        args += ["--config", str(config)]
    name = f"smc-maint-{group}"
    service = f"""[Unit]
Description=smc-maint {group} maintenance (slot-keyed; runs at most once per slot)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User={user}
ExecStart={shlex.join(args)}
# Secrets (database password, webhook and ping URLs) come from this file, never from the command line.
EnvironmentFile=-/etc/smc-maint/env
# Exit codes 1-3 are WARNING/CRITICAL/UNKNOWN results: the run happened and is in history.
SuccessExitStatus=1 2 3
TimeoutStopSec=120
KillSignal=SIGTERM
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
# Backups, run history and logs hold production data: only the service user may read them.
StateDirectory=smc-maint
StateDirectoryMode=0700
UMask=0077
Environment=SMC_MAINT_HOME=/var/lib/smc-maint
"""
    timer = f"""[Unit]
Description=smc-maint {group} schedule ({gs.cron} in {sched.timezone})

[Timer]
OnCalendar={on_calendar(gs.cron, sched.timezone)}
# Missed while down: run on boot; `schedule run` applies the catch-up policy ({gs.catch_up}).
Persistent={'false' if gs.catch_up == 'skip' else 'true'}
AccuracySec=1s
Unit={name}.service

[Install]
WantedBy=timers.target
"""
    return {f"{name}.service": service, f"{name}.timer": timer}


def all_units(sched: ScheduleConfig, groups: list[str], *, executable: str, config: Path | None,
              user: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for group in groups:
        out.update(units(group, sched.groups[group], sched, executable=executable, config=config, user=user))
    return out
