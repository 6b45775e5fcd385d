"""Time zones: IKN's own, the name of a valid one, and what people call one.

A building keeps its zone by name (``Building.timezone``); the platform has one for times
that belong to no one building (``SMARTOFFICE_TIMEZONE``). Both default to IKN's, WITA.
"""

from __future__ import annotations

from datetime import datetime
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


def zone_name(tz: ZoneInfo) -> str:
    """What people call the zone now: ``WITA`` for Asia/Makassar, ``WIB`` for Asia/Jakarta."""
    return datetime.now(tz).tzname() or str(tz)
