"""Work plans as the API shows and takes them."""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.i18n import N_

Place = Literal["office", "other_office", "home", "elsewhere", "travel", "leave", "off"]
PLACES: Final[tuple[Place, ...]] = (
    "office",
    "other_office",
    "home",
    "elsewhere",
    "travel",
    "leave",
    "off",
)
OFFICE: Final = frozenset({"office", "other_office"})
"""Places that are a day at an office (PermenPANRB 4/2025: the office or another office)."""
EXCUSED: Final = frozenset({"travel", "leave", "off"})
"""Places that no office-day rule counts against (official travel, leave, not working)."""
PLACE_NAMES: Final[dict[str, str]] = {
    "office": N_("At the office"),
    "other_office": N_("Another office"),
    "home": N_("Home"),
    "elsewhere": N_("Another location"),
    "travel": N_("Official travel"),
    "leave": N_("Leave"),
    "off": N_("Not working"),
}


class WeekDoc(BaseModel):
    """A person's usual week, and how their office days are booked."""

    model_config = ConfigDict(extra="forbid")

    week: list[Place | None] = Field(
        min_length=7,
        max_length=7,
        description="Where the person works each weekday, Monday first; null: not planned.",
    )
    building: str | None = Field(
        default=None, max_length=32, description="Their office; null: their agency's building."
    )
    zone: str | None = Field(default=None, max_length=32, description="A preferred zone.")
    desk: str | None = Field(default=None, max_length=32, description="A preferred desk.")
    book_ahead_days: int = Field(
        default=0,
        ge=0,
        le=28,
        description="Book a desk for office days this many days ahead (0: book nothing).",
    )


class DayDoc(BaseModel):
    """One day planned otherwise than the week says."""

    model_config = ConfigDict(extra="forbid")

    place: Place | None = Field(description="Where; null: as the week says again.")
    note: str | None = Field(default=None, max_length=200, description="E.g. the travel's city.")


class PlannedBooking(BaseModel):
    """The desk booking of a planned day."""

    id: int
    building: str
    space: str
    state: str
    by_plan: bool = Field(description="Booked by the work plan (released when the day changes).")


class DayPlan(BaseModel):
    """Where a person works on one day, and why the plan says so."""

    day: date
    place: Place | None
    source: Literal["week", "day"] = Field(description="From the usual week, or set for the day.")
    note: str | None = None
    closed: str | None = Field(default=None, description="Why the office is closed that day.")
    booking: PlannedBooking | None = None


class Finding(BaseModel):
    """Where a plan does not meet the agency's rules (told, never changed)."""

    rule: Literal["min_office_days", "team_day", "booking_on_away_day"]
    week_of: date | None = None
    day: date | None = None
    message: str


class PlanPublic(BaseModel):
    """A person's work plan for a run of days."""

    user: str
    week: list[Place | None]
    building: str | None
    zone: str | None
    desk: str | None
    book_ahead_days: int
    days: list[DayPlan]
    findings: list[Finding]


class TeamMember(BaseModel):
    """One person's days in a unit's week."""

    username: str
    display_name: str
    places: list[Place | None] = Field(
        description="Each day's place; to a colleague only office days (null otherwise)."
    )


class TeamWeek(BaseModel):
    """A unit's people by day."""

    agency: str
    unit: str
    supervisor: bool = Field(description="Whether the reader is the unit's head (sees all).")
    team_days: list[int] = Field(description="The unit's team days, Monday = 0.")
    days: list[date]
    people: list[TeamMember]


class DayCount(BaseModel):
    """How many of an agency's people plan each place on a day (small groups withheld)."""

    day: date
    people: int = Field(description="People with a plan that day.")
    places: dict[str, int | None] = Field(
        description="People per place; null: withheld (fewer than the minimum group)."
    )


class Attendance(BaseModel):
    """An agency's expected attendance by day, from its people's plans."""

    agency: str
    min_group: int
    days: list[DayCount]


class UnitDoc(BaseModel):
    """What work plans need of a unit: its head and its team days."""

    model_config = ConfigDict(extra="forbid")

    supervisor: str | None = Field(
        default=None, max_length=100, description="The head (atasan): a person of the agency."
    )
    team_days: list[int] = Field(
        default_factory=list, max_length=7, description="Days the unit comes in together."
    )


class UnitPublic(UnitDoc):
    """A unit of an agency, with its head and team days."""

    name: str
