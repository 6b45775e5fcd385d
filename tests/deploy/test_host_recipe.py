"""A building without Docker: the systemd units, and Mosquitto as the host recipe runs it.

The broker runs with deploy/host/mosquitto-smartoffice.conf (paths moved to a temp dir,
TLS certificates from a CA made here), its login files handed over by
deploy/host/broker-sync.sh as the units run it, and the gateway over TLS.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import trustme
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from contracts.credentials import mosquitto_hash
from contracts.registry import DeviceEntry, RegistrySnapshot
from contracts.topics import Topics
from edge.app import Gateway
from edge.broker import BrokerFiles
from edge.config import EdgeSettings
from harness.platform import Platform
from harness.services import Service, broker_certs, find, free_port, running, wait_for
from tests.e2e.conftest import desk

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
SYNC = ROOT / "deploy" / "host" / "broker-sync.sh"


def test_the_systemd_units_are_valid(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = []
    for unit in [*UNITS.glob("*.service"), *UNITS.glob("*.path"), *UNITS.glob("*.timer")]:
        text = unit.read_text()
        text = text.replace(
            "/opt/smartoffice/.venv/bin/smartoffice", str(ROOT / ".venv/bin/smartoffice")
        )
        text = text.replace("/opt/smartoffice/deploy/host/broker-sync.sh", str(SYNC))
        (tmp_path / unit.name).write_text(text)
        units.append(str(tmp_path / unit.name))
    checked = subprocess.run(
        [analyze, "verify", *units], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    drop_in = (UNITS / "mosquitto.service.d" / "smartoffice.conf").read_text()
    assert "/opt/smartoffice/deploy/host/broker-sync.sh" in drop_in


@pytest.fixture
def host_broker(tmp_path: Path) -> Iterator[tuple[Service, int, Path, Path, trustme.CA]]:
    """Mosquitto with the host config: plain MQTT on loopback, TLS for the devices."""
    certs = tmp_path / "certs"
    ca = broker_certs(certs)
    auth, live = tmp_path / "auth", tmp_path / "live"
    auth.mkdir()
    plain, tls = free_port(), free_port()
    conf = (ROOT / "deploy/host/mosquitto-smartoffice.conf").read_text()
    conf = conf.replace("/etc/mosquitto/smartoffice/", f"{live}/")
    conf = conf.replace("/etc/mosquitto/certs/", f"{certs}/")
    conf = conf.replace("listener 1883 127.0.0.1", f"listener {plain} 127.0.0.1")
    conf = conf.replace("listener 8883", f"listener {tls} 127.0.0.1")
    user = "root" if os.geteuid() == 0 else None
    head = (f"user {user}\n" if user else "") + f"pid_file {tmp_path}/mosquitto.pid\n"
    (tmp_path / "mosquitto.conf").write_text(head + conf + "log_dest stderr\n")
    env = {**os.environ, "AUTH_DIR": str(auth), "LIVE_DIR": str(live), "OWNER": user or ""}
    # As the mosquitto drop-in does before the gateway ever wrote: empty login files.
    subprocess.run(["sh", str(SYNC)], env=env, check=True, timeout=30)
    assert (live / "passwd").read_text() == "" and (live / "passwd").stat().st_mode & 0o077 == 0
    svc = Service(
        "mosquitto", plain, tmp_path, [find("mosquitto"), "-c", str(tmp_path / "mosquitto.conf")]
    )
    svc.start()
    with running(svc):
        yield svc, tls, auth, tmp_path, ca


def _connect(
    port: int, user: str, password: str, ca: Path | None
) -> tuple[paho.Client, list[object]]:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=paho.MQTTv311)
    c.username_pw_set(user, password)
    if ca is not None:
        c.tls_set(ca_certs=str(ca))
    answers: list[object] = []
    c.on_connect = lambda _c, _u, _f, rc, _p: answers.append(rc)
    c.connect("127.0.0.1", port, keepalive=10)
    c.loop_start()
    return c, answers


def test_a_plain_host_broker_starts_empty_and_takes_the_gateways_logins_over_tls(
    host_broker: tuple[Service, int, Path, Path, trustme.CA],
) -> None:
    _, tls, auth, work, _ = host_broker
    files = BrokerFiles(
        passwd_path=auth / "passwd",
        acl_path=auth / "acl",
        topics=Topics("ikn"),
        gateway_username="gw-host",
        gateway_password="gateway-password-0123",
    )
    snap = RegistrySnapshot(
        gateway_id="gw-host",
        version="1",
        devices=[
            DeviceEntry(device_id="desk-h1", kind="desk", mqtt_hash=mosquitto_hash("node-pw-0123"))
        ],
    )
    assert files.write(snap)
    env = {
        **os.environ,
        "AUTH_DIR": str(auth),
        "LIVE_DIR": str(work / "live"),
        "OWNER": "root" if os.geteuid() == 0 else "",
    }
    subprocess.run(["sh", str(SYNC)], env=env, check=True, timeout=30)  # the path unit's job
    os.kill(int((work / "mosquitto.pid").read_text()), signal.SIGHUP)  # systemctl reload

    node, answers = _connect(tls, "desk-h1", "node-pw-0123", work / "certs" / "ca.crt")
    try:
        wait_for(lambda: answers, "no CONNACK over TLS")
        assert not getattr(answers[0], "is_failure", True), answers
    finally:
        node.loop_stop()
        node.disconnect()
    # Plain MQTT on the devices' port is not spoken; the plain listener is loopback only.
    plain_try, plain_answers = _connect(tls, "desk-h1", "node-pw-0123", None)
    try:
        with pytest.raises(TimeoutError):
            wait_for(lambda: plain_answers, "no answer", timeout=2)
    finally:
        plain_try.loop_stop()
        plain_try.disconnect()


def test_the_gateway_speaks_mqtt_over_tls_with_its_ca(
    host_broker: tuple[Service, int, Path, Path, trustme.CA],
    tmp_path: Path,
    unique_name: str,
) -> None:
    _, tls, auth, work, _ = host_broker
    platform = Platform(tmp_path / "platform", {}, gateway_id="gw-host")
    try:
        platform.register([desk(f"desk-{unique_name}", "d-001")])
        server = platform.start_server()
        settings = EdgeSettings(
            gateway_id="gw-host",
            gateway_token=SecretStr(platform.gateway_token),
            server_url=server.url,
            mqtt_port=tls,
            mqtt_tls=True,
            mqtt_ca_file=work / "certs" / "ca.crt",
            mqtt_password=SecretStr("gateway-password-0123"),
            broker_passwd_file=auth / "passwd",
            broker_acl_file=auth / "acl",
            data_dir=tmp_path / "edge",
            http_port=free_port(),
            _env_file=None,
        )  # type: ignore[call-arg]
        gw = Gateway(settings)
        gw.registry.refresh()  # writes the broker's files with its own login
        env = {
            **os.environ,
            "AUTH_DIR": str(auth),
            "LIVE_DIR": str(work / "live"),
            "OWNER": "root" if os.geteuid() == 0 else "",
        }
        subprocess.run(["sh", str(SYNC)], env=env, check=True, timeout=30)
        os.kill(int((work / "mosquitto.pid").read_text()), signal.SIGHUP)
        gw.start()
        try:
            wait_for(lambda: gw.mqtt.connected, "the gateway did not connect over TLS")
            assert gw.health()[1]["mqtt_connected"] is True
        finally:
            gw.stop()
    finally:
        platform.stop()
