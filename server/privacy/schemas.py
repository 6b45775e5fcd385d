"""What the privacy API takes and gives."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.calendar.dates import Shown

RequestKind = Literal["anonymise", "erase"]
RequestState = Literal["open", "done", "refused", "withdrawn"]
Reason = Field(
    min_length=10,
    max_length=300,
    description="Why you need this person's data (recorded in the audit log).",
)


class PrivacyRequestCreate(BaseModel):
    """A person asks for their history to be anonymised, or their account erased."""

    model_config = ConfigDict(extra="forbid")

    kind: RequestKind
    note: str = Field(default="", max_length=500, description="Anything the admins should know.")


class PrivacyDecision(BaseModel):
    """An administrator carries a request out, or refuses it saying why."""

    model_config = ConfigDict(extra="forbid")

    carry_out: bool
    answer: str = Field(
        default="", max_length=500, description="Why it is refused (required then), or a note."
    )


class PrivacyRequestPublic(BaseModel):
    """A request and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    kind: RequestKind
    note: str
    state: RequestState
    created: Shown = Field(validation_alias="created_ms")
    decided: Shown | None = Field(validation_alias="decided_ms")
    decided_by: str | None
    answer: str | None


class AttendanceDay(BaseModel):
    """One booking of the person: where, when, and what became of it."""

    day: date
    building: str
    space: str
    kind: str
    start: Shown
    end: Shown
    outcome: str | None
    state: str
    checked_in: Shown | None
    checked_in_by: str | None
    presence: str | None = Field(
        default=None,
        description="How the presence was shown: sensor, qr, manager; app, pending or "
        "unconfirmed do not count as a day in the office",
    )


class Attendance(BaseModel):
    """A person's bookings over a period, and what became of them."""

    username: str
    start: date
    end: date
    bookings: int
    attended: int = Field(
        description="Checked in with presence shown by the desk's sensor, its QR label or a "
        "facility manager (walk-ins included)"
    )
    unconfirmed: int = Field(
        default=0,
        description="Checked in without that: the booker's word, or a sensor that saw nobody",
    )
    walk_ins: int
    no_shows: int
    cancelled: int
    days_in_office: int
    attended_hours: float
    entries: list[AttendanceDay]
