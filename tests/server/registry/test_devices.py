"""The device registry API on SQLite and PostgreSQL: lifecycle, roles, snapshot, audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.credentials import verify
from harness.layouts import one_floor
from harness.platform import Platform
from server.db import Database
from server.exceptions import ConflictError, RegistryError
from server.registry.models import Device
from server.registry.service import add_gateway, import_doc, parse_doc

BUILDING = "kantor-a"
LAYOUT = one_floor(BUILDING, "l1", ["l1-m1"], rooms=["l1-r1"])


@pytest.fixture
def platform(tmp_path: Path, database_url: str) -> Iterator[Platform]:
    p = Platform(tmp_path, {"SMARTOFFICE_DATABASE_URL": database_url}, gateway_id="gw-a")
    p.register([], building=BUILDING)
    p.start_server()
    assert p.api("PUT", f"/api/v1/buildings/{BUILDING}/layout", json=LAYOUT).status_code == 200
    yield p
    p.stop()


def test_registration_shows_the_password_once_and_keeps_a_hash(platform: Platform) -> None:
    resp = platform.api(
        "POST", "/api/v1/devices", "installer", json={"kind": "desk", "id": "desk-m1"}
    )
    assert resp.status_code == 201
    body = resp.json()
    assert body["mqtt_username"] == "desk-m1" and len(body["mqtt_password"]) >= 24
    assert body["device"]["state"] == "new" and body["device"]["space"] is None
    shown = platform.api("GET", "/api/v1/devices/desk-m1", "installer")
    assert body["mqtt_password"] not in shown.text and "hash" not in shown.text
    db = Database(platform.database_url)
    with db.session() as s:
        row = s.get(Device, "desk-m1")
        assert row is not None and row.mqtt_hash is not None
        assert row.mqtt_hash.startswith("$7$") and verify(body["mqtt_password"], row.mqtt_hash)
    db.close()
    again = platform.api(
        "POST", "/api/v1/devices", "installer", json={"kind": "desk", "id": "desk-m1"}
    )
    assert again.status_code == 409 and "already registered" in again.json()["detail"]


def test_assignment_binds_a_space_of_the_right_kind(platform: Platform) -> None:
    dev = platform.api("POST", "/api/v1/devices", "installer", json={"kind": "room"}).json()
    device_id = dev["device"]["id"]
    assert device_id.startswith("room-")
    put = lambda where: platform.api(  # noqa: E731
        "PUT", f"/api/v1/devices/{device_id}/assignment", "installer", json=where
    )
    wrong_kind = put({"building": BUILDING, "desk": "l1-m1"})
    assert wrong_kind.status_code == 400
    assert wrong_kind.json()["detail"] == "a room node serves a room, not a desk"
    missing = put({"building": BUILDING, "room": "l9-r9"})
    assert missing.status_code == 404 and "no room 'l9-r9'" in missing.json()["detail"]
    two = put({"building": BUILDING, "room": "l1-r1", "desk": "l1-m1"})
    assert two.status_code == 422 and "exactly one" in two.text
    ok = put({"building": BUILDING, "room": "l1-r1"})
    assert ok.status_code == 200
    # The building has one gateway, so the device is served by it.
    assert ok.json()["gateway"] == "gw-a"
    assert ok.json()["space"] == {
        "building": BUILDING,
        "floor": "l1",
        "zone": "l1-a",
        "space": "l1-r1",
        "space_kind": "room",
    }
    snap = httpx.get(
        f"{platform.server.url}/api/v1/gateway/registry",  # type: ignore[union-attr]
        headers={"Authorization": f"Bearer {platform.gateway_token}"},
    ).json()
    entry = next(d for d in snap["devices"] if d["device_id"] == device_id)
    assert entry["space"]["space"] == "l1-r1" and entry["mqtt_hash"].startswith("$7$")


def test_a_second_node_on_a_desk_is_bound_with_a_warning(platform: Platform) -> None:
    where = {"building": BUILDING, "desk": "l1-m1"}
    ids = []
    for _ in range(2):
        made = platform.api("POST", "/api/v1/devices", "installer", json={"kind": "desk"})
        ids.append(made.json()["device"]["id"])
    first = platform.api("PUT", f"/api/v1/devices/{ids[0]}/assignment", "installer", json=where)
    assert first.status_code == 200 and first.json()["warnings"] == []
    second = platform.api("PUT", f"/api/v1/devices/{ids[1]}/assignment", "installer", json=where)
    assert second.status_code == 200
    assert second.json()["warnings"] == [
        f"desk l1-m1 already has node {ids[0]}: both now report for it; decommission or move "
        "the one that does not belong"
    ]
    # Once the first is gone, the desk has one node again: no warning.
    assert platform.api("DELETE", f"/api/v1/devices/{ids[0]}", "installer").is_success
    again = platform.api("PUT", f"/api/v1/devices/{ids[1]}/assignment", "installer", json=where)
    assert again.json()["warnings"] == []


def test_decommissioned_devices_leave_the_snapshot_and_may_come_back(platform: Platform) -> None:
    platform.api("POST", "/api/v1/devices", "installer", json={"kind": "energy", "id": "em-l1"})
    zone = {"building": BUILDING, "zone": "l1-a"}
    assert (
        platform.api("PUT", "/api/v1/devices/em-l1/assignment", "installer", json=zone).json()[
            "space"
        ]["space_kind"]
        == "zone"
    )
    gone = platform.api("DELETE", "/api/v1/devices/em-l1", "installer")
    assert gone.json()["state"] == "decommissioned"
    assert platform.api("GET", "/api/v1/devices", "installer").json() == []
    listed = platform.api("GET", "/api/v1/devices", "installer", params={"state": "decommissioned"})
    assert [d["id"] for d in listed.json()] == ["em-l1"]
    snap = httpx.get(
        f"{platform.server.url}/api/v1/gateway/registry",  # type: ignore[union-attr]
        headers={"Authorization": f"Bearer {platform.gateway_token}"},
    ).json()
    assert snap["devices"] == []
    cmd = platform.api(
        "POST", "/api/v1/devices/em-l1/commands", "installer", json={"cmd": "reboot"}
    )
    assert cmd.status_code == 409 and "decommissioned" in cmd.json()["detail"]
    back = platform.api(
        "POST", "/api/v1/devices", "installer", json={"kind": "energy", "id": "em-l1"}
    )
    assert back.status_code == 201 and back.json()["device"]["space"] is None
    log = platform.api("GET", "/api/v1/audit", params={"target_id": "em-l1"}).json()
    assert [e["action"] for e in log] == [
        "device.register",
        "device.decommission",
        "device.assign",
        "device.register",
    ]
    assert {e["actor"] for e in log} == {"installer"}


ROLE_CASES = [
    ("POST", "/api/v1/devices", {"kind": "desk"}, {"installer", "admin"}),
    ("GET", "/api/v1/devices", None, {"installer", "facility_manager", "admin"}),
    ("POST", "/api/v1/gateways", {"id": "gw-new"}, {"admin"}),
    ("GET", "/api/v1/audit", None, {"admin"}),
    (
        "GET",
        f"/api/v1/buildings/{BUILDING}/floors/l1",
        None,
        {"employee", "installer", "facility_manager", "admin"},
    ),
    ("PUT", f"/api/v1/buildings/{BUILDING}/layout", LAYOUT, {"facility_manager", "admin"}),
]


def test_roles(platform: Platform) -> None:
    for method, path, body, allowed in ROLE_CASES:
        for role in ("employee", "installer", "facility_manager", "admin"):
            kwargs: dict[str, Any] = {"json": body} if body is not None else {}
            if path == "/api/v1/gateways":
                kwargs = {"json": {"id": f"gw-{role.replace('_', '-')}"}}
            status = platform.api(method, path, role, **kwargs).status_code
            assert (status < 400) == (role in allowed), f"{role} {method} {path}: {status}"


def test_gateways_get_a_token_once_and_can_be_revoked(platform: Platform) -> None:
    made = platform.api("POST", "/api/v1/gateways", json={"id": "gw-b", "building": BUILDING})
    token = made.json()["token"]
    pull = lambda: httpx.get(  # noqa: E731
        f"{platform.server.url}/api/v1/gateway/registry",  # type: ignore[union-attr]
        headers={"Authorization": f"Bearer {token}"},
    )
    assert pull().status_code == 200
    listed = {g["id"]: g for g in platform.api("GET", "/api/v1/gateways", "installer").json()}
    assert listed["gw-b"]["last_contact_ms"] is not None and token not in json.dumps(listed)
    # Two gateways now serve the building: a device must name its own.
    dev = platform.api("POST", "/api/v1/devices", "installer", json={"kind": "desk"}).json()
    put = platform.api(
        "PUT",
        f"/api/v1/devices/{dev['device']['id']}/assignment",
        "installer",
        json={"building": BUILDING, "desk": "l1-m1"},
    )
    assert put.status_code == 400 and "has 2 gateways (gw-a, gw-b)" in put.json()["detail"]
    assert platform.api("DELETE", "/api/v1/gateways/gw-b").status_code == 204
    assert pull().status_code == 401


def test_an_installer_can_be_limited_to_their_buildings(platform: Platform) -> None:
    other = "kantor-b"
    layout = one_floor(other, "l1", ["b-m1"])
    assert platform.api("PUT", f"/api/v1/buildings/{other}/layout", json=layout).status_code == 200
    platform.api("POST", "/api/v1/gateways", json={"id": "gw-b", "building": other})
    unknown = platform.api(
        "POST",
        "/api/v1/users",
        json={
            "username": "rina",
            "password": "p" * 12,
            "display_name": "Rina",
            "role": "installer",
            "buildings": [BUILDING, "kantor-x"],
        },
    )
    assert unknown.status_code == 404 and "no building 'kantor-x'" in unknown.json()["detail"]
    made = platform.api(
        "POST",
        "/api/v1/users",
        json={
            "username": "rina",
            "password": "p" * 12,
            "display_name": "Rina",
            "role": "installer",
            "buildings": [BUILDING],
        },
    )
    assert made.status_code == 201 and made.json()["buildings"] == [BUILDING]
    login = {"username": "rina", "password": "p" * 12}
    url = f"{platform.server.url}/api/v1/auth/token"  # type: ignore[union-attr]
    token = httpx.post(url, data=login).json()["access_token"]

    def rina(method: str, path: str, **kw: Any) -> httpx.Response:
        return platform.api(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)

    # Theirs: a node on a desk of their building.
    assert rina("POST", "/api/v1/devices", json={"kind": "desk", "id": "desk-a"}).status_code == 201
    put = rina(
        "PUT", "/api/v1/devices/desk-a/assignment", json={"building": BUILDING, "desk": "l1-m1"}
    )
    assert put.status_code == 200
    # Not theirs: another building's gateway, desk, or a device an admin placed there.
    far = rina("POST", "/api/v1/devices", json={"kind": "desk", "gateway": "gw-b"})
    assert far.status_code == 403
    assert far.json()["detail"] == "gateway 'gw-b' is in building 'kantor-b'; you work in kantor-a"
    rina("POST", "/api/v1/devices", json={"kind": "desk", "id": "desk-loose"})
    move = rina(
        "PUT", "/api/v1/devices/desk-loose/assignment", json={"building": other, "desk": "b-m1"}
    )
    assert move.status_code == 403
    platform.api("POST", "/api/v1/devices", json={"kind": "desk", "id": "desk-b"})
    placed = {"building": other, "desk": "b-m1"}
    assert platform.api("PUT", "/api/v1/devices/desk-b/assignment", json=placed).status_code == 200
    for method, path, body in [
        ("GET", "/api/v1/devices/desk-b", None),
        ("DELETE", "/api/v1/devices/desk-b/assignment", None),
        ("POST", "/api/v1/devices/desk-b/password", None),
        ("POST", "/api/v1/devices/desk-b/password/check", {"password": "x" * 24}),
        ("POST", "/api/v1/devices/desk-b/commands", {"cmd": "identify"}),
        ("DELETE", "/api/v1/devices/desk-b", None),
        ("POST", "/api/v1/devices", {"kind": "desk", "id": "desk-b"}),
    ]:
        resp = rina(method, path, **({"json": body} if body else {}))
        assert resp.status_code == 403, f"{method} {path}: {resp.status_code}"
    listed = sorted(d["id"] for d in rina("GET", "/api/v1/devices").json())
    assert listed == ["desk-a", "desk-loose"]  # theirs, and one not placed yet
    # An admin lifts the limit (null is every building); other roles were never limited.
    lifted = platform.api("PATCH", "/api/v1/users/rina", json={"buildings": None})
    assert lifted.status_code == 200 and lifted.json()["buildings"] is None
    assert rina("GET", "/api/v1/devices/desk-b").status_code == 200
    log = platform.api("GET", "/api/v1/audit", params={"target_id": "rina"}).json()
    assert sorted(e["action"] for e in log) == ["user.create", "user.update"]


def test_device_and_gateway_ids_are_one_namespace_in_imports(db: Database) -> None:
    """Each is a broker login; the same name for both would give one login two lines."""

    def desk(device_id: str) -> Any:
        return parse_doc({"devices": [{"id": device_id, "kind": "desk", "gateway": "gw-ns"}]})

    with db.session() as s:
        add_gateway(s, gateway_id="gw-ns")
        import_doc(s, desk("desk-ns"))
    clash = "devices.0.id: 'gw-ns' is a gateway's id"
    with pytest.raises(RegistryError, match=clash), db.session() as s:
        import_doc(s, desk("gw-ns"))
    clash = "gateways.0: 'desk-ns' is also a device's id"
    with pytest.raises(RegistryError, match=clash), db.session() as s:
        import_doc(s, parse_doc({"gateways": ["desk-ns"]}))
    with pytest.raises(ConflictError, match="is a device's id"), db.session() as s:
        add_gateway(s, gateway_id="desk-ns")
