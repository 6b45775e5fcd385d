"""Days a test (or benchmark) can book on: weekdays that are no Indonesian holiday."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

WITA = ZoneInfo("Asia/Makassar")


def next_workday() -> date:
    """The next weekday after today (WITA) that is neither a holiday nor collective leave."""
    national = holidays.country_holidays("ID", categories=("public", "government"))
    day = datetime.now(WITA).date() + timedelta(days=1)
    while day.weekday() > 4 or day in national:
        day += timedelta(days=1)
    return day
