"""Device passwords hashed in Mosquitto's format work on a real Mosquitto."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contracts.credentials import mosquitto_hash, new_password, verify
from harness.services import Service, find, free_port, running


def test_our_hash_equals_mosquitto_passwd_for_the_same_salt(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "desk-a", "s3cret-pw"], check=True)
    theirs = passwd.read_text().strip().split(":", 1)[1]
    salt = base64.b64decode(theirs.split("$")[3])
    assert mosquitto_hash("s3cret-pw", salt=salt) == theirs
    assert verify("s3cret-pw", theirs)
    assert not verify("wrong", theirs)
    assert not verify("s3cret-pw", "$6$garbage")


def connects(port: int, user: str, password: str) -> bool:
    result: list[bool] = []
    done = threading.Event()
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=paho.MQTTv311)
    c.username_pw_set(user, password)
    c.on_connect = lambda _c, _u, _f, rc, _p: (result.append(not rc.is_failure), done.set())
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        assert done.wait(5)
    finally:
        c.disconnect()
        c.loop_stop()
        c._reset_sockets()
    return result[0]


@pytest.fixture
def broker_with(tmp_path: Path) -> object:
    def start(lines: dict[str, str]) -> Service:
        (tmp_path / "passwd").write_text("".join(f"{u}:{h}\n" for u, h in lines.items()))
        port = free_port()
        user = "user root\n" if os.geteuid() == 0 else ""
        (tmp_path / "m.conf").write_text(
            f"{user}listener {port} 127.0.0.1\nallow_anonymous false\n"
            "use_username_as_clientid true\n"
            f"password_file {tmp_path / 'passwd'}\n"
        )
        svc = Service(
            "mosquitto", port, tmp_path, [find("mosquitto"), "-c", str(tmp_path / "m.conf")]
        )
        svc.start()
        return svc

    return start


def test_mosquitto_accepts_our_hash_and_only_that_password(broker_with: object) -> None:
    password = new_password()
    svc = broker_with({"desk-f3-001": mosquitto_hash(password)})  # type: ignore[operator]
    with running(svc):
        assert connects(svc.port, "desk-f3-001", password)
        assert not connects(svc.port, "desk-f3-001", password + "x")
        assert not connects(svc.port, "desk-f3-002", password)
