"""Closed days (server/calendar/policy.py): national holidays, collective leave, a building's."""

from __future__ import annotations

from datetime import date, datetime

from server.auth.service import Principal
from server.calendar.models import ClosedDay
from server.db import Database
from tests.server.office import WITA, B, at, refused


def test_holidays_collective_leave_and_closed_days(
    db: Database, people: dict[str, Principal]
) -> None:
    later = datetime(2026, 12, 20, 8, 0, tzinfo=WITA)
    christmas = refused(db, people["siti"], now=later, desk="m1", day=date(2026, 12, 25))
    assert (christmas.rule, str(christmas)) == (
        "closed_day",
        "2026-12-25 is closed: Hari Raya Natal",
    )
    eve = refused(
        db,
        people["siti"],
        now=later,
        desk="m1",
        start=at(date(2026, 12, 24), 9),
        end=at(date(2026, 12, 24), 10),
    )
    assert "Cuti Bersama Hari Raya Natal" in str(eve)
    with db.session() as s:
        s.add(ClosedDay(building_id=B, day="2026-12-03", reason="Upacara HUT KORPRI"))
    closed = refused(db, people["siti"], desk="m1", day=date(2026, 12, 3))
    assert str(closed) == "2026-12-03 is closed: Upacara HUT KORPRI"
