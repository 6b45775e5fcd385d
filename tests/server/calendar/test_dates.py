"""Time as the API takes it (server/calendar/dates.py): days between 2000 and 2099, times read
in the zone they belong to, periods of a bounded length, and the check-in window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from server.calendar.dates import (
    CHECKIN_OPENS_BEFORE_MS,
    Day,
    FormDay,
    Shown,
    aware,
    checkin_open,
    checkin_opens,
    day_start,
    days_span,
    period,
    to_ms,
    today_in,
)
from server.exceptions import QueryError

WITA = ZoneInfo("Asia/Makassar")
WIB = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1999, 12, 31), date(2100, 1, 1)])
def test_a_day_outside_2000_to_2099_is_a_typo_and_refused(day: date) -> None:
    with pytest.raises(ValidationError, match="must be between 2000-01-01 and 2099-12-31"):
        TypeAdapter(Day).validate_python(day)
    assert TypeAdapter(Day).validate_python(date(2026, 12, 7)) == date(2026, 12, 7)


def test_a_form_day_left_empty_is_no_day() -> None:
    assert TypeAdapter(FormDay).validate_python("") is None
    assert TypeAdapter(FormDay).validate_python("2026-12-07") == date(2026, 12, 7)


def test_a_time_without_an_offset_is_read_in_the_zone_it_belongs_to() -> None:
    naive = datetime(2026, 12, 7, 8, 0)
    assert aware(naive, WIB).astimezone(UTC).hour == 1
    assert aware(naive, WITA).astimezone(UTC).hour == 0
    given = datetime(2026, 12, 7, 8, 0, tzinfo=WIB)
    assert aware(given, WITA) is given  # an offset given is kept
    shown = TypeAdapter(Shown).validate_python(to_ms(given), context={"tz": WITA})
    assert shown.isoformat() == "2026-12-07T09:00:00+08:00"


def test_a_period_ends_after_it_starts_and_is_at_most_two_years() -> None:
    start = datetime(2026, 12, 7, 8, 0)
    s, e = period(start, start + timedelta(hours=1), tz=WIB)
    assert (s.tzinfo, s.hour, e.hour) == (UTC, 1, 2)
    with pytest.raises(QueryError, match="end must be after start"):
        period(start, start)
    with pytest.raises(QueryError, match="longer than 732 days"):
        period(start, start + timedelta(days=733))


def test_check_in_opens_fifteen_minutes_before_and_closes_at_the_end() -> None:
    start = to_ms(datetime(2026, 12, 7, 9, 0, tzinfo=WITA))
    end = start + 3 * 3_600_000
    assert CHECKIN_OPENS_BEFORE_MS == 15 * 60_000
    assert checkin_opens(start) == start - 15 * 60_000
    assert not checkin_open(start, end, start - 15 * 60_000 - 1)
    assert checkin_open(start, end, start - 15 * 60_000)
    assert checkin_open(start, end, end - 1)
    assert not checkin_open(start, end, end)


def test_a_days_span_runs_from_the_first_midnight_to_the_one_after_the_last_in_its_zone() -> None:
    s, e = days_span(date(2026, 12, 7), date(2026, 12, 8), WIB)
    assert (s.isoformat(), e.isoformat()) == (
        "2026-12-07T00:00:00+07:00",
        "2026-12-09T00:00:00+07:00",
    )
    assert (
        day_start(date(2026, 12, 7), WITA).astimezone(UTC).isoformat()
        == "2026-12-06T16:00:00+00:00"
    )
    # Today in Jayapura may already be tomorrow in Jakarta's terms, never yesterday.
    assert today_in(ZoneInfo("Asia/Jayapura")) >= today_in(WIB)
