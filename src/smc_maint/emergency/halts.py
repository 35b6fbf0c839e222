"""Trading halts: scale the engine to 0, call halt/resume URLs, or set a flag row. Exactly undone.

Like the switches: ``capture`` (journaled before acting), ``apply``, ``restore`` (repeatable).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
import psycopg
from psycopg import sql

from ..adapters import http
from ..adapters.platform import Platform
from ..config.model import read_secret
from ..redact import redact
from .settings import FlagRowHalt, HaltSettings, HttpHalt, ScaleHalt


class HaltError(Exception):
    """The halt or resume could not be done; the message says why (redacted)."""


class Halt(Protocol):
    def capture(self) -> dict[str, Any]: ...

    def apply(self) -> dict[str, Any]: ...

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]: ...


class ScaleToZero:
    def __init__(self, cfg: ScaleHalt, platform: Platform) -> None:
        self.cfg = cfg
        self.platform = platform

    def capture(self) -> dict[str, Any]:
        return {"kind": self.cfg.kind, "name": self.cfg.name,
                "replicas": self.platform.get_scale(self.cfg.kind, self.cfg.name)}

    def apply(self) -> dict[str, Any]:
        before = self.platform.scale(self.cfg.kind, self.cfg.name, 0)
        return {"replicas_before": before}

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]:
        self.platform.scale(captured["kind"], captured["name"], int(captured["replicas"]))
        return {"replicas": int(captured["replicas"])}


class HttpCalls:
    """POST halt / resume; the URLs and token are secrets (env), never journaled or logged."""

    def __init__(self, cfg: HttpHalt) -> None:
        self.cfg = cfg

    def _post(self, env: str, what: str) -> dict[str, Any]:
        url = read_secret(env, None)
        if not url:
            raise HaltError(f"{what} URL not set: export {env}")
        headers = {}
        token = read_secret(self.cfg.token_env, None) if self.cfg.token_env else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + self.cfg.timeout_seconds
        last = "not attempted"
        attempt = 0
        while (left := deadline - time.monotonic()) > 0:
            attempt += 1
            try:
                # a total deadline: httpx's own timeout is per read, a trickling endpoint never trips it
                resp = http.request("POST", url, deadline=min(left, 10.0), headers=headers, content=b"")
                if resp.is_success:
                    return {"status_code": resp.status_code, "attempts": attempt}
                last = f"HTTP {resp.status_code}"
                if resp.status_code < 500 and resp.status_code not in (408, 429):
                    break
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(min(0.5 * attempt, max(0.0, deadline - time.monotonic())))
        raise HaltError(redact(f"{what} call failed after {attempt} attempt(s): {last}"))

    def capture(self) -> dict[str, Any]:
        return {"kind": "http"}

    def apply(self) -> dict[str, Any]:
        return self._post(self.cfg.halt_url_env, "halt")

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]:
        return self._post(self.cfg.resume_url_env, "resume")


def _table(name: str) -> sql.Composable:
    parts = name.split(".")
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise HaltError(f"flag_row.table {name!r}: expected table or schema.table")
    return sql.Identifier(*parts)


class FlagRow:
    """The engine reads a flag row: set it to the halted value, put back exactly what was there."""

    def __init__(self, cfg: FlagRowHalt, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self.cfg = cfg
        self.connect = connect

    def _q(self, template: str) -> sql.Composed:
        return sql.SQL(template).format(t=_table(self.cfg.table), k=sql.Identifier(self.cfg.key_column),
                                        v=sql.Identifier(self.cfg.value_column))

    def capture(self) -> dict[str, Any]:
        with self.connect() as conn:
            row = conn.execute(self._q("SELECT {v}::text FROM {t} WHERE {k} = %s"), (self.cfg.key,)).fetchone()
        return {"table": self.cfg.table, "key": self.cfg.key, "existed": row is not None,
                "value": None if row is None else row[0]}

    def apply(self) -> dict[str, Any]:
        with self.connect() as conn, conn.transaction():
            cur = conn.execute(self._q("UPDATE {t} SET {v} = %s WHERE {k} = %s"), (self.cfg.halted_value, self.cfg.key))
            if cur.rowcount == 0:
                conn.execute(self._q("INSERT INTO {t} ({k}, {v}) VALUES (%s, %s)"), (self.cfg.key, self.cfg.halted_value))
        return {"value": self.cfg.halted_value}

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]:
        with self.connect() as conn, conn.transaction():
            if captured["existed"]:
                conn.execute(self._q("UPDATE {t} SET {v} = %s WHERE {k} = %s"), (captured["value"], captured["key"]))
            else:
                conn.execute(self._q("DELETE FROM {t} WHERE {k} = %s"), (captured["key"],))
        return {"value": captured["value"], "existed": captured["existed"]}


class NoHalt:
    def capture(self) -> dict[str, Any]:
        return {"kind": "none"}

    def apply(self) -> dict[str, Any]:
        return {"kind": "none"}

    def restore(self, captured: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "none"}


def make_halt(cfg: HaltSettings, platform: Callable[[], Platform],
              connect: Callable[[], psycopg.Connection[Any]]) -> Halt:
    if cfg.kind == "scale":
        return ScaleToZero(cfg.scale, platform())
    if cfg.kind == "http":
        return HttpCalls(cfg.http)
    if cfg.kind == "flag_row":
        return FlagRow(cfg.flag_row, connect)
    return NoHalt()


