"""Time in a building: its zone, epoch milliseconds and local times, and what the API accepts.

Times are stored as epoch milliseconds (UTC) and shown in the building's zone (its
``timezone``: WITA, Asia/Makassar, unless it says otherwise). Times that belong to no one
building (the audit log, a person's own data, the admin's lists) are shown in the
platform's zone (``SMARTOFFICE_TIMEZONE``, WITA by default).

Every date or time a caller sends is between 2000 and 2100: earlier or later is a typo
(the year 1, the year 6984) and would otherwise reach a database, a calendar library or a
loop sized by it. A time without an offset is the building's local time (or the platform's
where no building is named); a period is capped in length, so no single request can hold the server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, ValidationInfo

from server.clock import WITA, now_utc
from server.exceptions import QueryError

FIRST_DAY: Final = date(2000, 1, 1)
LAST_DAY: Final = date(2099, 12, 31)
# Reports, series and summaries read at most this much at once.
MAX_PERIOD: Final = timedelta(days=732)
# Check-in (by sensor, QR or hand) opens this long before a booking starts.
CHECKIN_OPENS_BEFORE_MS: Final = 15 * 60_000


def checkin_opens(start_ms: int) -> int:
    """When check-in opens for a booking that starts at ``start_ms`` (epoch ms)."""
    return start_ms - CHECKIN_OPENS_BEFORE_MS


def checkin_opens_at(start: datetime) -> datetime:
    """When check-in opens for a booking that starts at ``start`` (in its own zone)."""
    return start - timedelta(milliseconds=CHECKIN_OPENS_BEFORE_MS)


def checkin_open(start_ms: int, end_ms: int, at_ms: int) -> bool:
    """Whether a booking from ``start_ms`` to ``end_ms`` may be checked in at ``at_ms``."""
    return checkin_opens(start_ms) <= at_ms < end_ms


def today_in(tz: ZoneInfo) -> date:
    """Today's date in ``tz``."""
    return now_utc().astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in ``tz``."""
    return datetime.combine(day, time(), tz)


def days_span(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """From the start of ``first`` to the end of ``last`` (the next midnight), in ``tz``."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def to_ms(t: datetime) -> int:
    """Epoch milliseconds of an aware time."""
    return int(t.timestamp() * 1000)


def from_ms(epoch_ms: int, tz: ZoneInfo) -> datetime:
    """The aware local time in ``tz`` of epoch milliseconds."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz)


def clock(epoch_ms: int, tz: ZoneInfo) -> str:
    """``2026-12-01 08:15``: a time to show in a message, in the building's zone."""
    return from_ms(epoch_ms, tz).strftime("%Y-%m-%d %H:%M")


def _day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


def _moment(value: datetime) -> datetime:
    _day(value.date())
    return value


Day = Annotated[date, AfterValidator(_day)]
"""A calendar date between 2000 and 2099."""
FormDay = Annotated[Day | None, BeforeValidator(lambda v: v or None)]
"""A day a form may leave empty (a date field sends ``""``): None then."""
Moment = Annotated[datetime, AfterValidator(_moment)]
"""A time between 2000 and 2099, with or without an offset."""


def _shown(value: object, info: ValidationInfo) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return from_ms(value, (info.context or {}).get("tz", WITA))
    return value


Shown = Annotated[datetime, BeforeValidator(_shown)]
"""A time read from a row's epoch milliseconds, shown in the zone given as the validation
context's ``tz`` (``Model.model_validate(row, context={"tz": tz})``; WITA without one)."""


def aware(value: datetime, tz: ZoneInfo = WITA) -> datetime:
    """``value`` with its offset; a time without one is read in ``tz``."""
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def period(
    start: datetime, end: datetime, *, tz: ZoneInfo = WITA, longest: timedelta = MAX_PERIOD
) -> tuple[datetime, datetime]:
    """``start`` and ``end`` as aware times, or QueryError naming what is wrong."""
    start, end = aware(start, tz), aware(end, tz)
    if end <= start:
        raise QueryError("end must be after start")
    if end - start > longest:
        raise QueryError(f"the period is longer than {longest.days} days: ask for less at once")
    return start.astimezone(UTC), end.astimezone(UTC)
