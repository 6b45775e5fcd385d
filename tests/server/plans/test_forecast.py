"""The forecast (server/plans/forecast.py), on SQLite and PostgreSQL (and both reading stores
for its accuracy): booked desks and planned people per zone, small groups withheld, an agency's
manager kept to their floors, zones nobody is expected in set back before the opening, and
the forecast kept the day before measured against the sensors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from server.auth.service import Principal
from server.bookings import service as bookings
from server.bookings.schemas import BookingCreate
from server.calendar.dates import to_ms
from server.db import Database
from server.energy.actions import ActionConfig, ZoneActions, zone_facts
from server.energy.models import RollupState
from server.energy.rollup import Rollups
from server.exceptions import Forbidden
from server.plans import forecast as forecasting
from server.plans.models import ForecastRow
from server.readings.store import ReadingStore, Rollup
from server.registry.models import Downlink
from server.registry.service import add_gateway
from tests.server.plans.conftest import MON, NOW, OFFICE_WEEK, WITA, B, day, week

H = 3_600_000


def plans(db: Database, unit: dict[str, Principal]) -> None:
    """Monday: ani booked u-1; bima plans the office with no zone; citra prefers the north
    wing; dodi is at home; kepala on leave."""
    with db.session() as s:
        new = BookingCreate(building=B, desk="u-1", day=MON)
        bookings.create(s, actor=unit["ani"], new=new, now=NOW)
    week(db, unit["bima"], OFFICE_WEEK)
    week(db, unit["citra"], OFFICE_WEEK, zone="l2-u")
    week(db, unit["dodi"], ["home"] * 5 + [None, None])
    week(db, unit["kepala"], OFFICE_WEEK)
    day(db, unit["kepala"], MON, "leave")


def test_a_zone_expects_its_bookings_and_the_people_who_plan_to_come(
    db: Database, unit: dict[str, Principal]
) -> None:
    plans(db, unit)
    with db.session(commit=False) as s:
        found = forecasting.forecast(s, building=B, first=MON, days=3)
    monday = found[MON]
    # bima has no zone: half in each wing (three desks each); citra in the north wing.
    assert monday["l2-u"].expected == pytest.approx(1 + 0.5 + 1)
    assert monday["l2-s"].expected == pytest.approx(0.5)
    assert len(monday["l2-u"].booked) == 1
    # Wednesday is a home day of OFFICE_WEEK: nobody.
    assert found[MON + timedelta(days=2)]["l2-u"].expected == 0
    # Counted, never named; a group under the minimum withheld.
    shown = forecasting.public(found, min_group=1)
    assert shown[0].floors[0].expected == 3.0 and shown[0].floors[0].booked == 1
    hidden = forecasting.public(found, min_group=4)
    assert hidden[0].floors[0].expected is None and hidden[0].expected == 3.0


def test_the_forecast_is_for_managers_and_an_agencys_for_its_floors(
    db: Database, unit: dict[str, Principal]
) -> None:
    plans(db, unit)
    with db.session(commit=False) as s:
        with pytest.raises(Forbidden):
            forecasting.read(s, actor=unit["ani"], building=B, first=MON, days=1, min_group=1)
        ours = forecasting.read(
            s, actor=unit["manajer"], building=B, first=MON, days=1, min_group=1
        )
        other = Principal("m", "agency_manager", "M", agency="kemenko-lain")
        theirs = forecasting.read(s, actor=other, building=B, first=MON, days=1, min_group=1)
    assert [f.floor for f in ours[0].floors] == ["l2"]
    assert theirs[0].floors == [] and theirs[0].expected == 0


def test_a_zone_nobody_is_expected_in_starts_the_day_set_back_before_the_opening(
    db: Database, unit: dict[str, Principal]
) -> None:
    plans(db, unit)
    with db.session() as s:
        add_gateway(s, gateway_id="gw-r", building=B)
    before = datetime(2026, 12, 8, 6, 40, tzinfo=WITA)  # Tuesday; the opening is 07:00
    actions = ZoneActions(ActionConfig(mode="command"), clock=lambda: before.timestamp())
    # Tuesday: nobody planned or booked the south wing (bima and citra planned the north).
    week(db, unit["bima"], OFFICE_WEEK, zone="l2-u")
    day(db, unit["kepala"], MON + timedelta(days=1), "travel")
    with db.session() as s:
        now = to_ms(before)
        facts = zone_facts(s, B, now, set())
        for zone, n in forecasting.planned_today(s, B, now).items():
            facts[("hvac", zone)].planned = n
        done = actions.evaluate(s, B, facts)
    hvac = {d.zone: d for d in done.decisions if d.channel == "hvac"}
    assert (hvac["l2-u"].mode, hvac["l2-u"].reason_code) == ("normal", "preconditioning")
    assert hvac["l2-u"].reason.startswith("Pra-kondisi: 2 orang berencana datang")
    assert (hvac["l2-s"].mode, hvac["l2-s"].reason_code) == ("setback", "vacant")
    # Both commands are queued for the gateway, before 07:00.
    with db.session(commit=False) as s:
        queued = [
            (q.zone, q.channel, json.loads(q.payload), q.created_ms)
            for q in s.scalars(select(Downlink).where(Downlink.gateway_id == "gw-r"))
        ]
    hvac_out = {zone: sent for zone, channel, sent, _ in queued if channel == "hvac"}
    assert hvac_out["l2-s"]["mode"] == "setback" and hvac_out["l2-u"]["mode"] == "normal"
    assert all(made < to_ms(before.replace(hour=7, minute=0)) for *_, made in queued)


@pytest.mark.anyio
async def test_the_forecast_kept_the_day_before_is_measured_against_the_sensors(
    db: Database, unit: dict[str, Principal], store: ReadingStore
) -> None:
    plans(db, unit)
    sunday_afternoon = datetime(2026, 12, 6, 16, 0, tzinfo=WITA)
    with db.session() as s:
        assert forecasting.keep(s, building=B, now=sunday_afternoon) == 4  # two zones, two days
        assert forecasting.keep(s, building=B, now=sunday_afternoon) == 0  # kept once
        kept = s.scalars(select(ForecastRow).where(ForecastRow.day == MON.isoformat())).all()
        assert sum(r.expected for r in kept) == pytest.approx(3.0)
        s.add(RollupState(building_id=B, done_until_ms=to_ms(NOW) + 24 * H, updated_ms=0))
    # Monday's sensors: two desks of the floor occupied from 09:00 to 11:00.
    nine = to_ms(datetime(2026, 12, 7, 9, 0, tzinfo=WITA))
    tags = {"building": B, "floor": "l2", "zone": "l2-u", "space_kind": "desk"}
    await store.write_rollups(
        [
            Rollup(
                "presence",
                nine + h * H,
                f"dn-{desk}",
                "",
                {**tags, "space": desk},
                {"occupied_s": 3600.0, "covered_s": 3600.0},
            )
            for desk in ("u-1", "u-2")
            for h in range(2)
        ]
    )
    found = await forecasting.accuracy(
        db, Rollups(db, store), building=B, first=MON, last=MON + timedelta(days=1)
    )
    assert [(d.floor, d.day, d.expected, d.seen) for d in found.days] == [("l2", MON, 3.0, 2.0)]
    assert found.mean_absolute_error == 1.0
