"""The administrators' pages through the real server: accounts and roles, a booking rule
that the next booking obeys, closed days and blocked desks, gateway tokens and kiosk
links shown once, and the audit log searched."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path

from playwright.sync_api import Browser, expect

from harness.platform import Platform
from tests.web.conftest import ALWAYS_OPEN, WITA, B, accessible, new_context, sign_in, today_at

TOMORROW = (today_at(0) + timedelta(days=1)).date()


def booking(desk: str, hour: int) -> dict[str, str]:
    """An hour at ``desk`` tomorrow from ``hour`` o'clock WITA (at any time the test runs,
    every such booking is on the same day, the day the block below is for)."""
    start = datetime.combine(TOMORROW, time(hour), WITA)
    end = start + timedelta(hours=1)
    return {"building": B, "desk": desk, "start": start.isoformat(), "end": end.isoformat()}


def test_an_admin_runs_accounts_rules_calendar_gateways_kiosks_and_reads_the_audit_log(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "admin", then="/app/admin")
        # Accounts: a new one, then its role changed.
        page.fill('#new-user input[name="username"]', "asn-baru")
        page.fill('#new-user input[name="display_name"]', "ASN Baru")
        page.fill('#new-user input[name="password"]', "kata-sandi-panjang")
        page.click('#new-user button[type="submit"]')
        expect(page.locator(".notice")).to_contain_text("asn-baru")
        row = page.locator('#users tr[data-user="asn-baru"]')
        row.locator("select").select_option("installer")
        row.locator("button").click()
        expect(page.locator('#users tr[data-user="asn-baru"] select')).to_have_value("installer")
        short = page.locator('#new-user input[name="password"]')
        assert short.get_attribute("minlength") == "10"
        accessible(page)
        page.screenshot(path=shots / "admin-accounts-id.png", full_page=True)
        # Only a form's answer puts words on the page: neither a URL (the old notices' own
        # parameters included) nor a notice cookie the server did not sign.
        forged = page.goto(f"{base}/app/admin/gateways?done=user_created&x=Bayar+denda"
                           "&notice=Bayar+denda&status=500&made=x")  # fmt: skip
        assert forged is not None and forged.status == 200
        assert "Bayar denda" not in page.content() and page.locator("#secret").count() == 0
        ctx.add_cookies([{"name": "smartoffice_notice", "url": base,
                          "value": '["Bayar denda", "ok"]'}])  # fmt: skip
        page.goto(f"{base}/app/admin/gateways")
        assert "Bayar denda" not in page.content()
        expect(page.locator(".notice")).to_have_count(0)

        # A booking rule: one booking per person per day; the employee's next one obeys.
        page.goto(f"{base}/app/admin/rules?building={B}")
        page.fill("#max_per_day", "1")
        page.click('#rules button[type="submit"]')
        expect(page.locator(".notice")).to_contain_text("disimpan")
        accessible(page)
        first = platform.api("POST", "/api/v1/bookings", "employee", json=booking("w08", 9))
        assert first.status_code == 201, first.text
        second = platform.api("POST", "/api/v1/bookings", "employee", json=booking("w09", 13))
        assert second.status_code == 422 and second.json()["rule"] == "max_per_day", second.text

        # A blocked desk refuses bookings until the block is ended.
        day = TOMORROW
        page.goto(f"{base}/app/admin/calendar?building={B}")
        page.fill('input[name="desk"]', "w10")
        page.fill('input[name="start"]', day.isoformat())
        page.fill('input[name="end"]', day.isoformat())
        page.locator('form[action="/app/admin/blocks"] input[name="reason"]').fill("Kursi rusak")
        page.click('form[action="/app/admin/blocks"] button')
        expect(page.locator("#blocks tbody tr").first).to_contain_text("Kursi rusak")
        accessible(page)
        page.screenshot(path=shots / "admin-calendar-id.png", full_page=True)
        assert platform.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=ALWAYS_OPEN)
        blocked = platform.api("POST", "/api/v1/bookings", "facility_manager",
                               json=booking("w10", 10))  # fmt: skip
        assert blocked.status_code in (409, 422) and "Kursi rusak" in blocked.text, blocked.text
        page.click("#blocks tbody tr button")
        expect(page.locator("#blocks tbody")).to_contain_text("Tidak ada meja")
        again = platform.api("POST", "/api/v1/bookings", "facility_manager",
                             json=booking("w10", 10))  # fmt: skip
        assert again.status_code == 201, again.text
        # A closed day is listed, with its reason.
        later = day + timedelta(days=20)
        page.fill('input[name="day"]', later.isoformat())
        page.locator('form[action="/app/admin/closed-days"] input[name="reason"]').fill(
            "Rapat kerja nasional"
        )
        page.click('form[action="/app/admin/closed-days"] button')
        page.goto(f"{base}/app/admin/calendar?building={B}&year={later.year}")
        expect(page.locator("#closed-days")).to_contain_text("Rapat kerja nasional")

        # A gateway's token and a kiosk link are shown once, on the answer page only.
        page.goto(f"{base}/app/admin/gateways")
        page.fill('form.card input[name="gateway"]', "gw-lantai-baru")
        page.click('form[action="/app/admin/gateways"].card button')
        token = page.inner_text("#secret")
        assert len(token) > 20 and "token" not in page.url
        page.goto(f"{base}/app/admin/gateways")
        assert token not in page.content()
        page.locator('tr[data-gateway="gw-lantai-baru"] button.danger').click()
        expect(page.locator('tr[data-gateway="gw-lantai-baru"]')).to_contain_text("dicabut")
        page.fill('form[action="/app/admin/kiosks"] input[name="label"]', "Lobi lift")
        page.click('form[action="/app/admin/kiosks"] button')
        link = page.inner_text("#secret")
        assert "/kiosk/" in link
        accessible(page)
        page.screenshot(path=shots / "admin-gateways-id.png", full_page=True)

        # The audit log, searched: the rule change, by whom.
        page.goto(f"{base}/app/admin/audit")
        page.get_by_label("Siapa", exact=True).fill("admin")
        page.get_by_label("Tindakan", exact=True).select_option(label="mengubah aturan pemesanan")
        page.get_by_role("button", name="Cari").click()  # the date fields left empty
        rows = page.locator("#audit tbody tr")
        expect(rows.filter(has_text="max_per_day=1")).to_have_count(1)  # the page's change
        assert all("mengubah aturan pemesanan" in t for t in rows.all_inner_texts())
        assert all(re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d WITA", t)
                   for t in rows.all_inner_texts())  # fmt: skip
        page.goto(f"{base}/app/admin/audit?text=kursi")
        expect(page.locator("#audit tbody tr").first).to_contain_text("memblokir meja")
        accessible(page)
    finally:
        ctx.close()
        platform.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=ALWAYS_OPEN)


def test_a_manager_may_not_open_the_admin_pages(platform: Platform, chromium: Browser) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "facility_manager")
        response = page.goto(f"{base}/app/admin/rules")
        assert response is not None and response.status == 403
        expect(page.locator(".notice.error")).to_contain_text("Administrator")
    finally:
        ctx.close()
