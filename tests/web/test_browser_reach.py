"""What each role reaches, across the pages: an agency's administrator and an agency's
facility manager in a tower shared by two agencies (server/web/browser.py's gates, and the
services' reach behind them).

Agency A is ``instansi-uji`` (where the test accounts ``agency-admin`` and
``agency-manager`` belong) on one floor of Menara M; agency B (``kemenko-b``) has another.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from harness.calendar import next_workday
from harness.layouts import SHARED_TOWER, shared_tower
from harness.platform import AGENCY, Platform
from harness.services import Service
from tests.web.conftest import accessible, new_context, sign_in, web_platform

TOWER = SHARED_TOWER
PEOPLE = "kata sandi panjang"
B_AGENCY = "kemenko-b"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, mosquitto: Service) -> Iterator[Platform]:
    for p in web_platform(tmp_path_factory, mosquitto):
        made = p.api("POST", "/api/v1/agencies", json={"id": B_AGENCY, "name": "Kementerian B"})
        assert made.is_success
        layout = shared_tower(AGENCY, B_AGENCY)
        assert p.api("PUT", f"/api/v1/buildings/{TOWER}/layout", json=layout).is_success
        p.add_people(
            [("ayu-a", "Ayu Alfa", AGENCY), ("bambang-b", "Bambang Beta", B_AGENCY)], PEOPLE
        )
        yield p


def test_an_agencys_admin_runs_its_own_people_and_nothing_of_another_agency(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "agency_admin")
        expect(page).to_have_url(f"{base}/app/admin")  # an admin's work starts at accounts
        tabs = page.get_by_role("navigation", name="Administrasi")
        expect(tabs.get_by_role("link")).to_have_text(
            ["Akun", "Instansi", "Log audit", "Data pribadi"]
        )
        accounts = page.get_by_role("table", name=re.compile(r"^\d+ akun"))
        expect(accounts.get_by_role("rowheader")).to_have_text(
            ["agency-admin", "agency-manager", "ayu-a"]
        )
        new = page.get_by_role("region", name="Akun baru")
        expect(new.get_by_label("Peran").locator("option")).to_have_text(
            ["Pegawai", "Pengelola fasilitas instansi", "Administrator instansi"]
        )
        agency = new.get_by_label(re.compile("^Instansi"))
        expect(agency.locator("option")).to_have_text(["Instansi Uji"])
        # A's admin makes an account: it is A's.
        new.get_by_label("Nama pengguna").fill("citra-a")
        new.get_by_label("Nama", exact=True).fill("Citra Alfa")
        new.get_by_label("Kata sandi awal (10 karakter atau lebih)").fill(PEOPLE)
        new.get_by_role("button", name="Buat").click()
        expect(page.get_by_role("status")).to_have_text("Akun citra-a dibuat.")
        accessible(page)
        page.screenshot(path=shots / "admin-agency-accounts-id.png", full_page=True)
        # B's account cannot be reached from here, even by a form sent by hand.
        csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
        sent = page.request.post(
            f"{base}/app/admin/users/bambang-b",
            form={"csrf": csrf or "", "role": "employee", "agency": AGENCY},
        )
        assert sent.status == 400 and "bambang-b" in sent.text()
        # Nor B's rules or leave days.
        for what, form in (
            ("rules", {"window_days": "1"}),
            ("closed-days", {"day": "2030-01-02", "reason": "Bukan milik kami"}),
        ):
            refused_b = page.request.post(
                f"{base}/app/admin/agencies/{B_AGENCY}/{what}", form={"csrf": csrf or "", **form}
            )
            assert refused_b.status == 403 and f"Anda hanya mengelola {AGENCY}" in refused_b.text()
        # The agency's own rules and leave days, for its people in every building.
        page.goto(f"{base}/app/admin/agencies")
        ours = page.get_by_role("region", name="Aturan dan hari cuti Instansi Uji")
        ours.get_by_label("Berapa hari ke depan boleh memesan").fill("3")
        ours.get_by_role("button", name="Simpan aturan instansi").click()
        expect(page.get_by_role("status")).to_contain_text("Aturan sendiri instansi-uji disimpan")
        ours.get_by_label("Tanggal", exact=True).fill(str(next_workday() + timedelta(days=1)))
        ours.get_by_label("Alasan").fill("Cuti bersama instansi")
        ours.get_by_role("button", name="Tutup hari itu untuk pegawainya").click()
        expect(page.get_by_role("status")).to_have_text(
            re.compile(r"\d{4} ditutup untuk pegawai instansi\.$")
        )
        expect(ours.get_by_role("list", name=re.compile("Hari cuti"))).to_contain_text(
            "Cuti bersama instansi"
        )
        accessible(page)
        page.screenshot(path=shots / "admin-agency-rules-id.png", full_page=True)
        assert platform.api("GET", f"/api/v1/agencies/{AGENCY}/booking-policy").json() == {
            "window_days": 3,
            "max_per_day": None,
            "max_per_week": None,
            "open_minute": None,
            "close_minute": None,
            "weekdays": None,
            "checkin_grace_minutes": None,
            "min_office_days": None,
        }
        # The building's rules are the platform administrator's.
        refused = page.goto(f"{base}/app/admin/rules")
        assert refused is not None and refused.status == 403
    finally:
        ctx.close()
    users = {u["username"]: u for u in platform.api("GET", "/api/v1/users").json()}
    assert users["bambang-b"]["agency"] == B_AGENCY and users["bambang-b"]["active"]
    assert users["citra-a"]["agency"] == AGENCY


def test_an_agencys_manager_sees_its_floors_and_not_the_buildings_energy(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    day = next_workday()
    slot = {"building": TOWER, "start": f"{day}T09:00", "end": f"{day}T12:00"}
    for who, desk in (("ayu-a", "meja-a-1"), ("bambang-b", "meja-b-1")):
        token = platform.api(
            "POST",
            "/api/v1/auth/token",
            data={"username": who, "password": PEOPLE},
        ).json()["access_token"]
        booked = platform.api(
            "POST",
            "/api/v1/bookings",
            json={**slot, "desk": desk},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert booked.is_success, booked.text
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "agency_manager")
        expect(page).to_have_url(re.compile(r"/app/manage/floor"))  # their floors' live map
        expect(page.get_by_role("link", name="Lantai kami")).to_have_attribute(
            "aria-current", "page"
        )
        tabs = page.get_by_role("navigation", name="Manajemen fasilitas")
        expect(tabs.get_by_role("link")).to_have_text(
            ["Denah langsung", "Okupansi", "Ruang rapat", "Perkiraan", "Pembagian energi"]
        )
        expect(page.get_by_label(re.compile("^Lantai")).locator("option")).to_have_text(
            [re.compile("Lantai 1 Sayap Utara")]
        )
        page.screenshot(path=shots / "manage-agency-floor-id.png", full_page=True)
        # Occupancy and utilisation: A's floor only.
        page.goto(f"{base}/app/manage/occupancy?building={TOWER}&by=floor&start={day}&end={day}")
        groups = page.locator("#occupancy-summary tbody th, table tbody th")
        expect(groups.first).to_be_visible()
        assert "lt-b" not in page.content() and "Sayap Selatan" not in page.content()
        accessible(page)
        # The shared energy bill: A's part only (and the building's total).
        page.get_by_role("link", name="Pembagian energi").click()
        bill = page.get_by_role("table", name=re.compile("Bagian setiap instansi"))
        expect(bill.get_by_role("rowheader")).to_have_text(["Instansi Uji"])
        expect(bill).to_contain_text("Lantai 1 Sayap Utara")
        for path in ("/app/manage", "/app/manage/energy", "/app/admin"):
            refused = page.goto(f"{base}{path}")
            assert refused is not None and refused.status == 403, path
    finally:
        ctx.close()


def test_the_building_operator_sees_every_agencys_part_of_the_energy(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "facility_manager", then=f"/app/manage/split?building={TOWER}")
        bill = page.get_by_role("table", name=re.compile("Bagian setiap instansi"))
        expect(bill.get_by_role("rowheader")).to_have_text(["Instansi Uji", "Kementerian B"])
        page.get_by_label("Dibagi menurut").select_option("metered")
        page.get_by_role("button", name="Tampilkan").click()
        expect(bill).to_contain_text("Terukur di lantainya")
        csv = page.get_by_role("link", name="Unduh untuk bagian keuangan (CSV)")
        expect(csv).to_have_attribute("href", re.compile("key=metered&format=csv"))
        accessible(page)
        page.screenshot(path=shots / "manage-split-id.png", full_page=True)
        # Occupancy by agency: each agency's floors and the building's shared one, no names.
        page.goto(f"{base}/app/manage/occupancy?building={TOWER}&by=agency")
        summary = page.get_by_role("table", name=re.compile(r"^Target \d+ % meja"))
        expect(summary.get_by_role("rowheader")).to_have_text(
            ["Instansi Uji", "Kementerian B", "Bersama (lantai gedung)"]
        )
        assert "Ayu" not in page.content() and "Bambang" not in page.content()
    finally:
        ctx.close()
