"""Energy and comfort API for facility managers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from server.bookings.service import building_tz, local
from server.db import Database
from server.deps import DatabaseDep, Manager
from server.energy.rollup import Rollups
from server.energy.summary import By, EnergySummary, Every, Scope, as_csv, summarise

router = APIRouter(prefix="/api/v1", tags=["energy"])
Format = Literal["json", "csv"]


async def _rollups(request: Request) -> Rollups:
    rollups: Rollups = request.app.state.rollups
    return rollups


RollupsDep = Annotated[Rollups, Depends(_rollups)]


async def zone_of(db: Database, building: str) -> ZoneInfo:
    """The building's time zone, or 404."""

    def read() -> ZoneInfo:
        with db.session(commit=False) as session:
            return building_tz(session, building)[1]

    return await asyncio.to_thread(read)


@router.get("/energy/summary", response_model=EnergySummary)
async def energy_summary(
    _: Manager,
    db: DatabaseDep,
    rollups: RollupsDep,
    building: str,
    start: Annotated[datetime, Query(description="ISO time; the building's zone if no offset")],
    end: Annotated[datetime, Query(description="ISO time, exclusive")],
    every: Every = "1d",
    by: Annotated[By, Query(description="One row per period and floor, zone or circuit")] = (
        "building"
    ),
    floor: str | None = None,
    zone: str | None = None,
    format: Format = "json",  # noqa: A002  (the query parameter's name)
) -> EnergySummary | Response:
    """Energy (kWh) per circuit, zone, floor or building per hour, day or month, JSON or CSV.

    With the share used outside working hours, kWh per occupied and per booked desk-hour,
    the part estimated across counter resets, meter coverage, and power now.
    """
    tz = await zone_of(db, building)
    scope = Scope(building=building, start=local(start, tz), end=local(end, tz), every=every,
                  by=by, floor=floor, zone=zone)  # fmt: skip
    summary = await summarise(scope=scope, db=db, rollups=rollups, now_ms=rollups.now_ms())
    if format == "csv":
        name = f"energy-{building}-{by}-{every}-{summary.start.date()}-{summary.end.date()}.csv"
        return Response(
            as_csv(summary),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return summary
