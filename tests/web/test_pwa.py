"""The installable app (server/web/pwa.py) in Chromium: the manifest and service worker pass
the browser's own installability check, and with the server stopped the today page opens
from the device's copy, saying plainly that it is offline and may have changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

from harness.platform import Platform
from harness.services import Service
from tests.web.conftest import CHROMIUM, PHONE, book, new_context, sign_in, today_at, web_platform


@pytest.fixture
def own_platform(
    tmp_path_factory: pytest.TempPathFactory, mosquitto: Service
) -> Iterator[Platform]:
    """A platform of the test's own: it stops the server midway."""
    yield from web_platform(tmp_path_factory, mosquitto)


def test_the_app_is_installable_as_the_browser_checks_it(
    platform: Platform, playwright: Playwright, tmp_path: Path
) -> None:
    assert platform.server is not None
    # A profile on disk, as a person's browser has: Chromium offers no install in incognito.
    context = playwright.chromium.launch_persistent_context(
        tmp_path / "profile", executable_path=CHROMIUM, viewport=PHONE, locale="id-ID"
    )
    page = context.new_page()
    sign_in(page, platform.server.url, "employee")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    assert manifest["url"].endswith("/manifest.webmanifest")
    found = cdp.send("Page.getInstallabilityErrors")
    assert found["installabilityErrors"] == []
    icon = page.request.get(f"{platform.server.url}/icons/512.png")
    assert icon.ok and icon.headers["content-type"] == "image/png" and icon.body()[:4] == b"\x89PNG"
    context.close()


def test_today_opens_from_the_devices_copy_with_the_server_stopped_and_says_so(
    own_platform: Platform, chromium: Browser, shots: Path
) -> None:
    p = own_platform
    assert p.server is not None
    base = p.server.url
    book(p, "employee", "w03", today_at(-0.5), today_at(2))
    context = new_context(chromium, viewport=PHONE)
    page = context.new_page()
    sign_in(page, base, "employee")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now through the service worker, which keeps a copy
    expect(page.get_by_text("w03").first).to_be_visible()
    banner = page.get_by_role("alert")
    expect(banner).to_be_hidden()
    p.server.stop()
    page.reload()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Luring: server tidak dapat dihubungi")
    expect(banner).to_contain_text("mungkin sudah berubah")
    expect(page.get_by_text("w03").first).to_be_visible()
    page.screenshot(path=shots / "offline-phone-id.png", full_page=True)
    # A page never opened on this device is not made up.
    page.goto(f"{base}/app/bookings")
    expect(page.get_by_text("Luring: halaman ini belum pernah dibuka")).to_be_visible()
    context.close()
