"""Read API over the reading store: latest values, windowed series and counts.

The desks' presence readings are about people: every read of them is audited, and a
series or count over fewer desks than the privacy minimum is refused (the occupancy
report gives the same figures for groups large enough).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from server.api.deps import DatabaseDep, Manager, PlaceParam, Roles, SettingsDep, StoreDep
from server.bookings.visibility import audit_read
from server.calendar.dates import Moment, Shown, aware, to_ms
from server.calendar.hours import zone_for
from server.exceptions import Forbidden, QueryError
from server.i18n import T
from server.readings.store import Aggregation, SpaceFilter, Window
from server.roles import MANAGERS
from server.spaces.service import buildings, desk_places

router = APIRouter(prefix="/api/v1/readings", tags=["readings"], dependencies=[Roles(*MANAGERS)])


# Places and devices are labels: anything else (a NUL byte, a quote) is refused here with a
# 422 rather than reaching a query language.


def _filter(
    building: PlaceParam = None,
    floor: PlaceParam = None,
    zone: PlaceParam = None,
    space: PlaceParam = None,
    device: PlaceParam = None,
) -> SpaceFilter:
    return SpaceFilter(building=building, floor=floor, zone=zone, space=space, device=device)


Where = Annotated[SpaceFilter, Depends(_filter)]


def _audit_presence(reader: Manager, db: DatabaseDep, where: Where, stream: str) -> None:
    """Every read of the desks' presence readings goes in the audit log."""
    if stream == "presence":
        with db.session() as session:
            what = "presence " + " ".join(f"{k}={v}" for k, v in where.items())
            audit_read(session, actor=reader, person="*", what=what, reason="")


def _presence_groups(db: DatabaseDep, settings: SettingsDep, where: Where, stream: str) -> None:
    """Refuse a presence series or count over fewer desks than the privacy minimum."""
    if stream != "presence":
        return
    with db.session(commit=False) as session:
        ids = [where.building] if where.building else [b.id for b in buildings(session)]
        places = [p for b in ids for p in desk_places(session, b).values()]
    desks = (
        1
        if where.device
        else sum(
            1
            for p in places
            if where.floor in (None, p.floor)
            and where.zone in (None, p.zone)
            and where.space in (None, p.code)
        )
    )
    if desks < settings.privacy_min_group:
        raise Forbidden(
            T(
                "presence over {n} desk(s) would show people; ask for a "
                "building, floor or zone of at least {k} desks, or use "
                "the occupancy report",
                n=desks,
                k=settings.privacy_min_group,
            )
        )


PresenceRead = Depends(_audit_presence)
PresenceSeries = Depends(_presence_groups)


def _ms(t: datetime, tz: ZoneInfo) -> int:
    """Epoch ms; a time without an offset is read in ``tz``."""
    return to_ms(aware(t, tz))


_DURATION = re.compile(r"^(-?\d+)(s|m|h|d)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_duration(text: str, name: str) -> timedelta:
    """``90``, ``90s``, ``5m``, ``1h``, ``1d`` or ISO 8601 (``PT5M``), or a 400 naming ``name``."""
    m = _DURATION.match(text.strip())
    if m:
        return timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2) or "s"])
    try:
        return TypeAdapter(timedelta).validate_python(text)
    except ValidationError as exc:
        raise QueryError(
            f"{name}: {text!r} is not a duration; use seconds, 5m, 1h, 1d or ISO 8601 (PT5M)"
        ) from exc


def _window(
    db: DatabaseDep,
    where: Where,
    start: Annotated[
        Moment, Query(description="ISO time; without an offset, the building's local time")
    ],
    end: Annotated[Moment, Query(description="ISO time, exclusive")],
    every: Annotated[str, Query(description="Window: seconds, 5m, 1h, 1d or ISO 8601")],
    offset: Annotated[str, Query(description="Shift of window boundaries, e.g. -8h")] = "0",
) -> Window:
    with db.session(commit=False) as session:
        tz = zone_for(session, where.building)
    return Window(
        _ms(start, tz),
        _ms(end, tz),
        parse_duration(every, "every"),
        parse_duration(offset, "offset"),
    )


WindowDep = Annotated[Window, Depends(_window)]


class LatestOut(BaseModel):
    """Newest value in one space (read from the store's LatestValue)."""

    model_config = ConfigDict(from_attributes=True)

    space: str
    time: Shown = Field(validation_alias="ts_ms")
    value: float | int | str
    tags: dict[str, str]


class WindowOut(BaseModel):
    """An aggregate over one window (read from the store's WindowValue)."""

    model_config = ConfigDict(from_attributes=True)

    start: Shown = Field(validation_alias="start_ms")
    value: float


_LATEST = TypeAdapter(list[LatestOut])
_WINDOWS = TypeAdapter(list[WindowOut])


@router.get("/latest", response_model=list[LatestOut], dependencies=[PresenceRead])
async def latest(store: StoreDep, where: Where, stream: str, field: str) -> list[LatestOut]:
    """Newest value of a field in every space matching the filters."""
    return _LATEST.validate_python(
        await store.latest(stream=stream, field=field, where=where), from_attributes=True
    )


@router.get("/series", response_model=list[WindowOut], dependencies=[PresenceSeries, PresenceRead])
async def series(
    store: StoreDep,
    where: Where,
    window: WindowDep,
    stream: str,
    field: str,
    agg: Aggregation = "mean",
) -> list[WindowOut]:
    """A field aggregated per window for a space, zone, floor or building."""
    values = await store.series(stream=stream, field=field, agg=agg, window=window, where=where)
    return _WINDOWS.validate_python(values, from_attributes=True)


@router.get("/counts", response_model=list[WindowOut], dependencies=[PresenceSeries, PresenceRead])
async def counts(store: StoreDep, where: Where, window: WindowDep, stream: str) -> list[WindowOut]:
    """Number of readings per window."""
    return _WINDOWS.validate_python(
        await store.counts(stream=stream, window=window, where=where), from_attributes=True
    )
