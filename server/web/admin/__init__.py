"""The administrators' pages: accounts, agencies, booking rules, closed days, gateways, kiosks.

The audit log and personal-data requests are server.web.audit and server.web.privacy.
Plain forms (no script): each change posts with the session's CSRF token, goes through
the same services as the JSON API (so it is audited the same way), and comes back to the
page with what happened. A secret made here (a gateway token, a kiosk link) is shown on
the answer page once, never put in a URL.
"""

from __future__ import annotations

from fastapi import APIRouter

from server.web.admin import accounts, agencies, agency_rules, calendar, gateways, rules

ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    agencies.router,
    agency_rules.router,
    rules.router,
    calendar.router,
    gateways.router,
)
