"""Privacy pages through the real server: an employee's own data, export and request; an
administrator's requests and a person's attendance only with a reason; the public notice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from harness.platform import Platform
from server.auth.models import User
from server.bookings.models import Booking
from server.calendar.dates import to_ms
from server.db import Database
from server.spaces.service import find_desk_id
from tests.web.conftest import PHONE, WITA, B, accessible, new_context, sign_in


def attended_yesterday(platform: Platform, desk: str) -> int:
    """A finished booking of ``desk`` the employee came to yesterday, 09:00-12:00 WITA."""
    day = datetime.now(WITA).date() - timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 9, tzinfo=WITA)
    db = Database(platform.database_url)
    try:
        with db.session() as s:
            user = s.scalar(select(User).where(User.username == "employee"))
            assert user is not None
            row = Booking(building_id=B, desk_id=find_desk_id(s, B, desk), space_code=desk,
                          space_kind="desk", user_id=user.id, booked_by="employee",
                          start_ms=to_ms(start), end_ms=to_ms(start + timedelta(hours=3)),
                          state="completed", outcome="attended", created_ms=to_ms(start),
                          checked_in_ms=to_ms(start), checked_in_by="sensor", presence="sensor",
                          checked_out_ms=to_ms(start + timedelta(hours=3)))  # fmt: skip
            s.add(row)
            s.flush()
            return row.id
    finally:
        db.close()


def test_an_employee_sees_exports_and_anonymises_their_data_and_an_admin_carries_it_out(
    platform: Platform, chromium: Browser, shots
) -> None:  # type: ignore[no-untyped-def]
    base = platform.server.url  # type: ignore[union-attr]
    attended_yesterday(platform, "w05")
    ctx = new_context(chromium)
    admin_ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "employee", then="/app/privacy")
        expect(page.get_by_role("heading", name="Data saya")).to_be_visible()
        expect(page.locator("#attendance tbody")).to_contain_text("w05")
        expect(page.locator("#att-attended")).to_have_text("1")
        expect(
            page.locator("footer").get_by_role("link", name="Pemberitahuan privasi")
        ).to_be_visible()
        accessible(page)
        page.screenshot(path=shots / "privacy-mine-id.png", full_page=True)
        with page.expect_download() as got:
            page.click("#export")
        data = json.loads(got.value.path().read_text())
        parts = {c["key"]: c["records"] for c in data["categories"]}
        assert parts["account"][0]["username"] == "employee"
        assert any(b["space"] == "w05" for b in parts["bookings"])
        page.check('#ask input[value="anonymise"]')
        page.fill("#note", "Saya pindah unit kerja.")
        page.click('#ask button[type="submit"]')
        expect(page.locator(".notice")).to_contain_text("Permintaan Anda tercatat")
        expect(page.locator("#requests tbody")).to_contain_text("menunggu administrator")

        admin = admin_ctx.new_page()
        sign_in(admin, base, "admin", then="/app/admin/privacy")
        row = admin.locator("#open-requests tr", has_text="employee")
        expect(row).to_contain_text("Saya pindah unit kerja.")
        # A link someone else wrote reads nobody and records no reason: only the form does.
        linked = admin.goto(f"{base}/app/admin/privacy?who=employee&reason=Tautan+dari+luar")
        assert linked is not None and linked.status == 200
        expect(admin.locator("#attendance-summary")).to_have_count(0)
        # A person's attendance: refused for nobody by that name, shown (and audited) with one.
        admin.get_by_label("Nama pengguna", exact=True).fill("tidak-ada")
        admin.get_by_label("Alasan", exact=True).fill("Pengaduan pelepasan meja w05")
        with admin.expect_response(lambda r: r.request.method == "POST") as nobody:
            admin.get_by_role("button", name="Tampilkan").click()
        assert nobody.value.status == 404
        expect(admin.locator(".notice")).to_contain_text("tidak-ada")
        admin.fill('#attendance-form input[name="who"]', "employee")
        admin.fill('#attendance-form input[name="reason"]', "Pengaduan pelepasan meja w05")
        admin.click('#attendance-form button[type="submit"]')
        expect(admin.locator("#attendance-summary")).to_contain_text("1 check-in")
        accessible(admin)
        admin.screenshot(path=shots / "admin-privacy-id.png", full_page=True)
        admin.locator("#open-requests tr", has_text="employee").get_by_role(
            "button", name="Laksanakan").click()  # fmt: skip
        expect(admin.locator(".notice")).to_contain_text("telah diputuskan")
        admin.goto(f"{base}/app/admin/audit?action=personal.read")
        expect(admin.locator("#audit")).to_contain_text("Pengaduan pelepasan meja w05")
        expect(admin.locator("#audit")).not_to_contain_text("Tautan dari luar")

        page.goto(f"{base}/app/privacy")
        expect(page.locator("#requests tbody")).to_contain_text("dilaksanakan")
        expect(page.locator("#attendance tbody")).to_contain_text("Tidak ada pemesanan")
        phone_ctx = new_context(chromium, viewport=PHONE)
        phone = phone_ctx.new_page()
        sign_in(phone, base, "employee", then="/app/privacy")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width  # tables scroll inside their cards
        phone.screenshot(path=shots / "privacy-mine-phone-id.png", full_page=True)
        phone_ctx.close()
    finally:
        ctx.close()
        admin_ctx.close()


def test_the_privacy_notice_is_public_and_says_what_is_kept(
    platform: Platform, chromium: Browser, shots
) -> None:  # type: ignore[no-untyped-def]
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        page.goto(f"{base}/privacy")
        expect(page.get_by_role("heading", name="Pemberitahuan privasi", level=1)).to_be_visible()
        expect(page.locator("#data-bookings .kept")).to_contain_text("180 hari.")
        expect(page.locator("#data-account .kept")).to_contain_text("Selama Anda memiliki akun.")
        expect(page.locator("#data-presence")).to_contain_text("UU PDP Pasal 20")
        accessible(page)
        page.screenshot(path=shots / "privacy-notice-id.png", full_page=True)
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Privacy notice", level=1)).to_be_visible()
        expect(page.locator("#data-bookings .kept")).to_contain_text("180 days.")
    finally:
        ctx.close()
