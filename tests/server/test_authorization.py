"""The authorization matrix: every API route × every role × their own agency and another's.

One running server holds a shared tower: agency A (``instansi-uji``, where the test accounts
of an agency's own roles belong) on one floor, agency B (``kemenko-b``) on another, a shared
floor, and a person, a booking and a privacy request of each agency. Then every route of the
app is called as every role:

- a role the route does not admit is refused (401/403), whatever it asks for;
- an agency's role (A's administrator, A's manager) that the route admits, asking about B's
  people and floors, is answered without one of B's people, bookings or reports, and changes
  nothing of B's (a write is refused);
- asking about A's own, the same role is served (the routes an agency's roles are admitted to
  do their work for them);
- no answer is a 500.

Violations are collected and listed; there must be none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.calendar import next_workday
from harness.layouts import SHARED_TOWER, shared_tower
from harness.platform import AGENCY, Platform
from harness.routes import api_routes
from server.app import create_app
from server.config import ServerSettings
from server.roles import AGENCY_ROLES, EVERYONE, ROLES

B_AGENCY = "kemenko-b"
TOWER = SHARED_TOWER
PEOPLE = "kata sandi panjang"
REASON = "pemeriksaan matriks otorisasi"
# What of B's an agency A role must never be shown: B's person, B's floor and desks.
B_PEOPLE = ("bambang-b", "Bambang Beta")
B_PLACES = ("lt-b", "meja-b-", B_AGENCY)
# Server-Sent Events never end: a stream's gate is tested with its own client elsewhere.
STREAMS = {"/api/v1/events"}
# Routes an employee may call too show every agency's floors and desks (a person finds and
# books a desk anywhere they may sit): there only B's people are withheld, and on the bookings
# list B's desks as well (an agency's manager lists their floors' bookings).
PUBLIC_PLACES = {("GET", "/api/v1/bookings"): ("meja-b-",)}


@dataclass
class Tower:
    """The running server and the things of each agency the matrix asks about."""

    platform: Platform
    day: date
    own: dict[str, str]
    other: dict[str, str]


def _made(resp: httpx.Response) -> dict[str, Any]:
    assert resp.is_success, resp.text
    found: dict[str, Any] = resp.json()
    return found


@pytest.fixture(scope="module")
def tower(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tower]:
    p = Platform(tmp_path_factory.mktemp("tower"), {}, gateway_id="gw-matrix")
    p.register([])
    p.start_server()
    try:
        _made(p.api("POST", "/api/v1/agencies", json={"id": B_AGENCY, "name": "Kementerian B"}))
        _made(
            p.api("PUT", f"/api/v1/buildings/{TOWER}/layout", json=shared_tower(AGENCY, B_AGENCY))
        )
        p.add_people(
            [("ayu-a", "Ayu Alfa", AGENCY), ("bambang-b", "Bambang Beta", B_AGENCY)], PEOPLE
        )
        day = next_workday()
        ids: dict[str, dict[str, str]] = {}
        for username, desk in (("ayu-a", "meja-a-1"), ("bambang-b", "meja-b-1")):
            token = httpx.post(
                f"{p.server.url}/api/v1/auth/token",  # type: ignore[union-attr]
                data={"username": username, "password": PEOPLE},
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            slot = {"building": TOWER, "desk": desk, "start": f"{day}T09:00", "end": f"{day}T12:00"}
            booked = httpx.post(f"{p.server.url}/api/v1/bookings", json=slot, headers=auth)  # type: ignore[union-attr]
            asked = httpx.post(
                f"{p.server.url}/api/v1/me/privacy-requests",  # type: ignore[union-attr]
                json={"kind": "anonymise", "note": f"permintaan {username}"},
                headers=auth,
            )
            ids[username] = {
                "booking_id": str(_made(booked)["created"][0]["id"]),
                "request_id": str(_made(asked)["id"]),
            }
        # The platform's administrator reads B's person's attendance: an audit entry of B's.
        seen = p.api(
            "GET",
            "/api/v1/users/bambang-b/attendance",
            params={"start": str(day), "end": str(day), "reason": REASON},
        )
        assert seen.is_success
        # A's unit of the test accounts (its head is set through the plans' route).
        _made(p.api("POST", f"/api/v1/agencies/{AGENCY}/units", json={"name": "Pusdatin"}))
        common = {
            "unit": "Pusdatin",
            "building": TOWER,
            "day": str(day),
            "start": f"{day}T00:00",
            "end": f"{day}T23:59",
        }
        own = {
            **common,
            "username": "ayu-a",
            "floor": "lt-a",
            "desk": "meja-a-2",
            "code": AGENCY,
            "agency": B_AGENCY,  # the agency A's floor is opened to, and taken back from
            **ids["ayu-a"],
        }
        other = {
            **common,
            "username": "bambang-b",
            "floor": "lt-b",
            "desk": "meja-b-2",
            "code": B_AGENCY,
            "agency": AGENCY,
            **ids["bambang-b"],
        }
        yield Tower(p, day, own, other)
    finally:
        p.stop()


def _query(path: str, method: str, things: dict[str, str]) -> dict[str, str]:
    """Every query parameter a route may want, filled with the side's things."""
    return {
        "building": things["building"],
        "floor": things["floor"],
        "start": things["start"],
        "end": things["end"],
        "day": things["day"],
        "year": things["day"][:4],
        "month": things["day"][:7],
        "key": "area" if path == "/api/v1/energy/split" else "x",
        "stream": "presence",
        "field": "occupied",
        "every": "1h",
        "reason": REASON,
        **({"by": "floor"} if path.startswith("/api/v1/reports") else {}),
        **({"agency": things["code"]} if path == "/api/v1/plans/attendance" else {}),
        # The forecast's accuracy is asked for whole days.
        **(
            {"start": things["day"], "end": things["day"]}
            if path == "/api/v1/plans/forecast/accuracy"
            else {}
        ),
        **({"user": things["username"]} if (method, path) == ("GET", "/api/v1/bookings") else {}),
    }


def _body(method: str, path: str, things: dict[str, str], role: str) -> dict[str, Any]:
    """A valid body for the writes an agency's roles are admitted to; else an empty one."""
    if (method, path) == ("POST", "/api/v1/users"):
        return {
            "username": f"baru-{role.replace('_', '-')}-{things['code']}",
            "display_name": "Pegawai Baru",
            "password": PEOPLE,
            "agency": things["code"],
        }
    if (method, path) == ("PATCH", "/api/v1/users/{username}"):
        return {"display_name": "Nama Diubah"}
    if (method, path) == ("POST", "/api/v1/agencies/{code}/units"):
        return {"name": f"Biro Uji {role}"}
    if (method, path) == ("POST", "/api/v1/closed-days"):
        return {"day": things["day"], "reason": "Cuti instansi uji", "agency": things["code"]}
    if (method, path) == ("PUT", "/api/v1/agencies/{code}/booking-policy"):
        return {"window_days": 7}
    if (method, path) == ("PUT", "/api/v1/agencies/{code}"):
        return {"name": f"Instansi {things['code']}"}
    if (method, path) == ("POST", "/api/v1/buildings/{building}/floors/{floor}/openings"):
        return {"agency": things["agency"], "days": [things["day"]]}
    if path == "/api/v1/privacy/requests/{request_id}/decision":
        return {"carry_out": False, "answer": "ditolak dalam uji matriks otorisasi"}
    if (method, path) == ("POST", "/api/v1/bookings"):
        start, end = f"{things['day']}T13:00", f"{things['day']}T15:00"
        return {"building": TOWER, "desk": things["desk"], "start": start, "end": end}
    return {}


def _fill(path: str, things: dict[str, str]) -> str:
    names = {
        "building_id": things["building"],
        "floor_id": things["floor"],
        "username": things["username"],
        "booking_id": things["booking_id"],
        "request_id": things["request_id"],
        "device_id": "node-x",
        "gateway_id": "gw-x",
        "kiosk_id": "1",
        "cmd_id": "1",
        **things,
    }
    for name, value in names.items():
        path = path.replace("{" + name + "}", value)
    return path


def _routes() -> list[tuple[str, str, tuple[str, ...] | None]]:
    app = create_app(ServerSettings(data_dir=Path("/nonexistent")))
    found = []
    for route in api_routes(app.routes):
        if not route.path.startswith("/api/") or route.path in STREAMS:
            continue
        roles, stack = None, list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            roles = getattr(dep.call, "allowed_roles", roles)
            stack.extend(dep.dependencies)
        for method in sorted(route.methods):
            found.append((method, route.path, roles))
    return found


def _call(
    tower: Tower, method: str, path: str, role: str, things: dict[str, str]
) -> httpx.Response:
    body = _body(method, path, things, role) if method in ("POST", "PUT", "PATCH") else None
    return tower.platform.api(
        method,
        _fill(path, things),
        role,
        params=_query(path, method, things),
        json=body,
        headers={"Accept-Language": "id"},
    )


def test_every_route_keeps_each_role_to_its_own_agency(tower: Tower) -> None:
    routes = _routes()
    assert len(routes) >= 80, "the app's routes were not found"
    violations: list[str] = []
    served_own = admitted = 0
    for method, path, roles in routes:
        if roles is None:
            continue  # public, the gateway's, or the caller's own account (tested apart)
        for role in ROLES:
            where = f"{method} {path} as {role}"
            if role not in roles:
                got = _call(tower, method, path, role, tower.other)
                if got.status_code not in (401, 403):
                    violations.append(f"{where}: {got.status_code}, not refused")
                continue
            if role not in AGENCY_ROLES:
                continue  # the whole building's or platform's roles reach every agency
            got = _call(tower, method, path, role, tower.other)
            if got.status_code >= 500:
                violations.append(f"{where} about B: {got.status_code}")
            if method != "GET" and got.is_success and roles != EVERYONE:
                violations.append(f"{where} changed B's: {got.status_code}")
            public = tuple(roles) == EVERYONE
            marks = B_PEOPLE + (PUBLIC_PLACES.get((method, path), ()) if public else B_PLACES)
            shown = [m for m in marks if got.is_success and m in got.text]
            if shown:
                violations.append(f"{where} showed B's {shown}")
            if not public:
                admitted += 1
                mine = _call(tower, method, path, role, tower.own)
                if mine.is_success:
                    served_own += 1
                else:
                    violations.append(f"{where} about A: {mine.status_code} {mine.text[:120]}")
    assert violations == []
    # The agency's roles did their work: not a matrix of refusals.
    assert served_own == admitted >= 13


def test_an_agencys_admin_sees_and_changes_its_own_people_only(tower: Tower) -> None:
    p = tower.platform
    listed = p.api("GET", "/api/v1/users", "agency_admin")
    names = {u["username"] for u in listed.json()}
    assert "ayu-a" in names and "bambang-b" not in names and "admin" not in names
    assert {u["agency"] for u in listed.json()} == {AGENCY}
    asked_b = p.api("GET", "/api/v1/users", "agency_admin", params={"agency": B_AGENCY})
    assert asked_b.json() == [] and asked_b.headers["X-Total-Count"] == "0"
    # A's admin gives A's own roles in A, never the platform's nor another agency's people.
    for made in (
        {"role": "admin", "agency": None},
        {"role": "facility_manager", "agency": None},
        {"role": "employee", "agency": B_AGENCY},
    ):
        new = {"username": "calon", "display_name": "C", "password": PEOPLE, **made}
        got = p.api("POST", "/api/v1/users", "agency_admin", json=new)
        assert got.status_code in (403, 409), got.text
    moved = p.api("PATCH", "/api/v1/users/ayu-a", "agency_admin", json={"agency": B_AGENCY})
    assert moved.status_code == 403 and AGENCY in moved.json()["detail"]
    hidden = p.api("PATCH", "/api/v1/users/bambang-b", "agency_admin", json={"active": False})
    assert hidden.status_code == 404
    # The audit log: A's people's and A's entries; the read of B's person's data is not there.
    log = p.api("GET", "/api/v1/audit", "agency_admin", params={"limit": 1000}).json()
    assert log and not any("bambang-b" in str(e) for e in log)
    assert any(e["target_id"] == "ayu-a" for e in log)
    whole = p.api("GET", "/api/v1/audit", params={"action": "personal.read"}).json()
    assert any(e["target_id"] == "bambang-b" for e in whole)  # the platform's admin sees it


def test_an_agencys_manager_reports_its_floors_and_the_operator_splits_by_agency(
    tower: Tower,
) -> None:
    p, day = tower.platform, tower.day
    span = {"building": TOWER, "start": f"{day}T00:00", "end": f"{day}T23:59", "by": "floor"}
    mine = p.api("GET", "/api/v1/reports/utilization", "agency_manager", params=span).json()
    assert [r["group"] for r in mine] == ["lt-a"]
    every = p.api("GET", "/api/v1/reports/utilization", "facility_manager", params=span).json()
    assert [r["group"] for r in every] == ["lt-a", "lt-b", "lt-s"]
    occ = p.api(
        "GET", "/api/v1/reports/occupancy", "facility_manager", params={**span, "by": "agency"}
    ).json()
    assert {g["group"] for g in occ["groups"]} == {AGENCY, B_AGENCY, "shared"}
    assert "bambang" not in str(occ) and "ayu" not in str(occ)
    ours = p.api("GET", "/api/v1/reports/occupancy", "agency_manager", params=span).json()
    assert [g["group"] for g in ours["groups"]] == ["lt-a"]
    listed = p.api(
        "GET", "/api/v1/bookings", "agency_manager", params={"building": TOWER, "day": str(day)}
    ).json()
    assert [b["space"] for b in listed] == ["meja-a-1"] and listed[0]["user"] is None
    # The shared energy bill: both agencies for the operator, the CSV as the JSON says;
    # an agency's manager gets their agency's line and the building's total.
    month = {"building": TOWER, "month": str(day)[:7], "key": "area"}
    bill = p.api("GET", "/api/v1/energy/split", "facility_manager", params=month).json()
    assert [r["agency"] for r in bill["rows"]] == [AGENCY, B_AGENCY]
    sheet = p.api(
        "GET", "/api/v1/energy/split", "facility_manager", params={**month, "format": "csv"}
    )
    lines = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [(r["agency"], float(r["kwh"])) for r in lines] == [
        *((r["agency"], r["kwh"]) for r in bill["rows"]),
        ("*", bill["total_kwh"]),
    ]
    ours = p.api("GET", "/api/v1/energy/split", "agency_manager", params=month).json()
    assert [r["agency"] for r in ours["rows"]] == [AGENCY]
    assert ours["total_kwh"] == bill["total_kwh"]
    # Energy and comfort are the building operator's, not an agency's.
    energy = p.api("GET", "/api/v1/energy/summary", "agency_manager", params=span)
    assert energy.status_code == 403
