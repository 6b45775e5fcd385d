"""Zone decisions and comfort alerts as the API shows them, read from their rows.

Times are the rows' epoch milliseconds shown in the building's zone: validate with
``context={"tz": tz}``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.calendar.dates import Shown


class ZoneActionOut(BaseModel):
    """A zone's HVAC or lighting mode, since when, why, and what comes next."""

    model_config = ConfigDict(from_attributes=True)

    building: str = Field(validation_alias="building_id")
    floor: str
    zone: str
    channel: str
    mode: str
    reason_code: str
    reason: str
    since: Shown = Field(validation_alias="start_ms")
    until: Shown | None = Field(validation_alias="end_ms")
    published: bool = Field(description="Sent to the building-management system.")
    next_mode: str | None
    next_at: Shown | None = Field(validation_alias="next_at_ms")


class ZoneActionsOut(BaseModel):
    """Current decisions (and, when asked, past ones) with how the server acts on them."""

    actions_mode: str = Field(description="off, advise (shown only) or command (sent).")
    current: list[ZoneActionOut]
    history: list[ZoneActionOut]


class ComfortAlertOut(BaseModel):
    """A room whose CO2 stayed above the alert level while occupied."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    building: str = Field(validation_alias="building_id")
    floor: str
    zone: str
    space: str
    metric: str
    level: float = Field(description="The alert level crossed.")
    peak: float
    value: float = Field(validation_alias="last_value", description="The latest value.")
    started: Shown = Field(validation_alias="started_ms")
    ended: Shown | None = Field(validation_alias="ended_ms", description="None while open.")
