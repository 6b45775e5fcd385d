"""What setting zones back saved: energy in set-back hours against comparable hours.

Method (docs/energy.md has it in full):

* A *set-back hour* of a zone and circuit is an hour wholly covered by a set-back or off
  command that was sent to the building-management system (advice alone saves nothing).
  HVAC circuits follow the zone's HVAC commands, lighting circuits its lighting commands.
* Its *baseline* is the mean energy of the same zone, circuit and local hour of day, on
  comparable days (working days with working days, other days with other days) in the
  baseline window, in hours with no set-back or off command at all. At least
  ``MIN_SAMPLES`` such hours are needed; hours without them are counted, not estimated.
* Saving = baseline mean - measured, summed over set-back hours. Its uncertainty treats
  each hour's baseline as a sample mean: variance ``s^2 (1 + 1/n)`` per hour, summed as if
  hours were independent. Consecutive hours are correlated, so the interval given is a
  lower bound on the real uncertainty: read it as "at least this uncertain".
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool

from server.calendar.dates import from_ms
from server.calendar.hours import WorkingHours
from server.db import Database
from server.energy.models import ZoneAction
from server.energy.rollup import HourlyView, Rollups
from server.readings.store import HOUR_MS, SpaceFilter

MIN_SAMPLES = 3
METHOD = (
    "Saving = mean energy of the same zone, circuit and local hour on comparable days "
    "(working or not) with no set-back, minus the measured energy, over hours wholly under a "
    "set-back or off command that was sent. 95 % interval from the baseline's spread, "
    "s^2 (1 + 1/n) per hour, hours taken as independent: a lower bound on the uncertainty. "
    "Hours with fewer than 3 baseline samples are counted but not estimated. See docs/energy.md."
)
ACTED = ("setback", "off")
# Circuits the zone commands act on; each follows the zone channel of the same name.
ACTED_CIRCUITS = ("hvac", "lighting")


class ZoneSavings(BaseModel):
    """One zone's estimate."""

    zone: str
    setback_hours: int
    estimated_hours: int
    baseline_kwh: float
    measured_kwh: float
    saved_kwh: float
    ci95_kwh: float = Field(description="Half-width of the 95 % interval (a lower bound).")


class SavingsEstimate(BaseModel):
    """The estimate for a building and period, with its method."""

    building: str
    start: datetime
    end: datetime
    circuits: list[str]
    baseline_days: int
    setback_hours: int = Field(description="Zone-circuit hours wholly under a sent set-back.")
    estimated_hours: int = Field(description="Of those, hours with enough baseline samples.")
    baseline_kwh: float
    measured_kwh: float
    saved_kwh: float
    saved_share: float | None
    ci95_kwh: float
    zones: list[ZoneSavings]
    method: str


@dataclass(frozen=True, slots=True)
class SavingsQuery:
    """What to estimate."""

    building: str
    first: int
    last: int
    baseline_days: int = 28
    circuits: tuple[str, ...] = ACTED_CIRCUITS


def _coverage(actions: list[ZoneAction], first: int, last: int) -> dict[tuple[str, str, int], str]:
    """(zone, channel, hour) -> "acted" (wholly under a sent set-back/off) or "mixed"."""
    out: dict[tuple[str, str, int], str] = {}
    acted_ms: dict[tuple[str, str, int], int] = defaultdict(int)
    for a in actions:
        s, e = max(a.start_ms, first), min(a.end_ms or last, last)
        h = s - s % HOUR_MS
        while h < e:
            part = min(e, h + HOUR_MS) - max(s, h)
            acted_ms[(a.zone, a.channel, h)] += part
            h += HOUR_MS
    for key, ms in acted_ms.items():
        out[key] = "acted" if ms >= HOUR_MS else "mixed"
    return out


async def estimate(db: Database, rollups: Rollups, q: SavingsQuery) -> SavingsEstimate:
    """The savings estimate for ``q``."""
    pool_first = q.first - q.baseline_days * 24 * HOUR_MS

    def read() -> tuple[WorkingHours, list[ZoneAction]]:
        with db.session(commit=False) as s:
            hours = WorkingHours.of(s, q.building)
            hours.open_seconds(pool_first, q.last)
            actions = list(
                s.scalars(
                    select(ZoneAction).where(
                        ZoneAction.building_id == q.building,
                        ZoneAction.published.is_(True),
                        ZoneAction.mode.in_(ACTED),
                        ZoneAction.start_ms < q.last,
                        or_(ZoneAction.end_ms.is_(None), ZoneAction.end_ms > pool_first),
                    )
                )
            )
            s.expunge_all()
        return hours, actions

    hours, actions = await run_in_threadpool(read)
    view = await HourlyView.open(rollups, q.building, pool_first, q.last)
    rows = await view.rows(
        "energy", {"wh": "sum"}, where=SpaceFilter(building=q.building), by=["zone", "key"]
    )
    cover = _coverage(actions, pool_first, q.last)
    tz = hours.tz

    def kind(h: int) -> tuple[int, bool]:
        t = from_ms(h, tz)
        return t.hour, not isinstance(hours.day(t.date()), str)

    pool: dict[tuple[str, str, int, bool], list[float]] = defaultdict(list)
    acted: list[tuple[str, str, int, float]] = []
    for r in rows:
        zone, circuit = r.group["zone"], r.group["key"]
        if circuit not in q.circuits:
            continue
        state = cover.get((zone, circuit, r.start_ms))
        wh = r.values.get("wh", 0.0)
        if state is None:
            pool[(zone, circuit, *kind(r.start_ms))].append(wh)
        elif state == "acted" and r.start_ms >= q.first:
            acted.append((zone, circuit, r.start_ms, wh))
    per_zone: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for zone, circuit, h, wh in acted:
        z = per_zone[zone]
        z["hours"] += 1
        samples = pool.get((zone, circuit, *kind(h)), [])
        if len(samples) < MIN_SAMPLES:
            continue
        mean = statistics.fmean(samples)
        sd = statistics.stdev(samples)
        z["estimated"] += 1
        z["baseline"] += mean / 1000
        z["measured"] += wh / 1000
        z["var"] += (sd / 1000) ** 2 * (1 + 1 / len(samples))
    zones = [
        ZoneSavings(
            zone=zone,
            setback_hours=int(z["hours"]),
            estimated_hours=int(z["estimated"]),
            baseline_kwh=round(z["baseline"], 3),
            measured_kwh=round(z["measured"], 3),
            saved_kwh=round(z["baseline"] - z["measured"], 3),
            ci95_kwh=round(1.96 * math.sqrt(z["var"]), 3),
        )
        for zone, z in sorted(per_zone.items())
    ]
    baseline = sum(z.baseline_kwh for z in zones)
    measured = sum(z.measured_kwh for z in zones)
    return SavingsEstimate(
        building=q.building,
        start=from_ms(q.first, tz),
        end=from_ms(q.last, tz),
        circuits=list(q.circuits),
        baseline_days=q.baseline_days,
        setback_hours=sum(z.setback_hours for z in zones),
        estimated_hours=sum(z.estimated_hours for z in zones),
        baseline_kwh=round(baseline, 3),
        measured_kwh=round(measured, 3),
        saved_kwh=round(baseline - measured, 3),
        saved_share=round((baseline - measured) / baseline, 4) if baseline else None,
        ci95_kwh=round(1.96 * math.sqrt(sum(z["var"] for z in per_zone.values())), 3),
        zones=zones,
        method=METHOD,
    )
