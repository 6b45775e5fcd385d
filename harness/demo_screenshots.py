"""The consoles' screenshots for docs/user-guide.md, taken from `smartoffice demo`.

The browser tests take the employees' screenshots from their own small building; the
consoles are best shown on the demo's lived-in one (weeks of bookings, sensors and
meters). Run by `make screenshots`: ``python -m harness.demo_screenshots docs/images``.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
SMARTOFFICE = str(Path(sys.executable).with_name("smartoffice"))
PAGES = {
    "facility_manager": [
        ("console-overview-id.png", "/app/manage"),
        ("console-floor-id.png", "/app/manage/floor?floor=f1"),
        ("console-occupancy-id.png", "/app/manage/occupancy?by=zone"),
        ("console-energy-id.png", "/app/manage/energy?by=zone"),
        ("console-comfort-id.png", "/app/manage/comfort"),
        ("console-actions-id.png", "/app/manage/actions"),
        ("console-split-id.png", "/app/manage/split?key=metered"),
    ],
    "agency_manager": [
        ("console-agency-floor-id.png", "/app/manage/floor"),
    ],
    "installer": [
        ("console-devices-id.png", "/app/devices#"),
        ("console-commission-id.png", "/app/devices/commission#"),
    ],
    "admin": [
        ("console-rules-id.png", "/app/admin/rules"),
        ("console-audit-id.png", "/app/admin/audit"),
    ],
}
NAMES = {
    "facility_manager": "manajer",
    "agency_manager": "fasilitas-nusantara",
    "installer": "teknisi",
    "admin": "admin",
}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/app/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("form button.primary")
    page.wait_for_url(re.compile(f"^{re.escape(base)}/app"))  # each role starts at its own page


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        demo = subprocess.Popen(
            [SMARTOFFICE, "demo", "--port", str(port), "--data-dir", data],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert demo.stdout is not None
        banner = ""
        try:
            deadline = time.monotonic() + 300
            while "Press Ctrl-C to stop." not in banner and time.monotonic() < deadline:
                line = demo.stdout.readline()
                if not line:
                    raise SystemExit(f"the demo ended:\n{banner}")
                banner += line
            accounts = dict(re.findall(r"^\s+\w+\s+([\w-]+)\s+/ (\S+)", banner, re.M))
            time.sleep(20)  # the first sensor readings and zone decisions come in
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                for role, pages in PAGES.items():
                    ctx = browser.new_context(
                        viewport={"width": 1280, "height": 900}, locale="id-ID"
                    )
                    page = ctx.new_page()
                    _sign_in(page, base, NAMES[role], accounts[NAMES[role]])
                    for name, path in pages:
                        page.goto(base + path)
                        page.wait_for_load_state("networkidle")
                        # A page ending in "#": its top only (its table runs long).
                        page.screenshot(path=out / name, full_page=not path.endswith("#"))
                        print(f"{out / name}")  # noqa: T201
                    ctx.close()
                browser.close()
        finally:
            demo.send_signal(signal.SIGINT)
            demo.communicate(timeout=60)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
