"""Each building keeps its own time zone; times that belong to none are in the platform's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser, expect

from harness.layouts import one_floor
from harness.platform import Platform
from tests.web.conftest import B, new_context, sign_in


def test_a_building_in_another_zone_shows_its_own_times(
    platform: Platform, chromium: Browser
) -> None:
    """A building keeps its own zone: its kiosk, plan and manager pages say WIB, not WITA."""
    layout = one_floor("kantor-j", "j1", ["j01", "j02"])
    layout["building"]["timezone"] = "Asia/Jakarta"
    assert platform.api("PUT", "/api/v1/buildings/kantor-j/layout", json=layout).is_success
    bad = {**layout, "building": {**layout["building"], "timezone": "Asia/Nusantara"}}
    refused = platform.api("PUT", "/api/v1/buildings/kantor-j/layout", json=bad)
    assert refused.status_code == 400 and "'Asia/Nusantara' is not a time zone" in refused.text

    link = {"building": "kantor-j", "floor": "j1", "label": "Lobi J"}
    made = platform.api("POST", "/api/v1/kiosks", json=link).json()
    base = platform.server.url  # type: ignore[union-attr]
    try:
        state = httpx.get(f"{base}{made['path']}/state").json()
        jakarta = datetime.now(ZoneInfo("Asia/Jakarta"))
        assert state["zone"] == "WIB"
        assert state["now"] in {(jakarta - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}
        ctx = new_context(chromium)
        try:
            page = ctx.new_page()
            page.goto(f"{base}{made['path']}")
            expect(page.get_by_text(re.compile(r"^\d\d:\d\d WIB$"))).to_be_visible()
            sign_in(page, base, "facility_manager", then="/app/manage?building=kantor-j")
            expect(page.get_by_role("heading", level=1)).to_contain_text("WIB")
            expect(page.get_by_role("contentinfo")).to_contain_text("(WIB)")
            page.goto(f"{base}/app/find?building=kantor-j")
            expect(page.get_by_role("contentinfo")).to_contain_text("(WIB)")
            page.goto(f"{base}/app/find?building={B}")
            expect(page.get_by_role("contentinfo")).to_contain_text("(WITA)")
        finally:
            ctx.close()
    finally:
        platform.api("DELETE", f"/api/v1/kiosks/{made['kiosk']['id']}")
