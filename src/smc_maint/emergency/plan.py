"""Pure decisions of an emergency window: the steps, durations, Retry-After, the nginx snippet."""

from __future__ import annotations

import html
import math
import re
from datetime import datetime
from pathlib import Path

from .journal import Window
from .settings import Settings

# The forward order. finish runs the steps from VERIFY on; abort runs the restoring ones only.
ASSESS, ANNOUNCE, MAINTENANCE_ON, TRADING_HALT, BACKUP, WORK = (
    "assess", "announce", "maintenance_on", "trading_halt", "backup", "work")
VERIFY, TRADING_RESUME, MAINTENANCE_OFF, NOTIFY = "verify", "trading_resume", "maintenance_off", "notify"
START_STEPS = (ASSESS, ANNOUNCE, MAINTENANCE_ON, TRADING_HALT, BACKUP, WORK)
FINISH_STEPS = (VERIFY, TRADING_RESUME, MAINTENANCE_OFF, NOTIFY)
ABORT_STEPS = (TRADING_RESUME, MAINTENANCE_OFF, NOTIFY)
STEPS = START_STEPS + FINISH_STEPS

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``1.5h`` (bare numbers are minutes) -> seconds; ValueError otherwise."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"duration {text!r}: expected a number with s, m or h (e.g. 10m)")
    seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2) or "m"]
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds


def check_duration(seconds: float, settings: Settings) -> None:
    if seconds > settings.max_duration_minutes * 60:
        raise ValueError(f"duration {seconds / 60:g} min exceeds procedures.emergency.max_duration_minutes "
                         f"({settings.max_duration_minutes:g})")


def retry_after_seconds(now: datetime, deadline: datetime) -> int:
    """RFC 9110 delay-seconds to the planned end: a non-negative integer, rounded up, at least 1."""
    return max(1, math.ceil((deadline - now).total_seconds()))


def _nginx_regex(paths: list[str]) -> str:
    alts = "|".join(re.escape(p.rstrip("/") or "/") for p in paths)
    return f"^({alts})(/.*)?$"


def nginx_snippet(open_paths: list[str], page: Path, retry_after: int) -> str:
    """The server-context include that turns the API into 503 (health paths stay open).

    Server-level ``if``/``return`` run before any location; the maintenance page is served by an
    internal location with ``Retry-After`` (``always``: added to the 503 too).
    """
    exempt = [*open_paths, "/smc-maintenance.html"]
    return (
        "# Written by smc-maint emergency: maintenance mode ON. Do not edit.\n"
        "set $smc_maintenance 1;\n"
        f"if ($uri ~ \"{_nginx_regex(exempt)}\") {{ set $smc_maintenance 0; }}\n"
        "error_page 503 /smc-maintenance.html;\n"
        "if ($smc_maintenance) { return 503; }\n"
        "location = /smc-maintenance.html {\n"
        "    internal;\n"
        f"    root {page.parent};\n"
        f"    try_files /{page.name} =503;\n"
        f"    add_header Retry-After {retry_after} always;\n"
        "    add_header Cache-Control \"no-store\" always;\n"
        "}\n"
    )


OFF_SNIPPET = "# Written by smc-maint emergency: maintenance mode off.\n"


def maintenance_page(deadline: datetime) -> str:
    """The public page: planned end only (the reason is internal and stays out of it)."""
    end = html.escape(f"{deadline:%Y-%m-%d %H:%M} UTC")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Maintenance</title></head>"
            "<body><h1>Maintenance in progress</h1>"
            f"<p>The trading API is temporarily unavailable. Planned end: <time>{end}</time>.</p>"
            "</body></html>\n")


def to_restore(window: Window) -> list[str]:
    """What a restore has to undo: steps that started (their old state is journaled) and are not undone."""
    out = []
    if window.started_data(TRADING_HALT) is not None and not window.is_done(TRADING_RESUME):
        out.append(TRADING_RESUME)
    if window.started_data(MAINTENANCE_ON) is not None and not window.is_done(MAINTENANCE_OFF):
        out.append(MAINTENANCE_OFF)
    return out


def durations(window: Window, ended: datetime) -> dict[str, float]:
    """Seconds: the whole window, maintenance mode, the trading halt (from journal timestamps)."""
    def at(step: str, phase: str) -> datetime | None:
        e = next((e for e in window.entries if e.step == step and e.phase == phase), None)
        return datetime.fromisoformat(e.at) if e else None

    out = {"window_seconds": (ended - window.started_at).total_seconds()}
    for name, on, off in (("maintenance_seconds", MAINTENANCE_ON, MAINTENANCE_OFF),
                          ("halt_seconds", TRADING_HALT, TRADING_RESUME)):
        a, b = at(on, "started"), at(off, "done")
        if a is not None:
            out[name] = ((b or ended) - a).total_seconds()
    return out


def describe(settings: Settings, seconds: float, target: str) -> list[str]:
    """The dry-run plan, one line per step."""
    m, h, w = settings.maintenance, settings.halt, settings.work
    switch = {"none": "no maintenance switch configured (nothing in front of the API changes)",
              "nginx": f"nginx: write {m.nginx.snippet if m.nginx else '?'} (503 + Retry-After, open: "
                       f"{', '.join(m.open_paths)}), nginx -t, nginx -s reload",
              "kubernetes": f"Service {m.kubernetes.service}: selector -> {m.kubernetes.maintenance_selector} "
                            f"(old selector journaled)"}[m.kind]
    halt = {"none": "no trading halt configured",
            "scale": f"scale {h.scale.kind}/{h.scale.name} to 0 (replica count journaled)",
            "http": f"POST the halt URL from ${h.http.halt_url_env}",
            "flag_row": f"set {h.flag_row.table}.{h.flag_row.value_column} = {h.flag_row.halted_value!r} where "
                        f"{h.flag_row.key_column} = {h.flag_row.key!r} (old value journaled)"}[h.kind]
    work = ("wait for `smc-maint emergency finish`" if not (w.commands or w.procedures) else
            f"run {len(w.commands)} command(s) and {', '.join(w.procedures) or 'no procedures'} "
            f"within {w.timeout_seconds:g} s")
    return [
        f"target {target}; window of {seconds / 60:g} min",
        "assess: health check now",
        f"announce: alert to {settings.alert_channel} with the reason and the planned end",
        f"maintenance on: {switch}",
        f"trading halt: {halt}",
        "backup: emergency backup into the store, verified" if settings.backup else "backup: off",
        f"work: {work}",
        f"verify: {', '.join(settings.verify_procedures) or 'nothing'}",
        "trading resume: restore exactly the journaled state",
        "maintenance off: restore exactly the journaled state",
        "notify: alert with the window's durations",
    ]
