"""The afternoon before (server/plans/afternoon.py), on SQLite and PostgreSQL: tomorrow's
bookings and the people who plan to come without one show a floor that could be set back
all day, and the building's operators are told once, from the afternoon."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from harness.calendar import office_hours
from harness.layouts import one_floor
from server.auth.schemas import UserCreate
from server.auth.service import Principal, create_user
from server.bookings import service as bookings
from server.bookings.schemas import BookingCreate
from server.db import Database
from server.energy.rollup import Rollups
from server.notify.models import MailMessage
from server.plans import service
from server.plans.afternoon import tell_tomorrow
from server.plans.schemas import WeekDoc
from server.readings.sqlite import SQLiteReadingStore
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.plans.conftest import WITA

B = "menara-k"
THURSDAY_NOON = datetime(2026, 12, 10, 12, 0, tzinfo=WITA)
FRIDAY = THURSDAY_NOON.date() + timedelta(days=1)


@pytest.mark.anyio
async def test_tomorrows_quiet_floor_is_told_to_the_operators_once(
    db: Database, tmp_path: Path
) -> None:
    db.mail = True
    layout = one_floor(B, "k1", ["a1", "a2", "a3", "a4"])
    layout["floors"].append(one_floor(B, "k2", ["b1", "b2", "b3", "b4"])["floors"][0])
    with db.session() as s:
        import_layout(s, parse_layout(layout))
        s.add(office_hours(B))
        people = {}
        for name in ("ani", "bima", "citra"):
            u = create_user(
                s, actor="t", new=UserCreate(username=name, password="p" * 12, display_name=name)
            )
            people[name] = Principal(u.username, u.role, u.display_name)
        create_user(
            s,
            actor="t",
            new=UserCreate(
                username="operator",
                password="p" * 12,
                display_name="Operator",
                role="facility_manager",
                email="operator@example.go.id",
            ),
        )
    # Friday: ani and bima booked the second floor; citra plans to come, with no desk.
    with db.session() as s:
        for name, desk in (("ani", "b1"), ("bima", "b2")):
            new = BookingCreate(building=B, desk=desk, day=FRIDAY)
            bookings.create(s, actor=people[name], new=new, now=THURSDAY_NOON)
        week = WeekDoc.model_validate({"week": ["office"] * 5 + [None, None]})
        service.set_week(s, actor=people["citra"], doc=week)
    store = SQLiteReadingStore(tmp_path / "readings.db")
    rollups = Rollups(db, store)
    try:
        assert await tell_tomorrow(db, rollups, now=THURSDAY_NOON) == 0  # not the afternoon yet
        afternoon = THURSDAY_NOON.replace(hour=15, minute=30)
        assert await tell_tomorrow(db, rollups, now=afternoon) == 1
        assert await tell_tomorrow(db, rollups, now=afternoon + timedelta(hours=1)) == 0
    finally:
        await store.close()
    with db.session(commit=False) as s:
        told = [
            (m.to, m.subject, m.body)
            for m in s.scalars(select(MailMessage).where(MailMessage.to.like("operator%")))
        ]
    assert len(told) == 1
    to, subject, body = told[0]
    assert subject == f"Besok ({FRIDAY.isoformat()}): 1 lantai dapat diturunkan sepanjang hari"
    assert body.startswith("Lantai k1: pindahkan 1 (1 → k2)")
