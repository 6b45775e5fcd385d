"""Closed days (server/calendar/policy.py): national holidays, collective leave, a building's;
and an agency's own rules and leave days, layered on the building's."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from server.agencies import service as agencies
from server.agencies.schemas import AgencyCreate
from server.auth.schemas import UserUpdate
from server.auth.service import Principal, update_user
from server.calendar import admin as calendar
from server.calendar.models import ClosedDay
from server.calendar.policy import policy_for
from server.calendar.schemas import AgencyPolicyDoc, ClosedDayDoc
from server.db import Database
from server.exceptions import Forbidden
from tests.server.office import WED, WITA, B, at, book, refused


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


def test_an_agencys_own_rules_narrow_the_buildings_for_its_people_only(
    db: Database, people: dict[str, Principal]
) -> None:
    """Kemenko PMK books 3 days ahead, Monday to Thursday from 08:00, with 10 minutes to
    check in, and takes Thursday 3 December as its own leave; budi, of no agency, keeps the
    building's rules."""
    with db.session() as s:
        agencies.create(s, actor="t", new=AgencyCreate(id="kemenko-pmk", name="Kemenko PMK"))
        update_user(s, actor="t", username="siti", change=UserUpdate(agency="kemenko-pmk"))
        rules = AgencyPolicyDoc(
            window_days=3, open_minute=8 * 60, weekdays=[0, 1, 2, 3], checkin_grace_minutes=10
        )
        calendar.set_agency_rules(s, actor="t", agency="kemenko-pmk", doc=rules, scope=None)
        leave = ClosedDayDoc(day=date(2026, 12, 3), reason="Cuti instansi", agency="kemenko-pmk")
        calendar.close_day(s, actor="t", doc=leave)
    siti = replace(people["siti"], agency="kemenko-pmk")
    budi = people["budi"]
    far = refused(db, siti, desk="m1", day=date(2026, 12, 9))
    assert (far.rule, str(far)) == ("booking_window", "bookings open 3 days ahead at the most")
    assert refused(db, siti, desk="m1", day=date(2026, 12, 3)).rule == "closed_day"
    friday = refused(db, siti, now=at(WED, 6), desk="m1", day=date(2026, 12, 4))
    assert friday.rule == "weekday"
    early = refused(db, siti, desk="m1", start=at(WED, 7, 30), end=at(WED, 9))
    assert early.rule == "working_hours" and "08:00-19:00" in str(early)
    assert book(db, siti, desk="m1", day=WED).created
    # Budi, of no agency: the building's rules, the agency's leave day is not his.
    for day in (date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 9)):
        assert book(db, budi, desk="m2", day=day).created
    with db.session() as s:
        assert policy_for(s, B, None, "kemenko-pmk").checkin_grace_minutes == 10
        assert policy_for(s, B, None).checkin_grace_minutes == 15
        # A rule can only narrow the building's: a wider window is the building's 14 days.
        wider = AgencyPolicyDoc(window_days=60, max_per_week=50)
        calendar.set_agency_rules(s, actor="t", agency="kemenko-pmk", doc=wider, scope=None)
    with db.session() as s:
        mine = policy_for(s, B, None, "kemenko-pmk")
        assert (mine.window_days, mine.max_per_week, mine.open_minute) == (14, 5, 7 * 60)
        shown = calendar.closed_days(s, year=2026, building=B, agency="kemenko-pmk")
        assert ("Cuti instansi", "kemenko-pmk") in {(d.reason, d.agency) for d in shown}
        assert "Cuti instansi" not in {
            d.reason for d in calendar.closed_days(s, year=2026, building=B)
        }
    # Another agency's administrator changes neither its rules nor its days.
    with db.session() as s, pytest.raises(Forbidden, match="you administer kemenko-x only"):
        calendar.set_agency_rules(
            s, actor="x", agency="kemenko-pmk", doc=AgencyPolicyDoc(), scope="kemenko-x"
        )
    with db.session() as s, pytest.raises(Forbidden, match="name the agency kemenko-x"):
        calendar.close_day(
            s, actor="x", doc=ClosedDayDoc(day=date(2026, 12, 8), reason="Rapat"), scope="kemenko-x"
        )
