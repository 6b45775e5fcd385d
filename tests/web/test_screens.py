"""Every page fits the hands and screens it is used on: a 390 px phone, a 1280 px desk,
the 800x480 kiosk by the lift; targets a finger can hit; times and dates as Indonesians
write them, whatever the browser's own locale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.platform import Platform
from tests.web.conftest import DESKTOP, FLOOR, PHONE, B, new_context, sign_in

PAGES = {
    "employee": [
        "/app",
        "/app/find",
        "/app/rooms",
        "/app/bookings",
        "/app/profile",
        "/app/privacy",
    ],
    "facility_manager": [
        "/app/manage",
        f"/app/manage/floor?floor={FLOOR}",
        "/app/manage/occupancy",
        "/app/manage/energy",
        "/app/manage/comfort",
        "/app/manage/actions",
        "/app/manage/meetings",
        "/app/manage/split",
    ],
    "installer": ["/app/devices", "/app/devices/commission"],
    "admin": [
        "/app/admin",
        "/app/admin/agencies",
        "/app/admin/rules",
        "/app/admin/calendar",
        "/app/admin/gateways",
        "/app/admin/audit",
        "/app/admin/privacy",
    ],
    "agency_admin": ["/app/admin", "/app/admin/agencies", "/app/admin/audit"],
}


def _too_wide(page: Page, width: int) -> list[str]:
    """What sticks out past the screen's width (the page itself, or elements in it)."""
    found: list[str] = page.evaluate(
        """(width) => {
            const out = [];
            if (document.documentElement.scrollWidth > width) out.push("page:" +
                document.documentElement.scrollWidth);
            for (const el of document.querySelectorAll("body *")) {
              // A table scrolls in its own box; a plan's drawing is clipped by its own.
              if (el.closest(".scroll") || el.parentElement?.closest("svg")) continue;
              const r = el.getBoundingClientRect();
              if (r.width && r.right > width + 1) out.push(el.tagName + "." + el.className);
            }
            return out.slice(0, 5);
        }""",
        width,
    )
    return found


@pytest.mark.parametrize("role", list(PAGES))
def test_no_page_is_wider_than_a_phone(
    platform: Platform, chromium: Browser, role: str, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium, viewport=PHONE, locale="en-US")
    try:
        page = ctx.new_page()
        sign_in(page, base, role)
        wide = {}
        for path in PAGES[role]:
            page.goto(f"{base}{path}")
            if found := _too_wide(page, PHONE["width"]):
                wide[path] = found
                page.screenshot(path=shots / f"wide-{path.strip('/').replace('/', '-')}.png")
        assert wide == {}
    finally:
        ctx.close()


def test_times_are_24_hour_and_days_written_out_whatever_the_browsers_locale(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    """The review: time fields read "02:30 PM" and dates "12/07/2026" (12 July, to an
    Indonesian) in a browser set to English (US)."""
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium, viewport=DESKTOP, locale="en-US")
    try:
        page = ctx.new_page()
        sign_in(page, base, "employee")
        # The pages in Indonesian, the browser's own locale English (US).
        ctx.add_cookies([{"name": "smartoffice_lang", "value": "id", "url": base}])
        page.goto(f"{base}/app/rooms?day=2099-12-09&from=14:30&to=15:30")
        start = page.get_by_label("Dari", exact=True)
        expect(start).to_have_value("14:30")
        assert all(re.fullmatch(r"\d\d:\d\d", o) for o in start.locator("option").all_inner_texts())
        day = page.get_by_label("Tanggal", exact=True)
        expect(day).to_have_accessible_description("Rabu, 9 Desember 2099")
        day.fill("2099-12-10")
        expect(day).to_have_accessible_description("Kamis, 10 Desember 2099")
        page.screenshot(path=shots / "rooms-24h-id.png", full_page=True)
    finally:
        ctx.close()


def test_the_plans_desks_are_big_enough_for_a_finger(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    """WCAG 2.2 target size (2.5.8): at least 24x24 CSS px on a 390 px phone."""
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium, viewport=PHONE)
    try:
        page = ctx.new_page()
        sign_in(page, base, "employee", then="/app/find")
        marks = page.locator("#plan [data-desk]")
        expect(marks.first).to_be_visible()
        sizes = [m.bounding_box() for m in marks.all()]
        small = [s for s in sizes if s and (s["width"] < 24 or s["height"] < 24)]
        assert small == [], small[:3]
        page.locator("#plan").scroll_into_view_if_needed()
        page.screenshot(path=shots / "find-phone-id.png")
    finally:
        ctx.close()


def test_the_kiosk_fits_its_800_by_480_screen(platform: Platform, chromium: Browser) -> None:
    link = {"building": B, "floor": FLOOR, "label": "Lobi lift"}
    made = platform.api("POST", "/api/v1/kiosks", json=link).json()
    ctx = new_context(chromium, viewport={"width": 800, "height": 480})
    try:
        page = ctx.new_page()
        page.goto(f"{platform.server.url}{made['path']}")  # type: ignore[union-attr]
        expect(page.locator("#k-plan [data-desk]").first).to_be_visible()
        # The whole floor, always: nobody touches a kiosk to zoom it back out.
        expect(page.locator("#k-plan svg")).to_have_attribute("viewBox", "0 0 40 10")
        height = page.evaluate("document.documentElement.scrollHeight")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert (width, height) <= (800, 480) and height <= 480
    finally:
        ctx.close()
        platform.api("DELETE", f"/api/v1/kiosks/{made['kiosk']['id']}")
