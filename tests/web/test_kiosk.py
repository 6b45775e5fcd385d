"""The kiosk by the lift: an admin's revocable link, 800x480, live, and never a name."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from harness.platform import Platform
from tests.web.conftest import FLOOR, B, accessible, book, new_context, today_at


def test_the_kiosk_shows_the_floor_live_without_names_until_its_link_is_revoked(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    link = {"building": B, "floor": FLOOR, "label": "Lift lobi lantai 2"}
    assert platform.api("POST", "/api/v1/kiosks", "employee", json=link).status_code == 403
    made = platform.api("POST", "/api/v1/kiosks", json=link)
    assert made.status_code == 201, made.text
    path, kiosk_id = made.json()["path"], made.json()["kiosk"]["id"]
    listing = platform.api("GET", "/api/v1/kiosks")
    assert listing.json()[0]["label"] == "Lift lobi lantai 2"
    assert path.rsplit("/", 1)[1] not in listing.text  # the secret is never shown again

    screen = new_context(chromium, viewport={"width": 800, "height": 480})
    try:
        page = screen.new_page()
        page.goto(base + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Lantai l2")
        counts = page.get_by_role("list")
        free_now = counts.get_by_role("listitem").filter(has_text="Kosong")
        free = int(free_now.inner_text().split()[0])
        assert free >= 1
        accessible(page)

        book(platform, "facility_manager", "w12", today_at(-0.1), today_at(2))
        # The count follows without a reload; the desk is shown, its booker never.
        expect(free_now).to_have_text(f"{free - 1} Kosong")
        expect(page.locator('g[data-desk="w12"]')).to_have_class("desk s-awaiting_checkin")
        page.screenshot(path=shots / "kiosk-id.png")
        text = page.content()
        assert "facility" not in text and "manager" not in text.lower()
        state = httpx.get(f"{base}{path}/state").json()
        assert set(state["desks"][0]) == {"id", "x", "y", "state"}

        assert platform.api("DELETE", f"/api/v1/kiosks/{kiosk_id}").is_success
        assert httpx.get(f"{base}{path}/state").status_code == 404
        page.reload()
        expect(page.get_by_role("alert")).to_contain_text("Tautan layar ini sudah dimatikan")
    finally:
        screen.close()
