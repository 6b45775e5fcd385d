"""The pages, driven by Debian's Chromium through Playwright, against the real platform.

One platform per test module (server, gateway, Mosquitto) with a floor of desks; one
Chromium per worker. Screenshots go to ``SMARTOFFICE_SCREENSHOTS`` when it is set
(``make screenshots`` sets it to docs/images), else into the test's temp dir.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    sync_playwright,
)

from harness.layouts import one_floor
from harness.observer import Observer
from harness.platform import PASSWORD, Platform, status_payload
from harness.services import Service

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
B = "kantor-w"
FLOOR = "l2"
DESKS = [f"w{n:02d}" for n in range(1, 13)]
WITA = ZoneInfo("Asia/Makassar")
# Open every day and hour, so the tests mean the same whenever they run.
ALWAYS_OPEN = {
    "open_minute": 0,
    "close_minute": 1440,
    "weekdays": [0, 1, 2, 3, 4, 5, 6],
    "public_holidays": False,
    "min_minutes": 15,
    "max_minutes": 1440,
    "max_per_day": 3,
}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


# Per module, not per session: Playwright's sync API keeps an event loop running in this
# thread while it lives, and tests of other modules that the same worker runs next call
# asyncio.run(), which refuses to run inside one.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, mosquitto: Service) -> Iterator[Platform]:
    yield from web_platform(tmp_path_factory, mosquitto)


def web_platform(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: Service, **env: str
) -> Iterator[Platform]:
    """Server, gateway and a floor of desks (``env``: more server settings), then stopped."""
    name = "w" + os.urandom(4).hex()
    p = Platform(
        tmp_path_factory.mktemp("web"),
        {"SMARTOFFICE_BASE_TOPIC": name, **env},
        gateway_id=f"gw-{name}",
        base_topic=name,
    )
    p.register([], building=B)
    p.start_server()
    assert p.api(
        "PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, FLOOR, DESKS, rooms=["r1"])
    ).is_success
    assert p.api("PUT", f"/api/v1/buildings/{B}/booking-policy", json=ALWAYS_OPEN).is_success
    p.start_gateway(mosquitto.port)
    yield p
    p.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where this test's screenshots go."""
    target = os.environ.get("SMARTOFFICE_SCREENSHOTS")
    path = Path(target) if target else tmp_path / "shots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_context(
    chromium: Browser,
    *,
    viewport: dict[str, int] = DESKTOP,
    locale: str = "id-ID",
    csp: bool = False,
) -> BrowserContext:
    """A fresh browser profile (no cookies), Indonesian unless told otherwise.

    The pages' Content-Security-Policy is bypassed (unless ``csp``) only so that the
    accessibility checker can be injected into them.
    """
    return chromium.new_context(viewport=viewport, locale=locale, bypass_csp=not csp)  # type: ignore[arg-type]


def sign_in(page: Page, base: str, role: str, then: str = "/app") -> None:
    """Sign in through the form, as the test user of ``role``."""
    page.goto(f"{base}/app/login?next={then}")
    page.get_by_label(either("Nama pengguna", "Username")).fill(role.replace("_", "-"))
    page.get_by_label(either("Kata sandi", "Password")).fill(PASSWORD)
    page.get_by_role("button", name=either("Masuk", "Sign in")).click()
    # Asked for no page ("/app"), each role starts at its own work.
    page.wait_for_url(f"{base}{then}*" if then != "/app" else re.compile(f"^{re.escape(base)}/app"))


def either(*names: str) -> re.Pattern[str]:
    """An accessible name exactly as one of the page's languages says it."""
    return re.compile("^(" + "|".join(re.escape(n) for n in names) + ")$")


def accessible(page: Page) -> None:
    """axe-core (from npm) finds no serious or critical violation on the page."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it with npm")
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], "\n".join(bad)


def desk_row(page: Page, desk: str) -> Locator:
    """A desk's row in the find page's list of desks, the plan's twin for everyone who
    does not see or point at the plan: found by its name, as a screen reader finds it."""
    desks = page.get_by_role(
        "table",
        name=either(
            "Daftar meja, statusnya pada waktu yang dipilih, dan fasilitasnya",
            "Desks, their state for the chosen time, and what they offer",
        ),
    )
    return desks.get_by_role("row").filter(has=page.get_by_role("rowheader", name=f"Meja {desk}"))


def desk_dialog(page: Page) -> Locator:
    """The desk's dialog the plan and the list open."""
    return page.get_by_role("dialog")


class DeskNode:
    """A desk node registered at ``desk``, publishing over the real broker."""

    def __init__(self, platform: Platform, mosquitto: Service, desk: str) -> None:
        made = platform.api("POST", "/api/v1/devices", "installer", json={"kind": "desk"})
        dev = made.json()["device"]["id"]
        assert platform.api(
            "PUT",
            f"/api/v1/devices/{dev}/assignment",
            "installer",
            json={"building": B, "desk": desk},
        ).is_success
        self.base = f"{platform.base_topic}/v1/dev/{dev}"
        self.obs = Observer(mosquitto.port, self.base)
        self.obs.publish(f"{self.base}/status", json.loads(status_payload("desk")), retain=True)
        self.seq = 0

    def presence(self, occupied: bool) -> None:
        """Someone (or nobody) at the desk now."""
        self.obs.publish(
            f"{self.base}/up/presence",
            {
                "v": 1,
                "boot": 1,
                "seq": self.seq,
                "occupied": occupied,
                "source": "both",
                "ts": int(datetime.now(WITA).timestamp() * 1000),
            },
        )
        self.seq += 1

    def close(self) -> None:
        """Disconnect."""
        self.obs.close()


def book(platform: Platform, role: str, desk: str, start: datetime, end: datetime) -> int:
    """A booking made through the API; its id."""
    slot = {"building": B, "desk": desk, "start": start.isoformat(), "end": end.isoformat()}
    made = platform.api("POST", "/api/v1/bookings", role, json=slot)
    assert made.status_code == 201, made.text
    return int(made.json()["created"][0]["id"])


def label_url(platform: Platform, desk: str) -> str:
    """What scanning the desk's QR label opens: its check-in page, with the desk's secret."""
    found = platform.api("GET", f"/api/v1/buildings/{B}/desks/{desk}/label", "installer")
    assert found.status_code == 200, found.text
    return str(found.json()["url"])


def label_path(platform: Platform, desk: str) -> str:
    """The label's address on this server (for ``sign_in(..., then=...)``)."""
    assert platform.server is not None
    return label_url(platform, desk).removeprefix(platform.server.url)


def today_at(hours: float) -> datetime:
    """Now in WITA, shifted by ``hours``, to the minute."""
    return (datetime.now(WITA) + timedelta(hours=hours)).replace(second=0, microsecond=0)


def keep(path: Path, name: str, docs: Path | None = None) -> None:
    """Copy a screenshot under ``name`` (for the user guide)."""
    if docs is not None:
        shutil.copy(path, docs / name)


@pytest.fixture(autouse=True)
def verify_cleanup() -> Iterator[None]:
    """As everywhere (tests/conftest.py), but Playwright's own executor thread, which
    its event loop starts when first needed and keeps for the session, may stay."""
    before = set(threading.enumerate())
    yield
    for _ in range(50):
        extra = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("asyncio_")
        ]
        if not extra:
            return
        time.sleep(0.1)
    pytest.fail(f"threads left running: {[t.name for t in extra]}")
