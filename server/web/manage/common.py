"""What every facility managers' page shares: the tabs, the building chosen, a period, labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import services
from server.auth.service import Principal
from server.calendar.dates import days_span, today_in
from server.calendar.hours import building_tz
from server.clock import zone_name
from server.energy.rollup import Rollups
from server.energy.schemas import ComfortAlertOut, ZoneActionOut
from server.exceptions import NotFoundError, QueryError
from server.i18n import N_, T
from server.roles import MANAGERS, REPORTERS, Role
from server.spaces.schemas import BuildingPublic
from server.spaces.service import buildings as list_buildings
from server.spaces.service import zones
from server.web.render import page_language, render

TABS: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("/app/manage", N_("Building"), MANAGERS),
    ("/app/manage/floor", N_("Live map"), REPORTERS),
    ("/app/manage/occupancy", N_("Occupancy"), REPORTERS),
    ("/app/manage/meetings", N_("Meeting rooms"), REPORTERS),
    ("/app/manage/forecast", N_("Expected"), REPORTERS),
    ("/app/manage/energy", N_("Energy"), MANAGERS),
    ("/app/manage/comfort", N_("Comfort"), MANAGERS),
    ("/app/manage/actions", N_("Zone actions"), MANAGERS),
    ("/app/manage/split", N_("Shared energy"), REPORTERS),
)
"""The managers' pages, each with the roles that open it: an agency's manager has its
floors' live map and occupancy; the building's energy and comfort are the operator's."""
LIVE_STATES = {
    "occupied": N_("Occupied now"),
    "awaiting_checkin": N_("Booked, awaiting check-in"),
    "booked": N_("Booked"),
    "free": N_("Free"),
    "off": N_("Not bookable now"),
}
AIR_BANDS = {
    "good": N_("Good"),
    "moderate": N_("Moderate"),
    "poor": N_("Poor"),
    "bad": N_("Bad"),
    "very_bad": N_("Very bad"),
    "extreme": N_("Extreme"),
    "unknown": N_("No reading"),
}
MODES = {"normal": N_("Normal"), "setback": N_("Set back"), "off": N_("Off")}
CHANNELS = {"hvac": N_("Air conditioning"), "lighting": N_("Lighting")}
STANDARD = N_(
    "Bands: CO2 is good below {first} ppm; moderate, poor and bad begin at {levels} ppm; "
    "temperature {t0}–{t1} °C; humidity {h0}–{h1} % RH. The 1000 ppm CO2 limit and the "
    "40–60 % humidity range are those of the Indonesian office-health regulation "
    "(Permenkes No. 48/2016); the temperature range is SNI 03-6572-2001's comfort zone for "
    "air-conditioned offices. Operators set the bands (CO2_LEVELS_PPM, TEMP_BAND_C, "
    "RH_BAND_PCT)."
)


@dataclass(frozen=True, slots=True)
class Where:
    """The building (and floor) a page is about, and every building to choose from."""

    buildings: list[BuildingPublic]
    building: BuildingPublic
    tz: ZoneInfo
    names: dict[str, str]
    """The building's floors' and zones' names by code: pages name places as people do."""


def where_of(db: Any, building: str | None, actor: Principal) -> Where:
    """The building asked for (else the first) and every building, or NotFoundError.

    Only the floors ``actor`` reaches, and the buildings that have one: an agency's manager
    sees their agency's floors.
    """
    with db.session(commit=False) as session:
        found = [
            b.model_copy(update={"floors": [f for f in b.floors if actor.reaches(f.agency)]})
            for b in list_buildings(session)
        ]
        found = [b for b in found if b.floors or actor.scope is None]
        if not found and actor.scope is not None:
            raise NotFoundError(
                T(
                    "no floor of {agency} is set up yet: an administrator names each floor's "
                    "agency in the building's layout",
                    agency=actor.scope,
                )
            )
        if not found:
            raise NotFoundError(T("no building is set up yet"))
        b = next((x for x in found if x.id == building), found[0])
        names = {z.code: z.name for z in zones(session, b.id)}
        names |= {f.id: f.name for f in b.floors}
        return Where(found, b, building_tz(session, b.id)[1], names)


def alerts_of(rows: Any, tz: ZoneInfo) -> list[ComfortAlertOut]:
    """CO2 alerts as the API shows them (read while their session is open)."""
    return [ComfortAlertOut.model_validate(a, context={"tz": tz}) for a in rows]


def actions_of(rows: Any, tz: ZoneInfo) -> list[ZoneActionOut]:
    """Zone decisions as the API shows them (read while their session is open)."""
    return [ZoneActionOut.model_validate(a, context={"tz": tz}) for a in rows]


def min_group(request: Request) -> int:
    """The smallest group a report may show (the privacy setting)."""
    return services(request).settings.privacy_min_group


def rollups_of(request: Request) -> Rollups:
    """The hourly rollups the energy and occupancy reports read."""
    rollups: Rollups = services(request).rollups
    return rollups


def show(request: Request, person: Any, template: str, where: Where, **values: Any) -> Response:
    """A facility managers' page with its tabs, the building chosen and its zone."""
    lang = page_language(request, person.user)
    return render(
        request,
        template,
        user=person.user,
        csrf=person.csrf,
        tabs=[(h, label) for h, label, roles in TABS if person.user.role in roles],
        buildings=where.buildings,
        building=where.building,
        named=where.names,
        lang_reason=reason_in(lang),
        tzname=zone_name(where.tz),
        **values,
    )


def reason_in(lang: str) -> Any:
    """A zone action's reason in the page's language (they are kept as "id / en")."""

    def pick(text: str) -> str:
        parts = text.split(" / ", 1)
        return parts[1] if lang == "en" and len(parts) == 2 else parts[0]

    return pick


def period_of(
    start: date | None, end: date | None, days: int, tz: ZoneInfo
) -> tuple[date, date, datetime, datetime]:
    """The chosen days (inclusive), defaulting to the last ``days`` up to today."""
    today = today_in(tz)
    last = min(end or today, today + timedelta(days=366))
    first = start or last - timedelta(days=days - 1)
    if first > last:
        raise QueryError(N_("the first day must not be after the last"))
    if (last - first).days > 366:
        raise QueryError(N_("at most a year at a time"))
    s, e = days_span(first, last, tz)
    return first, last, s, e


async def report_for(
    db: Any,
    actor: Principal,
    building: str | None,
    start: date | None,
    end: date | None,
    days: int,
) -> tuple[Where, tuple[date, date, datetime, datetime]]:
    """A report page's building and period (``period_of`` in the building's zone)."""
    where = await run_in_threadpool(where_of, db, building, actor)
    return where, period_of(start, end, days, where.tz)
