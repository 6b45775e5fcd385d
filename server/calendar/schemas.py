"""The calendar as admins set it: a building's (or zone's) rules, and closed days."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.payloads import Label
from server.calendar.dates import Day


class PolicyDoc(BaseModel):
    """Booking rules for a building or a zone (admins)."""

    model_config = ConfigDict(extra="forbid")

    window_days: int = Field(default=14, ge=0, le=365)
    min_minutes: int = Field(default=30, ge=5, le=24 * 60)
    max_minutes: int = Field(default=12 * 60, ge=5, le=14 * 24 * 60)
    max_per_day: int = Field(default=1, ge=1, le=50)
    max_per_week: int = Field(default=5, ge=1, le=100)
    open_minute: int = Field(default=7 * 60, ge=0, le=24 * 60)
    close_minute: int = Field(default=19 * 60, ge=0, le=24 * 60)
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4], min_length=1, max_length=7)
    checkin_grace_minutes: int = Field(default=15, ge=1, le=240)
    release_after_vacant_minutes: int = Field(default=60, ge=5, le=24 * 60)
    public_holidays: bool = True

    @model_validator(mode="after")
    def _hours(self) -> PolicyDoc:
        if self.close_minute <= self.open_minute:
            raise ValueError("close_minute must be after open_minute")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return self


class AgencyPolicyDoc(BaseModel):
    """An agency's own rules for its people; a rule left out is each building's.

    A rule given only narrows the building's (the tighter of the two holds).
    """

    model_config = ConfigDict(extra="forbid")

    window_days: int | None = Field(default=None, ge=0, le=365)
    max_per_day: int | None = Field(default=None, ge=1, le=50)
    max_per_week: int | None = Field(default=None, ge=1, le=100)
    open_minute: int | None = Field(default=None, ge=0, le=24 * 60)
    close_minute: int | None = Field(default=None, ge=0, le=24 * 60)
    weekdays: list[int] | None = Field(default=None, min_length=1, max_length=7)
    checkin_grace_minutes: int | None = Field(default=None, ge=1, le=240)
    min_office_days: int | None = Field(
        default=None,
        ge=1,
        le=7,
        description="Work plans: at least this many office days in a full working week "
        "(plans are checked against it and told, never changed).",
    )

    @model_validator(mode="after")
    def _hours(self) -> AgencyPolicyDoc:
        if (
            self.open_minute is not None
            and self.close_minute is not None
            and self.close_minute <= self.open_minute
        ):
            raise ValueError("close_minute must be after open_minute")
        if self.weekdays is not None and any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return self


class ClosedDayDoc(BaseModel):
    """A day to close (collective leave, an event); no building closes every building.

    With ``agency``, the day is that agency's own leave: closed to its people in every
    building (and to no one else).
    """

    model_config = ConfigDict(extra="forbid")

    day: Day
    reason: str = Field(min_length=1, max_length=200)
    building: Label | None = None
    agency: Label | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ClosedDayDoc:
        if self.building is not None and self.agency is not None:
            raise ValueError("an agency's day is closed in every building: leave out building")
        return self
