"""``backup.engine``: the physical backup engine (pgBackRest) beside the logical pg_dump backups.

pgBackRest archives WAL continuously and restores to any moment; smc-maint writes its
configuration, runs it on schedule and proves its restores. Secrets are names of env vars only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    # the same rules as config.model.Section (kept here so this module imports nothing from model)
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineS3(_Section):
    """An S3 repository. pgBackRest speaks HTTPS only."""

    bucket: str = "smc-trading-wal"
    endpoint: str = Field("s3.amazonaws.com", description="host name (pgBackRest matches DNS names only)")
    port: int = Field(443, ge=1, le=65535)
    region: str = "us-east-1"
    uri_style: Literal["host", "path"] = "host"
    ca_file: Path | None = Field(None, description="CA bundle for a private endpoint")
    verify_tls: bool = True
    access_key_id_env: str = "AWS_ACCESS_KEY_ID"
    secret_access_key_env: str = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name


class EngineRepo(_Section):
    kind: Literal["local", "s3"] = "local"
    path: Path | None = Field(None, description="local repository, or the path inside the bucket; "
                              "default <home>/pgbackrest/repo (local) or /pgbackrest (s3)")
    s3: EngineS3 = EngineS3()


class EngineConfig(_Section):
    """pgBackRest for continuous WAL archiving and point-in-time recovery (``kind: none`` = off)."""

    kind: Literal["none", "pgbackrest"] = "none"
    stanza: str = Field("smc", pattern=r"^[A-Za-z0-9_.-]+$")
    pg_data: Path | None = Field(None, description="the database server's data directory (required)")
    socket_path: Path = Field(Path("/var/run/postgresql"), description="the server's Unix socket directory "
                              "(pgBackRest connects through it)")
    os_user: str = Field("postgres", description="the database's OS user: every engine command runs as it")
    config_dir: Path | None = Field(None, description="where smc-maint writes pgbackrest.conf; "
                                    "default <home>/pgbackrest")
    repo: EngineRepo = EngineRepo()
    full_every_days: float = Field(7, gt=0, description="a full backup when the newest is older; else differential")
    retention_full: int = Field(2, ge=1, description="full backups kept (their WAL with them)")
    retention_diff: int = Field(7, ge=1)
    compress_type: Literal["none", "gz", "lz4", "zst"] = "zst"
    process_max: int = Field(1, ge=1, le=16)
    rpo_target_seconds: float = Field(300, gt=0, description="newest archived WAL older: WARNING")
    rpo_critical_seconds: float = Field(3600, gt=0, description="newest archived WAL older: CRITICAL")
    retention_target_days: float = Field(7, gt=0, description="the recoverable window must cover this")
    rto_target_seconds: float = Field(3600, gt=0, description="a proven restore slower: WARNING")
    proof_max_age_days: float = Field(35, gt=0, description="no proven restore this recent: WARNING")
    timeout_seconds: float = Field(3 * 3600, gt=0, description="total deadline of one engine command")
