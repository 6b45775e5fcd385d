"""An employee's day in the web app, in Chromium, against the real server, broker and gateway.

Sign in, find a free desk on the plan, book it and see it as yours while a colleague's
browser sees it turn booked, then occupied when the desk's sensor publishes over MQTT,
all without a reload; QR check-in on a phone; cancel; refusals in Indonesian; the
language switch; keyboard-only booking; the API docs with the network cut off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Locator, Page, expect

from harness.platform import PASSWORD, Platform
from harness.services import Service
from tests.web.conftest import (
    PHONE,
    B,
    DeskNode,
    accessible,
    book,
    desk_dialog,
    desk_row,
    either,
    label_path,
    label_url,
    new_context,
    sign_in,
    today_at,
)

# A day still to come whenever the tests run (slots later today may be over by then).
TOMORROW = (today_at(0) + timedelta(days=1)).date().isoformat()


def employee(platform: Platform, team: str = "Pusdatin") -> str:
    """A new employee account (each test books as its own person); the username."""
    name = "asn-" + uuid.uuid4().hex[:6]
    made = platform.api(
        "POST",
        "/api/v1/users",
        json={
            "username": name,
            "password": PASSWORD,
            "role": "employee",
            "display_name": f"Pegawai {name[-3:]}",
            "team": team,
        },
    )
    assert made.status_code == 201, made.text
    return name


@contextmanager
def person(platform: Platform, chromium: Browser, **context: Any) -> Iterator[tuple[Page, str]]:
    """A new employee signed in, in a browser of their own: the page and their username."""
    me = employee(platform)
    ctx = new_context(chromium, **context)
    try:
        page = ctx.new_page()
        sign_in(page, platform.server.url, me)  # type: ignore[union-attr]
        yield page, me
    finally:
        ctx.close()


def find_page(page: Page, base: str) -> None:
    page.goto(f"{base}/app/find")
    expect(desk_row(page, "w01")).to_be_visible()
    plan = page.get_by_role("region", name=re.compile("^(Denah lantai|Floor plan)"))
    expect(plan.get_by_role("status")).to_have_text(
        either(
            "Langsung: denah mengikuti pemesanan dan sensor.",
            "Live: the plan follows bookings and sensors.",
        )
    )


def test_book_on_the_plan_and_another_browser_sees_it_booked_then_occupied(
    platform: Platform, chromium: Browser, mosquitto: Service, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    me, colleague = employee(platform), employee(platform)
    mine, theirs = new_context(chromium), new_context(chromium)
    node = DeskNode(platform, mosquitto, "w03")
    try:
        a, b = mine.new_page(), theirs.new_page()
        sign_in(a, base, me)
        expect(a.get_by_role("heading", level=1)).to_contain_text("Hari ini")
        a.screenshot(path=shots / "today-id.png", full_page=True)
        sign_in(b, base, colleague)
        find_page(a, base)
        find_page(b, base)
        expect(desk_row(a, "w03")).to_contain_text("Kosong")
        expect(desk_row(b, "w03")).to_contain_text("Kosong")
        a.screenshot(path=shots / "find-id.png", full_page=True)
        accessible(a)

        a.click('.plan-svg g[data-desk="w03"]')  # the desk on the plan
        dialog = desk_dialog(a)
        expect(dialog).to_have_accessible_name("Meja w03")
        expect(dialog).to_contain_text("Kosong")
        dialog.get_by_role("button", name="Pesan meja ini").click()
        expect(dialog.get_by_role("status")).to_contain_text("Berhasil dipesan: meja w03")
        a.screenshot(path=shots / "booked-id.png")
        dialog.get_by_role("button", name="Tutup").click()
        expect(desk_row(a, "w03")).to_contain_text("Milik Anda")
        # The colleague's list and plan follow without a reload.
        expect(desk_row(b, "w03")).to_contain_text("Dipesan")
        expect(b.locator('.plan-svg g[data-desk="w03"]')).to_have_class(re.compile("s-booked"))

        node.presence(True)  # someone sits down: the sensor says so over MQTT
        for page in (a, b):
            expect(desk_row(page, "w03")).to_contain_text("Sedang dipakai")
        expect(desk_row(a, "w03")).to_contain_text("Milik Anda")
        b.screenshot(path=shots / "find-live-id.png", full_page=True)
        # Nobody's name is on anyone's plan.
        assert me not in b.content() and "Pegawai" not in b.inner_text("#plan")

        a.goto(f"{base}/app")  # the sensor checked the booking in
        today = a.get_by_role("region", name="Pemesanan saya hari ini")
        expect(today).to_contain_text("Sudah check-in")
    finally:
        node.close()
        mine.close()
        theirs.close()


def test_qr_check_in_on_a_phone_signs_in_and_says_plainly_why_not(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    me, other = employee(platform), employee(platform)
    book(platform, "employee", "w05", today_at(-0.2), today_at(3))  # someone else's desk now
    phone = new_context(chromium, viewport=PHONE)
    try:
        page = phone.new_page()
        page.goto(label_url(platform, "w05"))  # the label's QR code
        expect(page).to_have_url(re.compile(r"/app/login\?next=/checkin/"))
        page.get_by_label("Nama pengguna").fill(me)
        page.get_by_label("Kata sandi").fill(PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Meja w05")
        accessible(page)
        page.get_by_role("button", name="Check-in di meja ini").click()
        result = page.get_by_role("alert")
        expect(result).to_contain_text("Meja orang lain")
        expect(result).to_contain_text("sudah dipesan")
        page.screenshot(path=shots / "checkin-refused-id.png", full_page=True)

        page.goto(label_url(platform, "w07"))  # free: a walk-in
        page.get_by_role("button", name="Check-in di meja ini").click()
        done = page.get_by_role("status")
        expect(done).to_contain_text("Anda sudah check-in")
        expect(done).to_contain_text("walk-in")
        page.screenshot(path=shots / "checkin-id.png", full_page=True)
    finally:
        phone.close()

    # A facility manager at that desk sees it is not theirs (they may see all bookings).
    manager = new_context(chromium, viewport=PHONE)
    try:
        page = manager.new_page()
        sign_in(page, base, "facility_manager", then=label_path(platform, "w05"))
        expect(page.get_by_role("main")).to_contain_text(
            "Anda tidak memiliki pemesanan di meja ini"
        )
    finally:
        manager.close()

    # Too early: a booking three hours ahead cannot be checked in yet.
    later = new_context(chromium, viewport=PHONE)
    try:
        page = later.new_page()
        sign_in(page, base, other)
        start, end = today_at(3), today_at(4)
        login = {"username": other, "password": PASSWORD}
        token = httpx.post(f"{base}/api/v1/auth/token", data=login).json()["access_token"]
        slot = {"building": B, "desk": "w08", "start": start.isoformat(), "end": end.isoformat()}
        auth = {"Authorization": f"Bearer {token}"}
        made = httpx.post(f"{base}/api/v1/bookings", headers=auth, json=slot)
        assert made.status_code == 201, made.text
        page.goto(label_url(platform, "w08"))
        page.get_by_role("button", name="Check-in di meja ini").click()
        expect(page.get_by_role("alert")).to_contain_text("Terlalu awal")
        expect(page.get_by_role("alert")).to_contain_text("check-in dibuka pukul")
    finally:
        later.close()


def test_cancel_asks_once_and_the_refusal_speaks_indonesian(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    with person(platform, chromium) as (page, me):
        find_page(page, base)
        dialog = desk_dialog(page)
        page.click('.plan-svg g[data-desk="w09"]')  # the desk on the plan
        dialog.get_by_role("button", name="Pesan meja ini").click()
        expect(dialog.get_by_role("status")).to_contain_text("Berhasil dipesan")
        dialog.get_by_role("button", name="Tutup").click()
        # The same slot at another desk: the person already has one then.
        desk_row(page, "w10").get_by_role("button", name="Pesan meja ini: Meja w10").click()
        dialog.get_by_role("button", name="Pesan meja ini").click()
        refusal = dialog.get_by_role("status")
        expect(refusal).to_contain_text("Anda sudah memesan meja w09 pada waktu itu")
        expect(refusal).to_have_class(re.compile("error"))
        page.screenshot(path=shots / "refusal-id.png")
        dialog.get_by_role("button", name="Tutup").click()

        page.goto(f"{base}/app/bookings")
        accessible(page)
        page.screenshot(path=shots / "bookings-id.png", full_page=True)
        coming = page.get_by_role("region", name="Akan datang")
        card = coming.get_by_role("listitem").filter(has_text="w09")
        card.get_by_role("button", name="Batalkan pemesanan").click()
        confirm = page.get_by_role("dialog")
        expect(confirm).to_contain_text("Batalkan pemesanan meja w09")
        confirm.get_by_role("button", name="Tidak, simpan").click()  # changed their mind
        expect(card).to_be_visible()  # nothing happened
        card.get_by_role("button", name="Batalkan pemesanan").click()
        confirm.get_by_role("button", name="Ya, batalkan").click()
        expect(page.get_by_role("status")).to_have_text("Pemesanan dibatalkan.")
        expect(card).to_have_count(0)


def test_the_language_switch_and_the_persons_choice(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    me = employee(platform)
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        page.goto(f"{base}/app/login")
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Masuk")
        accessible(page)
        page.screenshot(path=shots / "login-id.png", full_page=True)
        page.get_by_role("button", name="English").click()
        expect(heading).to_have_text("Sign in")
        expect(page.locator("html")).to_have_attribute("lang", "en")  # for screen readers
        sign_in(page, base, me)
        expect(heading).to_contain_text("Today")
        page.screenshot(path=shots / "today-en.png", full_page=True)
        page.goto(f"{base}/app/profile")
        accessible(page)
        page.screenshot(path=shots / "profile-en.png", full_page=True)
        page.get_by_label("Language").select_option("id")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(heading).to_have_text("Profil")
    finally:
        ctx.close()
    # The choice is the person's: another browser that asks for English still gets Indonesian,
    # and so do the API's refusals.
    other = new_context(chromium, locale="en-US")
    try:
        page = other.new_page()
        sign_in(page, base, me)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hari ini")
    finally:
        other.close()


def test_booking_with_the_keyboard_alone(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    with person(platform, chromium) as (page, _):
        find_page(page, base)
        target = desk_row(page, "w11").get_by_role("button", name="Pesan meja ini: Meja w11")
        for _ in range(200):  # Tab until the desk's button has the focus
            if target.evaluate("b => b === document.activeElement"):
                break
            page.keyboard.press("Tab")
        else:
            raise AssertionError("Tab never reached the button of desk w11")
        page.keyboard.press("Enter")
        dialog = desk_dialog(page)
        expect(dialog.get_by_role("button", name="Pesan meja ini")).to_be_focused()
        page.keyboard.press("Enter")
        expect(dialog.get_by_role("status")).to_contain_text("Berhasil dipesan: meja w11")
        page.keyboard.press("Escape")
        expect(dialog).not_to_be_visible()
        expect(desk_row(page, "w11")).to_contain_text("Milik Anda")


def test_the_api_docs_render_with_the_network_cut_off(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    # With the server's CSP, as a person's browser has it: ReDoc's own logo from its CDN
    # is blocked by the browser before it is asked for.
    ctx = new_context(chromium, csp=True)
    elsewhere: list[str] = []

    def only_here(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(base):
            route.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(url)
            route.abort()  # type: ignore[attr-defined]

    try:
        page = ctx.new_page()
        page.route("**/*", only_here)
        page.goto(f"{base}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("IKN Smart Office")
        page.screenshot(path=shots / "docs.png")
        page.goto(f"{base}/redoc")
        expect(page.locator("h1")).to_contain_text("IKN Smart Office", timeout=20_000)
        assert elsewhere == []
    finally:
        ctx.close()


def test_signing_out_ends_the_session(platform: Platform, chromium: Browser) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    with person(platform, chromium) as (page, me):
        cookie = next(c for c in page.context.cookies() if c["name"] == "smartoffice_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        jar = {"smartoffice_session": cookie["value"]}
        assert httpx.get(f"{base}/api/v1/auth/me", cookies=jar).json()["username"] == me
        # A change through the cookie alone (another site's form) is refused.
        refused = httpx.patch(f"{base}/api/v1/auth/me", cookies=jar, json={"language": "en"})
        assert refused.status_code == 403 and "token" in refused.json()["detail"]
        page.get_by_role("button", name="Keluar").click()
        expect(page).to_have_url(re.compile("/app/login"))
        assert httpx.get(f"{base}/api/v1/auth/me", cookies=jar).status_code == 401


def test_a_meeting_room_by_capacity(platform: Platform, chromium: Browser, shots: Path) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    with person(platform, chromium) as (page, _):
        page.get_by_role("navigation", name="Menu utama").get_by_role(
            "link", name="Ruang rapat"
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Ruang rapat")
        page.get_by_label("Jumlah orang").fill("12")  # the floor's room seats 6
        page.get_by_role("button", name="Tampilkan ruang").click()
        expect(page.get_by_role("main")).to_contain_text("Tidak ada ruang untuk sebanyak itu.")
        page.get_by_label("Jumlah orang").fill("6")
        page.get_by_label("Tanggal").fill(TOMORROW)  # a slot still to come, whenever this runs
        page.get_by_label("Dari", exact=True).select_option(
            "13:00"
        )  # 24-hour times, whatever the locale
        page.get_by_label("sampai", exact=True).select_option("14:00")
        page.get_by_role("button", name="Tampilkan ruang").click()
        row = room_row(page, "Ruang Rapat r1")
        expect(row).to_contain_text("Kosong")
        accessible(page)
        row.get_by_role("button", name="Pesan ruang ini: Ruang Rapat r1").click()
        expect(page.get_by_role("status")).to_contain_text("Berhasil dipesan: ruang r1")
        expect(room_row(page, "Ruang Rapat r1")).to_contain_text("Milik Anda")
        page.screenshot(path=shots / "rooms-id.png", full_page=True)
    # Someone else, whose browser asks for English, sees it booked, saying why in English.
    with person(platform, chromium, locale="en-GB") as (page, _):
        page.goto(f"{base}/app/rooms?capacity=6&day={TOMORROW}&from=13:00&to=14:00")
        expect(room_row(page, "Ruang Rapat r1")).to_contain_text("booked by a colleague")


def test_weekly_series_calendar_file_and_a_feed_that_can_be_turned_off(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    with person(platform, chromium) as (page, _):
        page.goto(f"{base}/app/find?day={TOMORROW}&slot=time&from=08:00&to=12:00")
        expect(desk_row(page, "w04")).to_be_visible()
        page.click('.plan-svg g[data-desk="w04"]')
        dialog = desk_dialog(page)
        dialog.get_by_role("checkbox", name="Setiap minggu pada hari yang sama, sampai").check()
        until = page.evaluate(
            "() => new Date(Date.now() + 20 * 86400e3).toISOString().slice(0, 10)"
        )
        dialog.get_by_label("Ulangi sampai").fill(until)
        dialog.get_by_role("button", name="Pesan meja ini").click()
        expect(dialog.get_by_role("status")).to_contain_text("tanggal dipesan")
        made = dialog.get_by_role("status").inner_text()  # "<n> tanggal dipesan; <m> ..."
        assert int(made.split()[0]) >= 2, made
        dialog.get_by_role("button", name="Tutup").click()

        page.goto(f"{base}/app/bookings")
        coming = page.get_by_role("region", name="Akan datang")
        cards = coming.get_by_role("listitem").filter(has_text="w04")
        expect(cards.first).to_contain_text("mingguan")
        with page.expect_download() as download:
            cards.first.get_by_role("link", name="Tambahkan ke kalender (.ics)").click()
        ics = Path(download.value.path()).read_text()
        assert "BEGIN:VEVENT" in ics and "SUMMARY:Meja w04" in ics

        page.goto(f"{base}/app/profile")
        page.get_by_role("button", name="Buat alamat kalender saya").click()
        feed = page.get_by_label(
            "Alamat kalender baru Anda (hanya ditampilkan sekarang)"
        ).input_value()
        page.screenshot(path=shots / "profile-feed-id.png", full_page=True)
        subscribed = httpx.get(feed)  # as Outlook, Google or Thunderbird would, without a cookie
        assert subscribed.headers["content-type"].startswith("text/calendar")
        assert subscribed.text.count("BEGIN:VEVENT") >= 2
        page.get_by_role("button", name="Matikan alamat").click()
        expect(page.get_by_role("status")).to_have_text("Alamat kalender dimatikan.")
        assert httpx.get(feed).status_code == 404


def test_the_colleague_finder_shows_only_those_who_opted_in(
    platform: Platform, chromium: Browser
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    team = "Tim-" + uuid.uuid4().hex[:4]
    sharer, quiet = employee(platform, team), employee(platform, team)
    for who, desk in ((sharer, "w01"), (quiet, "w02")):
        login = {"username": who, "password": PASSWORD}
        token = httpx.post(f"{base}/api/v1/auth/token", data=login).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        slot = {
            "building": B,
            "desk": desk,
            "start": today_at(-0.02).isoformat(),
            "end": today_at(1).isoformat(),
        }
        assert httpx.post(f"{base}/api/v1/bookings", headers=auth, json=slot).status_code == 201
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, sharer, then="/app/profile")
        page.get_by_role("checkbox", name=re.compile("pencari rekan")).check()
        page.get_by_role("button", name="Simpan", exact=True).click()
        expect(page.get_by_role("status")).to_have_text("Tersimpan.")
    finally:
        ctx.close()
    with person(platform, chromium) as (page, _):  # another team: sees nobody
        expect(page.get_by_role("region", name="Tim saya hari ini")).to_be_visible()
        expect(page.get_by_role("main")).not_to_contain_text(sharer[-3:])
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, quiet)
        accessible(page)
        team_list = page.get_by_role("region", name="Tim saya hari ini")
        expect(team_list).to_contain_text(f"Pegawai {sharer[-3:]}: meja w01")
        expect(team_list).not_to_contain_text("w02")
    finally:
        ctx.close()


def test_every_page_in_english_for_the_user_guide(
    platform: Platform, chromium: Browser, shots: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    with person(platform, chromium, locale="en-US") as (page, _):
        expect(page.get_by_role("heading", level=1)).to_contain_text("Today")
        find_page(page, base)
        expect(page.get_by_role("heading", name=re.compile("^Floor plan"))).to_be_visible()
        whole = page.get_attribute(".plan-svg", "viewBox") or ""
        # Zoom in, drag the plan along, then back to the whole floor.
        page.get_by_role("button", name="Zoom in").click()
        zoomed = page.get_attribute(".plan-svg", "viewBox") or ""
        assert float(zoomed.split()[2]) < float(whole.split()[2])
        box = page.locator(".plan-svg").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 200, box["y"] + 100)
        page.mouse.down()
        page.mouse.move(box["x"] + 100, box["y"] + 100, steps=5)
        page.mouse.up()
        moved = page.get_attribute(".plan-svg", "viewBox") or ""
        assert float(moved.split()[0]) > float(zoomed.split()[0])
        # The whole floor (the first view may be zoomed for fingers).
        page.get_by_role("button", name="Whole floor").click()
        reset = (page.get_attribute(".plan-svg", "viewBox") or "").split()
        assert reset[:2] == ["0", "0"] and float(reset[2]) >= float(whole.split()[2])
        page.click('.plan-svg g[data-desk="w06"]')
        dialog = desk_dialog(page)
        dialog.get_by_role("button", name="Book this desk").click()
        expect(dialog.get_by_role("status")).to_contain_text("Booked: desk w06")
        page.screenshot(path=shots / "booked-en.png")
        dialog.get_by_role("button", name="Close").click()
        page.screenshot(path=shots / "find-en.png", full_page=True)
        page.goto(f"{base}/app")
        expect(page.get_by_role("region", name="My booking today")).to_contain_text(
            "Awaiting check-in"
        )
        accessible(page)
        page.screenshot(path=shots / "today-booked-en.png", full_page=True)
        page.goto(f"{base}/app/bookings")
        coming = page.get_by_role("region", name="Coming up")
        expect(coming.get_by_role("listitem").filter(has_text="w06")).to_be_visible()
        page.screenshot(path=shots / "bookings-en.png", full_page=True)
    phone = new_context(chromium, viewport=PHONE, locale="en-US")
    try:
        page = phone.new_page()
        sign_in(page, base, employee(platform), then=label_path(platform, "w06"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Meja w06")
        page.screenshot(path=shots / "checkin-en.png", full_page=True)
        page.get_by_role("button", name="Check in at this desk").click()
        expect(page.get_by_role("alert")).to_contain_text("Someone else's desk")
        page.screenshot(path=shots / "checkin-refused-en.png", full_page=True)
    finally:
        phone.close()


def room_row(page: Page, name: str) -> Locator:
    """A meeting room's row in the rooms page's list, by the room's name."""
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))


def test_a_person_chooses_how_they_are_reminded(platform: Platform, chromium: Browser) -> None:
    assert platform.server is not None
    who = employee(platform)
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, platform.server.url, who, then="/app/profile")
    form = page.get_by_role("form", name="Notifikasi")
    form.get_by_label("Lewat surel").uncheck()
    form.get_by_label("Dari").fill("21:00")
    form.get_by_label("sampai").fill("06:00")
    form.get_by_role("button", name="Simpan notifikasi").click()
    expect(page.get_by_role("status")).to_have_text("Tersimpan.")
    expect(
        page.get_by_role("form", name="Notifikasi").get_by_label("Lewat surel")
    ).not_to_be_checked()
    token = httpx.post(
        f"{platform.server.url}/api/v1/auth/token", data={"username": who, "password": PASSWORD}
    ).json()["access_token"]
    chosen = httpx.get(
        f"{platform.server.url}/api/v1/me/notifications",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert chosen == {
        "mail": False,
        "push": True,
        "morning": True,
        "quiet_from": "21:00:00",
        "quiet_to": "06:00:00",
        "browsers": 0,
    }
    # Half of the quiet hours is refused, saying what is missing.
    form = page.get_by_role("form", name="Notifikasi")
    form.get_by_label("sampai").fill("")
    form.get_by_role("button", name="Simpan notifikasi").click()
    expect(page.get_by_role("status")).to_contain_text("jam tenang")
    context.close()
