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
            row = Booking(
                building_id=B,
                desk_id=find_desk_id(s, B, desk),
                space_code=desk,
                space_kind="desk",
                user_id=user.id,
                booked_by="employee",
                start_ms=to_ms(start),
                end_ms=to_ms(start + timedelta(hours=3)),
                state="completed",
                outcome="attended",
                created_ms=to_ms(start),
                checked_in_ms=to_ms(start),
                checked_in_by="sensor",
                presence="sensor",
                checked_out_ms=to_ms(start + timedelta(hours=3)),
            )
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
        history = page.get_by_role("table", name="Setiap pemesanan dan hasilnya")
        expect(history).to_contain_text("w05")
        tally = page.get_by_role("term").filter(has_text="Sudah check-in")
        expect(tally.locator("xpath=following-sibling::dd[1]")).to_have_text("1")
        expect(
            page.get_by_role("contentinfo").get_by_role("link", name="Pemberitahuan privasi")
        ).to_be_visible()
        accessible(page)
        page.screenshot(path=shots / "privacy-mine-id.png", full_page=True)
        with page.expect_download() as got:
            page.get_by_role("link", name="Unduh data saya (JSON)").click()
        data = json.loads(got.value.path().read_text())
        parts = {c["key"]: c["records"] for c in data["categories"]}
        assert parts["account"][0]["username"] == "employee"
        assert any(b["space"] == "w05" for b in parts["bookings"])
        page.get_by_role("radio", name="Anonimkan riwayat saya").check()
        page.get_by_label("Catatan untuk administrator (opsional)").fill("Saya pindah unit kerja.")
        page.get_by_role("button", name="Kirim permintaan").click()
        expect(page.get_by_role("status")).to_contain_text("Permintaan Anda tercatat")
        requests = page.get_by_role("table", name="Permintaan saya")
        expect(requests).to_contain_text("menunggu administrator")

        admin = admin_ctx.new_page()
        sign_in(admin, base, "admin", then="/app/admin/privacy")
        to_do = admin.get_by_role("region", name="Permintaan yang perlu dilaksanakan")
        row = to_do.get_by_role("row").filter(has_text="employee")
        expect(row).to_contain_text("Saya pindah unit kerja.")
        # A link someone else wrote reads nobody and records no reason: only the form does.
        linked = admin.goto(f"{base}/app/admin/privacy?who=employee&reason=Tautan+dari+luar")
        assert linked is not None and linked.status == 200
        person = admin.get_by_role("region", name="Kehadiran seseorang")
        expect(person.get_by_role("table")).to_have_count(0)
        # A person's attendance: refused for nobody by that name, shown (and audited) with one.
        admin.get_by_label("Nama pengguna", exact=True).fill("tidak-ada")
        admin.get_by_label("Alasan", exact=True).fill("Pengaduan pelepasan meja w05")
        with admin.expect_response(lambda r: r.request.method == "POST") as nobody:
            admin.get_by_role("button", name="Tampilkan").click()
        assert nobody.value.status == 404
        expect(admin.get_by_role("status")).to_contain_text("tidak-ada")
        admin.get_by_label("Nama pengguna", exact=True).fill("employee")
        admin.get_by_label("Alasan", exact=True).fill("Pengaduan pelepasan meja w05")
        admin.get_by_role("button", name="Tampilkan").click()
        expect(person).to_contain_text("employee: 1 pemesanan, 1 check-in")
        accessible(admin)
        admin.screenshot(path=shots / "admin-privacy-id.png", full_page=True)
        row.get_by_role("button", name="Laksanakan").click()
        expect(admin.get_by_role("status")).to_contain_text("telah diputuskan")
        admin.goto(f"{base}/app/admin/audit?action=personal.read")
        log = admin.get_by_role("table", name="Terbaru lebih dulu; paling banyak 200 entri")
        expect(log).to_contain_text("Pengaduan pelepasan meja w05")
        expect(log).not_to_contain_text("Tautan dari luar")

        page.goto(f"{base}/app/privacy")
        expect(requests).to_contain_text("dilaksanakan")
        expect(history).to_contain_text("Tidak ada pemesanan")
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
        kept = (
            page.get_by_role("term")
            .filter(has_text="Disimpan")
            .locator("xpath=following-sibling::dd[1]")
        )
        bookings = page.get_by_role("article", name="Pemesanan dan hasilnya")
        expect(bookings.locator(kept)).to_contain_text("180 hari.")
        account = page.get_by_role("article", name="Akun Anda")
        expect(account.locator(kept)).to_contain_text("Selama Anda memiliki akun.")
        sensors = page.get_by_role("article", name="Apa yang dilihat sensor meja")
        expect(sensors).to_contain_text("UU PDP Pasal 20")
        accessible(page)
        page.screenshot(path=shots / "privacy-notice-id.png", full_page=True)
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Privacy notice", level=1)).to_be_visible()
        bookings = page.get_by_role("article", name="Bookings and their outcomes")
        expect(
            bookings.get_by_role("term")
            .filter(has_text="Kept")
            .locator("xpath=following-sibling::dd[1]")
        ).to_contain_text("180 days.")
    finally:
        ctx.close()
