"""A building's (or zone's) working hours in its own time zone: open days and hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.calendar.dates import from_ms, to_ms
from server.calendar.policy import Policy, closed_reason, policy_for
from server.clock import WITA
from server.db import DATABASE
from server.exceptions import NotFoundError
from server.i18n import T
from server.spaces.models import Building


def zone_of(building: Building | None) -> ZoneInfo:
    """The building's time zone; WITA when there is no building (it was removed)."""
    return ZoneInfo(building.timezone) if building is not None else WITA


def platform_zone(session: Session) -> ZoneInfo:
    """The zone of times that belong to no one building (SMARTOFFICE_TIMEZONE)."""
    db = session.info.get(DATABASE)
    return db.zone if db is not None else WITA


def zone_for(session: Session, building: str | None) -> ZoneInfo:
    """The zone a time without an offset is read in: the building's, else the platform's."""
    found = session.get(Building, building) if building else None
    return zone_of(found) if found is not None else platform_zone(session)


def building_tz(session: Session, building_id: str) -> tuple[Building, ZoneInfo]:
    """The building and its time zone, or NotFoundError."""
    building = session.get(Building, building_id)
    if building is None:
        raise NotFoundError(T("no building {building}", building=repr(building_id)))
    return building, zone_of(building)


def opening(policy: Policy, d: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """When the policy's working hours open and close on ``d``, in ``tz``."""
    midnight = datetime.combine(d, dtime(), tz)
    return (
        midnight + timedelta(minutes=policy.open_minute),
        midnight + timedelta(minutes=policy.close_minute),
    )


@dataclass
class WorkingHours:
    """When a building is open, from its booking policy, holidays and closed days."""

    session: Session
    building: str
    tz: ZoneInfo
    policy: Policy
    _days: dict[date, tuple[datetime, datetime] | str] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session, building: str, zone_id: int | None = None) -> WorkingHours:
        """The working hours of a building, or of one zone with its own policy."""
        _, tz = building_tz(session, building)
        return cls(session, building, tz, policy_for(session, building, zone_id))

    def day(self, d: date) -> tuple[datetime, datetime] | str:
        """(opens, closes) on ``d``, or why it is closed all day."""
        if d not in self._days:
            p = self.policy
            reason = closed_reason(self.session, self.building, d, p)
            if reason is not None:
                self._days[d] = reason
            elif d.weekday() not in p.days:
                self._days[d] = "weekend / akhir pekan"
            else:
                self._days[d] = opening(p, d, self.tz)
        return self._days[d]

    def is_open(self, ts_ms: int) -> bool:
        """Whether the instant falls in working hours."""
        t = from_ms(ts_ms, self.tz)
        hours = self.day(t.date())
        return not isinstance(hours, str) and hours[0] <= t < hours[1]

    def open_seconds(self, start_ms: int, end_ms: int) -> float:
        """How much of [start, end) lies in working hours."""
        total = 0.0
        d = from_ms(start_ms, self.tz).date()
        last = from_ms(end_ms - 1, self.tz).date()
        while d <= last:
            hours = self.day(d)
            if not isinstance(hours, str):
                lo = max(start_ms, to_ms(hours[0]))
                hi = min(end_ms, to_ms(hours[1]))
                total += max(0, hi - lo) / 1000
            d += timedelta(days=1)
        return total
