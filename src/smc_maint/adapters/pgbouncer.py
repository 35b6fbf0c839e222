"""pgbouncer's admin console: SHOW commands over the simple query protocol, rows read by column name.

Columns differ between pgbouncer versions (``cl_cancel_req`` became ``cl_active_cancel_req``,
``application_name`` appeared...), so every row is a mapping from column name to value.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ..redact import redact


class PgbouncerUnavailable(Exception):
    """The admin console could not be reached or refused us; the message is redacted."""


def show(host: str, port: int, user: str, password: str | None, commands: list[str],
         connect_timeout: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Run ``SHOW <command>`` for each command on the ``pgbouncer`` admin database."""
    kwargs: dict[str, Any] = {"host": host, "port": port, "user": user, "dbname": "pgbouncer",
                              "connect_timeout": connect_timeout, "autocommit": True,
                              "cursor_factory": psycopg.ClientCursor}  # simple query protocol
    if password:
        kwargs["password"] = password
    try:
        with psycopg.connect(**kwargs) as conn:
            out: dict[str, list[dict[str, Any]]] = {}
            for command in commands:
                cur = conn.execute(f"SHOW {command}")
                names = [d.name for d in cur.description or []]
                out[command] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            return out
    except psycopg.Error as exc:
        raise PgbouncerUnavailable(redact(str(exc).strip()) or type(exc).__name__) from None
