"""The rules a booking must pass, each refusal naming its rule.

The rules come from the building's calendar (``server.calendar``): its policy (the zone's,
if it has one), its working days and hours, and its closed days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.calendar.hours import opening
from server.calendar.policy import Policy, closed_reason
from server.exceptions import Refusal


def check_slot(
    session: Session,
    *,
    building: str,
    policy: Policy,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    """Duration, booking window, weekdays, opening hours and closed days."""
    minutes = (end - start).total_seconds() / 60
    if minutes <= 0:
        raise Refusal("slot", "the end must be after the start")
    if minutes < policy.min_minutes:
        raise Refusal("min_duration", f"a booking lasts at least {policy.min_minutes} minutes")
    if minutes > policy.max_minutes:
        raise Refusal("max_duration", f"a booking lasts at most {policy.max_minutes} minutes")
    if end <= now:
        raise Refusal("in_the_past", "the slot is over")
    if start > now + timedelta(days=policy.window_days):
        raise Refusal(
            "booking_window", f"bookings open {policy.window_days} days ahead at the most"
        )
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    while day <= (local_end - timedelta(microseconds=1)).date():
        if day.weekday() not in policy.days:
            raise Refusal("weekday", f"{day:%A} {day.isoformat()} is not a booking day here")
        reason = closed_reason(session, building, day, policy)
        if reason:
            raise Refusal("closed_day", f"{day.isoformat()} is closed: {reason}")
        day += timedelta(days=1)
    if policy.open_minute > 0 or policy.close_minute < 24 * 60:
        opens, closes = opening(policy, local_start.date(), tz)
        if local_start < opens or local_end > closes:
            raise Refusal(
                "working_hours",
                f"bookings run {opens:%H:%M}-{closes:%H:%M} ({tz.key}); "
                f"the slot is {local_start:%H:%M}-{local_end:%H:%M}",
            )
