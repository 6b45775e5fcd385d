"""Bookings as the API takes and shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AliasPath, BaseModel, ConfigDict, Field, model_validator

from contracts.payloads import Label, LedState
from server.calendar.dates import Day, Moment, Shown
from server.spaces.schemas import DeskFacts

SlotState = Literal["free", "booked", "yours", "blocked", "not_bookable", "team_zone", "closed"]


class Repeat(BaseModel):
    """A weekly pattern: the same slot on these weekdays (Monday = 0) until a date."""

    model_config = ConfigDict(extra="forbid")

    weekdays: list[int] = Field(min_length=1, max_length=7)
    until: Day


class BookingCreate(BaseModel):
    """A desk or room for a slot, or for a whole day (the building's opening hours).

    Times without an offset are the building's local time (its ``timezone``).
    """

    model_config = ConfigDict(extra="forbid")

    building: Label
    desk: Label | None = None
    room: Label | None = None
    start: Moment | None = None
    end: Moment | None = None
    day: Day | None = Field(default=None, description="A whole day instead of start/end.")
    for_user: str | None = Field(
        default=None, description="Book on behalf of a colleague (facility managers)."
    )
    repeat: Repeat | None = None

    @model_validator(mode="after")
    def _what_and_when(self) -> BookingCreate:
        if (self.desk is None) == (self.room is None):
            raise ValueError("name a desk or a room")
        if (self.day is None) == (self.start is None or self.end is None):
            raise ValueError("give either day, or start and end")
        return self


class BookingPublic(BaseModel):
    """A booking and where it stands (read from a Booking row, times in its building's zone)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    building: str = Field(validation_alias="building_id")
    space: str = Field(validation_alias="space_code")
    space_kind: str
    user: str | None = Field(
        default=None,
        validation_alias=AliasPath("owner", "username"),
        description="Whose it is; None when anonymised, or not shown to the caller (privacy).",
    )
    booked_by: str | None
    start: Shown = Field(validation_alias="start_ms")
    end: Shown = Field(validation_alias="end_ms")
    state: str
    outcome: str | None
    series_id: str | None
    checked_in: Shown | None = Field(validation_alias="checked_in_ms")
    checked_in_by: str | None = Field(
        description="sensor, qr (the desk's label), app (the booker's word) or manager"
    )
    presence: str | None = Field(
        default=None,
        description="How presence was shown: sensor, qr, manager, app; pending (the desk's "
        "sensor has not seen anyone yet) or unconfirmed (it saw nobody within the grace period)",
    )
    checked_in_actor: str | None = Field(default=None, description="Who checked it in.")
    checked_out: Shown | None = Field(validation_alias="checked_out_ms")
    released: Shown | None = Field(validation_alias="released_ms")
    release_reason: str | None


class SeriesFailure(BaseModel):
    """A date of a weekly series that could not be booked, and the rule that refused it."""

    day: date
    rule: str
    reason: str


class BookingResult(BaseModel):
    """The bookings made; for a series, also the dates that failed."""

    created: list[BookingPublic]
    failed: list[SeriesFailure] = Field(default_factory=list)


class DeskAvailability(DeskFacts):
    """A desk's state for the asked slot, and why it cannot be booked."""

    state: SlotState
    reason: str | None = None


class DeskBlockDoc(BaseModel):
    """A desk out of use for a while."""

    model_config = ConfigDict(extra="forbid")

    start: Moment
    end: Moment
    reason: str = Field(min_length=1, max_length=200)


class DeskLiveState(BaseModel):
    """A desk right now, as the floor map shows it."""

    id: str
    state: LedState
    occupied: bool
    since: datetime | None
