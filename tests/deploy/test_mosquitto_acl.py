"""The shipped broker config on a real Mosquitto: per-device passwords and topic ACLs."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.harness.services import Service, find, free_port, running, wait_for

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {
    "desk-a": "pw-a-0123456789",
    "desk-b": "pw-b-0123456789",
    "gw-building": "pw-gw-0123456789",
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    d = tmp_path_factory.mktemp("acl-broker")
    passwd = d / "passwd"
    for user, pw in PASSWORDS.items():
        flags = ["-b"] if passwd.exists() else ["-c", "-b"]
        subprocess.run(["mosquitto_passwd", *flags, str(passwd), user, pw], check=True)
    port = free_port()
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    conf = conf.replace("/mosquitto/config/", f"{d}/").replace("/mosquitto/data/", f"{d}/")
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    conf = conf.replace("log_dest stdout", f"log_dest file {d}/broker.log")
    user = "root" if os.geteuid() == 0 else None
    (d / "mosquitto.conf").write_text((f"user {user}\n" if user else "") + conf)
    (d / "acl").write_text((ROOT / "deploy/mosquitto/acl").read_text())
    svc = Service("mosquitto", port, d, [find("mosquitto"), "-c", str(d / "mosquitto.conf")])
    svc.start()
    with running(svc):
        yield svc


class Client:
    def __init__(self, port: int, user: str | None, password: str | None = None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.refused: object = None
        self.c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=user or "anonymous", protocol=paho.MQTTv311
        )
        if user:
            self.c.username_pw_set(user, password if password is not None else PASSWORDS[user])
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.c.on_connect = self._on_connect
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _on_connect(self, _c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        if getattr(rc, "is_failure", False):
            self.refused = rc
        else:
            self.connected.set()

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the broker's SUBACK."""
        acked = threading.Event()
        self.c.on_subscribe = lambda *_: acked.set()
        result, _ = self.c.subscribe(topic, 1)
        assert result == 0
        assert acked.wait(5), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()
        self.c._reset_sockets()


@pytest.fixture
def clients(broker: Service) -> Iterator[dict[str, Client]]:
    made = {u: Client(broker.port, u) for u in PASSWORDS}
    for c in made.values():
        assert c.connected.wait(5), c.refused
    yield made
    for c in made.values():
        c.close()


def test_device_publishes_only_as_itself(clients: dict[str, Client]) -> None:
    gw = clients["gw-building"]
    gw.subscribe("ikn/v1/dev/+/up/#")
    gw.subscribe("ikn/v1/dev/+/status")
    # Mosquitto drops a denied publish (and may drop the connection with it).
    forger = clients["desk-a"]
    forger.c.publish("ikn/v1/dev/desk-b/up/presence", b"forged", qos=1)
    forger.c.publish("ikn/v1/dev/desk-b/status", b"forged", qos=1)
    a = Client(gw.c._port, "desk-a")
    try:
        assert a.connected.wait(5)
        a.publish("ikn/v1/dev/desk-a/up/presence", b"mine")
        a.publish("ikn/v1/dev/desk-a/status", b"online")
        wait_for(lambda: len(gw.messages) >= 2, "gateway did not receive desk-a's messages")
    finally:
        a.close()
    assert sorted(gw.messages) == [
        ("ikn/v1/dev/desk-a/status", b"online"),
        ("ikn/v1/dev/desk-a/up/presence", b"mine"),
    ]


def test_device_reads_only_its_own_commands(clients: dict[str, Client]) -> None:
    a, b, gw = clients["desk-a"], clients["desk-b"], clients["gw-building"]
    a.subscribe("ikn/v1/dev/desk-b/down/#")  # granted by the broker, but filtered by the ACL
    a.subscribe("ikn/v1/dev/desk-a/down/#")
    b.subscribe("ikn/v1/dev/desk-b/down/#")
    a.subscribe("ikn/v1/dev/+/up/#")  # a device may not listen to others' readings
    gw.publish("ikn/v1/dev/desk-b/down/cmd", b"for b")
    gw.publish("ikn/v1/dev/desk-a/down/cmd", b"for a")
    b.publish("ikn/v1/dev/desk-b/up/env", b"b reading")
    wait_for(lambda: b.messages and a.messages, "commands not delivered")
    assert b.messages == [("ikn/v1/dev/desk-b/down/cmd", b"for b")]
    assert a.messages == [("ikn/v1/dev/desk-a/down/cmd", b"for a")]


@pytest.mark.parametrize(
    ("user", "password"), [("desk-a", "wrong"), (None, None), ("desk-zzz", "pw-a-0123456789")]
)
def test_wrong_unknown_or_missing_credentials_are_refused(
    broker: Service, user: str | None, password: str | None
) -> None:
    c = Client(broker.port, user, password)
    try:
        wait_for(lambda: c.refused is not None, "connection was not refused")
        assert not c.connected.is_set()
        assert "authorized" in str(c.refused).lower()
    finally:
        c.close()
