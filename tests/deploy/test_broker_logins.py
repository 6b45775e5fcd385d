"""Per-device logins end to end, on a real Mosquitto run the way docker-compose runs it.

The server registers devices and keeps only their password hashes; the gateway writes
Mosquitto's password and ACL files from its registry snapshot; deploy/mosquitto/run.sh
makes Mosquitto reload them. A device may publish its own readings, not another's; read
its own commands, not another's; and cannot log in with a wrong or revoked password.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contracts.credentials import mosquitto_hash
from contracts.payloads import ZoneCommand
from harness.layouts import one_floor
from harness.mqtt_client import DeviceClient
from harness.platform import Platform, status_payload
from harness.services import Service, broker_certs, find, free_port, running, wait_for

ROOT = Path(__file__).resolve().parents[2]
BUILDING = "kantor-uji"
LAYOUT = one_floor(BUILDING, "l1", ["l1-m1", "l1-m2", "l1-m3"])
BMS_PASSWORD = "building-management-0123"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[Service, Path]]:
    """Mosquitto under run.sh with the shipped config; the gateway writes into ``auth``."""
    auth, live = tmp_path / "auth", tmp_path / "live"
    auth.mkdir()
    port = free_port()
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    conf = conf.replace("/mosquitto/live/", f"{live}/").replace("/mosquitto/data/", f"{tmp_path}/")
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    # The devices' TLS listener, with certificates from a CA made here.
    certs = tmp_path / "certs"
    broker_certs(certs)
    conf = conf.replace("listener 8883", f"listener {free_port()} 127.0.0.1")
    conf = conf.replace("/mosquitto/certs/", f"{certs}/")
    conf = conf.replace("log_dest stdout", f"log_dest file {tmp_path}/broker.log")
    user = "root" if os.geteuid() == 0 else None
    (tmp_path / "mosquitto.conf").write_text((f"user {user}\n" if user else "") + conf)
    env = {
        "AUTH_DIR": str(auth),
        "LIVE_DIR": str(live),
        "CONF": str(tmp_path / "mosquitto.conf"),
        "POLL_S": "0.3",
        "OWNER": user or "",
        "PATH": f"{Path(find('mosquitto')).parent}:{os.environ['PATH']}",
    }
    svc = Service(
        "mosquitto",
        port,
        tmp_path,
        [shutil.which("sh") or "/bin/sh", str(ROOT / "deploy/mosquitto/run.sh")],
        env=env,
    )
    svc.start()
    with running(svc):
        yield svc, auth


@pytest.fixture
def platform(tmp_path: Path, broker: tuple[Service, Path]) -> Iterator[Platform]:
    svc, auth = broker
    # Zone decisions are sent as commands, evaluated every second.
    env = {"SMARTOFFICE_ENERGY_ACTIONS": "command", "SMARTOFFICE_ENERGY_SWEEP_S": "1"}
    p = Platform(tmp_path / "platform", env, gateway_id="gw-uji")
    p.register([], building=BUILDING)
    p.start_server()
    assert (
        p.api(
            "PUT", f"/api/v1/buildings/{BUILDING}/layout", "facility_manager", json=LAYOUT
        ).status_code
        == 200
    )
    p.start_gateway(
        svc.port,
        SMARTOFFICE_EDGE_MQTT_PASSWORD="gateway-password-0123",
        SMARTOFFICE_EDGE_BROKER_PASSWD_FILE=str(auth / "passwd"),
        SMARTOFFICE_EDGE_BROKER_ACL_FILE=str(auth / "acl"),
        SMARTOFFICE_EDGE_REGISTRY_REFRESH_S="0.5",
        SMARTOFFICE_EDGE_BMS_USERNAME="bms.uji",
        SMARTOFFICE_EDGE_BMS_PASSWORD_HASH=mosquitto_hash(BMS_PASSWORD),
    )
    yield p
    p.stop()


def register(p: Platform, desk: str) -> tuple[str, str]:
    resp = p.api("POST", "/api/v1/devices", "installer", json={"kind": "desk"})
    assert resp.status_code == 201
    body = resp.json()
    device = body["device"]["id"]
    where = {"building": BUILDING, "desk": desk}
    assert (
        p.api("PUT", f"/api/v1/devices/{device}/assignment", "installer", json=where).status_code
        == 200
    )
    return device, body["mqtt_password"]


def connect(port: int, user: str, password: str) -> DeviceClient:
    """Log in, waiting while the gateway's next registry pull reaches the broker."""
    deadline = time.monotonic() + 20
    while True:
        c = DeviceClient(port, user, password)
        wait_for(lambda c=c: c.connected.is_set() or c.refused is not None, "no CONNACK")
        if c.connected.is_set() or time.monotonic() > deadline:
            return c
        c.close()
        time.sleep(0.3)


def refused(port: int, user: str | None, password: str | None) -> str:
    c = DeviceClient(port, user, password)
    try:
        wait_for(lambda: c.refused is not None or c.connected.is_set(), "no CONNACK")
        assert not c.connected.is_set(), f"{user} was let in"
        return str(c.refused)
    finally:
        c.close()


def presence(seq: int) -> str:
    return json.dumps({"v": 1, "boot": 1, "seq": seq, "occupied": True, "source": "pir"})


def device(p: Platform, device_id: str) -> dict[str, Any]:
    return dict(p.api("GET", f"/api/v1/devices/{device_id}", "installer").json())


def test_devices_publish_and_read_only_their_own_topics(
    platform: Platform, broker: tuple[Service, Path]
) -> None:
    svc, auth = broker
    a_id, a_pw = register(platform, "l1-m1")
    b_id, b_pw = register(platform, "l1-m2")
    a = connect(svc.port, a_id, a_pw)
    b = connect(svc.port, b_id, b_pw)
    try:
        assert a.connected.is_set() and b.connected.is_set()
        assert (auth / "passwd").stat().st_mode & 0o077 == 0o040  # group-readable, no more
        a.subscribe(f"ikn/v1/dev/{b_id}/down/#")  # granted by the broker, filtered by the ACL
        a.subscribe(f"ikn/v1/dev/{a_id}/down/#")
        b.subscribe(f"ikn/v1/dev/{b_id}/down/#")
        a.publish(f"ikn/v1/dev/{a_id}/status", status_payload("desk"), retain=True)
        a.publish(f"ikn/v1/dev/{a_id}/up/presence", presence(0))
        # Forged as b: the broker drops it (and may drop a's connection with it).
        a.publish(f"ikn/v1/dev/{b_id}/up/presence", presence(7))
        wait_for(lambda: device(platform, a_id)["last_reading_ms"], "a's reading never arrived")
        assert device(platform, a_id)["state"] == "online"
        # A command for b goes server -> gateway -> b only; b's ack comes back the same way.
        cmd = platform.api(
            "POST",
            f"/api/v1/devices/{b_id}/commands",
            "installer",
            params={"wait": 0},
            json={"cmd": "identify", "args": {"seconds": 5}},
        ).json()
        wait_for(lambda: b.messages, "b got no command")
        sent = json.loads(b.messages[0][1])
        assert b.messages[0][0] == f"ikn/v1/dev/{b_id}/down/cmd"
        assert sent == {"v": 1, "cmd_id": cmd["cmd_id"], "cmd": "identify", "args": {"seconds": 5}}
        ack = {"v": 1, "boot": 1, "seq": 0, "cmd_id": cmd["cmd_id"], "ok": True}
        b.publish(f"ikn/v1/dev/{b_id}/up/ack", json.dumps(ack))
        state = lambda: platform.api(  # noqa: E731
            "GET", f"/api/v1/devices/{b_id}/commands/{cmd['cmd_id']}", "installer"
        ).json()
        wait_for(lambda: state()["state"] == "acked", "the ack never reached the server")
        assert state()["sent_ms"] is not None
        assert not [t for t, _ in a.messages if b_id in t], "a read b's command"
        forged = platform.api(
            "GET",
            "/api/v1/readings/latest",
            "facility_manager",
            params={"stream": "presence", "field": "occupied", "device": b_id},
        )
        assert forged.status_code == 200 and forged.json() == [], "a published as b"
    finally:
        a.close()
        b.close()


def test_wrong_unknown_and_revoked_logins_are_refused(
    platform: Platform, broker: tuple[Service, Path]
) -> None:
    svc, _ = broker
    d_id, d_pw = register(platform, "l1-m3")
    ok = connect(svc.port, d_id, d_pw)
    assert ok.connected.is_set()
    ok.close()
    assert "not authorized" in refused(svc.port, d_id, d_pw + "x").lower()
    assert "not authorized" in refused(svc.port, "desk-nobody", d_pw).lower()
    assert "not authorized" in refused(svc.port, None, None).lower()
    # A new password replaces the old one at the broker.
    fresh = platform.api("POST", f"/api/v1/devices/{d_id}/password", "installer").json()
    new_pw = fresh["mqtt_password"]
    c = connect(svc.port, d_id, new_pw)
    assert c.connected.is_set()
    c.close()
    assert "not authorized" in refused(svc.port, d_id, d_pw).lower()
    # Decommissioned: the login is gone at the gateway's next pull.
    assert platform.api("DELETE", f"/api/v1/devices/{d_id}", "installer").json()["state"] == (
        "decommissioned"
    )
    wait_for(
        lambda: "not authorized" in refused(svc.port, d_id, new_pw).lower(),
        "a decommissioned device could still log in",
    )


def test_the_bms_login_reads_zone_commands_and_nothing_else(
    platform: Platform, broker: tuple[Service, Path]
) -> None:
    svc, auth = broker
    d_id, d_pw = register(platform, "l1-m1")
    node = connect(svc.port, d_id, d_pw)
    bms = connect(svc.port, "bms.uji", BMS_PASSWORD)
    try:
        assert bms.connected.is_set()
        assert "user bms.uji\ntopic read ikn/v1/zone/+/down/#" in (auth / "acl").read_text()
        bms.subscribe("ikn/v1/zone/+/down/#")
        bms.subscribe("ikn/v1/dev/+/up/#")  # granted by the broker, filtered by the ACL
        # The zone's retained commands, as the server decided them.
        topics = {"ikn/v1/zone/l1-a/down/hvac", "ikn/v1/zone/l1-a/down/lighting"}
        wait_for(lambda: topics <= {t for t, _ in bms.messages}, "no zone commands for the BMS")
        sent = {t: ZoneCommand.model_validate_json(p) for t, p in bms.messages if t in topics}
        current = platform.api(
            "GET", "/api/v1/energy/actions", "facility_manager", params={"building": BUILDING}
        ).json()["current"]
        hvac = next(a for a in current if a["channel"] == "hvac")
        assert sent["ikn/v1/zone/l1-a/down/hvac"].zone == "l1-a"
        assert hvac["published"] and hvac["mode"] in ("off", "setback")  # nobody is there
        # A device's readings are not the BMS's to read; the zone topics are not its to write.
        node.publish(f"ikn/v1/dev/{d_id}/up/presence", presence(0))
        wait_for(lambda: device(platform, d_id)["last_reading_ms"], "the reading never arrived")
        forged = ZoneCommand.model_validate_json(bms.messages[0][1]).model_copy(
            update={"mode": "normal", "reason": "forged"}
        )
        bms.publish("ikn/v1/zone/l1-a/down/hvac", forged.model_dump_json(), retain=True)
        time.sleep(1.0)
        assert not [t for t, _ in bms.messages if "/dev/" in t], "the BMS read a device's topic"
        assert not [p for _, p in bms.messages if b"forged" in p], "the BMS wrote a command"
    finally:
        node.close()
        bms.close()


def test_broker_logins_are_one_namespace_bound_to_their_client_ids(
    platform: Platform, broker: tuple[Service, Path]
) -> None:
    """The review's attack: a device registered under the gateway's id got a second
    `gw-uji` line in the passwd file and its password logged in as the gateway; and any
    login could connect under another's client id and knock it off."""
    svc, auth = broker
    for taken in ("gw-uji",):
        answer = platform.api(
            "POST", "/api/v1/devices", "installer", json={"kind": "desk", "id": taken}
        )
        assert answer.status_code == 409, answer.text
        assert "gateway's id" in answer.json()["detail"]
    a_id, a_pw = register(platform, "l1-m1")
    b_id, b_pw = register(platform, "l1-m2")
    answer = platform.api("POST", "/api/v1/gateways", "admin", json={"id": a_id})
    assert answer.status_code == 409 and "device's id" in answer.json()["detail"]
    users = [line.split(":")[0] for line in (auth / "passwd").read_text().splitlines()]
    assert len(users) == len(set(users)) and "gw-uji" in users

    b = connect(svc.port, b_id, b_pw)
    b.subscribe(f"ikn/v1/dev/{b_id}/down/#")
    b_dropped = threading.Event()
    b.c.on_disconnect = lambda *_: b_dropped.set()
    gateway_log = len(platform.gateway.log_tail(10_000).splitlines())  # type: ignore[union-attr]
    intruders = []
    try:
        for stolen in (b_id, "gw-uji"):
            thief = paho.Client(
                CallbackAPIVersion.VERSION2, client_id=stolen, protocol=paho.MQTTv311
            )
            thief.username_pw_set(a_id, a_pw)
            accepted = threading.Event()
            thief.on_connect = lambda *_, ok=accepted: ok.set()
            thief.connect("127.0.0.1", svc.port)
            thief.loop_start()
            intruders.append(thief)
            wait_for(accepted.is_set, "no CONNACK for the intruder")
        # Still able to work, as itself only: the broker replaced its client id by its login.
        sent = intruders[-1].publish(f"ikn/v1/dev/{a_id}/up/presence", presence(0), qos=1)
        sent.wait_for_publish(5)
        wait_for(lambda: device(platform, a_id)["last_reading_ms"], "a's reading never arrived")
        # Neither b nor the gateway was knocked off by a connection under its client id.
        assert not b_dropped.wait(1.0), "b was disconnected by a client using its id"
        assert b.c.is_connected()
        assert platform.gateway is not None
        later = platform.gateway.log_tail(10_000).splitlines()[gateway_log:]
        assert not [line for line in later if "disconnected from MQTT broker" in line], later
        # And b still gets what is meant for it.
        cmd = platform.api(
            "POST",
            f"/api/v1/devices/{b_id}/commands",
            "installer",
            params={"wait": 0},
            json={"cmd": "identify", "args": {}},
        ).json()
        wait_for(
            lambda: any(cmd["cmd_id"] in p.decode() for _, p in b.messages), "b lost its command"
        )
    finally:
        for thief in intruders:
            thief.disconnect()
            thief.loop_stop()
        b.close()
