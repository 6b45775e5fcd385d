"""Finding a desk in a shared tower (server/web/desks.py): a person sees another agency's
floor as not theirs, saying whose, except on the days it is opened to their agency, when
they book it as any desk."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, expect

from harness.layouts import one_floor
from harness.platform import Platform
from tests.web.conftest import ALWAYS_OPEN, accessible, desk_dialog, new_context, sign_in, today_at

TOWER = "menara-5"


def _next(weekday: int) -> date:
    """The next such weekday (Monday = 0) from tomorrow on."""
    day = today_at(0).date() + timedelta(days=1)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def test_an_employee_books_a_desk_another_agency_opened_for_thursday_and_not_on_friday(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    for code, name in (("kemenko-pmk", "Kemenko PMK"), ("kemenko-pangan", "Kemenko Pangan")):
        assert platform.api("POST", "/api/v1/agencies", json={"id": code, "name": name}).is_success
    layout = one_floor(TOWER, "l3", ["a1", "a2"])
    layout["building"]["name"] = "Menara 5"
    layout["floors"][0]["agency"] = "kemenko-pmk"
    assert platform.api("PUT", f"/api/v1/buildings/{TOWER}/layout", json=layout).is_success
    assert platform.api("PUT", f"/api/v1/buildings/{TOWER}/booking-policy", json=ALWAYS_OPEN)
    thursday, friday = _next(3), _next(3) + timedelta(days=1)
    opened = {"agency": "kemenko-pangan", "days": [thursday.isoformat()]}
    where = f"/api/v1/buildings/{TOWER}/floors/l3/openings"
    assert platform.api("POST", where, json=opened).status_code == 201
    assert platform.api("PATCH", "/api/v1/users/employee", json={"agency": "kemenko-pangan"})
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "employee")
        page.goto(f"{base}/app/find?building={TOWER}&floor=l3&day={friday}")
        # The floor says whose it is.
        floors = page.get_by_role("combobox", name=re.compile("^Lantai"))
        expect(floors).to_contain_text("Lantai l3 · Kemenko PMK")
        friday_a1 = page.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="Meja a1")
        )
        expect(friday_a1).to_contain_text("Tidak dapat dipesan")
        expect(friday_a1).to_contain_text("untuk pegawai Kemenko PMK")
        expect(friday_a1.get_by_role("button")).to_have_count(0)
        accessible(page)
        page.screenshot(path=shots / "find-other-agency-id.png", full_page=True)

        page.goto(f"{base}/app/find?building={TOWER}&floor=l3&day={thursday}")
        thursday_a1 = page.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="Meja a1")
        )
        expect(thursday_a1).to_contain_text("Kosong")
        thursday_a1.get_by_role("button", name="Pesan meja ini: Meja a1").click()
        dialog = desk_dialog(page)
        dialog.get_by_role("button", name="Pesan meja ini").click()
        expect(dialog.get_by_role("status")).to_contain_text("Berhasil dipesan: meja a1")
    finally:
        ctx.close()
        platform.api("PATCH", "/api/v1/users/employee", json={"agency": None})
