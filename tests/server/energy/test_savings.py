"""Savings against a constructed baseline, floor consolidation and desk suggestions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from harness.calendar import office_hours
from server.auth.models import User
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings.availability import DeskFilter
from server.bookings.models import Booking
from server.db import Database
from server.energy.consolidation import floor_loads, ranked_desks, suggest
from server.energy.models import RollupState, ZoneAction
from server.energy.rollup import RollupConfig, Rollups
from server.energy.savings import SavingsQuery, estimate
from server.readings.store import ReadingStore, Rollup
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from server.spaces.models import Desk
from tests.server.energy.test_summary import layout

WITA = ZoneInfo("Asia/Makassar")
B = "gedung-e"
DAY = datetime(2026, 12, 2, tzinfo=WITA)  # a Wednesday
H = 3_600_000


def at(day: int, hour: float) -> int:
    return int((DAY + timedelta(days=day, hours=hour)).timestamp() * 1000)


@pytest.fixture
def building(db: Database) -> Database:
    with db.session() as s:
        import_layout(s, parse_layout(layout()))
        s.add(office_hours(B))
        create_user(
            s, actor="t", new=UserCreate(username="siti", password="p" * 12, display_name="Siti")
        )
    return db


def action(
    db: Database, start: int, end: int, *, published: bool = True, mode: str = "setback"
) -> None:
    with db.session() as s:
        sent = start if published else None
        s.add(
            ZoneAction(
                building_id=B,
                floor="l1",
                zone="l1-a",
                channel="hvac",
                mode=mode,
                reason_code="vacant",
                reason="t",
                start_ms=start,
                end_ms=end,
                published=published,
                published_ms=sent,
            )
        )


def hvac_hour(hour_ms: int, wh: float) -> Rollup:
    tags = {"building": B, "floor": "l1", "zone": "l1-a", "space": "l1-a", "space_kind": "zone"}
    return Rollup("energy", hour_ms, "em-1", "hvac", tags, {"wh": wh})


@pytest.mark.anyio
async def test_savings_against_comparable_hours(building: Database, store: ReadingStore) -> None:
    baseline = {-7: 900.0, -6: 1000.0, -5: 1100.0, -2: 1000.0, -1: 1000.0}  # working days
    rows = [hvac_hour(at(d, h), wh) for d, wh in baseline.items() for h in (10, 11, 12)]
    rows += [hvac_hour(at(d, h), 200.0) for d in (-4, -3) for h in (10, 11)]  # the weekend
    rows += [
        hvac_hour(at(0, h), wh)
        for h, wh in ((9, 1000), (10, 400), (11, 400), (12, 700), (14, 300), (20, 150))
    ]
    await store.write_rollups(rows)
    action(building, at(0, 10), at(0, 12.5))  # 10:00 and 11:00 whole, 12:00 only half
    action(building, at(0, 14), at(0, 15), published=False)  # advice alone saves nothing
    action(building, at(0, 20), at(0, 21), mode="off")  # no hour-20 baseline
    with building.session() as s:
        s.add(RollupState(building_id=B, done_until_ms=at(1, 0), updated_ms=at(1, 0)))
    rollups = Rollups(building, store, RollupConfig(), clock=lambda: at(1, 1) / 1000)
    est = await estimate(building, rollups, SavingsQuery(B, at(0, 0), at(1, 0)))
    assert (est.setback_hours, est.estimated_hours) == (3, 2)
    assert est.baseline_kwh == pytest.approx(2.0)
    assert est.measured_kwh == pytest.approx(0.8)
    assert est.saved_kwh == pytest.approx(1.2)
    assert est.saved_share == pytest.approx(0.6)
    # Per hour: s = 0.0707 kWh over n = 5 samples; 1.96 * sqrt(2 * s^2 * (1 + 1/5)).
    assert est.ci95_kwh == pytest.approx(1.96 * (2 * 0.005 * 1.2) ** 0.5, abs=0.001)
    assert [z.zone for z in est.zones] == ["l1-a"]
    assert "lower bound" in est.method


def book(db: Database, desk: str, start: int, end: int) -> None:
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == "siti")).one()
        d = s.scalars(select(Desk).where(Desk.code == desk)).one()
        s.add(
            Booking(
                building_id=B,
                desk_id=d.id,
                space_code=desk,
                space_kind="desk",
                user_id=user.id,
                booked_by="siti",
                start_ms=start,
                end_ms=end,
                created_ms=start,
            )
        )


def test_consolidation_and_desks_in_active_zones_first(building: Database) -> None:
    book(building, "a1", at(0, 8), at(0, 17))
    book(building, "b1", at(0, 9), at(0, 12))
    with building.session() as s:
        loads = floor_loads(s, B, DAY.date())
    got: list[Any] = [(f.floor, f.bookable_desks, f.bookings, f.peak_desks) for f in loads]
    assert got == [("l1", 2, 1, 1), ("l2", 2, 1, 1)]
    empty, moves = suggest(loads)
    assert empty == []
    # Both floors have one booking; l1 sorts first and goes to l2, which is then kept.
    assert [(f.floor, plan) for f, plan in moves] == [("l1", {"l2": 1})]
    book(building, "b2", at(0, 9), at(0, 12))
    with building.session() as s:
        _, moves = suggest(floor_loads(s, B, DAY.date()))
    assert moves == []  # l2 is full at 09:00-12:00, l1 has one free desk: neither fits
    noon = DAY + timedelta(hours=12)  # judged then, whatever day the test runs
    with building.session() as s:
        ranked = ranked_desks(
            s,
            actor=Principal("siti", "employee", "Siti"),
            building=B,
            start=DAY + timedelta(hours=13),
            end=DAY + timedelta(hours=15),
            desks=DeskFilter(),
            limit=10,
            now=noon,
        )
    assert [r.desk.id for r in ranked] == ["a2", "b1", "b2"]
    assert ranked[0].zone_activity == 1 and "already in use" in ranked[0].reason
