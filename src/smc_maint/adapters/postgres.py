"""PostgreSQL access with the password kept out of argv, logs and exceptions.

Connections get the password as a libpq keyword (never a URL on a command line); tools such
as pg_dump get it through a private PGPASSFILE, never ``-W`` or a connection string in argv.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ..config.model import DatabaseConfig
from ..deadline import server_bounds
from ..redact import redact

TOOL = "smc-maint"
_NAME_MAX = 63  # PostgreSQL truncates application_name to NAMEDATALEN - 1 bytes


@dataclass(frozen=True)
class Identity:
    """Who this process's sessions are (application_name) and when they must end (deadline)."""

    application_name: str = TOOL
    deadline: float | None = None  # time.monotonic() value
    grace_seconds: float = 0.0
    lock_wait_seconds: float = 60.0


_identity = Identity()


def application_name(run_id: str, procedure_id: str) -> str:
    """``smc-maint/<run8>/<procedure>``, cut to 63 bytes: how the runner finds a worker's sessions."""
    name = f"{TOOL}/{run_id[-8:]}/{procedure_id}"
    return name.encode()[:_NAME_MAX].decode(errors="ignore")


def set_identity(identity: Identity) -> None:
    """Set once by a worker process (it runs exactly one procedure): every session it opens carries it."""
    global _identity
    _identity = identity


def identity() -> Identity:
    return _identity


def _options(db: DatabaseConfig) -> str:
    bounds = server_bounds(_identity.deadline, statement_seconds=db.statement_timeout_seconds,
                           lock_seconds=_identity.lock_wait_seconds, grace_seconds=_identity.grace_seconds)
    return " ".join(f"-c {name}={value}" for name, value in bounds.items())


class DatabaseUnavailable(Exception):
    """The database could not be reached; the message is already redacted."""


def connect(
    db: DatabaseConfig, *, dbname: str | None = None, autocommit: bool = True, **extra: Any
) -> psycopg.Connection[Any]:
    """Open a connection to ``db`` (or another database on the same server)."""
    kwargs: dict[str, Any] = {
        "host": db.host,
        "port": db.port,
        "dbname": dbname or db.dbname,
        "user": db.user,
        "sslmode": db.sslmode,
        "connect_timeout": db.connect_timeout_seconds,
        "application_name": _identity.application_name,
        "options": _options(db),
        "autocommit": autocommit,
    }
    password = db.password()
    if password:
        kwargs["password"] = password
    kwargs.update(extra)
    try:
        return psycopg.connect(**kwargs)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(redact(str(exc).strip()) or type(exc).__name__) from None


def server_version_num(conn: psycopg.Connection[Any]) -> int:
    return int(conn.info.server_version)


def tool(db: DatabaseConfig, name: str) -> str:
    """Full path of a PostgreSQL client tool (``pg_dump``, ``pg_restore``...)."""
    if db.bin_dir is not None:
        candidate = Path(db.bin_dir) / name
        if candidate.is_file():
            return str(candidate)
        raise FileNotFoundError(f"{name} not found in database.bin_dir {db.bin_dir}")
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found on PATH (set database.bin_dir)")
    return found


@contextlib.contextmanager
def libpq_env(db: DatabaseConfig, *, dbname: str | None = None) -> Iterator[dict[str, str]]:
    """Environment for a libpq client tool; the password goes into a 0600 PGPASSFILE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        PGHOST=db.host,
        PGPORT=str(db.port),
        PGUSER=db.user,
        PGDATABASE=dbname or db.dbname,
        PGSSLMODE=db.sslmode,
        PGCONNECT_TIMEOUT=str(db.connect_timeout_seconds),
        PGAPPNAME=_identity.application_name,
        PGOPTIONS=_options(db),
    )
    password = db.password()
    if not password:
        yield env
        return
    fd, name = tempfile.mkstemp(prefix="smc-maint-pgpass-")
    try:
        os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)

        def esc(value: str) -> str:
            return value.replace("\\", "\\\\").replace(":", "\\:")

        # Host and port are "*": this file serves only the one PGHOST/PGPORT set above, and libpq
        # matches a socket connection as "localhost", not as the directory given in PGHOST.
        line = ":".join(("*", "*", "*", esc(db.user), esc(password)))
        os.write(fd, (line + "\n").encode())
        os.close(fd)
        env["PGPASSFILE"] = name
        yield env
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
