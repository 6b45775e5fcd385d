"""The installer's pages through the real server: commissioning a node on the plan, with
the real firmware (MicroPython) coming online and blinking, the warning on a second node at
one desk, the printable label, and the device list."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree

from playwright.sync_api import Browser, expect

from harness.firmware import FIRMWARE, HOST, micropython_binary
from harness.platform import Platform
from harness.services import Service
from tests.web.conftest import B, accessible, new_context, sign_in


def power_on(board: Path, device: str, password: str, topic: str, port: int) -> subprocess.Popen:  # type: ignore[type-arg]
    """The node's own main.py under MicroPython, with what the page's QR code carries."""
    board.mkdir()
    (board / "main.py").write_text((FIRMWARE / "main.py").read_text())
    (board / "config.json").write_text(json.dumps({
        "device_id": device, "kind": "desk", "mqtt_host": "127.0.0.1", "mqtt_port": port,
        "mqtt_password": password, "base_topic": topic, "pir_pin": 4,
        "radar_uart": [1, 17, 16], "led_pins": [25, 26, 27], "hold_s": 1, "heartbeat_s": 2,
        "wdt_ms": 0,
    }))  # fmt: skip
    return subprocess.Popen(
        [micropython_binary(), "main.py"], cwd=board, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        env={"MICROPYPATH": f"{HOST}:{FIRMWARE / 'lib'}:.frozen", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_an_installer_binds_a_node_on_the_plan_sees_it_online_and_blinking(
    platform: Platform, chromium: Browser, mosquitto: Service, shots: Path, tmp_path: Path
) -> None:
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    board = None
    try:
        page = ctx.new_page()
        sign_in(page, base, "installer", then="/app/devices/commission")
        page.select_option("#new-kind", "desk")
        page.click("#register")
        expect(page.locator("#made")).to_be_visible()
        device = page.inner_text("#made-id")
        password = page.inner_text("#made-password")
        assert device.startswith("desk-") and len(password) >= 16
        expect(page.locator("#made-qr")).to_have_attribute("src", re.compile("^blob:"))
        # The password is shown once: the API never gives it again.
        assert password not in platform.api("GET", f"/api/v1/devices/{device}").text

        page.click('#plan g[data-desk="w03"]')
        expect(page.locator("#place-result")).to_contain_text(f"{device}")
        expect(page.locator('#plan g[data-desk="w03"]')).to_have_class("desk s-node_new")
        accessible(page)

        board = power_on(tmp_path / "board", device, password, platform.base_topic,
                         mosquitto.port)  # fmt: skip
        expect(page.locator("#made-note")).to_have_attribute("data-online", device,
                                                             timeout=60_000)  # fmt: skip
        expect(page.locator('#plan g[data-desk="w03"]')).to_have_class("desk s-node_online")
        page.click(f'#place-nodes li[data-device="{device}"] button:not(.danger)')
        expect(page.locator("#place-result")).to_have_attribute("data-identify", "acked",
                                                                timeout=15_000)  # fmt: skip
        expect(page.locator("#place-result")).to_contain_text("berkedip")
        page.screenshot(path=shots / "install-commission-id.png", full_page=True)

        # A second node at the same desk: asked first, then bound with a warning.
        page.click("#register")
        expect(page.locator("#made-id")).not_to_have_text(device)
        second = page.inner_text("#made-id")
        page.click('#plan g[data-desk="w03"]')
        expect(page.locator("#confirm-text")).to_contain_text(device)
        page.click("#confirm-yes")
        expect(page.locator("#place-result")).to_contain_text("already has node")
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
        row = page.locator(f'tr[data-device="{device}"]')
        expect(row).to_have_class("state-online")
        expect(row.locator("td").nth(5)).to_contain_text("1.")  # firmware 1.x
        expect(row.locator("td").nth(7)).to_contain_text("/ 0")  # nothing dropped
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
        expect(page.locator(".notice.error")).to_contain_text("Teknisi")
        made = page.request.post(f"{base}/app/devices/register", data={"kind": "desk"})
        assert made.status == 403
    finally:
        ctx.close()
