"""Comfort and air quality per room and zone, and alerts for occupied rooms with stale air.

The report reads the hourly climate rollups: each reading holds until the next (at most
15 minutes), and the time at or above each CO2 level, and below or above the temperature
and humidity bands, is summed. Alerts: an occupied room whose CO2 has stayed at or above
the alert level for the whole alert window opens an alert (raised to the top level if the
air stays that bad); it closes when CO2 falls 50 ppm below the level, the room empties, or
its sensor goes quiet for 30 minutes (``QUIET_MS``, the span of readings checked).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.calendar.dates import from_ms
from server.energy.accounting import Bands
from server.energy.models import ComfortAlert
from server.energy.rollup import HourlyView, combine
from server.readings.store import RawPoint, RollupAgg, SpaceFilter

RoomBy = Literal["room", "zone"]
HYSTERESIS_PPM = 50
QUIET_MS = 30 * 60_000
ENV_FIELDS: dict[str, RollupAgg] = {
    "covered_s": "sum",
    "co2_n": "sum",
    "co2_sum": "sum",
    "co2_max": "max",
    "temp_n": "sum",
    "temp_sum": "sum",
    "temp_min": "min",
    "temp_max": "max",
    "rh_n": "sum",
    "rh_sum": "sum",
    "temp_low_s": "sum",
    "temp_high_s": "sum",
    "rh_low_s": "sum",
    "rh_high_s": "sum",
}


def band(co2: float, levels: tuple[int, ...]) -> str:
    """``good`` below the first level, then ``moderate``, ``poor``, ``bad`` (and beyond)."""
    names = ("good", "moderate", "poor", "bad", "very_bad", "extreme")
    return names[sum(1 for level in levels if co2 >= level)]


class ComfortRow(BaseModel):
    """One room's (or zone's) climate over the period."""

    group: str
    floor: str
    zone: str
    hours_measured: float
    co2_mean: float | None
    co2_max: float | None
    hours_at_or_above: dict[str, float] = Field(description="CO2 level (ppm) -> hours.")
    share_at_or_above: dict[str, float]
    temp_mean: float | None
    temp_min: float | None
    temp_max: float | None
    hours_too_cold: float
    hours_too_warm: float
    rh_mean: float | None
    hours_too_dry: float
    hours_too_humid: float


class ComfortReport(BaseModel):
    """Climate per room or zone for a building and period."""

    building: str
    start: datetime
    end: datetime
    bands: dict[str, Any]
    rows: list[ComfortRow]


async def report(
    view: HourlyView, *, where: SpaceFilter, by: RoomBy, bands: Bands, tz: ZoneInfo
) -> ComfortReport:
    """Per room or zone: means and extremes, and hours at each CO2 level and out of band."""
    levels: dict[str, RollupAgg] = {f"co2_{lv}_s": "sum" for lv in bands.co2}
    rows = await view.rows(
        "env",
        {**ENV_FIELDS, **levels},
        where=where,
        by=["space", "floor", "zone"],
        every=timedelta(days=1),
        offset=timedelta(hours=-8),
    )
    acc: dict[str, dict[str, float]] = defaultdict(dict)
    place: dict[str, tuple[str, str]] = {}
    for r in rows:
        g = r.group["space"] if by == "room" else r.group["zone"]
        place[g] = (r.group["floor"], r.group["zone"])
        a = acc[g]
        for name, v in r.values.items():
            a[name] = combine(a.get(name), v, ENV_FIELDS.get(name, "sum"))
    out = []
    for g in sorted(acc):
        a = acc[g]
        h = a.get("covered_s", 0.0) / 3600
        at = {str(lv): round(a.get(f"co2_{lv}_s", 0.0) / 3600, 3) for lv in bands.co2}
        out.append(
            ComfortRow(
                group=g,
                floor=place[g][0],
                zone=place[g][1],
                hours_measured=round(h, 3),
                co2_mean=_mean(a, "co2"),
                co2_max=a.get("co2_max"),
                hours_at_or_above=at,
                share_at_or_above={k: round(v / h, 4) if h else 0.0 for k, v in at.items()},
                temp_mean=_mean(a, "temp"),
                temp_min=a.get("temp_min"),
                temp_max=a.get("temp_max"),
                hours_too_cold=round(a.get("temp_low_s", 0.0) / 3600, 3),
                hours_too_warm=round(a.get("temp_high_s", 0.0) / 3600, 3),
                rh_mean=_mean(a, "rh"),
                hours_too_dry=round(a.get("rh_low_s", 0.0) / 3600, 3),
                hours_too_humid=round(a.get("rh_high_s", 0.0) / 3600, 3),
            )
        )
    return ComfortReport(
        building=view.building,
        start=from_ms(view.first, tz),
        end=from_ms(view.last, tz),
        bands={
            "co2_ppm": list(bands.co2),
            "temp_c": list(bands.temp_c),
            "rh_pct": list(bands.rh_pct),
        },
        rows=out,
    )


def _mean(a: dict[str, float], name: str) -> float | None:
    n = a.get(f"{name}_n", 0.0)
    return round(a[f"{name}_sum"] / n, 2) if n else None


def report_csv(rep: ComfortReport) -> str:
    """The report as CSV."""
    buf = io.StringIO()
    w = csv.writer(buf)
    levels = [str(lv) for lv in rep.bands["co2_ppm"]]
    w.writerow(
        [
            "group",
            "floor",
            "zone",
            "hours_measured",
            "co2_mean",
            "co2_max",
            *(f"hours_co2_{lv}" for lv in levels),
            "temp_mean",
            "temp_min",
            "temp_max",
            "hours_too_cold",
            "hours_too_warm",
            "rh_mean",
            "hours_too_dry",
            "hours_too_humid",
        ]
    )
    for r in rep.rows:
        w.writerow(
            [
                r.group,
                r.floor,
                r.zone,
                r.hours_measured,
                r.co2_mean,
                r.co2_max,
                *(r.hours_at_or_above[lv] for lv in levels),
                r.temp_mean,
                r.temp_min,
                r.temp_max,
                r.hours_too_cold,
                r.hours_too_warm,
                r.rh_mean,
                r.hours_too_dry,
                r.hours_too_humid,
            ]
        )
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """When an occupied room's air raises an alert."""

    level_ppm: int = 1000
    top_ppm: int = 1500
    minutes: int = 15


def stale_air(points: list[RawPoint], now: int, cfg: AlertConfig) -> tuple[float, float] | None:
    """(level, newest CO2) when the room stayed at or above a level for the whole window.

    ``points``: one room's CO2 readings, in time order, from a little before the window.
    """
    if not points or now - points[-1].ts_ms > 10 * 60_000:
        return None
    start = now - cfg.minutes * 60_000
    before = [p for p in points if p.ts_ms <= start]
    inside = [p for p in points if p.ts_ms > start]
    if not before and (not inside or inside[0].ts_ms - start > 2 * 60_000):
        return None  # the window is not covered from its start
    held = ([before[-1]] if before else []) + inside
    values = [float(p.fields["co2_ppm"]) for p in held if "co2_ppm" in p.fields]
    if not values or min(values) < cfg.level_ppm:
        return None
    return (float(cfg.top_ppm) if min(values) >= cfg.top_ppm else float(cfg.level_ppm), values[-1])


def update_alerts(
    session: Session,
    *,
    building: str,
    points: list[RawPoint],
    occupied: Callable[[dict[str, str]], bool],
    now: int,
    cfg: AlertConfig,
) -> list[dict[str, Any]]:
    """Open, raise and close the building's CO2 alerts; returns events for the maps."""
    by_space: dict[str, list[RawPoint]] = defaultdict(list)
    for p in points:
        if p.tags.get("space"):
            by_space[p.tags["space"]].append(p)
    open_ = {
        a.space: a
        for a in session.scalars(
            select(ComfortAlert).where(
                ComfortAlert.building_id == building, ComfortAlert.ended_ms.is_(None)
            )
        )
    }
    events = []

    def event(a: ComfortAlert, state: str) -> None:
        events.append(
            {
                "type": "comfort_alert",
                "building": building,
                "floor": a.floor,
                "zone": a.zone,
                "space": a.space,
                "metric": a.metric,
                "level": a.level,
                "value": a.last_value,
                "state": state,
                "at": now,
            }
        )

    for space, pts in by_space.items():
        pts.sort(key=lambda p: p.ts_ms)
        tags = pts[-1].tags
        latest = float(pts[-1].fields.get("co2_ppm", 0.0))
        alert = open_.pop(space, None)
        bad = stale_air(pts, now, cfg) if occupied(tags) else None
        if alert is None and bad is not None:
            alert = ComfortAlert(
                building_id=building,
                floor=tags.get("floor", ""),
                zone=tags.get("zone", ""),
                space=space,
                metric="co2",
                level=bad[0],
                started_ms=now - cfg.minutes * 60_000,
                peak=max(float(p.fields.get("co2_ppm", 0)) for p in pts),
                last_value=latest,
            )
            session.add(alert)
            event(alert, "open")
        elif alert is not None:
            alert.last_value = latest
            alert.peak = max(alert.peak, latest)
            if latest < alert.level - HYSTERESIS_PPM or not occupied(tags):
                alert.ended_ms = now
                event(alert, "closed")
            elif bad is not None and bad[0] > alert.level:
                alert.level = bad[0]
                event(alert, "raised")
    for alert in open_.values():  # its sensor has said nothing for QUIET_MS
        alert.ended_ms = now
        event(alert, "closed")
    return events


def recorded_alerts(
    session: Session, *, building: str, active: bool, since_ms: int | None
) -> list[ComfortAlert]:
    """A building's alerts, newest first: the open ones, and those ended since ``since_ms``."""
    q = select(ComfortAlert).where(ComfortAlert.building_id == building)
    if active:
        q = q.where(ComfortAlert.ended_ms.is_(None))
    if since_ms is not None:
        q = q.where(or_(ComfortAlert.ended_ms.is_(None), ComfortAlert.ended_ms > since_ms))
    return list(session.scalars(q.order_by(ComfortAlert.started_ms.desc()).limit(1000)))
