"""The building's energy shared among its agencies, by a stated key, per month.

Two ministries in one tower share one electricity bill. The building's energy in a month is
what its meters counted (the same kWh as the energy summary's total for that month), and
each agency with a floor in the building gets a part of it by one of three keys:

- ``area``: in proportion to the plan area of its floors (each floor's width × height from
  the layout, in m²). The shared floors' and the building's own energy is carried along.
- ``desk_hours``: in proportion to the occupied desk-hours on its floors that month, from
  the desks' sensors: who used the building more, pays more.
- ``metered``: the energy of the meters on its floors is its own; the rest (meters on shared
  floors and the building's own: lifts, chillers, the lobby) is split by ``area``.

The parts add up to the building total exactly: the total is taken in whole watt-hours and
handed out by the largest remainder, so no watt-hour is lost or counted twice by rounding.
An agency's own roles read their agency's row (and the building's total); the building's
operator and the platform's administrator read every row.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server.agencies.models import Agency
from server.auth.service import Principal
from server.calendar.dates import days_span, from_ms, to_ms
from server.calendar.hours import building_tz
from server.db import Database
from server.energy.rollup import HourlyView, Rollups
from server.exceptions import ConflictError
from server.i18n import T
from server.readings.store import SpaceFilter
from server.spaces.models import Floor

SplitKey = Literal["area", "desk_hours", "metered"]
KEYS: Final[tuple[SplitKey, ...]] = ("area", "desk_hours", "metered")
METHOD: Final = (
    "The month's kWh of every meter of the building (as the energy summary counts them), "
    "shared by the stated key and handed out in whole Wh by the largest remainder, so that "
    "the parts add up to the total exactly. docs/energy.md has the keys."
)


class SplitRow(BaseModel):
    """One agency's part of the building's energy in the month."""

    agency: str
    name: str
    floors: list[str]
    basis: float = Field(
        description="What the key weighs: m² of floors (area, metered's common part), "
        "occupied desk-hours (desk_hours)."
    )
    metered_kwh: float | None = Field(
        description="Energy of the meters on the agency's floors (key metered), else None."
    )
    share: float = Field(description="Part of the building total, 0..1.")
    kwh: float


class EnergySplit(BaseModel):
    """The building's energy in a month, and each agency's part of it."""

    building: str
    month: str
    start: datetime
    end: datetime
    timezone: str
    key: SplitKey
    total_kwh: float
    common_kwh: float = Field(
        description="Energy of no agency's floor (shared floors, the building's own meters)."
    )
    rows: list[SplitRow]
    method: str = METHOD


@dataclass(frozen=True, slots=True)
class _Owners:
    floors: dict[str, str]
    """Floor code -> its agency (the building's own floors are not here)."""
    area: dict[str, float]
    """Agency -> m² of its floors."""
    names: dict[str, str]
    tz: ZoneInfo


def month_span(month: date, tz: ZoneInfo) -> tuple[int, int]:
    """The month's [first, last) in ms, from local midnight to local midnight in ``tz``."""
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    start, end = days_span(first, last, tz)
    return to_ms(start), to_ms(end)


def _owners(db: Database, building: str) -> _Owners:
    with db.session(commit=False) as session:
        _, tz = building_tz(session, building)
        rows = session.execute(
            select(Floor.code, Floor.agency_id, Floor.width, Floor.height).where(
                Floor.building_id == building, Floor.agency_id.is_not(None)
            )
        ).all()
        floors = {code: str(agency) for code, agency, _, _ in rows}
        area: dict[str, float] = defaultdict(float)
        for _, agency, width, height in rows:
            area[str(agency)] += width * height
        named = select(Agency.id, Agency.name).where(Agency.id.in_(set(floors.values())))
        names = {row[0]: row[1] for row in session.execute(named)}
    return _Owners(floors, dict(area), names, tz)


def hand_out(total_wh: int, weights: Mapping[str, float]) -> dict[str, int]:
    """``total_wh`` in whole Wh in proportion to ``weights``, adding up to it exactly.

    Each gets the whole part of its share; the Wh left go one each to the largest
    remainders (ties by name, so the answer is the same every time).
    """
    whole = sum(weights.values())
    if whole <= 0:
        raise ValueError("no weight to share by")
    exact = {k: total_wh * w / whole for k, w in weights.items()}
    given = {k: math.floor(v) for k, v in exact.items()}
    left = total_wh - sum(given.values())
    for k in sorted(exact, key=lambda k: (given[k] - exact[k], k))[:left]:
        given[k] += 1
    return given


async def split(
    db: Database, rollups: Rollups, *, building: str, month: date, key: SplitKey, actor: Principal
) -> EnergySplit:
    """The building's energy in ``month`` and each agency's part by ``key``.

    As ``actor`` may read it: an agency's roles, their agency's row. ConflictError when no
    floor of the building is an agency's, or when the key has nothing to weigh (no occupied
    desk-hour that month).
    """
    owners = await run_in_threadpool(_owners, db, building)
    if not owners.area:
        raise ConflictError(
            T(
                "no floor of {building} belongs to an agency: there is nothing to share",
                building=building,
            )
        )
    first, last = month_span(month, owners.tz)
    view = await HourlyView.open(rollups, building, first, last)
    where = SpaceFilter(building=building)
    day = timedelta(days=1)
    per_floor: dict[str, float] = defaultdict(float)
    for r in await view.rows("energy", {"wh": "sum"}, where=where, by=["floor"], every=day):
        per_floor[r.group.get("floor", "")] += r.values.get("wh", 0.0)
    total_wh = round(sum(per_floor.values()))
    metered: dict[str, float] = defaultdict(float)
    for floor, wh in per_floor.items():
        if floor in owners.floors:
            metered[owners.floors[floor]] += wh
    basis: dict[str, float] = dict(owners.area)
    if key == "desk_hours":
        used: dict[str, float] = defaultdict(float)
        presence = await view.rows(
            "presence", {"occupied_s": "sum"}, where=where, by=["floor"], every=day
        )
        for r in presence:
            agency = owners.floors.get(r.group.get("floor", ""))
            if agency is not None:
                used[agency] += r.values.get("occupied_s", 0.0) / 3600
        basis = {a: round(used.get(a, 0.0), 3) for a in owners.area}
        if not any(basis.values()):
            raise ConflictError(
                T(
                    "no desk of an agency was occupied in {month}: share by area instead",
                    month=f"{month:%Y-%m}",
                )
            )
    if key == "metered":
        own = {a: round(metered.get(a, 0.0)) for a in owners.area}
        common = total_wh - sum(own.values())
        if common >= 0:
            given = {a: own[a] + wh for a, wh in hand_out(common, owners.area).items()}
        else:  # sub-meters counted more than the whole (a meter misread): share it all
            given = hand_out(total_wh, own if any(own.values()) else owners.area)
    else:
        given = hand_out(total_wh, basis) if total_wh else dict.fromkeys(basis, 0)
    common_wh = total_wh - round(sum(metered.values()))
    rows = [
        SplitRow(
            agency=a,
            name=owners.names.get(a, a),
            floors=sorted(f for f, owner in owners.floors.items() if owner == a),
            basis=round(basis[a], 3),
            metered_kwh=round(metered.get(a, 0.0) / 1000, 3) if key == "metered" else None,
            share=round(given[a] / total_wh, 6) if total_wh else 0.0,
            kwh=given[a] / 1000,
        )
        for a in sorted(given)
        if actor.reaches(a)
    ]
    return EnergySplit(
        building=building,
        month=f"{month:%Y-%m}",
        start=from_ms(first, owners.tz),
        end=from_ms(last, owners.tz),
        timezone=str(owners.tz),
        key=key,
        total_kwh=total_wh / 1000,
        common_kwh=common_wh / 1000,
        rows=rows,
    )


def as_csv(report: EnergySplit) -> str:
    """The split as CSV for the finance office: a line per agency, then the building's total."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "month",
            "building",
            "key",
            "agency",
            "name",
            "floors",
            "basis",
            "metered_kwh",
            "share",
            "kwh",
        ]
    )
    for r in report.rows:
        w.writerow(
            [
                report.month,
                report.building,
                report.key,
                r.agency,
                r.name,
                " ".join(r.floors),
                r.basis,
                "" if r.metered_kwh is None else r.metered_kwh,
                r.share,
                f"{r.kwh:.3f}",
            ]
        )
    w.writerow(
        [
            report.month,
            report.building,
            report.key,
            "*",
            "total",
            "",
            "",
            "",
            1,
            f"{report.total_kwh:.3f}",
        ]
    )
    return out.getvalue()
