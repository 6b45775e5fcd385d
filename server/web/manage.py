"""The facility managers' console: the building now, live maps, occupancy, energy, comfort.

Also utilisation and the zones' actions.

Every number here comes from the same services as the JSON API, and every chart sits
beside a table of its numbers and a link to the API's CSV. Aggregates only: no page here
names who booked or sits where.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep, services
from server.bookings.reports import GroupBy, UtilizationRow, utilization
from server.calendar.dates import FormDay, from_ms, now_utc, to_ms
from server.calendar.hours import building_tz
from server.energy.actions import recorded_actions
from server.energy.comfort import ComfortReport, band, recorded_alerts, report
from server.energy.consolidation import floor_loads, suggest
from server.energy.occupancy import OccupancyBy, OccupancyQuery, OccupancyReport, occupancy
from server.energy.rollup import HourlyView, Rollups
from server.energy.savings import SavingsEstimate, SavingsQuery, estimate
from server.energy.schemas import ComfortAlertOut, ZoneActionOut
from server.energy.summary import EnergySummary, Scope, hour_range, summarise
from server.exceptions import NotFoundError, QueryError
from server.i18n import N_, WEEKDAYS, gettext
from server.readings.store import SpaceFilter
from server.registry import devices as registry_devices
from server.registry.service import gateways as list_gateways
from server.spaces.schemas import BuildingPublic
from server.spaces.service import buildings as list_buildings
from server.spaces.service import floor_map
from server.web.browser import ManagerPage
from server.web.charts import bars
from server.web.render import page_language, render, script_json
from server.zones import zone_name

router = APIRouter(include_in_schema=False)

TABS = (
    ("/app/manage", N_("Building")),
    ("/app/manage/floor", N_("Live map")),
    ("/app/manage/occupancy", N_("Occupancy")),
    ("/app/manage/energy", N_("Energy")),
    ("/app/manage/comfort", N_("Comfort")),
    ("/app/manage/actions", N_("Zone actions")),
)
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


def _where(db: Any, building: str | None) -> Where:
    with db.session(commit=False) as session:
        found = list_buildings(session)
        if not found:
            raise NotFoundError("no building is set up yet")
        b = next((x for x in found if x.id == building), found[0])
        return Where(found, b, building_tz(session, b.id)[1])


def _alerts(rows: Any, tz: ZoneInfo) -> list[ComfortAlertOut]:
    """CO2 alerts as the API shows them (read while their session is open)."""
    return [ComfortAlertOut.model_validate(a, context={"tz": tz}) for a in rows]


def _actions(rows: Any, tz: ZoneInfo) -> list[ZoneActionOut]:
    """Zone decisions as the API shows them (read while their session is open)."""
    return [ZoneActionOut.model_validate(a, context={"tz": tz}) for a in rows]


def _min_group(request: Request) -> int:
    return services(request).settings.privacy_min_group


def _rollups(request: Request) -> Rollups:
    rollups: Rollups = services(request).rollups
    return rollups


def _page(request: Request, person: Any, template: str, where: Where, **values: Any) -> Response:
    lang = page_language(request, person.user)
    return render(request, template, user=person.user, csrf=person.csrf, tabs=TABS,
                  buildings=where.buildings, building=where.building, lang_reason=_reason(lang),
                  tzname=zone_name(where.tz), **values)  # fmt: skip


def _reason(lang: str) -> Any:
    """A zone action's reason in the page's language (they are kept as "id / en")."""

    def pick(text: str) -> str:
        parts = text.split(" / ", 1)
        return parts[1] if lang == "en" and len(parts) == 2 else parts[0]

    return pick


def _period(
    start: date | None, end: date | None, days: int, tz: ZoneInfo
) -> tuple[date, date, datetime, datetime]:
    """The chosen days (inclusive), defaulting to the last ``days`` up to today."""
    today = now_utc().astimezone(tz).date()
    last = min(end or today, today + timedelta(days=366))
    first = start or last - timedelta(days=days - 1)
    if first > last:
        raise QueryError(N_("the first day must not be after the last"))
    if (last - first).days > 366:
        raise QueryError(N_("at most a year at a time"))
    s = datetime.combine(first, time(), tz)
    e = datetime.combine(last + timedelta(days=1), time(), tz)
    return first, last, s, e


# ---- the building now -------------------------------------------------------------------


@router.get("/app/manage")
async def overview(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Each floor now (present, booked, free), open CO2 alerts, zones set back, troubles."""
    s = services(request)
    where = await run_in_threadpool(_where, db, building)
    b = where.building
    now_ms = to_ms(now_utc())

    def read() -> dict[str, Any]:
        floors = []
        for f in b.floors:
            states = Counter(d.state for d in s.monitor.lights.floor(b.id, f.id))
            floors.append({"id": f.id, "name": f.name, "desks": sum(states.values()),
                           "occupied": states["occupied"], "booked": states["booked"],
                           "awaiting": states["awaiting_checkin"], "free": states["free"],
                           "off": states["off"]})  # fmt: skip
        with db.session(commit=False) as session:
            alerts = _alerts(recorded_alerts(session, building=b.id, active=True,
                                             since_ms=None), where.tz)  # fmt: skip
            current = _actions(recorded_actions(session, building=b.id, floor=None, zone=None,
                                                since_ms=None)[0], where.tz)  # fmt: skip
            devices = registry_devices.devices(session, actor=person.user, building=b.id)
            gws = [g for g in list_gateways(session) if g.building in (None, b.id)]
        return {
            "floors": floors,
            "alerts": alerts,
            "set_back": [a for a in current if a.mode != "normal"],
            "troubled": [d for d in devices if d.state == "offline" or d.sensor_errors],
            "device_count": Counter(d.state for d in devices),
            "gateways": gws,
        }

    facts = await run_in_threadpool(read)
    return _page(request, person, "manage/overview.html", where, now=from_ms(now_ms, where.tz),
                 modes=MODES, channels=CHANNELS, **facts)  # fmt: skip


# ---- a floor's live map -----------------------------------------------------------------


@router.get("/app/manage/floor")
async def live_map(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    floor: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The floor's desks in aggregate states and its rooms by air-quality band, live."""
    lang = page_language(request, person.user)
    where = await run_in_threadpool(_where, db, building)
    b = where.building
    f_id = next((f.id for f in b.floors if f.id == floor), b.floors[0].id)
    bands = services(request).rollups.cfg.bands
    config = {
        "building": b.id,
        "floor": f_id,
        "lang": lang,
        "levels": list(bands.co2),
        "states": {k: gettext(lang, v) for k, v in LIVE_STATES.items()},
        "bands": {k: gettext(lang, v) for k, v in AIR_BANDS.items()},
        "messages": {k: gettext(lang, v) for k, v in {
            "caption": N_("Desks and rooms of the floor, as the tables below list them"),
            "rooms_caption": N_("The floor's rooms and their newest air reading"),
            "states_caption": N_("The floor's desks by state now"),
            "desk": N_("Desk"),
            "room": N_("Room"),
            "co2": N_("CO2 {ppm} ppm"),
            "people": N_("{n} people"),
            "live_on": N_("Live: the map follows the sensors and bookings."),
            "live_off": N_("Live updates paused; reconnecting…"),
            "error": N_("Something went wrong: {detail}"),
            "col_room": N_("Room"), "col_air": N_("Air quality"), "col_co2": N_("CO2 (ppm)"),
            "col_temp": N_("Temperature (°C)"), "col_rh": N_("Humidity (%)"),
            "col_state": N_("State"), "col_desks": N_("Desks"),
        }.items()},
    }  # fmt: skip
    return _page(request, person, "manage/floor.html", where, floor=f_id,
                 legend=[(k, gettext(lang, v)) for k, v in LIVE_STATES.items()],
                 air=[(k, gettext(lang, v)) for k, v in AIR_BANDS.items()],
                 config=script_json(config))  # fmt: skip


@router.get("/app/manage/floor/rooms.json")
async def live_rooms(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str, Query(max_length=32)],
    floor: Annotated[str, Query(max_length=32)],
) -> list[dict[str, Any]]:
    """The floor's rooms with their newest climate reading and CO2 band (for the map)."""
    s = services(request)
    bands = s.rollups.cfg.bands

    def rooms() -> list[Any]:
        with db.session(commit=False) as session:
            return floor_map(session, building, floor).rooms

    found = await run_in_threadpool(rooms)
    where = SpaceFilter(building=building, floor=floor)
    fields = (("env", "co2_ppm"), ("env", "temp_c"), ("env", "rh_pct"), ("people", "count"))
    newest = await asyncio.gather(*(s.store.latest(stream=st, field=f, where=where)
                                    for st, f in fields))  # fmt: skip
    fresh_ms = to_ms(now_utc()) - 30 * 60_000  # an older reading says nothing about now
    by_room: dict[str, dict[str, Any]] = {}
    for (_, name), values in zip(fields, newest, strict=True):
        for v in values:
            if v.ts_ms >= fresh_ms:
                by_room.setdefault(v.space, {})[name] = v.value
    out = []
    for r in found:
        seen = by_room.get(r.id, {})
        co2 = seen.get("co2_ppm")
        out.append({"id": r.id, "name": r.name, "capacity": r.capacity,
                    "co2": co2, "temp": seen.get("temp_c"), "rh": seen.get("rh_pct"),
                    "people": seen.get("count"),
                    "band": "unknown" if co2 is None else band(float(co2), bands.co2)})  # fmt: skip
    return out


# ---- occupancy and utilisation ---------------------------------------------------------


@router.get("/app/manage/occupancy")
async def occupancy_page(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    by: Literal["building", "floor", "zone"] = "floor",
    start: FormDay = None,
    end: FormDay = None,
    target: Annotated[int, Query(ge=5, le=100)] = 70,
) -> Response:
    """Heatmaps of occupancy by hour and weekday, time against target, and utilisation."""
    lang = page_language(request, person.user)
    where = await run_in_threadpool(_where, db, building)
    b = where.building
    first, last, s, e = _period(start, end, 28, where.tz)
    f0, f1 = hour_range(Scope(building=b.id, start=s, end=e))
    chosen: OccupancyBy = by
    asked = OccupancyQuery(b.id, f0, f1, chosen, target / 100, _min_group(request))
    rep: OccupancyReport = await occupancy(db, _rollups(request), asked)
    group_by: GroupBy = by

    def util() -> list[UtilizationRow]:
        with db.session(commit=False) as session:
            return utilization(session, building=b.id, start=s, end=e, by=group_by,
                               min_group=_min_group(request))  # fmt: skip

    rows = await run_in_threadpool(util)
    shown = [r for r in rows if not r.withheld]
    hours = sorted({c.hour for g in rep.groups for c in g.heatmap})
    weekdays = sorted({c.weekday for g in rep.groups for c in g.heatmap})
    grids = [(g, {(c.weekday, c.hour): c for c in g.heatmap}) for g in rep.groups]
    _ = lambda m: gettext(lang, m)  # noqa: E731
    chart = bars(
        _("Bookings and what became of them"),
        [r.group for r in shown],
        [(_("Attended"), [float(_came(r) - (r.walk_ins or 0)) for r in shown]),
         (_("Walk-in"), [float(r.walk_ins or 0) for r in shown]),
         (_("No-show"), [float(r.no_shows or 0) for r in shown]),
         (_("Not yet checked in"),
          [float((r.bookings or 0) - _came(r) - (r.no_shows or 0)) for r in shown])],
        unit=_("bookings"), stacked=True, lang=lang,
    )  # fmt: skip
    usage = bars(
        _("Utilisation of open desk-hours"),
        [r.group for r in shown],
        [(_("Booked"), [round(100 * (r.booked_hours or 0) / r.open_desk_hours, 1)
                        if r.open_desk_hours else 0.0 for r in shown]),
         (_("Attended"), [round(100 * (r.utilization or 0), 1) for r in shown])],
        unit="%", target=float(target), lang=lang,
    )  # fmt: skip
    q = {"building": b.id, "start": s.isoformat(), "end": e.isoformat(), "by": by}
    return _page(
        request, person, "manage/occupancy.html", where, report=rep, grids=grids, hours=hours,
        weekdays=[(w, gettext(lang, WEEKDAYS[w])) for w in weekdays], rows=rows, chart=chart,
        usage=usage, by=by, first=first, last=last, target=target, heat=heat_class,
        min_group=_min_group(request),
        occupancy_csv="/api/v1/reports/occupancy?" + urlencode({**q, "target": target / 100,
                                                                 "format": "csv"}),
        utilization_csv="/api/v1/reports/utilization?" + urlencode({**q, "format": "csv"}),
    )  # fmt: skip


def _came(r: UtilizationRow) -> int:
    """Bookings someone checked into (walk-ins are checked in as they are made)."""
    return (
        (r.checked_in_by_sensor or 0)
        + (r.checked_in_by_booker or 0)
        + (r.checked_in_by_manager or 0)
    )


def heat_class(share: float) -> str:
    """The heatmap cell's shade: ten steps of the share of desks occupied."""
    return f"h{min(9, max(0, int(share * 10)))}"


# ---- energy ----------------------------------------------------------------------------


@router.get("/app/manage/energy")
async def energy_page(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    by: Literal["building", "floor", "zone", "circuit"] = "floor",
    start: FormDay = None,
    end: FormDay = None,
) -> Response:
    """Energy (kWh) per day by floor, zone or circuit; per desk-hour; savings; consolidation."""
    lang = page_language(request, person.user)
    where = await run_in_threadpool(_where, db, building)
    b = where.building
    first, last, s, e = _period(start, end, 7, where.tz)
    rollups = _rollups(request)
    scope = Scope(building=b.id, start=s, end=e, every="1d", by=by)
    summary: EnergySummary = await summarise(scope=scope, db=db, rollups=rollups,
                                             now_ms=rollups.now_ms(),
                                             min_group=_min_group(request))  # fmt: skip
    f0, f1 = hour_range(scope)
    acted = SavingsQuery(b.id, f0, f1, 28, ("hvac", "lighting"))
    savings: SavingsEstimate = await estimate(db, rollups, acted)
    today = now_utc().astimezone(where.tz).date()

    def loads() -> Any:
        with db.session(commit=False) as session:
            found = floor_loads(session, b.id, today)
        return found, suggest(found)

    floors, (empty, moves) = await run_in_threadpool(loads)
    days = sorted({r.start.date() for r in summary.rows})
    groups = sorted({r.group for r in summary.rows})
    kwh = {(r.start.date(), r.group): r.kwh for r in summary.rows}
    _ = lambda m: gettext(lang, m)  # noqa: E731
    chart = bars(_("Energy per day"), [d.strftime("%d/%m") for d in days],
                 [(g, [kwh.get((d, g), 0.0) for d in days]) for g in groups],
                 unit="kWh", stacked=True, lang=lang)  # fmt: skip
    q = {"building": b.id, "start": s.isoformat(), "end": e.isoformat(), "by": by, "every": "1d"}
    return _page(
        request, person, "manage/energy.html", where, summary=summary, chart=chart, days=days,
        groups=groups, kwh=kwh, by=by, first=first, last=last, savings=savings, floors=floors,
        empty=empty, moves=moves, today=today, min_group=_min_group(request),
        csv="/api/v1/energy/summary?" + urlencode({**q, "format": "csv"}),
    )  # fmt: skip


# ---- comfort ---------------------------------------------------------------------------


@router.get("/app/manage/comfort")
async def comfort_page(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    start: FormDay = None,
    end: FormDay = None,
) -> Response:
    """CO2, temperature and humidity per room against the bands; stale-air hours; alerts."""
    lang = page_language(request, person.user)
    where = await run_in_threadpool(_where, db, building)
    b = where.building
    first, last, s, e = _period(start, end, 7, where.tz)
    rollups = _rollups(request)
    f0, f1 = hour_range(Scope(building=b.id, start=s, end=e))
    view = await HourlyView.open(rollups, b.id, f0, f1)
    bands = rollups.cfg.bands
    rep: ComfortReport = await report(view, where=SpaceFilter(building=b.id), by="room",
                                      bands=bands, tz=where.tz)  # fmt: skip

    def alerts() -> list[Any]:
        with db.session(commit=False) as session:
            found = recorded_alerts(session, building=b.id, active=False, since_ms=to_ms(s))
            return _alerts(found, where.tz)

    history = await run_in_threadpool(alerts)
    stale = str(bands.co2[1] if len(bands.co2) > 1 else bands.co2[0])
    _ = lambda m: gettext(lang, m)  # noqa: E731
    chart = bars(_("Hours with stale air (CO2 at or above {ppm} ppm)").format(ppm=stale),
                 [r.group for r in rep.rows],
                 [(_("Hours"), [r.hours_at_or_above.get(stale, 0.0) for r in rep.rows])],
                 unit=_("hours"), lang=lang)  # fmt: skip
    standard = gettext(lang, STANDARD).format(
        first=bands.co2[0], levels=" / ".join(str(x) for x in bands.co2),
        t0=f"{bands.temp_c[0]:g}", t1=f"{bands.temp_c[1]:g}",
        h0=f"{bands.rh_pct[0]:g}", h1=f"{bands.rh_pct[1]:g}")  # fmt: skip
    q = {"building": b.id, "start": s.isoformat(), "end": e.isoformat(), "format": "csv"}
    return _page(request, person, "manage/comfort.html", where, report=rep, chart=chart,
                 stale=stale, history=history, first=first, last=last, standard=standard,
                 levels=[str(x) for x in bands.co2],
                 csv="/api/v1/comfort/rooms?" + urlencode(q))  # fmt: skip


# ---- zone actions ----------------------------------------------------------------------


@router.get("/app/manage/actions")
async def actions_page(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    day: FormDay = None,
) -> Response:
    """Each zone's mode now with its reason, and the day's decisions and commands sent."""
    where = await run_in_threadpool(_where, db, building)
    b = where.building
    today = now_utc().astimezone(where.tz).date()
    day = min(day or today, today)
    since = to_ms(datetime.combine(day, time(), where.tz))
    until = since + 86_400_000

    def read() -> tuple[list[ZoneActionOut], list[ZoneActionOut]]:
        with db.session(commit=False) as session:
            current, past = recorded_actions(session, building=b.id, floor=None, zone=None,
                                             since_ms=since)  # fmt: skip
            # Every mode in force that day: those that ended since its start, and those on.
            day_s = [a for a in (*past, *current) if a.start_ms < until]
            return _actions(current, where.tz), _actions(day_s, where.tz)

    current, past = await run_in_threadpool(read)
    return _page(request, person, "manage/actions.html", where, current=current,
                 history=sorted(past, key=lambda a: (a.since, a.zone, a.channel)),
                 day=day, today=today, modes=MODES, channels=CHANNELS,
                 mode_setting=services(request).settings.energy_actions)  # fmt: skip
