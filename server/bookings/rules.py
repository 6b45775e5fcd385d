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
from server.i18n import WEEKDAYS, T


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
        raise Refusal("slot", T("the end must be after the start"))
    if minutes < policy.min_minutes:
        raise Refusal(
            "min_duration", T("a booking lasts at least {n} minutes", n=policy.min_minutes)
        )
    if minutes > policy.max_minutes:
        raise Refusal(
            "max_duration", T("a booking lasts at most {n} minutes", n=policy.max_minutes)
        )
    if end <= now:
        raise Refusal("in_the_past", T("the slot is over"))
    if start > now + timedelta(days=policy.window_days):
        raise Refusal(
            "booking_window",
            T("bookings open {n} days ahead at the most", n=policy.window_days),
        )
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    while day <= (local_end - timedelta(microseconds=1)).date():
        if day.weekday() not in policy.days:
            raise Refusal(
                "weekday",
                T(
                    "{weekday} {day} is not a booking day here",
                    weekday=T(WEEKDAYS[day.weekday()]),
                    day=day.isoformat(),
                ),
            )
        reason = closed_reason(session, building, day, policy)
        if reason:
            raise Refusal(
                "closed_day", T("{day} is closed: {reason}", day=day.isoformat(), reason=reason)
            )
        day += timedelta(days=1)
    if policy.open_minute > 0 or policy.close_minute < 24 * 60:
        opens, closes = opening(policy, local_start.date(), tz)
        if local_start < opens or local_end > closes:
            raise Refusal(
                "working_hours",
                T(
                    "bookings run {opens}-{closes} ({zone}); the slot is {start}-{end}",
                    opens=f"{opens:%H:%M}",
                    closes=f"{closes:%H:%M}",
                    zone=local_start.tzname(),
                    start=f"{local_start:%H:%M}",
                    end=f"{local_end:%H:%M}",
                ),
            )
