"""Restore targets for the restore test: a throwaway local server, or a scratch database on a
configured server. Neither may ever be the production database.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from psycopg import sql
from pydantic import Field

from ..adapters import postgres
from ..config.model import DatabaseConfig, Section
from ..embedded.postgres import Binaries, EmbeddedPostgres, find_binaries, scratch_server, server_major
from ..errors import SafetyRefusal
from .cleanup import always
from .stale import claim

# A scratch server only has to be fast and disposable.
SCRATCH_SETTINGS = {"synchronous_commit": "off", "full_page_writes": "off", "wal_level": "minimal",
                    "max_wal_senders": "0", "maintenance_work_mem": "256MB", "max_wal_size": "4GB",
                    "autovacuum": "off"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


class ScratchServer(Section):
    """A server that may hold a throwaway database (never the production database)."""

    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    user: str = "postgres"
    password_env: str = "SMC_MAINT_SCRATCH_PASSWORD"  # noqa: S105 - a variable name
    password_file: Path | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    maintenance_db: str = "postgres"
    dbname: str | None = Field(None, description="scratch database name; default smc_restore_test_<random>")
    allow_production_server: bool = Field(
        False, description="allow a scratch database on the production server itself (same system identifier, "
        "or one that cannot be read); off by default: a full copy of production would share its disk and load")


@dataclass(frozen=True)
class Target:
    db: DatabaseConfig  # connection to the scratch database itself
    binaries_dir: Path | None  # pg_restore to use (None: database.bin_dir / PATH)
    description: str


def _norm_host(host: str) -> str:
    return "localhost" if host in LOCAL_HOSTS or host.startswith("/") else host.lower()


def refusal(prod: DatabaseConfig, host: str, port: int, dbname: str, *, prod_sysid: str | None,
            target_sysid: str | None, exists: bool, allow_production_server: bool = False) -> str | None:
    """Why restoring into ``dbname`` at ``host:port`` is refused, or None. Pure.

    Host names prove nothing (aliases, proxies, 127.0.0.1:5432 is also the default database
    address), so only two different system identifiers prove the target is another server.
    """
    if (_norm_host(prod.host), prod.port, prod.dbname) == (_norm_host(host), port, dbname):
        return f"target {host}:{port}/{dbname} is the production database"
    known_other = prod_sysid is not None and target_sysid is not None and prod_sysid != target_sysid
    same = "is the production server (same system identifier)" if prod_sysid and prod_sysid == target_sysid \
        else "may be the production server (system identifier unreadable)"
    if dbname == prod.dbname and not known_other:
        return f"target database {dbname!r} has the production database's name and the server {same}"
    if not known_other and not allow_production_server:
        return (f"target server {host}:{port} {same}; a restore test there puts a full copy of production on "
                f"the production server. Use another server, or set allow_production_server: true")
    if exists:
        return f"target database {dbname!r} already exists; the restore test only uses a database it creates"
    return None


def read_system_identifier(conn: Any) -> str | None:
    """The cluster's system identifier (what tells two servers apart), or None if not readable.

    ``conn`` must be in autocommit mode (a refused query must not abort a transaction)."""
    with contextlib.suppress(Exception):
        row = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
        return str(row[0]) if row else None
    return None


def system_identifier(db: DatabaseConfig, dbname: str | None = None) -> str | None:
    with contextlib.suppress(Exception), postgres.connect(db, dbname=dbname) as conn:
        return read_system_identifier(conn)
    return None


def local_binaries(prod: DatabaseConfig, kind: Literal["auto", "system", "pgserver"], need_major: int
                   ) -> Binaries:
    """Server binaries for a scratch server: database.bin_dir if it has a server, else the machine's."""
    candidates: list[Binaries] = []
    if prod.bin_dir is not None and (Path(prod.bin_dir) / "initdb").is_file():
        candidates.append(Binaries(Path(prod.bin_dir), server_major(Path(prod.bin_dir)), "path"))
    with contextlib.suppress(Exception):
        candidates.append(find_binaries(kind))
    for binaries in candidates:
        if binaries.major >= need_major:
            return binaries
    found = ", ".join(f"{b.bin_dir} ({b.major})" for b in candidates) or "none"
    raise FileNotFoundError(f"no PostgreSQL server binaries of version >= {need_major} for a scratch server "
                            f"(found: {found})")


@contextlib.contextmanager
def local_target(parent: Path, binaries: Binaries) -> Iterator[Target]:
    """A server of our own on a free port, destroyed on exit.

    Cleanup is registered before the server exists, over a directory of its own, so that a
    stop signal during initdb or start-up still leaves no server and no files behind.
    """
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
    run_dir.chmod(0o711)  # the server user must traverse it; its data dir is 0700
    claim(run_dir)

    def destroy_all() -> None:
        for data_dir in run_dir.glob("scratch-pg-*/data"):
            EmbeddedPostgres(data_dir, 0, binaries).destroy()
        shutil.rmtree(run_dir, ignore_errors=True)

    password = secrets.token_urlsafe(18)
    pw_file = run_dir / "password"
    pw_file.write_text(password)
    pw_file.chmod(0o600)
    with always(f"scratch server in {run_dir}", destroy_all), \
            scratch_server(run_dir, binaries, password, SCRATCH_SETTINGS) as server:
        dbname = "smc_restore_test"
        admin = DatabaseConfig(host=server.host, port=server.port, dbname="postgres", user=server.superuser,
                               password_file=pw_file, password_env="", sslmode="disable",
                               statement_timeout_seconds=86400, bin_dir=binaries.bin_dir)
        with postgres.connect(admin) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        yield Target(admin.model_copy(update={"dbname": dbname}), binaries.bin_dir,
                     f"scratch server 127.0.0.1:{server.port} (PostgreSQL {binaries.major}, local)")


@contextlib.contextmanager
def server_target(prod: DatabaseConfig, cfg: ScratchServer) -> Iterator[Target]:
    """A scratch database we create on a configured server, dropped on exit."""
    dbname = cfg.dbname or f"smc_restore_test_{secrets.token_hex(4)}"
    admin = DatabaseConfig(host=cfg.host, port=cfg.port, dbname=cfg.maintenance_db, user=cfg.user,
                           password_env=cfg.password_env, password_file=cfg.password_file, sslmode=cfg.sslmode,
                           statement_timeout_seconds=86400, bin_dir=prod.bin_dir)
    same_address = (_norm_host(prod.host), prod.port, prod.dbname) == (_norm_host(cfg.host), cfg.port, dbname)
    if same_address:
        raise SafetyRefusal(f"restore-test target {cfg.host}:{cfg.port}/{dbname} is the production database")
    with postgres.connect(admin) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        target_sysid = system_identifier(admin)
        reason = refusal(prod, cfg.host, cfg.port, dbname, prod_sysid=system_identifier(prod),
                         target_sysid=target_sysid, exists=row is not None,
                         allow_production_server=cfg.allow_production_server)
        if reason:
            raise SafetyRefusal(f"restore-test refused: {reason}")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))

    def drop() -> None:
        with postgres.connect(admin) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))

    with always(f"scratch database {dbname}", drop):
        yield Target(admin.model_copy(update={"dbname": dbname}), None,
                     f"scratch database {dbname} on {cfg.host}:{cfg.port}")
