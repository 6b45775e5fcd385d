"""The gateway's broker files: exact ACL lines, stable output, and reload by pid file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from contracts.credentials import mosquitto_hash
from contracts.registry import DeviceEntry, RegistrySnapshot
from contracts.topics import Topics
from edge.broker import BrokerFiles
from edge.config import EdgeSettings
from harness.mqtt_client import DeviceClient
from harness.services import Service, find, free_port, running, wait_for


def snap(*devices: tuple[str, str | None]) -> RegistrySnapshot:
    return RegistrySnapshot(
        gateway_id="gw-a",
        version=str(len(devices)),
        devices=[DeviceEntry(device_id=d, kind="desk", mqtt_hash=h) for d, h in devices],
    )


def files(tmp_path: Path, **kw: object) -> BrokerFiles:
    kw.setdefault("gateway_username", "gw-a")
    return BrokerFiles(
        passwd_path=tmp_path / "passwd",
        acl_path=tmp_path / "acl",
        topics=Topics("ikn"),
        gateway_password="gateway-secret-1",
        **kw,  # type: ignore[arg-type]
    )


def test_acl_gives_each_device_only_its_own_topics(tmp_path: Path) -> None:
    h = mosquitto_hash("pw-1")
    passwd, acl = files(tmp_path).render(snap(("desk-1", h), ("desk-legacy", None)))
    assert passwd.splitlines()[1] == f"desk-1:{h}"
    assert "desk-legacy" not in passwd  # no password, no login
    assert acl.split("\n\n")[1:] == [
        "user gw-a\ntopic read ikn/v1/dev/+/up/#\ntopic read ikn/v1/dev/+/status\n"
        "topic write ikn/v1/dev/+/down/#\ntopic write ikn/v1/zone/+/down/#\n"
        "topic readwrite ikn/v1/gw/gw-a/status",
        "user desk-1\ntopic write ikn/v1/dev/desk-1/up/#\ntopic write ikn/v1/dev/desk-1/status\n"
        "topic read ikn/v1/dev/desk-1/down/#\n",
    ]


def test_a_device_never_gets_a_second_line_for_the_gateways_login(tmp_path: Path) -> None:
    """Checked again where the files are written, should a registry ever carry one."""
    h = mosquitto_hash("pw-1")
    passwd, acl = files(tmp_path, gateway_username="gw-a.login").render(
        snap(("gw-a", h), ("desk-1", h))
    )
    users = [line.split(":")[0] for line in passwd.splitlines()]
    assert users == ["gw-a.login", "desk-1"]
    assert "user gw-a\n" not in acl


def test_service_logins_must_carry_a_dot_so_no_device_can_have_them() -> None:
    common = {"gateway_id": "gw-a", "gateway_token": SecretStr("t"), "_env_file": None}
    for bad in (
        {"bms_username": "bms", "bms_password_hash": "$7$x"},
        {"mqtt_username": "desk-1", "mqtt_password": SecretStr("p")},
    ):
        with pytest.raises(ValidationError, match="dot"):
            EdgeSettings(**common, **bad)  # type: ignore[arg-type]
    ok = EdgeSettings(**common, bms_username="bms.a", bms_password_hash="$7$x")  # type: ignore[arg-type]
    assert ok.bms_username == "bms.a"


def test_a_bms_login_may_only_read_the_zone_commands(tmp_path: Path) -> None:
    h = mosquitto_hash("bms-password-0123456")
    passwd, acl = files(tmp_path, bms=("bms.a", h)).render(snap())
    assert f"bms.a:{h}" in passwd.splitlines()
    assert "user bms.a\ntopic read ikn/v1/zone/+/down/#\n" in acl


def test_unchanged_registry_writes_nothing_even_after_a_restart(tmp_path: Path) -> None:
    s = snap(("desk-1", mosquitto_hash("pw-1")))
    assert files(tmp_path).write(s)
    before = (tmp_path / "passwd").read_text()
    # A new gateway process hashes its own password again only if the file's hash is stale.
    again = files(tmp_path)
    assert not again.write(s)
    assert (tmp_path / "passwd").read_text() == before


def test_reload_by_pid_file_lets_a_new_device_in(tmp_path: Path) -> None:
    bf = files(tmp_path, reload_pid_file=tmp_path / "mosquitto.pid")
    bf.write(snap())
    port = free_port()
    user = "root" if os.geteuid() == 0 else None
    (tmp_path / "mosquitto.conf").write_text(
        (f"user {user}\n" if user else "")
        + f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {tmp_path}/passwd\n"
        "use_username_as_clientid true\n"
        f"acl_file {tmp_path}/acl\npid_file {tmp_path}/mosquitto.pid\n"
    )
    broker = Service(
        "mosquitto", port, tmp_path, [find("mosquitto"), "-c", str(tmp_path / "mosquitto.conf")]
    )
    broker.start()
    with running(broker):
        wait_for(lambda: (tmp_path / "mosquitto.pid").exists(), "no pid file")
        first = DeviceClient(port, "desk-1", "pw-1")
        wait_for(lambda: first.refused is not None, "an unknown device was let in")
        first.close()
        assert bf.apply(snap(("desk-1", mosquitto_hash("pw-1"))))
        assert bf.reloads == 1
        second = DeviceClient(port, "desk-1", "pw-1")
        try:
            wait_for(second.connected.is_set, "the reloaded password did not work")
        finally:
            second.close()
