"""Single sign-on in the browser: the agency's provider, the authorization code with PKCE."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from harness.idp import Provider
from harness.platform import Platform
from harness.services import Service
from tests.web.conftest import new_context, sign_in


@pytest.fixture
def provider() -> Iterator[Provider]:
    idp = Provider(discoverable=True)
    yield idp
    idp.stop()


@pytest.fixture
def sso_platform(tmp_path: Path, provider: Provider, mosquitto: Service) -> Iterator[Platform]:
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_OIDC_ISSUER": provider.issuer,
            "SMARTOFFICE_OIDC_AUDIENCE": "smartoffice",
            "SMARTOFFICE_OIDC_ROLE_MAP": json.dumps({"ikn-pegawai": "employee"}),
        },
        gateway_id="gw-sso",
    )
    p.register([], building="kantor-s")
    p.start_server()  # its public address is where the provider sends the browser back
    yield p
    p.stop()


def test_a_person_signs_in_at_the_agency_provider(
    sso_platform: Platform, provider: Provider, chromium: Browser, shots: Path
) -> None:
    base = sso_platform.server.url  # type: ignore[union-attr]
    provider.person = {
        "sub": "nip-1985",
        "preferred_username": "dewi.lestari",
        "name": "Dewi Lestari",
        "groups": ["ikn-pegawai"],
    }
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        page.goto(f"{base}/app/bookings")
        page.get_by_role("link", name="Masuk dengan akun instansi (SSO)").click()
        expect(page).to_have_url(f"{base}/app/bookings")  # back where they were going
        expect(page.get_by_role("heading", level=1)).to_have_text("Pemesanan saya")
        page.goto(f"{base}/app/profile")
        expect(page.get_by_role("definition").filter(has_text="Dewi Lestari")).to_be_visible()
        expect(page.get_by_role("definition").filter(has_text="Pegawai")).to_be_visible()

        # A provider answer that does not match the sign-in started here is refused.
        page.goto(f"{base}/app/login/sso/callback?code=stolen&state=forged")
        expect(page.get_by_role("alert")).to_contain_text("tidak berhasil")
        # Someone the provider knows but no group maps to a role is told why.
        provider.person = {"sub": "nip-2", "preferred_username": "tamu", "groups": []}
        other = new_context(chromium)
        try:
            page2 = other.new_page()
            page2.goto(f"{base}/app/login/sso")
            expect(page2.get_by_role("alert")).to_contain_text("tidak memiliki peran")
        finally:
            other.close()
    finally:
        ctx.close()


@pytest.fixture
def own_provider() -> Iterator[Provider]:
    idp = Provider(discoverable=True)
    yield idp
    idp.stop()


def test_an_agency_with_its_own_provider_signs_its_people_in_beside_the_main_one(
    tmp_path: Path, provider: Provider, own_provider: Provider, chromium: Browser, shots: Path
) -> None:
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_OIDC_ISSUER": provider.issuer,
            "SMARTOFFICE_OIDC_AUDIENCE": "smartoffice",
            "SMARTOFFICE_OIDC_DEFAULT_ROLE": "employee",
            "SMARTOFFICE_OIDC_AGENCY_CLAIM": "instansi",
            "SMARTOFFICE_OIDC_PROVIDERS": json.dumps(
                [
                    {
                        "issuer": own_provider.issuer,
                        "audience": "smartoffice",
                        "name": "Kemenko Pangan",
                        "agency": "kemenko-pangan",
                        "unit_claim": "divisi",
                    }
                ]
            ),
        },
        gateway_id="gw-sso2",
    )
    p.register([], building="kantor-s")
    p.start_server()
    try:
        assert p.api(
            "POST", "/api/v1/agencies", json={"id": "kemenko-pangan", "name": "Kemenko Pangan"}
        ).is_success
        base = p.server.url  # type: ignore[union-attr]
        own_provider.person = {
            "sub": "p-77",
            "preferred_username": "rudi",
            "name": "Rudi Hartono",
            "divisi": "Deputi Bidang Pangan",
        }
        ctx = new_context(chromium)
        try:
            page = ctx.new_page()
            page.goto(f"{base}/app/login")
            expect(
                page.get_by_role("link", name="Masuk dengan akun instansi (SSO)")
            ).to_be_visible()
            page.screenshot(path=shots / "login-two-providers-id.png", full_page=True)
            page.get_by_role("link", name="Masuk dengan akun Kemenko Pangan").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Hari ini")
            page.goto(f"{base}/app/profile")
            profile = page.get_by_role("definition")
            expect(profile.filter(has_text="Rudi Hartono")).to_be_visible()
            expect(profile.filter(has_text="Kemenko Pangan")).to_be_visible()
        finally:
            ctx.close()
        users = {u["username"]: u for u in p.api("GET", "/api/v1/users").json()}
        assert (users["rudi"]["agency"], users["rudi"]["team"]) == (
            "kemenko-pangan",
            "Deputi Bidang Pangan",
        )
    finally:
        p.stop()


@pytest.mark.parametrize(
    ("role", "start", "heading"),
    [
        ("employee", "/app", "Hari ini"),
        ("facility_manager", "/app/manage", "Kantor W"),
        ("installer", "/app/devices", "Perangkat"),
        ("admin", "/app/admin", "Administrasi"),
        ("agency_admin", "/app/admin", "Administrasi"),
    ],
)
def test_each_role_starts_at_its_own_work(
    platform: Platform, chromium: Browser, role: str, start: str, heading: str
) -> None:
    """Signed in from the app's door, a manager lands on the building, an installer on the
    devices, an administrator on the accounts; a page asked for is still where one goes."""
    base = platform.server.url  # type: ignore[union-attr]
    ctx = new_context(chromium)
    try:
        page = ctx.new_page()
        sign_in(page, base, role)
        expect(page).to_have_url(f"{base}{start}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        page.get_by_role("button", name="Keluar").click()
        sign_in(page, base, role, then="/app/profile")
        expect(page).to_have_url(f"{base}/app/profile")
    finally:
        ctx.close()
