"""The "find a desk" page of a 500-desk floor in Chromium: first render, weight, booking.

Starts the real server (``python -m smartoffice server``, SQLite) with the 500-desk floor
of ``bench.bookings``, half of it booked, and drives Debian's Chromium with Playwright:

1. first render: a fresh browser (nothing cached) opens the page; the time from the start
   of navigation to the first contentful paint, and until all 500 desks are drawn on the
   plan and listed (the page's own script has fetched the floor, the availability and the
   live occupancy);
2. page weight: every byte the page loaded (HTML, CSS, script, the API's JSON);
3. booking round trip: a click on a desk, a click on "book", until the page shows the
   booking made and the plan redrawn.

Run: ``python -m bench.web [--rounds 5] [--bookings 20]``. Medians of the rounds.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from bench.bookings import DESKS, WITA, B, layout
from harness.platform import PASSWORD, Platform
from server.auth.schemas import UserCreate
from server.auth.service import create_user
from server.db import Database

OPEN = {
    "open_minute": 0,
    "close_minute": 1440,
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "public_holidays": False,
    "max_per_day": 50,
    "max_per_week": 100,
    "max_minutes": 1440,
}
CHROMIUM = "/usr/bin/chromium"


def first_render(browser: Any, url: str, cookie: dict[str, Any]) -> dict[str, float]:
    """One page load in a fresh context: paint, plan drawn, bytes."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    ctx.add_cookies([cookie])
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_function(
        f"() => document.querySelectorAll('.plan-svg g.desk').length === {DESKS}"
        f" && document.querySelectorAll('#desk-list tbody tr').length === {DESKS}"
    )
    drawn = page.evaluate("() => performance.now()")
    paint = page.evaluate(
        "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
    )
    sizes = page.evaluate(
        "() => [performance.getEntriesByType('navigation')[0],"
        " ...performance.getEntriesByType('resource')]"
        ".map(e => [e.name, e.encodedBodySize, e.transferSize])"
    )
    ctx.close()
    return {
        "fcp_ms": paint,
        "drawn_ms": drawn,
        "bytes": sum(s[2] or s[1] for s in sizes),
        "api_bytes": sum(s[2] or s[1] for s in sizes if "/api/" in s[0]),
        "requests": len(sizes),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bookings", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    p = Platform(work, {}, gateway_id="gw-bench")
    p.register([], building=B)
    db = Database(p.database_url)
    with db.session() as s:
        for i in range(DESKS // 2):
            create_user(
                s,
                actor="bench",
                new=UserCreate(username=f"asn{i:03d}", password=PASSWORD, display_name=f"ASN {i}"),
            )
    db.close()
    p.start_server()
    try:
        assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=layout()).is_success
        assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=OPEN).is_success
        base = p.server.url  # type: ignore[union-attr]
        today = datetime.now(WITA).date().isoformat()
        for i in range(DESKS // 2):  # half the floor booked for the day, one person each
            slot = {"building": B, "desk": f"m{2 * i:03d}", "day": today, "for_user": f"asn{i:03d}"}
            made = p.api("POST", "/api/v1/bookings", "facility_manager", json=slot)
            assert made.status_code == 201, made.text
        url = f"{base}/app/find?building={B}&floor=l1"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            ctx = browser.new_context(locale="id-ID")
            page = ctx.new_page()
            page.goto(f"{base}/app/login")
            page.fill("#username", "installer")
            page.fill("#password", PASSWORD)
            page.click("form button.primary")
            page.wait_for_url(re.compile(f"^{re.escape(base)}/app"))  # the installer's start
            cookie = next(c for c in ctx.cookies() if c["name"] == "smartoffice_session")
            runs = [first_render(browser, url, cookie) for _ in range(args.rounds)]

            page.goto(url)
            page.wait_for_selector("#desk-list tbody tr")
            login = {"username": "installer", "password": PASSWORD}
            token = httpx.post(f"{base}/api/v1/auth/token", data=login).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            trips = []
            for n in range(args.bookings):
                desk = f"m{2 * n + 1:03d}"  # a free one
                page.click(f'.plan-svg g[data-desk="{desk}"]')
                started = time.perf_counter()
                page.click("#dlg-book")
                page.wait_for_function(
                    "() => document.getElementById('dlg-result').textContent.length > 0"
                    f" && document.querySelector('#desk-list tr[data-desk=\"{desk}\"]')"
                    ".className === 's-yours'"
                )
                trips.append((time.perf_counter() - started) * 1000)
                page.click("#dlg-close")
                mine = httpx.get(f"{base}/api/v1/bookings", headers=auth).json()
                for b in mine:  # free the person for the next round
                    httpx.delete(f"{base}/api/v1/bookings/{b['id']}", headers=auth)
            browser.close()
    finally:
        p.stop()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        json.dumps(
            {
                "desks": DESKS,
                "rounds": args.rounds,
                "first_contentful_paint_ms": round(med["fcp_ms"]),
                "plan_drawn_ms": round(med["drawn_ms"]),
                "page_kb": round(med["bytes"] / 1024, 1),
                "api_json_kb": round(med["api_bytes"] / 1024, 1),
                "requests": med["requests"],
                "booking_round_trip_ms": {
                    "median": round(statistics.median(trips)),
                    "max": round(max(trips)),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
