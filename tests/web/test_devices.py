"""The installer's pages through the real server: commissioning a node on the plan, with
the real firmware (MicroPython) coming online and blinking, the warning on a second node at
one desk, the printable label, and the device list."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree

from playwright.sync_api import Browser, Locator, expect

from harness.firmware import FIRMWARE, HOST, micropython_binary
from harness.platform import Platform
from harness.services import Service
from tests.web.conftest import B, accessible, new_context, sign_in


def power_on(board: Path, device: str, password: str, topic: str, port: int) -> subprocess.Popen:  # type: ignore[type-arg]
    """The node's own main.py under MicroPython, with what the page's QR code carries."""
    board.mkdir()
    (board / "main.py").write_text((FIRMWARE / "main.py").read_text())
    (board / "config.json").write_text(
        json.dumps(
            {
                "device_id": device,
                "kind": "desk",
                "mqtt_host": "127.0.0.1",
                "mqtt_port": port,
                "mqtt_password": password,
                "base_topic": topic,
                "pir_pin": 4,
                "radar_uart": [1, 17, 16],
                "led_pins": [25, 26, 27],
                "hold_s": 1,
                "heartbeat_s": 2,
                "wdt_ms": 0,
            }
        )
    )
    return subprocess.Popen(
        [micropython_binary(), "main.py"],
        cwd=board,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"MICROPYPATH": f"{HOST}:{FIRMWARE / 'lib'}:.frozen", "PATH": "/usr/bin:/bin"},
    )


def test_an_installer_binds_a_node_on_the_plan_sees_it_online_and_blinking(
    platform: Platform, chromium: Browser, mosquitto: Service, shots: Path, tmp_path: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    board = None
    try:
        page = ctx.new_page()
        sign_in(page, base, "installer", then="/app/devices/commission")
        new = page.get_by_role("region", name="Daftarkan node")
        new.get_by_label("Jenis").select_option("desk")
        new.get_by_role("button", name="Daftarkan").click()
        made_id = fact(new, "ID perangkat / pengguna MQTT")
        expect(made_id).to_be_visible()
        device = made_id.inner_text()
        password = fact(new, "Kata sandi MQTT").inner_text()
        assert device.startswith("desk-") and len(password) >= 16
        qr = new.get_by_role("img", name="Kode QR konfigurasi node")
        expect(qr).to_have_attribute("src", re.compile("^blob:"))
        # The password is shown once: the API never gives it again.
        assert password not in platform.api("GET", f"/api/v1/devices/{device}").text

        chosen = page.get_by_role("region", name="Tempat yang dipilih")
        page.click('#plan g[data-desk="w03"]')  # the plan (the table below has the same)
        expect(chosen.get_by_role("status")).to_contain_text(f"{device}")
        expect(page.locator('#plan g[data-desk="w03"]')).to_have_class("desk s-node_new")
        accessible(page)

        board = power_on(tmp_path / "board", device, password, platform.base_topic, mosquitto.port)
        expect(new.get_by_role("status")).to_have_text(f"{device} daring.", timeout=60_000)
        expect(page.locator('#plan g[data-desk="w03"]')).to_have_class("desk s-node_online")
        node = chosen.get_by_role("listitem").filter(has_text=device)
        node.get_by_role("button", name="Identifikasi (LED berkedip)").click()
        expect(chosen.get_by_role("status")).to_contain_text("berkedip", timeout=15_000)
        page.screenshot(path=shots / "install-commission-id.png", full_page=True)

        # A second node at the same desk: asked first, then bound with a warning.
        new.get_by_role("button", name="Daftarkan").click()
        expect(made_id).not_to_have_text(device)
        second = made_id.inner_text()
        places = page.get_by_role("region", name="Meja dan ruangan beserta node-nya")
        places.get_by_role("button", name="Meja w03").click()  # the table, as a keyboard does
        ask = page.get_by_role("dialog")
        expect(ask).to_contain_text(device)
        ask.get_by_role("button", name="Ya").click()
        expect(chosen.get_by_role("status")).to_contain_text("already has node")
        expect(page.locator('#plan g[data-desk="w03"]')).to_have_class("desk s-node_many")
        assert platform.api("DELETE", f"/api/v1/devices/{second}", "installer").is_success

        # The label opens the desk's check-in page, with the whole caption.
        label = page.request.get(f"{base}/app/devices/label/{B}/w03.svg")
        assert label.status == 200
        root = ElementTree.fromstring(label.text())
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert texts == ["Meja w03", "Lantai l2", "Pindai untuk check-in", "Scan to check in"]

        # The list: the node online, with what its heartbeats say.
        page.goto(f"{base}/app/devices?building={B}")
        row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=device))
        cells = row.get_by_role("cell")  # kind, place, state, last heard, signal, firmware, ...
        expect(cells.nth(2)).to_have_text("Daring")
        expect(cells.nth(5)).to_contain_text("1.")  # firmware 1.x
        expect(cells.nth(7)).to_contain_text("/ 0")  # buffered / dropped: nothing dropped
        accessible(page)
        page.screenshot(path=shots / "install-devices-id.png", full_page=True)
    finally:
        ctx.close()
        if board is not None:
            board.kill()
            board.communicate()


def test_an_employee_cannot_open_the_installer_pages(platform: Platform, chromium: Browser) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, "employee")
        response = page.goto(f"{base}/app/devices/commission")
        assert response is not None and response.status == 403
        expect(page.get_by_role("alert")).to_contain_text("Teknisi")
        made = page.request.post(f"{base}/app/devices/register", data={"kind": "desk"})
        assert made.status == 403
    finally:
        ctx.close()


def fact(box: Locator, name: str) -> Locator:
    """The value a definition list gives for ``name`` (a <dd> after its <dt>)."""
    term = box.get_by_role("term").filter(has_text=name)
    return term.locator("xpath=following-sibling::dd[1]")
