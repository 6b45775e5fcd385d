"""The layout document (``smartoffice layout import``) and the layout as the API shows it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.payloads import Label
from server.clock import TimeZone

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Coord = Annotated[float, Field(ge=0, le=100_000)]
ZoneKind = Literal["hvac", "lighting", "neighbourhood"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ZoneDoc(_Doc):
    """A zone of a floor."""

    id: Label
    name: Name
    kind: ZoneKind = "hvac"
    team: Name | None = Field(default=None, description="The team a neighbourhood is for.")


class DeskDoc(_Doc):
    """A desk: its zones, position on the plan, and attributes."""

    id: Label
    name: Name | None = None
    zone: Label = Field(description="The HVAC zone that serves the desk.")
    lighting_zone: Label | None = None
    neighbourhood: Label | None = None
    x: Coord
    y: Coord
    monitor: bool = False
    standing: bool = False
    accessible: bool = False
    quiet: bool = False
    bookable: bool = True


class RoomDoc(_Doc):
    """A meeting room: a rectangle on the plan and its capacity."""

    id: Label
    name: Name
    zone: Label
    lighting_zone: Label | None = None
    capacity: int = Field(ge=1, le=1000)
    x: Coord
    y: Coord
    width: Coord = 0
    height: Coord = 0
    bookable: bool = True


class FloorDoc(_Doc):
    """A floor: its plan, zones, desks and rooms."""

    id: Label
    name: Name
    level: int = Field(ge=-10, le=200)
    width: Coord = Field(gt=0, description="Plan width in plan units (e.g. metres).")
    height: Coord = Field(gt=0)
    agency: Label | None = Field(
        default=None,
        description="The agency (instansi) whose floor this is, by its code; absent: the "
        "building's own, shared by every agency.",
    )
    plan: str | None = Field(
        default=None, description="SVG or PNG/JPEG file, relative to the layout document."
    )
    zones: list[ZoneDoc] = Field(default_factory=list)
    desks: list[DeskDoc] = Field(default_factory=list)
    rooms: list[RoomDoc] = Field(default_factory=list)

    @model_validator(mode="after")
    def _inside(self) -> FloorDoc:
        places: list[tuple[str, int, DeskDoc | RoomDoc]] = [
            *(("desks", i, d) for i, d in enumerate(self.desks)),
            *(("rooms", i, r) for i, r in enumerate(self.rooms)),
        ]
        for kind, i, item in places:
            if item.x > self.width or item.y > self.height:
                raise ValueError(
                    f"{kind}.{i} ({item.id}) at ({item.x}, {item.y}) is outside the "
                    f"{self.width} x {self.height} plan"
                )
        return self


class BuildingDoc(_Doc):
    """The building itself."""

    id: Label
    name: Name
    address: Name | None = None
    timezone: TimeZone = "Asia/Makassar"


class LayoutDoc(_Doc):
    """A whole building: importing it makes the database match it."""

    v: Literal[1] = 1
    building: BuildingDoc
    floors: list[FloorDoc] = Field(min_length=1)


class LayoutChanges(BaseModel):
    """What an import changed (or, in a dry run, would change), per kind of space."""

    building: str
    created: dict[str, int]
    updated: dict[str, int]
    removed: dict[str, int]
    unchanged: dict[str, int]

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) changed."""
        return (
            any(self.created.values()) or any(self.updated.values()) or any(self.removed.values())
        )


class DeskFacts(BaseModel):
    """What every answer about a desk says of it: where it is and what it offers."""

    id: str
    name: str
    floor: str
    zone: str
    neighbourhood: str | None
    x: float
    y: float
    monitor: bool
    standing: bool
    accessible: bool
    quiet: bool


class DeskPublic(DeskFacts):
    """A desk as the API shows it."""

    lighting_zone: str | None
    bookable: bool


class RoomPublic(BaseModel):
    """A meeting room as the API shows it."""

    id: str
    name: str
    floor: str
    zone: str
    lighting_zone: str | None
    capacity: int
    x: float
    y: float
    width: float
    height: float
    bookable: bool


class ZonePublic(BaseModel):
    """A zone as the API shows it."""

    id: str
    name: str
    kind: str
    floor: str
    team: str | None


class FloorPublic(BaseModel):
    """A floor with everything on it (the floor map's data)."""

    id: str
    name: str
    level: int
    width: float
    height: float
    agency: str | None = None
    plan_url: str | None
    zones: list[ZonePublic]
    desks: list[DeskPublic]
    rooms: list[RoomPublic]


class FloorSummary(BaseModel):
    """A floor in a building's listing."""

    id: str
    name: str
    level: int
    agency: str | None = None
    agency_name: str | None = None
    """The agency's name, to show beside the floor's ("Lantai 3 · Kemenko PMK")."""
    desks: int
    rooms: int


class BuildingPublic(BaseModel):
    """A building and its floors."""

    id: str
    name: str
    address: str | None
    timezone: str
    floors: list[FloorSummary]
