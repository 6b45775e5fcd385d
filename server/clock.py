"""What time it is, and time zones: IKN's own, the name of a valid one, what people call one.

The one place that reads the clock: ``now_utc()`` (a time with its offset) and
``now_ms()`` (epoch milliseconds, as every stored time is). A building keeps its zone by
name (``Building.timezone``); the platform has one for times that belong to no one
building (``SMARTOFFICE_TIMEZONE``). Both default to IKN's, WITA. Local days, opening hours
and the check-in window are server.calendar's.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator

WITA: Final = ZoneInfo("Asia/Makassar")
"""IKN's zone: a new building's, and the platform's unless SMARTOFFICE_TIMEZONE says otherwise."""


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone; use an IANA name such as Asia/Makassar"
        ) from None
    return name


TimeZone = Annotated[str, AfterValidator(_zone)]
"""An IANA time zone's name (``Asia/Makassar``, ``Asia/Jakarta``)."""


def now_utc() -> datetime:
    """The current time, with its offset."""
    return datetime.now(UTC)


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)


def zone_name(tz: ZoneInfo) -> str:
    """What people call the zone now: ``WITA`` for Asia/Makassar, ``WIB`` for Asia/Jakarta."""
    return datetime.now(tz).tzname() or str(tz)
