"""Working hours in a building's own zone (server/calendar/hours.py), and the zone a time
without an offset is read in: the building's, else the platform's."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.calendar.dates import to_ms
from server.calendar.hours import WorkingHours, platform_zone, zone_for
from server.calendar.models import BookingPolicy
from server.db import Database
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from tests.server.office import OFFICE

WIB = ZoneInfo("Asia/Jakarta")
MONDAY = date(2026, 12, 7)


def test_a_building_in_jakarta_opens_at_seven_its_own_time(db: Database) -> None:
    with db.session() as s:
        import_layout(
            s,
            parse_layout(
                {
                    **OFFICE,
                    "building": {"id": "kantor-j", "name": "Kantor J", "timezone": "Asia/Jakarta"},
                }
            ),
        )
        s.add(
            BookingPolicy(
                building_id="kantor-j",
                window_days=14,
                min_minutes=30,
                max_minutes=600,
                max_per_day=1,
                max_per_week=5,
                open_minute=7 * 60,
                close_minute=19 * 60,
                weekdays="0,1,2,3,4",
                checkin_grace_minutes=15,
                public_holidays=True,
            )
        )
    with db.session(commit=False) as s:
        hours = WorkingHours.of(s, "kantor-j")
        opens, closes = hours.day(MONDAY)  # type: ignore[misc]
        assert (opens.isoformat(), closes.isoformat()) == (
            "2026-12-07T07:00:00+07:00",
            "2026-12-07T19:00:00+07:00",
        )
        # 07:30 WITA is 06:30 in Jakarta: not yet open there.
        assert not hours.is_open(
            to_ms(datetime(2026, 12, 7, 7, 30, tzinfo=ZoneInfo("Asia/Makassar")))
        )
        assert hours.is_open(to_ms(datetime(2026, 12, 7, 7, 30, tzinfo=WIB)))
        assert hours.day(date(2026, 12, 12)) == "weekend / akhir pekan"
        assert hours.day(date(2026, 12, 25)) == "Hari Raya Natal"
        assert zone_for(s, "kantor-j") == WIB


def test_a_time_for_no_building_is_read_in_the_platforms_zone(db: Database) -> None:
    db.zone = ZoneInfo("Asia/Jayapura")
    with db.session(commit=False) as s:
        assert platform_zone(s) == ZoneInfo("Asia/Jayapura")
        assert zone_for(s, None) == ZoneInfo("Asia/Jayapura")
        assert zone_for(s, "not-a-building") == ZoneInfo("Asia/Jayapura")
