"""What a page route decides is what its API route decides: the same service, the same rule.

Each test acts through the pages over HTTP as a signed-in browser does (the session cookie,
the form's CSRF token), against a real server process, and checks that a rule the API
keeps holds on the page too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from aiosmtpd.controller import Controller

from harness.layouts import one_floor
from harness.pages import browser, sign_in
from harness.platform import PASSWORD, Platform
from harness.services import free_port, wait_for
from harness.smtp import Inbox
from tests.web.conftest import ALWAYS_OPEN, WITA

B = "kantor-p"
FAR = "kantor-q"


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Platform]:
    env = {
        "SMARTOFFICE_SMTP_HOST": "127.0.0.1",
        "SMARTOFFICE_SMTP_STARTTLS": "false",
        "SMARTOFFICE_SMTP_PORT": str(inbox.port),
    }  # type: ignore[attr-defined]
    p = Platform(tmp_path_factory.mktemp("rules"), env, gateway_id="gw-p")
    p.register([], building=B)
    p.start_server()
    assert p.api(
        "PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", ["p1", "p2"], rooms=["r1"])
    ).is_success
    assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=ALWAYS_OPEN).is_success
    assert p.api(
        "PUT", f"/api/v1/buildings/{FAR}/layout", json=one_floor(FAR, "l1", ["q1"])
    ).is_success
    assert p.api("POST", "/api/v1/gateways", json={"id": "gw-q", "building": FAR}).is_success
    yield p
    p.stop()


def base(p: Platform) -> str:
    assert p.server is not None
    return p.server.url


def test_an_installer_of_one_building_registers_nothing_in_another_on_the_page(
    site: Platform,
) -> None:
    """The review: a page route gave an installer of A a password on B's gateway (201)."""
    made = site.api(
        "POST",
        "/api/v1/users",
        json={
            "username": "rina",
            "password": "p" * 12,
            "display_name": "Rina",
            "role": "installer",
            "buildings": [B],
        },
    )
    assert made.status_code == 201
    far_node = {"kind": "desk", "id": "desk-far", "gateway": "gw-q"}
    assert site.api("POST", "/api/v1/devices", json=far_node).is_success
    assert site.api("DELETE", "/api/v1/devices/desk-far").is_success
    with sign_in(base(site), "rina", "p" * 12) as web:
        far = web.script("POST", "/app/devices/register", json={"kind": "desk", "gateway": "gw-q"})
        assert far.status_code == 403, far.text[:300]
        assert "mqtt_password" not in far.text and "kantor-q" in far.json()["detail"]
        again = web.script("POST", "/app/devices/register", json={"kind": "desk", "id": "desk-far"})
        assert again.status_code == 403, again.text[:300]
        own = web.script("POST", "/app/devices/register", json={"kind": "desk", "gateway": "gw-p"})
        assert own.status_code == 201 and own.json()["mqtt_password"]
        listed = web.get("/app/devices", params={"state": "decommissioned"})
        assert listed.status_code == 200 and "desk-far" not in listed.text
    log = site.api("GET", "/api/v1/audit", params={"actor": "rina"}).json()
    assert [e["action"] for e in log] == ["device.register"]


def test_a_room_booked_on_the_page_is_confirmed_by_mail_as_through_the_api(
    site: Platform, inbox: Inbox
) -> None:
    """The review: a room booked on the page sent no mail; the same booking by API did."""
    tomorrow = datetime.now(WITA) + timedelta(days=1)
    start = tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)
    with sign_in(base(site), "employee") as web:
        end = start + timedelta(hours=1)
        slot = {"building": B, "room": "r1", "start": start.isoformat(), "end": end.isoformat()}
        answer = web.form("/app/rooms/book", slot)
        assert answer.status_code == 303, answer.text
    wait_for(
        lambda: any("ruang r1" in str(m["Subject"]) for m in inbox.messages),
        "no confirmation mail for the room",
    )
    mail = next(m for m in inbox.messages if "ruang r1" in str(m["Subject"]))
    assert mail["To"] == "employee@kantor.example.go.id"


def test_the_gateway_form_makes_new_gateways_and_rotates_only_when_asked(
    site: Platform,
) -> None:
    """The review: the form skipped the API's id check and silently rotated a gateway."""
    with sign_in(base(site), "admin") as web:
        bad = web.form("/app/admin/gateways", {"gateway": "../GW Baru", "building": B})
        assert bad.status_code == 400 and "gw-p" in bad.text  # the page again, with why
        made_so_far = site.api("GET", "/api/v1/audit", params={"action": "gateway.create"})
        assert sorted(e["target_id"] for e in made_so_far.json()) == ["gw-p", "gw-q"]
        taken = web.form("/app/admin/gateways", {"gateway": "gw-p", "building": B})
        assert taken.status_code == 409
        assert 'id="secret"' not in taken.text
        # The platform's gateway still delivers with its token: nothing was rotated.
        assert site.gateway_token
        pulled = site.api(
            "GET",
            "/api/v1/gateway/registry",
            headers={"Authorization": f"Bearer {site.gateway_token}"},
        )
        assert pulled.status_code == 200
        made = web.form("/app/admin/gateways", {"gateway": "gw-baru", "building": B})
        assert made.status_code == 200 and 'id="secret"' in made.text
        rotated = web.form("/app/admin/gateways/gw-baru/token")
        assert rotated.status_code == 200 and 'id="secret"' in rotated.text
        missing = web.form("/app/admin/gateways/gw-nowhere/token")
        assert missing.status_code == 404
    assert site.api("POST", "/api/v1/gateways", json={"id": "gw-p"}).status_code == 409
    actions = [
        e["action"]
        for e in site.api("GET", "/api/v1/audit", params={"target_id": "gw-baru"}).json()
    ]
    assert sorted(actions) == ["gateway.create", "gateway.token"]


def test_a_form_without_its_token_is_refused_with_a_page_that_says_so(site: Platform) -> None:
    with sign_in(base(site), "employee") as web:
        forged = web.post("/app/profile", data={"language": "en", "csrf": "forged"})
        assert forged.status_code == 403
        assert "text/html" in forged.headers["content-type"]
        assert "kedaluwarsa" in forged.text  # said in the person's language, as a page
        missing = web.post("/app/bookings/1/cancel")
        assert missing.status_code == 403
        # A script's call without its header gets the same refusal, as JSON.
        scripted = web.post("/app/devices/register", json={"kind": "desk"})
        assert scripted.status_code == 403


def test_no_link_puts_words_on_a_page(site: Platform) -> None:
    """The review: 43 page URLs printed text taken from the URL as a success notice."""
    with sign_in(base(site), "admin") as web:
        for path in (
            "/app/admin?done=user_created&x=Akun+Anda+diblokir",
            "/app/bookings?done=cancelled",
            "/app/profile?saved=1",
            "/app/rooms?booked=Akun+Anda+diblokir",
            "/app/privacy?done=asked",
            "/app/admin/privacy?done=decided&x=Akun+Anda+diblokir",
        ):
            page = web.get(path)
            assert page.status_code == 200, path
            assert 'class="notice' not in page.text, path
        # A form's own answer does say what happened, once.
        saved = web.form("/app/profile", {"language": "id"})
        assert saved.status_code == 303 and "?" not in saved.headers["location"]
        shown = web.get(saved.headers["location"])
        assert "Tersimpan" in shown.text
        again = web.get(saved.headers["location"])
        assert 'class="notice' not in again.text


def test_a_link_cannot_read_personal_data_with_a_reason_it_chose(site: Platform) -> None:
    """The review: a link opened by an admin wrote an audit entry with the link's reason."""
    day = (datetime.now(WITA) + timedelta(days=2)).date().isoformat()
    whole_day = {"building": B, "desk": "p2", "day": day}
    made = site.api("POST", "/api/v1/bookings", "employee", json=whole_day)
    assert made.status_code == 201
    reason = "Tautan yang ditulis orang lain"
    with sign_in(base(site), "admin") as web:
        linked = web.get("/api/v1/bookings", params={"user": "employee", "reason": reason})
        assert linked.status_code == 403
        by_script = web.get(
            "/api/v1/bookings",
            params={"user": "employee", "reason": "Pengaduan pegawai tentang meja p2"},
            headers={"X-CSRF-Token": web.csrf},
        )
        assert by_script.status_code == 200 and by_script.json()
        page = web.get("/app/admin/privacy", params={"who": "employee", "reason": reason})
        assert page.status_code == 200 and 'id="attendance-summary"' not in page.text
        short = web.form("/app/admin/privacy/attendance", {"who": "employee", "reason": "cek"})
        assert short.status_code == 403 and "alasan" in short.text
        asked = web.form(
            "/app/admin/privacy/attendance",
            {"who": "employee", "reason": "Pengaduan pegawai tentang meja p2"},
        )
        assert asked.status_code == 200 and 'id="attendance-summary"' in asked.text
    # A bearer token's caller (a script an admin runs) may keep reason= in a GET.
    monthly = {"user": "employee", "reason": "Laporan bulanan kehadiran"}
    with_token = site.api("GET", "/api/v1/bookings", params=monthly)
    assert with_token.status_code == 200
    log = site.api("GET", "/api/v1/audit", params={"action": "personal.read"}).json()
    assert all(reason not in str(e) for e in log)
    assert len([e for e in log if e["target_id"] == "employee"]) == 3


@pytest.mark.parametrize(
    "path",
    [
        "/app/find?day=9999-12-31",
        "/app/rooms?day=9999-12-31",
        "/app/find?day=0001-01-01",
        "/app/rooms?capacity=100000",
        "/app/bookings/99999999999999999999.ics",
        "/app/nowhere",
    ],
)
def test_bad_input_on_a_page_is_a_page_that_says_what_to_change(site: Platform, path: str) -> None:
    with sign_in(base(site), "employee") as web:
        answer = web.get(path)
    assert 400 <= answer.status_code < 500, answer.status_code
    assert "text/html" in answer.headers["content-type"]
    assert "Tidak dapat dilakukan" in answer.text  # the problem page, in Indonesian


def test_behind_https_the_session_cookie_is_host_only_and_hsts_is_sent(site: Platform) -> None:
    assert site.server is not None
    https = {"X-Forwarded-Proto": "https"}  # the trusted proxy (here, loopback) says so
    with httpx.Client(base_url=site.server.url, headers=https, follow_redirects=False) as web:
        form = web.get("/app/login")
        assert form.headers["strict-transport-security"] == "max-age=31536000"
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        # httpx keeps Secure cookies for https:// only; a browser behind the proxy has them.
        answer = web.post(
            "/app/login",
            data={"username": "employee", "password": PASSWORD, "csrf": token.group(1)},
            headers={"Cookie": f"smartoffice_login={token.group(1)}"},
        )
        assert answer.status_code == 303
        cookie = next(c for c in answer.headers.get_list("set-cookie") if "session" in c)
        assert cookie.startswith("__Host-smartoffice_session=")
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    plain = httpx.get(f"{site.server.url}/app/login")
    assert "strict-transport-security" not in plain.headers


def test_sessions_end_when_what_the_person_may_do_changes(site: Platform) -> None:
    """The review: a password reset left existing sessions alive."""
    new = {"username": "dewi", "password": "d" * 12, "display_name": "Dewi", "role": "employee"}
    assert site.api("POST", "/api/v1/users", json=new).status_code == 201
    for change in ({"password": "e" * 12}, {"role": "facility_manager"}, {"active": False}):
        password = "e" * 12 if change != {"password": "e" * 12} else "d" * 12
        with sign_in(base(site), "dewi", password) as web:
            assert web.get("/app").status_code == 200
            assert site.api("PATCH", "/api/v1/users/dewi", json=change).is_success
            ended = web.get("/app")
            assert ended.status_code == 303 and "/app/login" in ended.headers["location"], change
        site.api("PATCH", "/api/v1/users/dewi", json={"active": True, "role": "employee"})
    # A sign-in opens a new session: one the browser brought along (planted by someone
    # else, say) opens nothing afterwards.
    with sign_in(base(site), "dewi", "e" * 12) as planter, browser(base(site)) as victim:
        form = victim.get("/app/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        planted = planter.cookies["smartoffice_session"]
        victim.cookies.set("smartoffice_session", planted)
        signed = victim.post(
            "/app/login", data={"username": "dewi", "password": "e" * 12, "csrf": token.group(1)}
        )
        assert signed.status_code == 303
        assert signed.cookies["smartoffice_session"] != planted
        assert planter.get("/app").status_code == 303


def test_a_revoked_kiosk_link_closes_its_open_streams(site: Platform) -> None:
    """The review: a revoked kiosk's open stream kept receiving."""
    assert site.server is not None
    made = site.api("POST", "/api/v1/kiosks", json={"building": B, "floor": "l1", "label": "Lobi"})
    path, kiosk_id = made.json()["path"], made.json()["kiosk"]["id"]
    seen: list[str] = []
    # Keepalives come every 15 s: a stream left open fails the read within 10 s.
    with httpx.stream("GET", f"{site.server.url}{path}/events", timeout=10) as stream:
        lines = stream.iter_lines()
        seen.append(next(lines))  # connected
        assert site.api("DELETE", f"/api/v1/kiosks/{kiosk_id}").is_success
        seen.extend(lines)  # ends when the server closes it, long before the timeout
    assert seen[0] == ": connected"
    assert httpx.get(f"{site.server.url}{path}/events").status_code == 404


def test_a_kiosk_link_is_made_from_the_configured_address_never_the_host_header(
    site: Platform,
) -> None:
    """A forged Host header would have the admin hand a lift's screen a link to elsewhere."""
    assert site.server is not None
    with sign_in(base(site), "admin") as web:
        made = web.form(
            "/app/admin/kiosks",
            {"building": B, "floor": "l1", "label": "Lobi"},
            headers={"Host": "evil.example"},
        )
    assert made.status_code == 200, made.text
    found = re.search(r"<code>([^<]+/kiosk/[^<]+)</code>", made.text)
    assert found is not None and "evil.example" not in made.text
    assert found.group(1).startswith(f"{site.server.url}/kiosk/")  # SMARTOFFICE_PUBLIC_URL


def test_an_erased_persons_data_never_reaches_a_later_account_of_the_same_name(
    site: Platform,
) -> None:
    """The review: after an erasure, the next 'rudi' saw the erased Rudi's requests (with
    their notes) and the admins' read reasons about them."""
    new = {"username": "rudi", "password": "r" * 12, "display_name": "Rudi", "role": "employee"}
    assert site.api("POST", "/api/v1/users", json=new).status_code == 201
    with sign_in(base(site), "rudi", "r" * 12) as rudi:
        asked = rudi.form("/app/privacy/requests", {"kind": "erase", "note": "Saya pensiun."})
        assert asked.status_code == 303
    reason = "Pemeriksaan kehadiran sebelum pensiun"
    with sign_in(base(site), "admin") as admin:
        read = admin.form("/app/admin/privacy/attendance", {"who": "rudi", "reason": reason})
        assert read.status_code == 200
        mine = site.api("GET", "/api/v1/privacy/requests", params={"state": "open"}).json()
        request_id = next(r["id"] for r in mine if r["username"] == "rudi")
        done = admin.form(f"/app/admin/privacy/{request_id}", {"carry_out": "true"})
        assert done.status_code == 303
    assert site.api("POST", "/api/v1/users", json=new).status_code == 201  # another Rudi
    with sign_in(base(site), "rudi", "r" * 12) as later:
        page = later.get("/app/privacy")
        rows = re.search(r'id="requests">.*?<tbody>(.*?)</tbody>', page.text, re.S)
        assert rows is not None and "Tidak ada." in rows.group(1)  # nobody else's requests
        export = later.get("/api/v1/me/data").json()
        held = json.dumps(export, ensure_ascii=False)
        assert "Saya pensiun" not in held and reason not in held
        records = {c["key"]: c["records"] for c in export["categories"]}
        assert records["requests"] == []


def test_a_check_in_from_away_is_refused_and_one_at_a_sensor_desk_waits_for_the_sensor(
    site: Platform,
) -> None:
    """The review: the label's URL was guessable, and a curl check-in from home counted."""
    node = site.api(
        "POST", "/api/v1/devices", "installer", json={"kind": "desk", "gateway": "gw-p"}
    ).json()
    on_p1 = {"building": B, "desk": "p1"}
    device = node["device"]["id"]
    assert site.api("PUT", f"/api/v1/devices/{device}/assignment", json=on_p1).is_success
    start = datetime.now(WITA).replace(second=0, microsecond=0)
    slot = {
        "building": B,
        "desk": "p1",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
    }
    assert site.api("POST", "/api/v1/bookings", "employee", json=slot).status_code == 201
    found = site.api("GET", f"/api/v1/buildings/{B}/desks/p1/label", "installer").json()
    assert found["url"].startswith(f"{base(site)}/checkin/{B}/p1?k=")
    with sign_in(base(site), "employee") as web:
        guessed = web.get(f"/checkin/{B}/p1")
        assert guessed.status_code == 200 and 'id="scan-needed"' in guessed.text
        assert "Check-in di meja ini" not in guessed.text
        curl = web.form(f"/checkin/{B}/p1")
        assert curl.status_code == 409 and "Pindai kode QR meja" in curl.text
        renewed = site.api("POST", f"/api/v1/buildings/{B}/desks/p1/label", "installer").json()
        stale = web.form(found["url"].removeprefix(base(site)))
        assert stale.status_code == 409  # the label printed before no longer checks in
        scanned = web.form(renewed["url"].removeprefix(base(site)))
        assert scanned.status_code == 200 and "Sensor meja memastikan" in scanned.text
    mine = site.api("GET", "/api/v1/bookings", "employee").json()
    today = next(b for b in mine if b["space"] == "p1" and b["state"] == "checked_in")
    assert (today["checked_in_by"], today["presence"]) == ("qr", "pending")
