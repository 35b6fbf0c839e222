"""PostgreSQL access with the password kept out of argv, logs and exceptions.

Connections get the password as a libpq keyword (never a URL on a command line); tools such
as pg_dump get it through a private PGPASSFILE, never ``-W`` or a connection string in argv.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ..config.model import DatabaseConfig
from ..deadline import server_bounds
from ..redact import redact
from .child_env import minimal_env

PGPASS_PREFIX = "pgpass-"

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


def sweep_pgpass(secret_dir: Path) -> list[Path]:
    """Remove password files left by processes that are gone (killed with -9: no ``finally`` ran)."""
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for path in secret_dir.glob(f"{PGPASS_PREFIX}*"):
            pid = path.name[len(PGPASS_PREFIX):].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed


def private_dir(secret_dir: Path) -> Path:
    """``secret_dir``, created 0700 (it holds short-lived password files)."""
    secret_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret_dir.chmod(0o700)
    return secret_dir


@contextlib.contextmanager
def libpq_env(db: DatabaseConfig, *, secret_dir: Path, dbname: str | None = None) -> Iterator[dict[str, str]]:
    """Environment for a libpq client tool: the minimum plus PG* settings; the password goes into
    a 0600 PGPASSFILE in ``secret_dir`` (the tool's private state, not /tmp), named by our pid so
    that leftovers of a killed run are swept by the next one."""
    env = minimal_env()
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
    private_dir(secret_dir)
    sweep_pgpass(secret_dir)
    name = str(secret_dir / f"{PGPASS_PREFIX}{os.getpid()}-{secrets.token_hex(6)}")
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
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
