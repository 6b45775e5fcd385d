"""The installer's commands, run as an installer runs them, up to the serial port.

A pseudo-terminal stands in for the USB serial port. The real esptool runs against it
to show the "not in download mode" failure; stand-ins take esptool's and mpremote's
command lines where a board would have to answer, and the folder mpremote "copies to"
then runs as the board: the flashed firmware under the real MicroPython interpreter,
through the real broker and gateway to the server, where `device verify` sees it.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import trustme

from harness.firmware import HOST, micropython_binary
from harness.layouts import one_floor
from harness.platform import PASSWORD, Platform
from harness.services import Service
from tests.smartoffice.installer.standins import install

BUILDING = "kantor-c"
LAYOUT = one_floor(BUILDING, "l2", ["l2-m7"])


@pytest.fixture
def platform(tmp_path: Path, mosquitto: Service, unique_name: str) -> Iterator[Platform]:
    p = Platform(
        tmp_path / "platform",
        {"SMARTOFFICE_BASE_TOPIC": unique_name},
        gateway_id=f"gw-{unique_name}",
        base_topic=unique_name,
    )
    p.register([], building=BUILDING)
    p.start_server()
    assert p.api("PUT", f"/api/v1/buildings/{BUILDING}/layout", json=LAYOUT).status_code == 200
    p.start_gateway(mosquitto.port)
    yield p
    p.stop()


@pytest.fixture
def serial_port() -> Iterator[str]:
    """A pseudo-terminal: a serial port with nothing on the other end."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


class Cli:
    """Runs `python -m smartoffice ...` as the installer, with its own config folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "cli"
        self.board = tmp_path / "board"
        self.board.mkdir()
        self.log = tmp_path / "tools.log"
        self.env = {
            **os.environ,
            "SMARTOFFICE_CLI_HOME": str(self.home),
            "STANDIN_BOARD": str(self.board),
            "STANDIN_LOG": str(self.log),
            **install(tmp_path / "standins"),
        }

    def __call__(
        self, *args: str, stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "smartoffice", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            env={**self.env, **env},
        )

    def tools(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def cli(tmp_path: Path, platform: Platform) -> Cli:
    c = Cli(tmp_path)
    assert platform.server is not None
    done = c(
        "login",
        "--server",
        platform.server.url,
        "--username",
        "installer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert (c.home / "session.json").stat().st_mode & 0o777 == 0o600
    return c


def registered(cli: Cli, *args: str) -> str:
    done = cli("device", "register", "--kind", "desk", *args)
    assert done.returncode == 0, done.stderr
    device_id = done.stdout.split()[1]
    saved = cli.home / "devices" / f"{device_id}.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    return device_id


def flash_args(device_id: str, port: str, mqtt_port: int, *extra: str) -> list[str]:
    return [
        "device",
        "flash",
        device_id,
        "--port",
        port,
        "--wifi-ssid",
        "IKN-ASN",
        "--wifi-password",
        "sandi-wifi",
        "--mqtt-host",
        "127.0.0.1",
        "--mqtt-port",
        str(mqtt_port),
        *extra,
    ]


def test_register_flash_verify_identify_label_list(
    cli: Cli, platform: Platform, mosquitto: Service, serial_port: str, tmp_path: Path
) -> None:
    device_id = registered(cli, "--building", BUILDING, "--desk", "l2-m7")
    image = tmp_path / "ESP32_GENERIC-v1.24.1.bin"
    image.write_bytes(b"\xe9" + bytes(1023))
    settings = ["--set", "heartbeat_s=2", "--set", "hold_s=1", "--set", "keepalive_s=10"]
    done = cli(
        *flash_args(
            device_id,
            serial_port,
            mosquitto.port,
            "--image",
            str(image),
            "--erase",
            "--py",
            *settings,
        )
    )
    assert done.returncode == 0, done.stderr
    esptool, write, mpremote = cli.tools()
    assert esptool[1:] == [
        "--chip",
        "esp32",
        "--port",
        serial_port,
        "--connect-attempts",
        "7",
        "erase-flash",
    ]
    assert write[-6:] == ["--baud", "460800", "write-flash", "-z", "0x1000", str(image)]
    assert mpremote[1:4] == ["connect", serial_port, "fs"] and mpremote[-2:] == ["+", "reset"]
    config: dict[str, Any] = json.loads((cli.board / "config.json").read_text())
    saved = json.loads((cli.home / "devices" / f"{device_id}.json").read_text())
    assert config["device_id"] == device_id and config["mqtt_password"] == saved["mqtt_password"]
    assert config["base_topic"] == platform.base_topic and config["wifi_ssid"] == "IKN-ASN"
    assert config["pir_pin"] == 4 and config["hold_s"] == 1
    assert sorted(p.name for p in cli.board.iterdir()) == ["config.json", "lib", "main.py"]

    # Power on: the board's own files, under MicroPython, with the host's hardware stand-ins.
    board = subprocess.Popen(
        [micropython_binary(), "main.py"],
        cwd=cli.board,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MICROPYPATH": f"{HOST}:{cli.board / 'lib'}:.frozen"},
    )
    try:
        verified = cli("device", "verify", device_id, "--timeout", "60", "--interval", "0.5")
        if verified.returncode != 0:
            board.kill()
            pytest.fail(f"{verified.stdout}{verified.stderr}\nboard: {board.communicate()[0]}")
        assert f"PASS: {device_id} is online and reporting" in verified.stdout
        assert "firmware 1.1.0, boot 1" in verified.stdout
        blink = cli("device", "identify", device_id, "--seconds", "3")
        assert blink.returncode == 0, blink.stderr
        assert blink.stdout.strip() == f"{device_id} is blinking for 3 s"
        listed = cli("device", "list", "--building", BUILDING)
        row = next(line for line in listed.stdout.splitlines() if line.startswith(device_id))
        assert row.split()[1:4] == ["online", "desk", "l2-m7"]
    finally:
        board.kill()
        board.communicate()
    label = tmp_path / "label.svg"
    done = cli("device", "label", "--building", BUILDING, "--desk", "l2-m7", "--out", str(label))
    assert done.returncode == 0, done.stderr
    assert f"{platform.server.url}/checkin/{BUILDING}/l2-m7?k=" in done.stdout  # type: ignore[union-attr]
    svg = ElementTree.parse(label).getroot()
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[0] == "Meja l2-m7" and "Lantai l2" in (texts[1] or "")
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}rect"))) > 200  # the QR's modules


def test_flash_compiles_the_firmware_for_the_chip(
    cli: Cli, mosquitto: Service, serial_port: str, tmp_path: Path
) -> None:
    device_id = registered(cli)
    ca = tmp_path / "ca.crt"
    trustme.CA().cert_pem.write_to_path(str(ca))
    done = cli(
        *flash_args(
            device_id, serial_port, mosquitto.port, "--chip", "esp32s3", "--mqtt-ca", str(ca)
        )
    )
    assert done.returncode == 0, done.stderr
    lib = sorted(p.name for p in (cli.board / "lib").iterdir())
    assert "app.mpy" in lib and not [n for n in lib if n.endswith(".py")]
    assert (cli.board / "lib/app.mpy").read_bytes()[:1] == b"M"  # an .mpy header
    # The broker's CA, pinned: the node speaks TLS and trusts it alone.
    config = json.loads((cli.board / "config.json").read_text())
    assert (config["mqtt_tls"], config["mqtt_ca"]) == (True, "ca.der")
    der = (cli.board / "ca.der").read_bytes()
    assert der == ssl.PEM_cert_to_DER_cert(ca.read_text())


def test_the_usual_failures_say_what_to_do(
    cli: Cli, platform: Platform, mosquitto: Service, serial_port: str, tmp_path: Path
) -> None:
    unassigned = registered(cli)
    never = cli("device", "verify", unassigned, "--timeout", "1")
    assert never.returncode == 1 and "has no gateway: assign it to a desk" in never.stderr
    device_id = registered(cli, "--building", BUILDING, "--desk", "l2-m7")
    image = tmp_path / "micropython.bin"
    image.write_bytes(bytes(16))
    no_port = cli(*flash_args(device_id, "/dev/ttyUSB9", mosquitto.port))
    assert (
        no_port.returncode == 1
        and "no serial port /dev/ttyUSB9: plug the board in" in no_port.stderr
    )
    # The real esptool, on a port where no chip answers.
    real = cli(
        *flash_args(
            device_id, serial_port, mosquitto.port, "--image", str(image), "--connect-attempts", "1"
        ),
        SMARTOFFICE_ESPTOOL="esptool",
    )
    assert real.returncode == 1
    assert "not in download mode: hold BOOT, press and release EN" in real.stderr
    silent = cli(*flash_args(device_id, serial_port, mosquitto.port), STANDIN_MODE="norepl")
    assert "MicroPython does not answer on the serial port" in silent.stderr
    # Someone reset the password from another laptop: this one's saved copy is stale.
    assert platform.api("POST", f"/api/v1/devices/{device_id}/password", "installer").is_success
    stale = cli(*flash_args(device_id, serial_port, mosquitto.port))
    assert stale.returncode == 1
    assert f"run `smartoffice device password {device_id}` and flash again" in stale.stderr
    never = cli("device", "verify", device_id, "--timeout", "1", "--interval", "0.5")
    assert never.returncode == 1
    assert "the password this laptop flashed is no longer its password" in never.stderr
    assert cli("device", "password", device_id).returncode == 0
    never = cli("device", "verify", device_id, "--timeout", "1", "--interval", "0.5")
    assert f"FAIL: {device_id} never came online; check the Wi-Fi name and password" in never.stderr
    unknown = cli("device", "assign", device_id, "--building", BUILDING, "--desk", "l2-m99")
    assert unknown.returncode == 1 and "no desk 'l2-m99' in building 'kantor-c'" in unknown.stderr
    (cli.home / "session.json").unlink()
    assert "not logged in: run `smartoffice login" in cli("device", "list").stderr
