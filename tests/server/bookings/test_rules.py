"""The booking rules (server/bookings/rules.py): each refuses by its name and says why."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from server.auth.service import Principal
from server.calendar.models import BookingPolicy
from server.db import Database
from tests.server.office import WED, B, at, book, refused


@pytest.mark.parametrize(
    ("kw", "rule", "message"),
    [
        ({"start": at(WED, 9), "end": at(WED, 9, 10)}, "min_duration", "at least 30 minutes"),
        ({"start": at(WED, 9), "end": at(WED, 8)}, "slot", "the end must be after the start"),
        (
            {"start": at(date(2026, 12, 30), 9), "end": at(date(2026, 12, 30), 10)},
            "booking_window",
            "14 days ahead",
        ),
        (
            {"start": at(date(2026, 12, 5), 9), "end": at(date(2026, 12, 5), 10)},
            "weekday",
            "Saturday 2026-12-05 is not a booking day",
        ),
        (
            {"start": at(WED, 6), "end": at(WED, 9)},
            "working_hours",
            "bookings run 07:00-19:00 (WITA); the slot is 06:00-09:00",
        ),
        (
            {"start": at(date(2026, 11, 30), 9), "end": at(date(2026, 11, 30), 10)},
            "in_the_past",
            "the slot is over",
        ),
        (
            {"desk": "m4", "start": at(WED, 9), "end": at(WED, 10)},
            "not_bookable",
            "desk m4 is not bookable",
        ),
        (
            {"desk": "m3", "start": at(WED, 9), "end": at(WED, 10)},
            "team_zone",
            "desk m3 is reserved for team Pusdatin",
        ),
    ],
)
def test_each_rule_refuses_by_name(
    db: Database, people: dict[str, Principal], kw: dict[str, Any], rule: str, message: str
) -> None:
    r = refused(db, people["budi"], **{"desk": "m1", **kw})
    assert r.rule == rule and message in str(r)


def test_limits_per_day_and_per_week(db: Database, people: dict[str, Principal]) -> None:
    siti = people["siti"]
    book(db, siti, desk="m1", start=at(WED, 8), end=at(WED, 10))
    second = refused(db, siti, desk="m2", start=at(WED, 13), end=at(WED, 15))
    assert second.rule == "max_per_day" and "at most 1 desk booking(s) a day" in str(second)
    with db.session() as s:
        s.add(
            BookingPolicy(
                building_id=B,
                window_days=30,
                min_minutes=30,
                max_minutes=1440,
                max_per_day=1,
                max_per_week=2,
                open_minute=0,
                close_minute=1440,
                weekdays="0,1,2,3,4,5,6",
                checkin_grace_minutes=15,
                public_holidays=True,
            )
        )
    book(db, siti, desk="m1", day=date(2026, 12, 3))
    week = refused(db, siti, desk="m1", day=date(2026, 12, 4))
    assert week.rule == "max_per_week"
