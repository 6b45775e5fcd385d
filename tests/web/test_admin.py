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
        new = page.get_by_role("region", name="Akun baru")
        new.get_by_label("Nama pengguna").fill("asn-baru")
        new.get_by_label("Nama", exact=True).fill("ASN Baru")
        password = new.get_by_label("Kata sandi awal (10 karakter atau lebih)")
        password.fill("kata-sandi-panjang")
        new.get_by_role("button", name="Buat").click()
        expect(page.get_by_role("status")).to_contain_text("asn-baru")
        accounts = page.get_by_role("table", name=re.compile(r"^\d+ akun$"))
        row = accounts.get_by_role("row").filter(has=page.get_by_role("rowheader", name="asn-baru"))
        row.get_by_label("Peran asn-baru").select_option("installer")
        row.get_by_role("button", name="Simpan").click()
        expect(page.get_by_label("Peran asn-baru")).to_have_value("installer")
        assert password.get_attribute("minlength") == "10"
        accessible(page)
        page.screenshot(path=shots / "admin-accounts-id.png", full_page=True)
        # Only a form's answer puts words on the page: neither a URL (the old notices' own
        # parameters included) nor a notice cookie the server did not sign.
        forged = page.goto(
            f"{base}/app/admin/gateways?done=user_created&x=Bayar+denda"
            "&notice=Bayar+denda&status=500&made=x"
        )
        assert forged is not None and forged.status == 200
        assert "Bayar denda" not in page.content()
        expect(page.get_by_role("figure")).to_have_count(0)  # no secret shown
        ctx.add_cookies(
            [{"name": "smartoffice_notice", "url": base, "value": '["Bayar denda", "ok"]'}]
        )
        page.goto(f"{base}/app/admin/gateways")
        assert "Bayar denda" not in page.content()
        expect(page.get_by_role("status")).to_have_count(0)

        # A booking rule: one booking per person per day; the employee's next one obeys.
        page.goto(f"{base}/app/admin/rules?building={B}")
        page.get_by_label("Pemesanan per orang per hari").fill("1")
        page.get_by_role("button", name="Simpan aturan").click()
        expect(page.get_by_role("status")).to_contain_text("disimpan")
        accessible(page)
        first = platform.api("POST", "/api/v1/bookings", "employee", json=booking("w08", 9))
        assert first.status_code == 201, first.text
        second = platform.api("POST", "/api/v1/bookings", "employee", json=booking("w09", 13))
        assert second.status_code == 422 and second.json()["rule"] == "max_per_day", second.text

        # A blocked desk refuses bookings until the block is ended.
        day = TOMORROW
        page.goto(f"{base}/app/admin/calendar?building={B}")
        block = page.get_by_role("region", name="Blokir meja", exact=True)
        block.get_by_label("Meja").fill("w10")
        block.get_by_label("Dari").fill(day.isoformat())
        block.get_by_label("Sampai").fill(day.isoformat())
        block.get_by_label("Alasan").fill("Kursi rusak")
        block.get_by_role("button", name="Blokir meja ini").click()
        blocks = page.get_by_role("region", name="Meja yang diblokir sekarang atau nanti")
        expect(blocks.get_by_role("row").nth(1)).to_contain_text("Kursi rusak")
        accessible(page)
        page.screenshot(path=shots / "admin-calendar-id.png", full_page=True)
        assert platform.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=ALWAYS_OPEN)
        blocked = platform.api(
            "POST", "/api/v1/bookings", "facility_manager", json=booking("w10", 10)
        )
        assert blocked.status_code in (409, 422) and "Kursi rusak" in blocked.text, blocked.text
        blocks.get_by_role("button", name="Akhiri sekarang").click()
        expect(blocks).to_contain_text("Tidak ada meja")
        again = platform.api(
            "POST", "/api/v1/bookings", "facility_manager", json=booking("w10", 10)
        )
        assert again.status_code == 201, again.text
        # A closed day is listed, with its reason.
        later = day + timedelta(days=20)
        close = page.get_by_role("region", name="Tutup satu hari")
        close.get_by_label("Tanggal").fill(later.isoformat())
        close.get_by_label(re.compile("^Alasan")).fill("Rapat kerja nasional")
        close.get_by_role("button", name="Tutup hari ini").click()
        page.goto(f"{base}/app/admin/calendar?building={B}&year={later.year}")
        closed = page.get_by_role("table", name=re.compile("^Hari libur nasional dan cuti bersama"))
        expect(closed).to_contain_text("Rapat kerja nasional")

        # A gateway's token and a kiosk link are shown once, on the answer page only.
        page.goto(f"{base}/app/admin/gateways")
        page.get_by_label("ID gateway baru").fill("gw-lantai-baru")
        page.get_by_role("button", name="Tambahkan gateway").click()
        token = (
            page.get_by_role("figure", name="Token baru, hanya ditampilkan sekali")
            .get_by_role("code")
            .inner_text()
        )
        assert len(token) > 20 and "token" not in page.url
        page.goto(f"{base}/app/admin/gateways")
        assert token not in page.content()
        gateways = page.get_by_role("table", name=re.compile("^Gateway setiap gedung"))
        new_one = gateways.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="gw-lantai-baru")
        )
        new_one.get_by_role("button", name="Cabut").click()
        expect(new_one).to_contain_text("dicabut")
        kiosks = page.get_by_role("region", name="Tautan kios")
        kiosks.get_by_label("Label").fill("Lobi lift")
        kiosks.get_by_role("button", name="Buat tautan").click()
        link = (
            page.get_by_role("figure", name="Tautan kios, hanya ditampilkan sekali")
            .get_by_role("code")
            .inner_text()
        )
        assert "/kiosk/" in link
        accessible(page)
        page.screenshot(path=shots / "admin-gateways-id.png", full_page=True)

        # The audit log, searched: the rule change, by whom.
        page.goto(f"{base}/app/admin/audit")
        page.get_by_label("Siapa", exact=True).fill("admin")
        page.get_by_label("Tindakan", exact=True).select_option(label="mengubah aturan pemesanan")
        page.get_by_role("button", name="Cari").click()  # the date fields left empty
        log = page.get_by_role("table", name="Terbaru lebih dulu; paling banyak 200 entri")
        rows = log.get_by_role("row").filter(has=page.get_by_role("cell"))
        expect(rows.filter(has_text="max_per_day=1")).to_have_count(1)  # the page's change
        assert all("mengubah aturan pemesanan" in t for t in rows.all_inner_texts())
        assert all(
            re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d WITA", t) for t in rows.all_inner_texts()
        )
        page.goto(f"{base}/app/admin/audit?text=kursi")
        expect(log.get_by_role("row").nth(1)).to_contain_text("memblokir meja")
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
        expect(page.get_by_role("alert")).to_contain_text("Administrator")
    finally:
        ctx.close()


def test_an_admin_adds_an_agency_and_puts_a_person_in_it_who_then_sees_it(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "admin", then="/app/admin/agencies")
        new = page.get_by_role("region", name="Instansi baru")
        new.get_by_label("Kode").fill("kemenko-pmk")
        new.get_by_label("Nama (Bahasa Indonesia)").fill("Kemenko PMK")
        new.get_by_label("Nama (Bahasa Inggris)").fill(
            "Coordinating Ministry for Human Development"
        )
        new.get_by_label("Pengendali data", exact=True).fill("Kementerian Koordinator Bidang PMK")
        new.get_by_role("button", name="Tambahkan instansi").click()
        expect(page.get_by_role("status")).to_have_text("Instansi Kemenko PMK ditambahkan.")
        listed = page.get_by_role("table", name="2 instansi")  # and the tests' own agency
        pmk = listed.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="kemenko-pmk", exact=True)
        )
        expect(pmk).to_contain_text("Kementerian Koordinator Bidang PMK")
        # The same code again is refused, saying so, on the page.
        new.get_by_label("Kode").fill("kemenko-pmk")
        new.get_by_label("Nama (Bahasa Indonesia)").fill("Lagi")
        new.get_by_role("button", name="Tambahkan instansi").click()
        expect(page.get_by_role("status")).to_contain_text("sudah ada")
        # Its contact, changed in place.
        pmk.get_by_text("Ubah kemenko-pmk").click()
        pmk.get_by_label("Kontak pelindungan data").fill("ppid@kemenkopmk.example.go.id")
        pmk.get_by_role("button", name="Simpan").click()
        expect(page.get_by_role("status")).to_have_text("Instansi Kemenko PMK diubah.")
        # Its units (unit kerja): its people then belong to one of them.
        pmk.get_by_label("Unit baru kemenko-pmk").fill("Biro Umum")
        pmk.get_by_role("button", name="Tambah").click()
        expect(page.get_by_role("status")).to_have_text("Unit Biro Umum ditambahkan.")
        expect(pmk.get_by_role("listitem")).to_have_text(["Biro Umum"])
        # Its head (atasan) must be one of its people; its team day is Tuesday.
        unit = page.get_by_role("form", name="Biro Umum")
        unit.get_by_label("Atasan (nama pengguna)").fill("orang-lain")
        unit.get_by_role("button", name="Simpan").click()
        expect(page.get_by_role("status")).to_contain_text("atasan unit adalah pegawai kemenko-pmk")
        unit = page.get_by_role("form", name="Biro Umum")
        unit.get_by_label("Atasan (nama pengguna)").fill("")
        unit.get_by_label("Selasa").check()
        unit.get_by_role("button", name="Simpan").click()
        expect(page.get_by_role("status")).to_have_text(
            "Unit Biro Umum: atasan dan hari timnya tersimpan."
        )
        listed_units = platform.api("GET", "/api/v1/plans/units/kemenko-pmk").json()
        assert listed_units == [{"name": "Biro Umum", "supervisor": None, "team_days": [1]}]
        accessible(page)
        page.screenshot(path=shots / "admin-agencies-id.png", full_page=True)

        # The employee joins it, and their profile and the privacy notice say so.
        page.goto(f"{base}/app/admin")
        page.get_by_label("Instansi employee").select_option("kemenko-pmk")
        accounts = page.get_by_role("table", name=re.compile(r"^\d+ akun$"))
        employee = accounts.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="employee", exact=True)
        )
        employee.get_by_role("button", name="Simpan").click()
        expect(page.get_by_role("status")).to_contain_text("employee")
        expect(employee).to_contain_text("Kemenko PMK")
        # An agency has thousands of people: found by agency and words, a page at a time.
        search = page.get_by_role("search", name="Cari akun")
        search.get_by_label("Instansi").select_option("kemenko-pmk")
        search.get_by_role("button", name="Cari").click()
        found = page.get_by_role("table", name=re.compile(r"^1 akun"))
        expect(found.get_by_role("rowheader")).to_have_text(["employee"])
        search.get_by_label("Nama pengguna atau nama").fill("tidak-ada-orang")
        search.get_by_role("button", name="Cari").click()
        expect(page.get_by_role("table", name=re.compile(r"^0 akun"))).to_be_visible()
    finally:
        ctx.close()
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "employee", then="/app/profile")
        expect(page.get_by_role("definition").filter(has_text="Kemenko PMK")).to_be_visible()
        page.goto(f"{base}/privacy")
        who = page.get_by_role("region", name="Siapa yang bertanggung jawab")
        expect(who).to_contain_text("Untuk pegawai Kemenko PMK")
        expect(who).to_contain_text("ppid@kemenkopmk.example.go.id")
    finally:
        ctx.close()
        platform.api("PATCH", "/api/v1/users/employee", json={"agency": None, "team": "Pusdatin"})
