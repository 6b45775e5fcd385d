"""Days a test (or benchmark) can book on: weekdays that are no Indonesian holiday."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

from server.calendar.models import BookingPolicy

WITA = ZoneInfo("Asia/Makassar")


def next_workday() -> date:
    """The next weekday after today (WITA) that is neither a holiday nor collective leave."""
    national = holidays.country_holidays("ID", categories=("public", "government"))
    day = datetime.now(WITA).date() + timedelta(days=1)
    while day.weekday() > 4 or day in national:
        day += timedelta(days=1)
    return day


def office_hours(building: str, weekdays: str = "0,1,2,3,4") -> BookingPolicy:
    """Rules for ``building``: open 07:00-19:00 on ``weekdays`` (Monday to Friday unless
    told), holidays ignored."""
    return BookingPolicy(
        building_id=building,
        window_days=30,
        min_minutes=15,
        max_minutes=720,
        max_per_day=3,
        max_per_week=10,
        open_minute=7 * 60,
        close_minute=19 * 60,
        weekdays=weekdays,
        checkin_grace_minutes=15,
        release_after_vacant_minutes=60,
        public_holidays=False,
    )
