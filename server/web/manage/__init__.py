"""The facility managers' console: the building now, live maps, occupancy, energy, comfort.

Also utilisation and the zones' actions.

Every number here comes from the same services as the JSON API, and every chart sits
beside a table of its numbers and a link to the API's CSV. Aggregates only: no page here
names who booked or sits where.
"""

from __future__ import annotations

from fastapi import APIRouter

from server.web.manage import forecast, meetings, now, reports, split

ROUTERS: tuple[APIRouter, ...] = (
    now.router,
    reports.router,
    meetings.router,
    forecast.router,
    split.router,
)
