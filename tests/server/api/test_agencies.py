"""The agencies API over a running server: who may make and change them, what bad input is
told, and an account's agency as the API shows it; the privacy notice names each agency's
controller to its people."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.layouts import one_floor
from harness.platform import PASSWORD, Platform

PMK = {
    "id": "kemenko-pmk",
    "name": "Kemenko PMK",
    "name_en": "Coordinating Ministry for Human Development and Culture",
    "controller": "Kementerian Koordinator Bidang PMK",
    "contact": "ppid@kemenkopmk.example.go.id",
}


@pytest.fixture
def platform(tmp_path: Path, unique_name: str) -> Iterator[Platform]:
    env = {"SMARTOFFICE_PRIVACY_CONTROLLER": "Otorita IKN", "SMARTOFFICE_PRIVACY_CONTACT": "x@y"}
    p = Platform(tmp_path, env, gateway_id=f"gw-{unique_name}")
    p.register([])
    p.start_server()
    yield p
    p.stop()


def test_admins_make_and_change_agencies_and_everyone_signed_in_reads_them(
    platform: Platform,
) -> None:
    assert platform.api("POST", "/api/v1/agencies", "facility_manager", json=PMK).status_code == 403
    assert platform.api("POST", "/api/v1/agencies", json=PMK).status_code == 201
    again = platform.api("POST", "/api/v1/agencies", json=PMK)
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    bad = platform.api("POST", "/api/v1/agencies", json={**PMK, "id": "../x"})
    assert bad.status_code == 422
    listed = platform.api("GET", "/api/v1/agencies", "employee").json()
    assert [a["id"] for a in listed] == ["instansi-uji", "kemenko-pmk"]
    change = {"name": "Kemenko PMK", "controller": "Kemenko PMK (PPID)"}
    for role in ("employee", "agency_admin"):  # the agency's admin is another agency's
        refused = platform.api("PUT", "/api/v1/agencies/kemenko-pmk", role, json=change)
        assert refused.status_code == 403
    own = platform.api(
        "PUT", "/api/v1/agencies/instansi-uji", "agency_admin", json={"name": "Instansi Uji"}
    )
    assert own.status_code == 200
    changed = platform.api("PUT", "/api/v1/agencies/kemenko-pmk", json=change).json()
    assert (changed["controller"], changed["contact"]) == ("Kemenko PMK (PPID)", None)
    missing = platform.api(
        "GET", "/api/v1/agencies/kemenko-x", "employee", headers={"Accept-Language": "id"}
    )
    assert missing.status_code == 404 and "kemenko-x" in missing.json()["detail"]
    assert platform.server is not None
    assert httpx.get(f"{platform.server.url}/api/v1/agencies").status_code == 401


def test_a_person_of_an_agency_is_told_their_agencys_controller(platform: Platform) -> None:
    assert platform.api("POST", "/api/v1/agencies", json=PMK).status_code == 201
    person = {
        "username": "dewi",
        "password": PASSWORD,
        "display_name": "Dewi",
        "agency": "kemenko-pmk",
    }
    made = platform.api("POST", "/api/v1/users", json=person)
    assert made.status_code == 201 and made.json()["agency"] == "kemenko-pmk"
    unknown = platform.api(
        "POST", "/api/v1/users", json={**person, "username": "eko", "agency": "nope"}
    )
    assert unknown.status_code == 404
    # A read of a person's data names the agency whose data it was (its controller's).
    reason = {"reason": "Pengaduan pelepasan meja", "start": "2026-12-01", "end": "2026-12-02"}
    assert platform.api("GET", "/api/v1/users/dewi/attendance", params=reason).is_success
    reads = platform.api("GET", "/api/v1/audit", params={"action": "personal.read"}).json()
    read = next(e for e in reads if e["target_id"] == "dewi")
    assert read["detail"]["agency"] == "kemenko-pmk"
    found = platform.api("GET", "/api/v1/users", params={"agency": "kemenko-pmk", "limit": 5})
    assert found.headers["X-Total-Count"] == "1"
    assert [u["username"] for u in found.json()] == ["dewi"]
    layout = one_floor("menara-2", "l5", ["d1"])
    layout["floors"][0]["agency"] = "kemenko-pmk"
    assert platform.api("PUT", "/api/v1/buildings/menara-2/layout", json=layout).is_success
    floor = platform.api("GET", "/api/v1/buildings/menara-2/floors/l5", "employee").json()
    assert floor["agency"] == "kemenko-pmk"

    assert platform.server is not None
    base = platform.server.url
    public = httpx.get(f"{base}/privacy", headers={"Accept-Language": "id"}).text
    # A visitor: the platform's controller, and each agency's for its people.
    assert "Otorita IKN" in public and "Untuk pegawai Kemenko PMK" in public
    assert "Kementerian Koordinator Bidang PMK" in public
    with httpx.Client(base_url=base, follow_redirects=True) as web:
        page = web.get("/app/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        web.post(
            "/app/login",
            data={"csrf": token, "next": "/privacy", "username": "dewi", "password": PASSWORD},
        )
        mine = web.get("/privacy", headers={"Accept-Language": "id"}).text
    assert "Kementerian Koordinator Bidang PMK" in mine and "ppid@kemenkopmk" in mine
    assert "Otorita IKN" not in mine  # their agency is their controller


def test_an_agency_lends_its_floor_for_a_day_through_the_api(platform: Platform) -> None:
    for code in ("kemenko-pmk", "kemenko-pangan"):
        body = {"id": code, "name": code.upper()}
        assert platform.api("POST", "/api/v1/agencies", json=body).status_code == 201
    layout = one_floor("menara-4", "l3", ["a1"])
    layout["floors"][0]["agency"] = "kemenko-pmk"
    assert platform.api("PUT", "/api/v1/buildings/menara-4/layout", json=layout).is_success
    where = "/api/v1/buildings/menara-4/floors/l3/openings"
    days = {"agency": "kemenko-pangan", "days": ["2099-12-03", "2099-12-04"]}
    assert platform.api("POST", where, "facility_manager", json=days).status_code == 403
    made = platform.api("POST", where, json=days)
    assert made.status_code == 201, made.text
    assert [o["day"] for o in made.json()] == ["2099-12-03", "2099-12-04"]
    assert platform.api("DELETE", f"{where}/kemenko-pangan/2099-12-04").status_code == 204
    listed = platform.api("GET", where, "employee").json()
    assert [(o["agency"], o["day"]) for o in listed] == [("kemenko-pangan", "2099-12-03")]
    bad = platform.api("POST", where, json={"agency": "kemenko-pangan", "days": ["9999-01-01"]})
    assert bad.status_code == 422
    own = platform.api("POST", where, json={"agency": "kemenko-pmk", "days": ["2099-12-03"]})
    assert own.status_code == 409 and "own floor" in own.json()["detail"]
