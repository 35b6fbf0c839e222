"""The configuration schema. Secrets are never values here: only names of env vars or files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..redact import register_secret
from ..result import Status
from ..scheduling.config import ScheduleConfig


class Section(BaseModel):
    """Base for every config section: unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_secret(env: str | None, file: Path | None) -> str | None:
    """Resolve a secret from an environment variable or a file, and register it for redaction.

    Surrounding whitespace is dropped from both: ``echo url > file`` or a Secret created from a
    file leaves a trailing newline, and a URL or password with one fails in confusing ways.
    """
    value: str | None = None
    if env and os.environ.get(env, "").strip():
        value = os.environ[env].strip()
    elif file is not None:
        value = Path(file).expanduser().read_text(encoding="utf-8").strip() or None
    register_secret(value)
    return value


class DatabaseConfig(Section):
    """The production trading database (what the procedures check, back up and maintain)."""

    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    dbname: str = "smc_trading"
    user: str = "postgres"
    password_env: str = "SMC_MAINT_DATABASE_PASSWORD"  # noqa: S105 - a variable name, not a secret
    password_file: Path | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    connect_timeout_seconds: int = Field(5, ge=1)
    statement_timeout_seconds: float = Field(300, gt=0)
    bin_dir: Path | None = Field(None, description="directory of pg_dump/pg_restore; default: PATH")

    def password(self) -> str | None:
        return read_secret(self.password_env, self.password_file)


class S3Config(Section):
    bucket: str = "smc-trading-backups"
    prefix: str = "daily/"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id_env: str = "AWS_ACCESS_KEY_ID"
    secret_access_key_env: str = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name
    multipart_chunk_mib: int = Field(16, ge=5, le=5120, description="part size; files of 2 parts or more "
                                     "go up as multipart uploads")


class StoreConfig(Section):
    """Where backups live: a local directory or S3-compatible object storage."""

    kind: Literal["local", "s3"] = "local"
    path: Path | None = Field(None, description="local store directory; default <home>/backups")
    s3: S3Config = S3Config()


class RetentionConfig(Section):
    """Grandfather-father-son: the newest backup of each of the last N days, weeks and months."""

    keep_daily: int = Field(7, ge=0)
    keep_weekly: int = Field(4, ge=0)
    keep_monthly: int = Field(12, ge=0)
    partial_grace_hours: float = Field(24, gt=0, description="delete manifest-less leftovers older than this")


from .engine import EngineConfig  # noqa: E402 - the physical engine (issue 16)


class BackupConfig(Section):
    """How ``backup create`` dumps: pg_dump -Fc -Z0 piped through zstd, facts read alongside."""

    compression: Literal["zstd", "pg_dump"] = Field("zstd", description="zstd CLI, or pg_dump's own gzip")
    zstd_level: int = Field(3, ge=1, le=19)
    zstd_threads: int = Field(2, ge=0, description="0 = one per core")
    fingerprint_jobs: int = Field(1, ge=1, le=16, description="connections reading table facts")
    work_dir: Path | None = Field(None, description="staging for dumps and downloads; default <home>/work")
    lock_wait_seconds: float = Field(60, gt=0, description="how long a backup waits for its table locks "
                                     "(at most half the time left) before it fails naming the blocker")
    retention: RetentionConfig = RetentionConfig()
    max_clock_skew_seconds: float = Field(300, ge=0, description="a backup created further ahead of now than "
                                          "this is a finding and never counts as the newest")
    engine: EngineConfig = EngineConfig()


class ChannelConfig(Section):
    """One alert destination. The webhook URL is a secret: give the env var or file holding it."""

    url_env: str | None = None
    url_file: Path | None = None
    apprise_urls_env: str | None = Field(None, description="env var with space-separated Apprise URLs")

    def webhook_url(self) -> str | None:
        return read_secret(self.url_env, self.url_file)

    def apprise_urls(self) -> list[str]:
        raw = read_secret(self.apprise_urls_env, None) or ""
        urls = raw.split()
        for url in urls:
            register_secret(url)
        return urls


def _default_channels() -> dict[str, ChannelConfig]:
    return {
        "default": ChannelConfig(url_env="SLACK_WEBHOOK_URL"),
        "security": ChannelConfig(url_env="SLACK_SECURITY_WEBHOOK"),
    }


class AlertsConfig(Section):
    channels: dict[str, ChannelConfig] = Field(default_factory=_default_channels)
    min_status: Status = Status.WARNING
    attempts: int = Field(4, ge=1, le=10)
    backoff_seconds: float = Field(1.0, ge=0)
    timeout_seconds: float = Field(10.0, gt=0)


class HistoryConfig(Section):
    """Run history: SQLite in the data dir by default; a PostgreSQL DSN (from env) for a fleet."""

    backend: Literal["sqlite", "postgresql"] = "sqlite"
    path: Path | None = Field(None, description="SQLite file; default <home>/history.sqlite3")
    dsn_env: str = "SMC_MAINT_HISTORY_DSN"


# Procedures that dump, download or restore the whole database need far more than the general
# timeout; cutting a restore test short leaves a scratch server holding production data.
DEFAULT_TIMEOUTS: dict[str, float] = {"backup": 3 * 3600, "backup-verify": 3 * 3600, "restore-test": 3 * 3600,
                                     "dr-drill": 3 * 3600}
# Slack on top of the timeouts before a run that still shows "running" is taken for dead.
RUN_SLACK_SECONDS = 300


class RunnerConfig(Section):
    log_dir: Path | None = Field(None, description="per-run log files; default <home>/logs")
    report_dir: Path | None = Field(None, description="diagnostic reports; default <home>/reports")
    timeout_seconds: float = Field(900, gt=0, description="per-procedure timeout")
    timeouts: dict[str, float] = Field(default_factory=dict, description="per-procedure overrides (backup, "
                                       "backup-verify and restore-test default to 3 h)")
    timeout_grace_seconds: float = Field(900, ge=0, description="after a timeout's SIGTERM, how long a "
                                         "procedure's clean-ups may take before its process group is SIGKILLed")

    @field_validator("timeouts")
    @classmethod
    def _known_positive(cls, value: dict[str, float]) -> dict[str, float]:
        """A misspelt id would silently keep the default; a zero or negative timeout kills every run."""
        from .. import registry

        for pid, seconds in value.items():
            if pid not in registry.PROCEDURES:
                raise ValueError(f"{pid!r} is not a procedure (known: {', '.join(sorted(registry.PROCEDURES))})")
            if not seconds > 0:
                raise ValueError(f"{pid}: the timeout must be more than 0 seconds, not {seconds:g}")
        return value

    def timeout_for(self, procedure_id: str) -> float:
        """Explicit override, else the procedure's built-in default, else ``timeout_seconds``."""
        if procedure_id in self.timeouts:
            return self.timeouts[procedure_id]
        return DEFAULT_TIMEOUTS.get(procedure_id, self.timeout_seconds)

    def longest_run_seconds(self, procedure_ids: Iterable[str]) -> float:
        """The longest a run of these procedures can legitimately take (timeouts, grace, slack):
        the Kubernetes activeDeadlineSeconds and the age after which another host's run is dead."""
        return sum(self.timeout_for(p) for p in procedure_ids) + self.timeout_grace_seconds + RUN_SLACK_SECONDS


class LocalWorkload(Section):
    """A workload on this machine (``platform.kind: local``): processes matched by name or command
    line, or a systemd unit."""

    name: str = Field(min_length=1, description="the workload's name, as procedures refer to it")
    process: str | None = Field(None, description="regular expression searched in each process's command line")
    unit: str | None = Field(None, description="systemd unit (e.g. nginx.service)")
    replicas: int = Field(1, ge=0, description="how many processes (or 1 for a unit) should run")

    @model_validator(mode="after")
    def _one_source(self) -> LocalWorkload:
        if (self.process is None) == (self.unit is None):
            raise ValueError(f"workload {self.name}: give exactly one of `process` or `unit`")
        return self


class LocalPlatformConfig(Section):
    workloads: list[LocalWorkload] = Field(default_factory=list)


class PlatformConfig(Section):
    kind: Literal["local", "kubernetes"] = "local"
    namespace: str = "smc-trading"
    in_cluster: bool = False
    kubeconfig: Path | None = None
    request_timeout_seconds: float = Field(30, gt=0, description="bound of every Kubernetes API request")
    page_size: int = Field(500, ge=1, le=5000, description="list page size (limit/continue)")
    local: LocalPlatformConfig = LocalPlatformConfig()


class EmbeddedConfig(Section):
    """The tool's own PostgreSQL for ``smc-maint demo``."""

    postgres: Literal["auto", "system", "pgserver"] = "auto"
    port: int = Field(54329, ge=1024, le=65535)


from .observability import ReportingConfig, ServeConfig  # noqa: E402 - needs Section above


class Config(Section):
    home: Path | None = Field(None, description="state directory; default SMC_MAINT_HOME or data dir")
    timezone: str = Field("UTC", description="IANA zone in which days are counted (trading figures, "
                          "review windows), whatever the server's or the database session's zone")
    database: DatabaseConfig = DatabaseConfig()
    store: StoreConfig = StoreConfig()
    backup: BackupConfig = BackupConfig()
    alerts: AlertsConfig = AlertsConfig()
    history: HistoryConfig = HistoryConfig()
    runner: RunnerConfig = RunnerConfig()
    platform: PlatformConfig = PlatformConfig()
    embedded: EmbeddedConfig = EmbeddedConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    reporting: ReportingConfig = ReportingConfig()
    serve: ServeConfig = ServeConfig()
    procedures: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-procedure settings, keyed by procedure id"
    )

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        from ..days import zone

        zone(value)
        return value

    def zone(self) -> ZoneInfo:
        """The declared zone days are counted in."""
        return ZoneInfo(self.timezone)

    def longest_run_seconds(self, procedure_ids: Iterable[str]) -> float:
        """The runner's longest run plus what the activity gate may defer its gated procedures."""
        ids = list(procedure_ids)
        return self.runner.longest_run_seconds(ids) + self.schedule.gate.allowance_seconds(ids)
