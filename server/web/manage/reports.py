"""Reports over days: occupancy and utilisation, energy, comfort, and zone actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep, services
from server.bookings.agencies import SHARED
from server.bookings.reports import GroupBy, UtilizationRow, utilization
from server.calendar.dates import FormDay, day_start, to_ms, today_in
from server.energy.actions import recorded_actions
from server.energy.comfort import ComfortReport, recorded_alerts, report
from server.energy.consolidation import floor_loads, suggest
from server.energy.occupancy import OccupancyBy, OccupancyQuery, OccupancyReport, occupancy
from server.energy.rollup import HourlyView
from server.energy.savings import SavingsEstimate, SavingsQuery, estimate
from server.energy.schemas import ZoneActionOut
from server.energy.summary import EnergySummary, Scope, hour_range, summarise
from server.i18n import WEEKDAYS, gettext
from server.readings.store import SpaceFilter
from server.web.browser import ManagerPage, ReporterPage
from server.web.charts import bars
from server.web.manage.common import (
    CHANNELS,
    MODES,
    STANDARD,
    actions_of,
    alerts_of,
    min_group,
    report_for,
    rollups_of,
    show,
    where_of,
)
from server.web.render import page_language

router = APIRouter(include_in_schema=False)


@router.get("/app/manage/occupancy")
async def occupancy_page(
    request: Request,
    person: ReporterPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    by: Literal["building", "floor", "zone", "agency"] = "floor",
    start: FormDay = None,
    end: FormDay = None,
    target: Annotated[int, Query(ge=5, le=100)] = 70,
) -> Response:
    """Heatmaps of occupancy by hour and weekday, time against target, and utilisation."""
    lang = page_language(request, person.user)
    where, (first, last, s, e) = await report_for(db, person.user, building, start, end, 28)
    b = where.building
    f0, f1 = hour_range(Scope(building=b.id, start=s, end=e))
    chosen: OccupancyBy = by
    asked = OccupancyQuery(b.id, f0, f1, chosen, target / 100, min_group(request))
    rep: OccupancyReport = await occupancy(db, rollups_of(request), asked, person.user)
    group_by: GroupBy = by

    def util() -> list[UtilizationRow]:
        with db.session(commit=False) as session:
            return utilization(
                session,
                building=b.id,
                start=s,
                end=e,
                by=group_by,
                min_group=min_group(request),
                actor=person.user,
            )

    rows = await run_in_threadpool(util)
    # Groups by the names people use: floors' and agencies' (zones' and desks' as coded).
    named = dict(where.names)
    named |= {f.agency: f.agency_name or f.agency for f in b.floors if f.agency}
    named[SHARED] = gettext(lang, "Shared (the building's floors)")
    shown = [r.model_copy(update={"group": named.get(r.group, r.group)}) for r in rows]
    rows, shown = shown, [r for r in shown if not r.withheld]
    rep = rep.model_copy(
        update={
            "groups": [
                g.model_copy(update={"group": named.get(g.group, g.group)}) for g in rep.groups
            ],
            "withheld": [named.get(g, g) for g in rep.withheld],
        }
    )
    hours = sorted({c.hour for g in rep.groups for c in g.heatmap})
    weekdays = sorted({c.weekday for g in rep.groups for c in g.heatmap})
    grids = [(g, {(c.weekday, c.hour): c for c in g.heatmap}) for g in rep.groups]
    _ = lambda m: gettext(lang, m)  # noqa: E731
    chart = bars(
        _("Bookings and what became of them"),
        [r.group for r in shown],
        [
            (_("Attended"), [float(_came(r) - (r.walk_ins or 0)) for r in shown]),
            (_("Walk-in"), [float(r.walk_ins or 0) for r in shown]),
            (_("No-show"), [float(r.no_shows or 0) for r in shown]),
            (
                _("Not yet checked in"),
                [float((r.bookings or 0) - _came(r) - (r.no_shows or 0)) for r in shown],
            ),
        ],
        unit=_("bookings"),
        stacked=True,
        lang=lang,
    )
    usage = bars(
        _("Utilisation of open desk-hours"),
        [r.group for r in shown],
        [
            (
                _("Booked"),
                [
                    round(100 * (r.booked_hours or 0) / r.open_desk_hours, 1)
                    if r.open_desk_hours
                    else 0.0
                    for r in shown
                ],
            ),
            (_("Attended"), [round(100 * (r.utilization or 0), 1) for r in shown]),
        ],
        unit="%",
        target=float(target),
        lang=lang,
    )
    q = {"building": b.id, "start": s.isoformat(), "end": e.isoformat(), "by": by}
    return show(
        request,
        person,
        "manage/occupancy.html",
        where,
        report=rep,
        grids=grids,
        hours=hours,
        weekdays=[(w, gettext(lang, WEEKDAYS[w])) for w in weekdays],
        rows=rows,
        chart=chart,
        usage=usage,
        by=by,
        first=first,
        last=last,
        target=target,
        heat=heat_class,
        min_group=min_group(request),
        occupancy_csv="/api/v1/reports/occupancy?"
        + urlencode({**q, "target": target / 100, "format": "csv"}),
        utilization_csv="/api/v1/reports/utilization?" + urlencode({**q, "format": "csv"}),
    )


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
    where, (first, last, s, e) = await report_for(db, person.user, building, start, end, 7)
    b = where.building
    rollups = rollups_of(request)
    scope = Scope(building=b.id, start=s, end=e, every="1d", by=by)
    summary: EnergySummary = await summarise(
        scope=scope, db=db, rollups=rollups, now_ms=rollups.now_ms(), min_group=min_group(request)
    )
    f0, f1 = hour_range(scope)
    acted = SavingsQuery(b.id, f0, f1, 28, ("hvac", "lighting"))
    savings: SavingsEstimate = await estimate(db, rollups, acted)
    today = today_in(where.tz)

    def loads() -> Any:
        with db.session(commit=False) as session:
            found = floor_loads(session, b.id, today)
        return found, suggest(found)

    floors, (empty, moves) = await run_in_threadpool(loads)
    days = sorted({r.start.date() for r in summary.rows})
    groups = sorted({r.group for r in summary.rows})
    kwh = {(r.start.date(), r.group): r.kwh for r in summary.rows}
    _ = lambda m: gettext(lang, m)  # noqa: E731
    chart = bars(
        _("Energy per day"),
        [d.strftime("%d/%m") for d in days],
        [(where.names.get(g, g), [kwh.get((d, g), 0.0) for d in days]) for g in groups],
        unit="kWh",
        stacked=True,
        lang=lang,
    )
    q = {"building": b.id, "start": s.isoformat(), "end": e.isoformat(), "by": by, "every": "1d"}
    return show(
        request,
        person,
        "manage/energy.html",
        where,
        summary=summary,
        chart=chart,
        days=days,
        groups=groups,
        kwh=kwh,
        by=by,
        first=first,
        last=last,
        savings=savings,
        floors=floors,
        empty=empty,
        moves=moves,
        today=today,
        min_group=min_group(request),
        csv="/api/v1/energy/summary?" + urlencode({**q, "format": "csv"}),
    )


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
    where, (first, last, s, e) = await report_for(db, person.user, building, start, end, 7)
    b = where.building
    rollups = rollups_of(request)
    f0, f1 = hour_range(Scope(building=b.id, start=s, end=e))
    view = await HourlyView.open(rollups, b.id, f0, f1)
    bands = rollups.cfg.bands
    rep: ComfortReport = await report(
        view, where=SpaceFilter(building=b.id), by="room", bands=bands, tz=where.tz
    )

    def alerts() -> list[Any]:
        with db.session(commit=False) as session:
            found = recorded_alerts(session, building=b.id, active=False, since_ms=to_ms(s))
            return alerts_of(found, where.tz)

    history = await run_in_threadpool(alerts)
    stale = str(bands.co2[1] if len(bands.co2) > 1 else bands.co2[0])
    _ = lambda m: gettext(lang, m)  # noqa: E731
    chart = bars(
        _("Hours with stale air (CO2 at or above {ppm} ppm)").format(ppm=stale),
        [r.group for r in rep.rows],
        [(_("Hours"), [r.hours_at_or_above.get(stale, 0.0) for r in rep.rows])],
        unit=_("hours"),
        lang=lang,
    )
    standard = gettext(lang, STANDARD).format(
        first=bands.co2[0],
        levels=" / ".join(str(x) for x in bands.co2),
        t0=f"{bands.temp_c[0]:g}",
        t1=f"{bands.temp_c[1]:g}",
        h0=f"{bands.rh_pct[0]:g}",
        h1=f"{bands.rh_pct[1]:g}",
    )
    q = {"building": b.id, "start": s.isoformat(), "end": e.isoformat(), "format": "csv"}
    return show(
        request,
        person,
        "manage/comfort.html",
        where,
        report=rep,
        chart=chart,
        stale=stale,
        history=history,
        first=first,
        last=last,
        standard=standard,
        levels=[str(x) for x in bands.co2],
        csv="/api/v1/comfort/rooms?" + urlencode(q),
    )


@router.get("/app/manage/actions")
async def actions_page(
    request: Request,
    person: ManagerPage,
    db: DatabaseDep,
    building: Annotated[str | None, Query(max_length=32)] = None,
    day: FormDay = None,
) -> Response:
    """Each zone's mode now with its reason, and the day's decisions and commands sent."""
    where = await run_in_threadpool(where_of, db, building, person.user)
    b = where.building
    today = today_in(where.tz)
    day = min(day or today, today)
    since = to_ms(day_start(day, where.tz))
    until = since + 86_400_000

    def read() -> tuple[list[ZoneActionOut], list[ZoneActionOut]]:
        with db.session(commit=False) as session:
            current, past = recorded_actions(
                session, building=b.id, floor=None, zone=None, since_ms=since
            )
            # Every mode in force that day: those that ended since its start, and those on.
            day_s = [a for a in (*past, *current) if a.start_ms < until]
            return actions_of(current, where.tz), actions_of(day_s, where.tz)

    current, past = await run_in_threadpool(read)
    return show(
        request,
        person,
        "manage/actions.html",
        where,
        current=current,
        history=sorted(past, key=lambda a: (a.since, a.zone, a.channel)),
        day=day,
        today=today,
        modes=MODES,
        channels=CHANNELS,
        mode_setting=services(request).settings.energy_actions,
    )
