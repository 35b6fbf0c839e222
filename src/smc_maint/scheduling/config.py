"""The ``schedule`` configuration section: cron per group, time zone, catch-up, dead-man's switch.

Kept free of imports from ``config.model`` (which imports this module) so there is no cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import registry

CatchUp = Literal["skip", "latest", "all"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupSchedule(_Strict):
    """When one group runs and what happens to slots missed while nothing was running."""

    cron: str = Field(description="five-field cron expression, in schedule.timezone")
    enabled: bool = True
    catch_up: CatchUp = Field("latest", description="after downtime: skip | latest | all (within max_age_hours)")
    max_age_hours: float | None = Field(None, gt=0, description="missed slots older than this never run")
    grace_minutes: float = Field(60, gt=0, description="a slot counts as on time (and not yet missed) this long")
    ping_url_env: str | None = Field(None, description="env var holding a Healthchecks-style ping URL (secret)")
    only: list[str] | None = Field(None, description="run only these procedures of the group (default: all)")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value.split(" ")) != 5:
            raise ValueError(f"{value!r}: need five cron fields (minute hour day-of-month month day-of-week)")
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value

    @model_validator(mode="after")
    def _all_needs_age(self) -> GroupSchedule:
        if self.catch_up == "all" and self.max_age_hours is None:
            raise ValueError("catch_up 'all' needs max_age_hours (how far back missed slots still run)")
        return self


def _default_groups() -> dict[str, GroupSchedule]:
    # The runbook's times, in UTC. A missed daily/weekly run runs once on start-up; a missed
    # monthly restore test or quarterly drill runs too (once: repeating it proves nothing more).
    return {
        "daily": GroupSchedule(cron="0 2 * * *", catch_up="latest", max_age_hours=48),
        "weekly": GroupSchedule(cron="0 3 * * 0", catch_up="latest", max_age_hours=24 * 6),
        "monthly": GroupSchedule(cron="0 4 1 * *", catch_up="latest", max_age_hours=24 * 27),
        "quarterly": GroupSchedule(cron="0 5 1 1,4,7,10 *", catch_up="latest", max_age_hours=24 * 80),
    }


class GateConfig(_Strict):
    """Defer heavy procedures while the platform trades unusually hard (see scheduling/gate.py)."""

    enabled: bool = True
    procedures: list[str] = Field(default_factory=lambda: ["backup", "db-maintenance", "restore-test", "dr-drill"],
                                  description="procedures that wait for a quiet moment")
    window_minutes: float = Field(15, gt=0, le=240, description="how far back 'activity now' looks")
    max_trades_per_minute: float | None = Field(None, gt=0, description="absolute limit (none: only relative)")
    max_multiple_of_usual: float | None = Field(3.0, gt=1, description="defer above this multiple of the usual "
                                                "rate for this hour of the week (none: only absolute)")
    min_trades: int = Field(30, ge=0, description="fewer trades in the window never defer (too little to judge)")
    baseline_days: int = Field(28, ge=7, le=365, description="days of history the usual rate is taken from")
    recheck_seconds: float = Field(60, gt=0, description="how often a deferred procedure looks again")
    max_deferral_minutes: float = Field(120, ge=0, description="after this long the procedure runs anyway")
    statement_timeout_seconds: float = Field(5, gt=0, le=60, description="bound on the gate's own queries")

    def allowance_seconds(self, procedure_ids: Iterable[str]) -> float:
        """What the gate may add to a run of these procedures: each gated one's maximum deferral
        (plus one re-check), so a deferred run is neither killed nor declared dead."""
        if not self.enabled:
            return 0.0
        return sum(self.max_deferral_minutes * 60 + self.recheck_seconds
                   for p in procedure_ids if p in self.procedures)


class ScheduleConfig(_Strict):
    timezone: str = Field("UTC", description="IANA zone the cron expressions are read in")
    groups: dict[str, GroupSchedule] = Field(default_factory=_default_groups)
    missed_lookback_days: float = Field(35, gt=0, description="how far back missed-run detection looks")
    gate: GateConfig = GateConfig()

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as UTC or Europe/Warsaw)"
                             ) from None
        return value

    @field_validator("groups", mode="before")
    @classmethod
    def _merge_defaults(cls, value: object) -> object:
        """A group given partly (say only ``cron``) keeps the other defaults of that group."""
        if not isinstance(value, dict):
            return value
        defaults = _default_groups()
        merged: dict[str, object] = {}
        for name, item in value.items():
            if isinstance(item, dict) and name in defaults:
                merged[name] = {**defaults[name].model_dump(), **item}
            else:
                merged[name] = item
        for name, default in defaults.items():
            merged.setdefault(name, default)
        unknown = sorted(set(merged) - set(registry.GROUPS))
        if unknown:
            raise ValueError(f"unknown group {unknown[0]!r} (groups: {', '.join(registry.GROUPS)})")
        for name, item in merged.items():
            only = item.get("only") if isinstance(item, dict) else getattr(item, "only", None)
            strangers = [p for p in only or [] if p not in registry.GROUPS[name]]
            if strangers:
                raise ValueError(f"{name}.only: not in group {name}: {', '.join(map(str, strangers))}")
        return merged

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
