"""Work plans in Chromium, against the real server: a person sets their usual week and the
plan books their desk; a day at home releases it; a unit's head sees the unit's week; a
colleague who did not opt in is not shown to the others."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from harness.platform import PASSWORD, Platform
from tests.web.conftest import PHONE, accessible, new_context, sign_in, today_at

TOMORROW = (today_at(0) + timedelta(days=1)).date()


def person(platform: Platform, name: str, **more: object) -> str:
    """A new account (each test its own people); the username."""
    username = f"{name}-{uuid.uuid4().hex[:5]}"
    made = platform.api(
        "POST",
        "/api/v1/users",
        json={
            "username": username,
            "password": PASSWORD,
            "role": "employee",
            "display_name": f"{name.title()} {username[-5:]}",
            **more,
        },
    )
    assert made.status_code == 201, made.text
    return username


def as_person(platform: Platform, username: str) -> dict[str, str]:
    assert platform.server is not None
    got = httpx.post(
        f"{platform.server.url}/api/v1/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=10,
    )
    got.raise_for_status()
    return {"Authorization": f"Bearer {got.json()['access_token']}"}


def test_a_person_sets_their_week_the_plan_books_a_desk_and_a_day_at_home_releases_it(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    assert platform.server is not None
    base = platform.server.url
    who = person(platform, "asn", team="Pusdatin")
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, base, who, then="/app/plan")
    expect(page.get_by_role("heading", name="Rencana kerja", level=1)).to_be_visible()
    week = page.get_by_role("form", name="Minggu biasa saya")
    for day in ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"):
        week.get_by_label(day, exact=True).select_option(label="Di kantor")
    week.get_by_label("Pesankan meja untuk saya").select_option(label="2 hari ke depan")
    week.get_by_role("button", name="Simpan minggu saya").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("Tersimpan.")
    expect(notice).to_contain_text("dipesan untuk")
    row = page.locator(f"tr[data-day='{TOMORROW.isoformat()}']")
    expect(row).to_contain_text("Di kantor")
    expect(row).to_contain_text("dipesan oleh rencana Anda")
    page.screenshot(path=shots / "plan-id.png", full_page=True)
    accessible(page)
    # The booking is one like any other: it is under My bookings.
    mine = platform.api("GET", "/api/v1/bookings", headers=as_person(platform, who)).json()
    tomorrow = [b for b in mine if b["start"].startswith(TOMORROW.isoformat())]
    assert [(b["state"], b["space_kind"]) for b in tomorrow] == [("booked", "desk")]
    desk = tomorrow[0]["space"]
    # Tomorrow at home instead: the plan's desk is released, and the page says so.
    row.locator("summary").click()  # "Ubah"
    row.get_by_role("combobox", name=re.compile("^Di mana pada")).select_option(label="Rumah")
    row.get_by_role("button", name=re.compile("^Simpan")).click()
    expect(page.get_by_role("status")).to_contain_text(f"Meja {desk} pada")
    expect(page.get_by_role("status")).to_contain_text("dilepas (Anda berencana di tempat lain)")
    row = page.locator(f"tr[data-day='{TOMORROW.isoformat()}']")
    expect(row).to_contain_text("Rumah")
    expect(row).to_contain_text("khusus hari itu")
    mine = platform.api("GET", "/api/v1/bookings", headers=as_person(platform, who)).json()
    assert [b["state"] for b in mine if b["id"] == tomorrow[0]["id"]] == ["cancelled"]
    # On a phone the plan reads as well.
    phone = new_context(chromium, viewport=PHONE)
    small = phone.new_page()
    sign_in(small, base, who, then="/app/plan")
    small.screenshot(path=shots / "plan-phone-id.png", full_page=True)
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1
    phone.close()
    context.close()


def test_a_units_head_sees_its_week_and_a_colleague_sees_only_who_opted_in(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    assert platform.server is not None
    base = platform.server.url
    agency = f"inst-{uuid.uuid4().hex[:5]}"
    unit = "Bidang Data"
    assert platform.api(
        "POST", "/api/v1/agencies", json={"id": agency, "name": "Instansi R"}
    ).is_success
    assert platform.api("POST", f"/api/v1/agencies/{agency}/units", json={"name": unit}).is_success
    head = person(platform, "kepala", agency=agency, team=unit)
    shown = person(platform, "rekan", agency=agency, team=unit)
    hidden = person(platform, "tertutup", agency=agency, team=unit)
    set_head = platform.api(
        "PUT",
        f"/api/v1/plans/units/{agency}/{unit}",
        json={"supervisor": head, "team_days": [1]},
    )
    assert set_head.is_success, set_head.text
    week = {"week": ["office", "home", "office", "travel", "leave", None, None]}
    for who in (head, shown, hidden):
        done = platform.api(
            "PUT", "/api/v1/plans/me/week", json=week, headers=as_person(platform, who)
        )
        assert done.is_success, done.text
    opted = platform.api(
        "PATCH",
        "/api/v1/auth/me",
        json={"share_location": True},
        headers=as_person(platform, shown),
    )
    assert opted.is_success, opted.text
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, base, head, then="/app/plan/team")
    table = page.locator("table.team-week")
    for who in (head, shown, hidden):
        expect(table).to_contain_text(who[-5:])
    expect(table).to_contain_text("Dinas luar")
    expect(table).to_contain_text("Cuti")
    expect(page.get_by_text("Setiap kali Anda melihat, tercatat di log audit.")).to_be_visible()
    page.screenshot(path=shots / "plan-team-id.png", full_page=True)
    accessible(page)
    context.close()
    # A colleague of the unit: the one who opted in, on office days only; not the other.
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, base, hidden, then="/app/plan/team")
    table = page.locator("table.team-week")
    expect(table).to_contain_text(shown[-5:])
    expect(table).not_to_contain_text(head[-5:])
    row = table.get_by_role("row").filter(has_text=shown[-5:])
    expect(row).to_contain_text("Di kantor")
    expect(row).not_to_contain_text("Cuti")
    expect(row).not_to_contain_text("Dinas luar")
    context.close()
