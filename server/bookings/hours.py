"""A building's (or zone's) working hours in its own time zone: open days and hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from server.bookings.rules import Policy, closed_reason, policy_for
from server.bookings.service import building_tz


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
                midnight = datetime.combine(d, dtime(), self.tz)
                self._days[d] = (midnight + timedelta(minutes=p.open_minute),
                                 midnight + timedelta(minutes=p.close_minute))  # fmt: skip
        return self._days[d]

    def is_open(self, ts_ms: int) -> bool:
        """Whether the instant falls in working hours."""
        t = datetime.fromtimestamp(ts_ms / 1000, self.tz)
        hours = self.day(t.date())
        return not isinstance(hours, str) and hours[0] <= t < hours[1]

    def open_seconds(self, start_ms: int, end_ms: int) -> float:
        """How much of [start, end) lies in working hours."""
        total = 0.0
        d = datetime.fromtimestamp(start_ms / 1000, self.tz).date()
        last = datetime.fromtimestamp((end_ms - 1) / 1000, self.tz).date()
        while d <= last:
            hours = self.day(d)
            if not isinstance(hours, str):
                lo = max(start_ms, int(hours[0].timestamp() * 1000))
                hi = min(end_ms, int(hours[1].timestamp() * 1000))
                total += max(0, hi - lo) / 1000
            d += timedelta(days=1)
        return total
