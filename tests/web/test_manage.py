"""The facility managers' console through the real server: the building now, a floor's live
map, occupancy heatmaps and utilisation with their CSV, energy, comfort and zone actions;
and an employee who opens it is told it is not theirs."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.numbers import format_decimal
from playwright.sync_api import Browser, Page, expect

from harness.platform import PASSWORD, Platform
from harness.services import Service
from tests.web.conftest import (
    FLOOR,
    WITA,
    B,
    accessible,
    book,
    new_context,
    sign_in,
    today_at,
    web_platform,
)

ZONE = f"{FLOOR}-a"
ZONE_NAME = "Zona A"  # as the pages name it
HOUR = 3_600_000


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, mosquitto: Service) -> Iterator[Platform]:
    """As the pages' platform, with zone decisions and CO2 alerts every second."""
    yield from web_platform(tmp_path_factory, mosquitto, SMARTOFFICE_ENERGY_SWEEP_S="1")


def deliver(
    platform: Platform,
    device: str,
    kind: str,
    space: dict[str, str],
    stream: str,
    rows: list[tuple[int, dict[str, Any]]],
    boot: int = 1,
) -> None:
    """The building's gateway delivers a device's readings (any time, past ones too)."""
    assert platform.server is not None
    platform.register([{"id": device, "kind": kind, "space": space}])
    readings = [
        {
            "device": device,
            "stream": stream,
            "boot": boot,
            "seq": i,
            "ts": ts,
            "ts_source": "device",
            "received": ts,
            "space": space,
            "data": data,
        }
        for i, (ts, data) in enumerate(rows)
    ]
    r = httpx.post(
        f"{platform.server.url}/api/v1/ingest",
        json={
            "v": 1,
            "gateway_id": platform.gateway_id,
            "batch_id": f"{device}-{rows[0][0]}",
            "readings": readings,
        },
        headers={"Authorization": f"Bearer {platform.gateway_token}"},
    )
    assert r.json()["accepted"] == len(readings), r.text


def three_hours_ago() -> tuple[int, int]:
    """Two whole hours, from five hours before now or earlier: settled, and open (the policy
    is always open). They and the hour after them are on one day in WITA."""
    now = int(time.time() * 1000)
    start = now - now % HOUR - 5 * HOUR

    def day(ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, WITA).date()

    while day(start) != day(start + 3 * HOUR - 1):
        start -= HOUR
    return start, start + 2 * HOUR


def reload_until(page: Page, done: Callable[[], bool], seconds: float = 60) -> None:
    """Reload a server-drawn page until it shows what ``done`` looks for."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the page never showed it"
        time.sleep(0.5)
        page.reload()


def place(space: str, kind: str) -> dict[str, str]:
    return {"building": B, "floor": FLOOR, "zone": ZONE, "space": space, "space_kind": kind}


def test_a_manager_reads_the_building_its_floors_occupancy_energy_and_comfort(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    start, end = three_hours_ago()
    # Two desks were occupied for those two hours; a meter and a room sensor reported.
    seen = [(t, {"occupied": True, "source": "both"}) for t in range(start, end, 300_000)]
    for desk in ("w01", "w02"):
        deliver(platform, f"desk-mc-{desk}", "desk", place(desk, "desk"), "presence", seen)
    deliver(
        platform,
        "em-mc",
        "energy",
        place(ZONE, "zone"),
        "energy",
        [
            (t, {"power_w": 1200.0, "energy_wh": 1000.0 + 20 * i, "circuit": "hvac"})
            for i, t in enumerate(range(start, end + 1, 60_000))
        ],
    )
    deliver(
        platform,
        "room-mc",
        "room",
        place("r1", "room"),
        "env",
        [
            (t, {"co2_ppm": 1250.0, "temp_c": 24.5, "rh_pct": 55.0})
            for t in range(start, end, 300_000)
        ],
    )
    # Now: people in the meeting room, whose air has been stale for twenty minutes.
    now = int(time.time() * 1000)
    recent = range(now - 20 * 60_000, now, 60_000)
    deliver(
        platform,
        "room-mc",
        "room",
        place("r1", "room"),
        "env",
        [(t, {"co2_ppm": 1400.0, "temp_c": 25.0, "rh_pct": 60.0}) for t in recent],
        boot=2,
    )
    deliver(
        platform,
        "room-mc",
        "room",
        place("r1", "room"),
        "people",
        [(t, {"count": 5}) for t in recent],
        boot=3,
    )
    # And a booking under way now, nobody checked in yet.
    book(platform, "employee", "w05", today_at(-0.1), today_at(2))

    day = datetime.fromtimestamp(start / 1000, UTC).astimezone(WITA).date()
    # The pages show that day through today: the same day, but after midnight in WITA the
    # booking under way is on the next day than the readings.
    today = datetime.now(WITA).date()
    until = f"{today + timedelta(days=1)}T00:00"
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "facility_manager", then="/app/manage")
        # The alert and the zone's decisions come within seconds (every second here).
        alerts = page.get_by_role("region", name=re.compile("^Peringatan CO2 aktif"))
        reload_until(page, lambda: alerts.get_by_role("heading").inner_text().endswith(" 1"))
        expect(alerts.get_by_role("listitem")).to_contain_text("Ruang r1 (l2): 1400 ppm")

        # The building now: each floor's desks by state, alerts, zones, devices.
        floors = page.get_by_role("table", name=re.compile("^Meja per lantai"))
        row = floors.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Lantai l2"))
        expect(row.get_by_role("cell").first).to_have_text("12")  # desks
        expect(page.get_by_role("heading", level=1)).to_contain_text("Kantor W")
        trouble = page.get_by_role("region", name=re.compile("^Perangkat dan gateway bermasalah"))
        expect(trouble).to_be_visible()
        accessible(page)
        page.screenshot(path=shots / "manage-overview-id.png", full_page=True)

        # The floor's live map: the shared renderer, desks by state, the room by its air.
        row.get_by_role("link", name="Denah langsung").click()
        expect(page.locator('#plan g[data-desk="w05"]')).to_have_class("desk s-awaiting_checkin")
        legend = page.get_by_role("list", name="Meja")
        waiting = legend.get_by_role("listitem").filter(has_text="Menunggu check-in")
        expect(waiting).to_contain_text("(1)")
        accessible(page)
        page.screenshot(path=shots / "manage-floor-id.png", full_page=True)
        assert "employee" not in page.content()  # states, never names

        # Occupancy: the heatmap of that weekday has the two desks in those hours.
        page.goto(f"{base}/app/manage/occupancy?building={B}&start={day}&end={today}&by=zone")
        heat = page.get_by_role("table", name=f"{ZONE_NAME} · 12 meja")
        busy = heat.get_by_role("cell").filter(has_text="17%")  # 2 of 12 desks
        expect(busy).to_have_count(2)
        summary = page.get_by_role("table", name=re.compile(r"^Target \d+ % meja"))
        expect(summary.get_by_role("rowheader")).to_have_count(1)
        expect(summary.get_by_role("cell").nth(2)).to_contain_text("2 · ")  # peak
        accessible(page)
        page.screenshot(path=shots / "manage-occupancy-id.png", full_page=True)

        # The CSVs download from the page and say what the API says.
        with page.expect_download() as got:
            page.get_by_role("link", name="Unduh peta panas (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
        api = platform.api(
            "GET",
            "/api/v1/reports/occupancy",
            "facility_manager",
            params={
                "building": B,
                "by": "zone",
                "target": 0.7,
                "start": f"{day}T00:00",
                "end": until,
            },
        ).json()
        group = api["groups"][0]
        # Only measured hours count: the two, and the next one the last reading holds into
        # (10 minutes); 2 of 12 desks is under a 70 % target in each.
        assert (
            group["open_hours"],
            group["hours_under"],
            group["hours_at"],
            group["hours_over"],
        ) == (3, 3, 0, 0)
        assert group["peak_occupied"] == 2.0
        assert group["average_occupied"] == round((2 + 2 + 2 * 5 / 60) / 3, 2)
        cells = group["heatmap"]
        assert [(int(r["hour"]), float(r["occupied"])) for r in rows] == [
            (c["hour"], c["occupied"]) for c in cells
        ]
        assert sum(float(r["occupied"]) == 2.0 for r in rows) == 2
        with page.expect_download() as got:
            page.get_by_role("link", name="Unduh utilisasi (CSV)").click()
        downloaded = Path(got.value.path()).read_bytes()
        href = page.get_by_role("link", name="Unduh utilisasi (CSV)").get_attribute("href")
        assert href is not None and href.startswith("/api/v1/reports/utilization?")
        assert downloaded == platform.api("GET", href, "facility_manager").content
        util = list(csv.DictReader(io.StringIO(downloaded.decode())))
        # One person booked in the zone: fewer than the privacy minimum (5), so its booking
        # figures are withheld, on the page, in the CSV and in the API alike.
        assert [(r["group"], r["withheld"], r["bookings"]) for r in util] == [(ZONE, "True", "")]
        numbers = page.get_by_role("table", name="Angka di balik grafik")
        expect(numbers.get_by_role("row").filter(has_text=ZONE_NAME)).to_contain_text(
            "Disembunyikan: kurang dari 5 orang"
        )

        # Energy: the day's kWh in the chart and its table, from the meter.
        page.goto(f"{base}/app/manage/energy?building={B}&start={day}&end={today}&by=circuit")
        chart = page.get_by_role("img", name=re.compile("^Energi per hari"))
        expect(chart.locator("rect").first).to_be_visible()  # a bar
        summary = platform.api(
            "GET",
            "/api/v1/energy/summary",
            "facility_manager",
            params={
                "building": B,
                "by": "circuit",
                "every": "1d",
                "start": f"{day}T00:00",
                "end": until,
            },
        ).json()
        kwh = summary["totals"]["kwh"]
        assert kwh > 2
        # In Indonesian: a decimal comma (2,4 kWh).
        said = format_decimal(round(kwh, 2), format="#,##0.##", locale="id")
        assert "," in said or kwh == int(kwh)
        days = page.get_by_role("table", name="kWh per hari; angka di balik grafik")
        expect(days.get_by_role("cell").first).to_have_text(said)
        csv_link = page.get_by_role("link", name="Unduh (CSV)")
        with page.expect_download() as got:
            csv_link.click()
        href = csv_link.get_attribute("href")
        assert href is not None
        api_csv = platform.api("GET", href, "facility_manager").content
        assert Path(got.value.path()).read_bytes() == api_csv and b"hvac" in api_csv
        accessible(page)
        page.screenshot(path=shots / "manage-energy-id.png", full_page=True)

        # Comfort: the room's stale air, against bands whose standard is named.
        page.goto(f"{base}/app/manage/comfort?building={B}&start={day}&end={today}")
        expect(page.get_by_text(re.compile("Permenkes"))).to_be_visible()
        rooms = page.get_by_role("table", name="Per ruangan selama periode")
        expect(rooms.get_by_role("rowheader").first).to_contain_text("r1")
        stale = page.get_by_role("img", name=re.compile("^Jam dengan udara pengap"))
        expect(stale.locator("rect")).to_have_count(1)  # one room's bar
        accessible(page)

        history = page.get_by_role("table", name=re.compile("^Ruangan yang CO2-nya tetap tinggi"))
        expect(history).to_contain_text("masih aktif")

        # Zone actions: each system's mode now, and why, in the page's language.
        page.goto(f"{base}/app/manage/actions?building={B}")
        modes = page.get_by_role("table", name="Mode setiap zona sekarang dan alasannya")
        now_rows = modes.get_by_role("row").filter(has_text=ZONE_NAME)
        expect(now_rows).to_have_count(2)  # air conditioning and lighting
        expect(now_rows.first).to_contain_text("terisi")  # "1 meja/ruang terisi"
        day = page.get_by_role("table", name="Setiap mode zona pada hari itu, beserta alasannya")
        expect(day.get_by_role("row").nth(1)).to_contain_text(ZONE_NAME)  # after the head row
        accessible(page)
        page.screenshot(path=shots / "manage-actions-id.png", full_page=True)
    finally:
        ctx.close()


def test_a_manager_reads_how_the_meeting_rooms_are_used(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "facility_manager", then=f"/app/manage/meetings?building={B}")
        rooms = page.get_by_role(
            "table", name="Ruang rapat: pemesanan dan orang yang terhitung di dalamnya"
        )
        room = rooms.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="Ruang Rapat r1")
        )
        expect(room.get_by_role("cell").nth(1)).to_have_text("6")  # seats
        csv_link = page.get_by_role("link", name="Unduh (CSV)")
        expect(csv_link).to_have_attribute("href", re.compile("/api/v1/reports/meetings"))
        accessible(page)
        page.screenshot(path=shots / "manage-meetings-id.png", full_page=True)
    finally:
        ctx.close()
    asked = platform.api(
        "GET",
        "/api/v1/reports/meetings",
        "facility_manager",
        params={"building": B, "start": "2026-12-01", "end": "2026-12-31"},
    ).json()
    assert [(r["room"], r["capacity"]) for r in asked["rooms"]] == [("r1", 6)]


def test_an_employee_who_opens_a_manager_page_is_told_it_is_not_theirs(
    platform: Platform, chromium: Browser
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page: Page = ctx.new_page()
        sign_in(page, base, "employee")
        nav = page.get_by_role("navigation").first
        expect(nav.get_by_role("link", name="Gedung", exact=True)).to_have_count(0)
        response = page.goto(f"{base}/app/manage/energy")
        assert response is not None and response.status == 403
        expect(page.get_by_role("alert")).to_contain_text("Pengelola fasilitas")
        expect(page.get_by_role("alert")).to_contain_text("Pegawai")
        # The data behind the page is refused too, with a reason.
        period = {"building": B, "start": "2026-01-01", "end": "2026-01-02"}
        r = platform.api("GET", "/api/v1/reports/occupancy", "employee", params=period)
        assert r.status_code == 403
        assert r.json()["detail"]
    finally:
        ctx.close()


def test_a_manager_sees_who_is_expected_per_floor_from_bookings_and_plans(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    tomorrow = (datetime.now(WITA) + timedelta(days=1)).date()
    # Five people plan the office every day (groups under five are withheld), one of them
    # with tomorrow's desk booked.
    for i in range(5):
        name = f"rencana-{i}-{uuid.uuid4().hex[:4]}"
        made = platform.api(
            "POST",
            "/api/v1/users",
            json={"username": name, "password": PASSWORD, "role": "employee", "display_name": name},
        )
        assert made.status_code == 201, made.text
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": name, "password": PASSWORD}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        week = {"week": ["office"] * 7}
        assert httpx.put(f"{base}/api/v1/plans/me/week", json=week, headers=auth).is_success
        if i == 0:
            slot = {"building": B, "desk": "w11", "day": tomorrow.isoformat()}
            assert httpx.post(f"{base}/api/v1/bookings", json=slot, headers=auth).is_success
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "facility_manager", then=f"/app/manage/forecast?building={B}")
        table = page.get_by_role("table", name="Orang yang diperkirakan per lantai dan hari")
        row = table.get_by_role("row").nth(2)  # the head, today, then tomorrow
        expect(row).to_contain_text("1 dipesan")
        expect(page.get_by_role("heading", name="Seberapa tepat perkiraannya")).to_be_visible()
        accessible(page)
        page.screenshot(path=shots / "manage-forecast-id.png", full_page=True)
    finally:
        ctx.close()
    found = platform.api(
        "GET",
        "/api/v1/plans/forecast",
        "facility_manager",
        params={"building": B, "start": tomorrow.isoformat(), "days": 1},
    ).json()
    assert found[0]["expected"] >= 5 and found[0]["floors"][0]["booked"] >= 1
    refused = platform.api("GET", "/api/v1/plans/forecast", "employee", params={"building": B})
    assert refused.status_code == 403
