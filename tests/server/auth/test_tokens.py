"""Identity providers side by side (server/auth/tokens.py, server/services.py): the civil
service's one provider for every agency and an agency's own, told apart by the token's
issuer; claims that name a person's agency, unit and role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.idp import ISSUER, Provider
from harness.platform import Platform


@pytest.fixture
def providers() -> Iterator[tuple[Provider, Provider]]:
    """BKN's provider for every civil servant (``ISSUER``), and Kemenko Pangan's own."""
    everyone, own = Provider(), Provider(discoverable=True)
    yield everyone, own
    everyone.stop()
    own.stop()


@pytest.fixture
def tower(
    tmp_path: Path, unique_name: str, providers: tuple[Provider, Provider]
) -> Iterator[Platform]:
    everyone, own = providers
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_OIDC_ISSUER": ISSUER,
            "SMARTOFFICE_OIDC_AUDIENCE": "smartoffice",
            "SMARTOFFICE_OIDC_JWKS_URL": everyone.url,
            "SMARTOFFICE_OIDC_DEFAULT_ROLE": "employee",
            "SMARTOFFICE_OIDC_AGENCY_CLAIM": "instansi",
            "SMARTOFFICE_OIDC_UNIT_CLAIM": "unit_kerja",
            "SMARTOFFICE_OIDC_ROLE_MAP": json.dumps({"admin-instansi": "agency_admin"}),
            "SMARTOFFICE_OIDC_PROVIDERS": json.dumps(
                [
                    {
                        "issuer": own.issuer,
                        "audience": "smartoffice",
                        "jwks_url": own.url,
                        "agency": "kemenko-pangan",
                        "unit_claim": "divisi",
                    }
                ]
            ),
        },
        gateway_id=f"gw-{unique_name}",
    )
    p.register([])
    p.start_server()
    for code in ("kemenko-pmk", "kemenko-pangan"):
        assert p.api("POST", "/api/v1/agencies", json={"id": code, "name": code}).is_success
    yield p
    p.stop()


def me(p: Platform, token: str) -> httpx.Response:
    assert p.server is not None
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "id"}
    return httpx.get(f"{p.server.url}/api/v1/auth/me", headers=headers)


def test_two_issuers_side_by_side_name_agency_unit_and_role(
    tower: Platform, providers: tuple[Provider, Provider]
) -> None:
    everyone, own = providers
    # The civil service's provider: the agency and the unit from the token's claims.
    dewi = everyone.token(
        sub="nip-1", preferred_username="dewi", instansi="kemenko-pmk", unit_kerja="Biro Umum"
    )
    said = me(tower, dewi).json()
    assert (said["agency"], said["team"], said["role"]) == ("kemenko-pmk", "Biro Umum", "employee")
    # An agency's own provider: its people are its agency's, whatever else a token says.
    rudi = own.token(
        sub="p-7", preferred_username="rudi", instansi="kemenko-pmk", divisi="Deputi I"
    )
    said = me(tower, rudi).json()
    assert (said["agency"], said["team"]) == ("kemenko-pangan", "Deputi I")
    # Each provider's units are the agency's list now (the personnel system knows them).
    units = tower.api("GET", "/api/v1/agencies/kemenko-pmk/units", "employee").json()
    assert units == ["Biro Umum"]
    assert tower.api("GET", "/api/v1/agencies/kemenko-pangan/units").json() == ["Deputi I"]
    # A group maps to an agency's administrator: of the agency the token names.
    boss = everyone.token(
        sub="nip-9", preferred_username="sari", instansi="kemenko-pmk", groups=["admin-instansi"]
    )
    said = me(tower, boss).json()
    assert (said["role"], said["agency"]) == ("agency_admin", "kemenko-pmk")
    # A token of neither provider (another issuer, or one of them with a foreign key) is not
    # taken; an unknown agency is refused in Indonesian.
    stranger = Provider(discoverable=True)
    try:
        refused = me(tower, stranger.token(sub="x", preferred_username="x"))
        assert refused.status_code == 401
    finally:
        stranger.stop()
    unknown = me(
        tower, everyone.token(sub="nip-5", preferred_username="tamu", instansi="kemenko-x")
    )
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == (
        "instansi Anda (kemenko-x) tidak dikenal di sini: minta administrator menambahkannya"
    )
    # The same subject at two providers is two people: the second may not take the first's
    # username here (nobody takes over an account by being given its name).
    twin = me(tower, own.token(sub="nip-1", preferred_username="dewi"))
    assert twin.status_code == 401 and "belongs to another account" in twin.json()["detail"]
