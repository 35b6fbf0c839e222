"""Configuration of reporting, metrics publishing and the web dashboard (``reporting:``, ``serve:``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from .model import Section, read_secret


class PushgatewayConfig(Section):
    """Prometheus Pushgateway for clusters without a long-running ``smc-maint serve``."""

    url: str | None = Field(None, description="e.g. http://pushgateway:9091; unset = no push")
    job: str = "smc-maint"
    username_env: str | None = Field(None, description="env var with the basic-auth user")
    password_env: str | None = Field(None, description="env var with the basic-auth password")
    timeout_seconds: float = Field(10.0, gt=0)
    grouping_key: dict[str, str] = Field(
        default_factory=dict,
        description="labels of this pusher's group, e.g. {instance: db-1, cluster: eu}; pushers with different "
                    "keys never overwrite each other (scrape the Pushgateway with honor_labels: true)")

    def credentials(self) -> tuple[str, str] | None:
        user = read_secret(self.username_env, None)
        password = read_secret(self.password_env, None)
        return (user, password) if user and password else None


class ReportingConfig(Section):
    """Which history feeds which metric and where metrics are published (slots come from ``schedule:``)."""

    backup_procedures: list[str] = Field(
        default_factory=lambda: ["backup-verify", "backup"],
        description="procedures whose results count as backup attempts")
    window_days: int = Field(30, ge=1, le=366, description="window of success-rate and uptime gauges")
    textfile: Path | None = Field(None, description="node_exporter textfile (*.prom) written after each run")
    textfile_mode: int = Field(0o644, description="mode of the textfile (octal, 0644): node_exporter runs as its "
                                                  "own user and must read it")
    textfile_dir_mode: int = Field(0o755, description="mode of a textfile directory we create (octal, 0755)")

    @field_validator("textfile_mode", "textfile_dir_mode", mode="before")
    @classmethod
    def _octal_mode(cls, value: object) -> object:
        """YAML reads 0644 as octal already; "0644"/"0o644" strings are octal too; 644 is a mistake."""
        if isinstance(value, str):
            try:
                value = int(value.removeprefix("0o"), 8)
            except ValueError:
                raise ValueError(f"{value!r}: write a file mode in octal, e.g. 0644") from None
        if isinstance(value, int) and not 0 <= value <= 0o777:
            raise ValueError(f"{value}: not a file mode; write it in octal with a leading 0, e.g. 0644")
        return value
    pushgateway: PushgatewayConfig = PushgatewayConfig()
    dashboard_url: str | None = Field(None, description="base URL of `smc-maint serve`, for links in reports")


class ServeConfig(Section):
    """``smc-maint serve``: read-only dashboard and /metrics; triggering a run needs the token."""

    host: str = "127.0.0.1"
    port: int = Field(9184, ge=0, le=65535)
    token_env: str = "SMC_MAINT_SERVE_TOKEN"  # noqa: S105 - the name of a variable, not a secret
    token_file: Path | None = None
    log_tail_bytes: int = Field(200_000, ge=1024, description="how much of a run log the page shows")

    def token(self) -> str | None:
        return read_secret(self.token_env, self.token_file)
