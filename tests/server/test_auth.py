"""Accounts, roles and tokens on a running server: passwords, rate limits, JWT, OIDC."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.routing import APIRoute

from harness.idp import ISSUER, Provider
from harness.platform import PASSWORD, Platform
from server.api.deps import _public, current_gateway, current_user
from server.app import create_app
from server.config import ServerSettings
from server.services import build_oidc


@pytest.fixture
def idp() -> Iterator[Provider]:
    provider = Provider()
    yield provider
    provider.stop()


@pytest.fixture
def platform(tmp_path: Path, unique_name: str, idp: Provider) -> Iterator[Platform]:
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_LOGIN_MAX_FAILURES": "3",
            "SMARTOFFICE_OIDC_ISSUER": ISSUER,
            "SMARTOFFICE_OIDC_AUDIENCE": "smartoffice",
            "SMARTOFFICE_OIDC_JWKS_URL": idp.url,
            "SMARTOFFICE_OIDC_ROLE_MAP": json.dumps(
                {"ikn-fasilitas": "facility_manager", "ikn-teknisi": "installer"}
            ),
        },
        gateway_id=f"gw-{unique_name}",
    )
    p.register([])
    p.start_server()
    yield p
    p.stop()


def login(p: Platform, username: str, password: str, via: str | None = None) -> httpx.Response:
    """A password login; ``via``: the address a trusted proxy (here, loopback) says it is from."""
    assert p.server is not None
    return httpx.post(
        f"{p.server.url}/api/v1/auth/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": via} if via else {},
    )


def me(p: Platform, token: str) -> httpx.Response:
    assert p.server is not None
    return httpx.get(f"{p.server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_password_login_gives_a_short_lived_token_for_the_role(platform: Platform) -> None:
    resp = login(platform, "installer", PASSWORD)
    assert resp.status_code == 200
    body = resp.json()
    assert body["role"] == "installer" and body["expires_in"] == 1800
    claims = jwt.decode(
        body["access_token"], platform.jwt_secret, ["HS256"], audience="ikn-smartoffice"
    )
    assert claims["exp"] - claims["iat"] == 1800 and claims["sub"] == "installer"
    assert me(platform, body["access_token"]).json()["role"] == "installer"


def test_expired_and_forged_tokens_are_refused(platform: Platform) -> None:
    now = int(time.time())
    claims = {"iss": "ikn-smartoffice", "aud": "ikn-smartoffice", "sub": "admin"}
    expired = jwt.encode({**claims, "iat": now - 100, "exp": now - 10}, platform.jwt_secret)
    assert "expired" in me(platform, expired).json()["detail"]
    forged = jwt.encode({**claims, "iat": now, "exp": now + 60}, "not-the-secret" * 3)
    resp = me(platform, forged)
    assert resp.status_code == 401 and "invalid token" in resp.json()["detail"]


def test_failed_logins_are_rate_limited_per_account_and_address(platform: Platform) -> None:
    stranger, colleague = "203.0.113.9", "198.51.100.7"
    for _ in range(3):
        resp = login(platform, "employee", "wrong password!", via=stranger)
        assert resp.status_code == 401
        assert resp.json()["detail"] == "wrong username or password"
    locked = login(platform, "employee", PASSWORD, via=stranger)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 300
    # The stranger locked out only themselves: the person, elsewhere, logs in.
    assert login(platform, "employee", PASSWORD, via=colleague).status_code == 200
    assert login(platform, "admin", PASSWORD, via=stranger).status_code == 200
    assert login(platform, "nobody-at-all", PASSWORD, via=colleague).status_code == 401


def test_forty_tries_at_once_get_no_more_checks_than_the_limit(platform: Platform) -> None:
    """The count is taken before the password is checked, so a burst cannot slip past it."""
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(
            pool.map(lambda _: login(platform, "installer", "wrong!", via="192.0.2.40"), range(40))
        )
    codes = [a.status_code for a in answers]
    assert codes.count(401) <= 3 and codes.count(401) + codes.count(429) == 40, codes


def test_admins_manage_accounts_and_it_is_audited(platform: Platform) -> None:
    new = {"username": "budi.santoso", "password": "rahasia-panjang-1", "role": "employee",
           "display_name": "Budi Santoso", "team": "Biro Hukum"}  # fmt: skip
    assert (
        platform.api("POST", "/api/v1/users", role="facility_manager", json=new).status_code == 403
    )
    created = platform.api("POST", "/api/v1/users", json=new)
    assert created.status_code == 201 and "password" not in created.text
    assert platform.api("POST", "/api/v1/users", json=new).status_code == 409
    short = platform.api(
        "POST", "/api/v1/users", json={**new, "username": "x.y", "password": "123"}
    )
    assert short.status_code == 422
    token = login(platform, "budi.santoso", "rahasia-panjang-1").json()["access_token"]
    changed = platform.api(
        "PATCH", "/api/v1/users/budi.santoso", json={"role": "installer", "active": False}
    )
    assert changed.json()["role"] == "installer"
    # Disabling takes effect on the next request, not when the token runs out.
    assert "disabled" in me(platform, token).json()["detail"]
    assert "disabled" in login(platform, "budi.santoso", "rahasia-panjang-1").json()["detail"]
    log = platform.api("GET", "/api/v1/audit", params={"target_id": "budi.santoso"}).json()
    assert [e["action"] for e in log] == ["user.update", "user.create"]
    assert log[0]["actor"] == "admin" and log[0]["detail"]["role"] == "installer"


def test_identity_provider_tokens_map_groups_to_roles(platform: Platform, idp: Provider) -> None:
    fm = idp.token(preferred_username="siti.rahma", name="Siti Rahma",
                   groups=["asn-kemenko", "ikn-fasilitas"])  # fmt: skip
    resp = me(platform, fm)
    assert resp.json() == {"username": "siti.rahma", "display_name": "Siti Rahma",
                           "role": "facility_manager", "team": None}  # fmt: skip
    readings = platform.api("GET", "/api/v1/users", role="admin").json()
    assert {"username": "siti.rahma", "source": "oidc"}.items() <= next(
        u for u in readings if u["username"] == "siti.rahma"
    ).items()
    # A group change at the provider changes the role at the next request, audited.
    tech = idp.token(preferred_username="siti.rahma", groups=["ikn-teknisi"])
    assert me(platform, tech).json()["role"] == "installer"
    log = platform.api("GET", "/api/v1/audit", params={"target_id": "siti.rahma"}).json()
    assert log[0]["action"] == "user.role" and log[0]["detail"] == {
        "old": "facility_manager", "new": "installer"}  # fmt: skip


def test_provider_accounts_are_keyed_on_issuer_and_subject(
    platform: Platform, idp: Provider
) -> None:
    """A username is only a name: a renamed person keeps their account, and being given
    someone's username at the provider does not give their account."""
    first = idp.token(sub="subj-andi", preferred_username="andi.p", groups=["ikn-teknisi"])
    assert me(platform, first).json()["username"] == "andi.p"
    renamed = idp.token(sub="subj-andi", preferred_username="andi.pratama", groups=["ikn-teknisi"])
    assert me(platform, renamed).json()["username"] == "andi.p"  # the same account
    other = idp.token(sub="subj-imposter", preferred_username="andi.p", groups=["ikn-teknisi"])
    refused = me(platform, other)
    assert refused.status_code == 401 and "belongs to another account" in refused.json()["detail"]
    local = idp.token(sub="subj-x", preferred_username="admin", groups=["ikn-teknisi"])
    assert "belongs to another account" in me(platform, local).json()["detail"]


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "another-app"}, "invalid identity provider token"),
        ({"exp": 1_700_000_000}, "expired"),
        ({"groups": ["asn-kemenko"]}, "none of their groups is mapped"),
    ],
)
def test_identity_provider_tokens_that_do_not_qualify(
    platform: Platform, idp: Provider, claims: dict[str, Any], message: str
) -> None:
    resp = me(platform, idp.token(preferred_username="andi", **claims))
    assert resp.status_code == 401 and message in resp.json()["detail"]


def test_a_token_signed_by_another_key_is_refused(platform: Platform, idp: Provider) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    resp = me(platform, idp.token(other, preferred_username="andi", groups=["ikn-teknisi"]))
    assert resp.status_code == 401 and "Signature verification failed" in resp.json()["detail"]


def test_every_route_declares_who_may_call_it(tmp_path: Path) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path))
    undeclared = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        calls = set()
        stack = list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            calls.add(dep.call)
            stack.extend(dep.dependencies)
        declared = any(
            c in (_public, current_gateway) or hasattr(c, "allowed_roles") for c in calls
        ) or (route.path == "/api/v1/auth/me" and current_user in calls)
        if not declared:
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert undeclared == []


def test_the_key_set_is_found_through_the_providers_discovery_document(idp: Provider) -> None:
    settings = ServerSettings(oidc_issuer=f"{idp.base}/realms/asn", oidc_audience="smartoffice")
    verifier = build_oidc(settings)
    assert verifier is not None and verifier._keys.uri == idp.url
    with pytest.raises(ValueError, match="set SMARTOFFICE_OIDC_JWKS_URL"):
        build_oidc(ServerSettings(oidc_issuer="http://127.0.0.1:9/x", oidc_audience="a"))


def test_people_opt_in_to_the_colleague_finder_themselves(platform: Platform) -> None:
    changed = platform.api("PATCH", "/api/v1/auth/me", "employee", json={"share_location": True})
    assert changed.json() == {"username": "employee", "share_location": True, "language": None}
    bad = platform.api("PATCH", "/api/v1/auth/me", "employee", json={"role": "admin"})
    assert bad.status_code == 422  # nobody gives themselves a role
    assert platform.api("GET", "/api/v1/colleagues", "employee").json() == []
    users = {u["username"]: u for u in platform.api("GET", "/api/v1/users").json()}
    assert users["employee"]["role"] == "employee"
    log = platform.api("GET", "/api/v1/audit", params={"target_id": "employee"}).json()
    assert log[0]["action"] == "user.preferences"
