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

from harness.calendar import next_workday
from harness.idp import ISSUER, Provider
from harness.layouts import one_floor
from harness.platform import PASSWORD, Platform
from harness.routes import api_routes
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
    new = {
        "username": "budi.santoso",
        "password": "rahasia-panjang-1",
        "role": "employee",
        "display_name": "Budi Santoso",
        "team": "Biro Hukum",
    }
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
    fm = idp.token(
        preferred_username="siti.rahma", name="Siti Rahma", groups=["asn-kemenko", "ikn-fasilitas"]
    )
    resp = me(platform, fm)
    assert resp.json() == {
        "username": "siti.rahma",
        "display_name": "Siti Rahma",
        "role": "facility_manager",
        "team": None,
        "agency": None,
    }
    readings = platform.api("GET", "/api/v1/users", role="admin").json()
    assert {"username": "siti.rahma", "source": "oidc"}.items() <= next(
        u for u in readings if u["username"] == "siti.rahma"
    ).items()
    # A group change at the provider changes the role at the next request, audited.
    tech = idp.token(preferred_username="siti.rahma", groups=["ikn-teknisi"])
    assert me(platform, tech).json()["role"] == "installer"
    log = platform.api("GET", "/api/v1/audit", params={"target_id": "siti.rahma"}).json()
    assert log[0]["action"] == "user.role" and log[0]["detail"] == {
        "old": "facility_manager",
        "new": "installer",
    }
    # The provider decides (SMARTOFFICE_OIDC_ROLES=provider): an administrator's change here
    # is refused saying where to make it, not undone silently at the next request.
    changed = platform.api("PATCH", "/api/v1/users/siti.rahma", json={"role": "admin"})
    assert changed.status_code == 409 and "identity provider" in changed.json()["detail"]
    assert me(platform, tech).json()["role"] == "installer"
    assert platform.api("PATCH", "/api/v1/users/siti.rahma", json={"team": "Pusdatin"}).is_success


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


def test_a_providers_odd_name_is_mapped_to_our_syntax_never_used_as_a_path(
    platform: Platform, idp: Provider
) -> None:
    """The review: ``../users/<victim>`` made an admin's Save on that row change the victim."""
    odd = idp.token(sub="subj-odd", preferred_username="../users/employee", groups=["ikn-teknisi"])
    assert me(platform, odd).json()["username"] == "users-employee"
    accents = idp.token(sub="subj-s", preferred_username="Sékar Ayu/HR", groups=["ikn-teknisi"])
    assert me(platform, accents).json()["username"] == "sekar-ayu-hr"
    nothing = idp.token(sub="subj-empty", preferred_username="///", groups=["ikn-teknisi"])
    assert me(platform, nothing).json()["username"].startswith("sso-")
    # An admin's change to the odd account changes it, and only it.
    changed = platform.api("PATCH", "/api/v1/users/users-employee", json={"team": "Biro Umum"})
    assert changed.status_code == 200 and changed.json()["username"] == "users-employee"
    everyone = platform.api("GET", "/api/v1/users").json()
    employee = next(u for u in everyone if u["username"] == "employee")
    assert employee["team"] == "Pusdatin"


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
    routes = list(api_routes(app.routes))
    assert len(routes) > 100, "the app's routes were not found"
    for route in routes:
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


# ---- personal data: who may see whose (server.bookings.visibility, docs/privacy.md) ------

PB = "kantor-v"
REASON = "a complaint about a no-show release"


@pytest.fixture
def booked(platform: Platform) -> tuple[Platform, dict[str, Any], str]:
    """Six desks in one zone, and the employee's booking of d1 on the next working day."""
    layout = one_floor(PB, "l1", [f"d{i}" for i in range(6)])
    assert platform.api("PUT", f"/api/v1/buildings/{PB}/layout", json=layout).is_success
    day = str(next_workday())
    slot = {"building": PB, "desk": "d1", "start": f"{day}T09:00", "end": f"{day}T12:00"}
    made = platform.api("POST", "/api/v1/bookings", "employee", json=slot).json()["created"][0]
    return platform, made, day


def test_a_persons_bookings_are_theirs_and_an_admins_with_a_reason(booked: Any) -> None:
    p, made, day = booked
    mine = p.api("GET", "/api/v1/bookings", "employee", params={"user": "employee"})
    assert [b["id"] for b in mine.json()] == [made["id"]]
    for role in ("employee", "installer", "facility_manager"):
        asked = p.api(
            "GET",
            "/api/v1/bookings",
            role,
            params={"user": "admin"} if role == "employee" else {"user": "employee"},
        )
        assert asked.status_code == 403 and "administrator" in asked.json()["detail"]
    bare = p.api("GET", "/api/v1/bookings", "admin", params={"user": "employee"})
    assert bare.status_code == 403 and "reason" in bare.json()["detail"]
    said = p.api("GET", "/api/v1/bookings", "admin", params={"user": "employee", "reason": REASON})
    assert [b["user"] for b in said.json()] == ["employee"]
    # A building's list and one booking: no names for managers (nor for an admin without
    # a reason), until the person chooses to be visible.
    where = {"building": PB, "day": day}
    for role in ("facility_manager", "admin"):
        listed = p.api("GET", "/api/v1/bookings", role, params=where).json()
        assert [(b["id"], b["user"], b["booked_by"]) for b in listed] == [(made["id"], None, None)]
    assert p.api("GET", f"/api/v1/bookings/{made['id']}", "facility_manager").json()["user"] is None
    named = p.api("GET", "/api/v1/bookings", "admin", params={**where, "reason": REASON}).json()
    assert [b["user"] for b in named] == ["employee"]
    p.api("PATCH", "/api/v1/auth/me", "employee", json={"share_location": True})
    listed = p.api("GET", "/api/v1/bookings", "facility_manager", params=where).json()
    assert [b["user"] for b in listed] == ["employee"]
    # Attendance: the person's own; an admin's only with a reason.
    span = {"start": day, "end": day}
    assert p.api("GET", "/api/v1/me/attendance", "employee", params=span).json()["bookings"] == 1
    manager = p.api("GET", "/api/v1/users/employee/attendance", "facility_manager", params=span)
    assert manager.status_code == 403
    assert p.api("GET", "/api/v1/users/employee/attendance", params=span).status_code == 403
    seen = p.api("GET", "/api/v1/users/employee/attendance", params={**span, "reason": REASON})
    assert seen.json()["bookings"] == 1 and seen.json()["entries"][0]["space"] == "d1"
    # Every one of those reads by someone else is in the audit log, with its reason.
    log = p.api("GET", "/api/v1/audit", params={"action": "personal.read"}).json()
    reads = {(e["actor"], e["target_id"], e["detail"]["what"], e["detail"]["reason"]) for e in log}
    assert ("admin", "employee", "bookings", REASON) in reads
    assert ("admin", "employee", f"attendance {day}..{day}", REASON) in reads
    assert ("admin", "*", f"bookings of {PB}  {day}", REASON) in reads
    assert not any(actor == "employee" for actor, *_ in reads)  # one's own reads are not


def test_reports_and_readings_withhold_what_would_show_a_person(booked: Any) -> None:
    p, made, day = booked
    span = {"building": PB, "start": f"{day}T00:00", "end": f"{day}T23:59"}
    rows = p.api(
        "GET", "/api/v1/reports/utilization", "facility_manager", params={**span, "by": "desk"}
    ).json()
    d1 = next(r for r in rows if r["group"] == "d1")
    assert d1["withheld"] and d1["bookings"] is None and d1["desks"] == 1
    assert not next(r for r in rows if r["group"] == "d2")["withheld"]  # nobody booked it
    (whole,) = p.api(
        "GET", "/api/v1/reports/utilization", "facility_manager", params={**span, "by": "building"}
    ).json()
    assert whole["withheld"] and whole["booked_hours"] is None  # one person in all
    csv = p.api(
        "GET",
        "/api/v1/reports/utilization",
        "facility_manager",
        params={**span, "by": "building", "format": "csv"},
    ).text
    assert csv.splitlines()[1].startswith(f"{PB},6,") and ",True,,," in csv
    occupancy = p.api(
        "GET", "/api/v1/reports/occupancy", "facility_manager", params={**span, "by": "zone"}
    ).json()
    assert (occupancy["min_group"], occupancy["withheld"]) == (5, [])  # six desks: shown
    # Raw presence: a desk's series is refused, a zone of six desks is given and audited.
    series = {**span, "stream": "presence", "field": "occupied", "every": "1h"}
    one = p.api(
        "GET", "/api/v1/readings/series", "facility_manager", params={**series, "space": "d1"}
    )
    assert one.status_code == 403 and "occupancy report" in one.json()["detail"]
    zone = p.api(
        "GET", "/api/v1/readings/series", "facility_manager", params={**series, "zone": "l1-a"}
    )
    assert zone.status_code == 200
    log = p.api("GET", "/api/v1/audit", params={"action": "personal.read"}).json()
    assert any(e["actor"] == "facility-manager" and "zone=l1-a" in e["detail"]["what"] for e in log)
    # The notice's data is public: no sign-in needed.
    assert p.server is not None
    public = httpx.get(f"{p.server.url}/api/v1/privacy", headers={"Accept-Language": "id"})
    kept = {c["key"]: c["retention_days"] for c in public.json()}
    assert kept["bookings"] == 180 and kept["account"] is None


def test_a_person_exports_their_data_and_an_admin_erases_them_on_request(booked: Any) -> None:
    p, made, _ = booked
    data = p.api("GET", "/api/v1/me/data", "employee")
    assert data.headers["content-disposition"].startswith("attachment")
    parts = {c["key"]: c["records"] for c in data.json()["categories"]}
    assert parts["account"][0]["username"] == "employee"
    assert [b["id"] for b in parts["bookings"]] == [made["id"]]
    asked = p.api("POST", "/api/v1/me/privacy-requests", "employee", json={"kind": "erase"})
    assert asked.status_code == 201
    again = p.api("POST", "/api/v1/me/privacy-requests", "employee", json={"kind": "anonymise"})
    assert again.status_code == 409  # one open request at a time
    rid = asked.json()["id"]
    assert p.api("GET", "/api/v1/privacy/requests", "facility_manager").status_code == 403
    assert [
        r["id"] for r in p.api("GET", "/api/v1/privacy/requests", params={"state": "open"}).json()
    ] == [rid]
    short = p.api(
        "POST",
        f"/api/v1/privacy/requests/{rid}/decision",
        json={"carry_out": False, "answer": "no"},
    )
    assert short.status_code == 409 and "why" in short.json()["detail"]
    done = p.api("POST", f"/api/v1/privacy/requests/{rid}/decision", json={"carry_out": True})
    assert done.json()["state"] == "done"
    gone = p.api("GET", f"/api/v1/bookings/{made['id']}", params={"reason": REASON}).json()
    assert (gone["user"], gone["state"]) == (None, "cancelled")  # anonymised, kept
    assert login(p, "employee", PASSWORD).status_code == 401
    trail = [
        e["action"] for e in p.api("GET", "/api/v1/audit", params={"action": "privacy."}).json()
    ]
    assert trail[:3] == ["privacy.erase", "privacy.request", "privacy.export"]


@pytest.fixture
def agency_platform(tmp_path: Path, unique_name: str, idp: Provider) -> Iterator[Platform]:
    """A provider whose tokens name the person's agency in an ``instansi`` claim."""
    p = Platform(
        tmp_path,
        {
            "SMARTOFFICE_OIDC_ISSUER": ISSUER,
            "SMARTOFFICE_OIDC_AUDIENCE": "smartoffice",
            "SMARTOFFICE_OIDC_JWKS_URL": idp.url,
            "SMARTOFFICE_OIDC_DEFAULT_ROLE": "employee",
            "SMARTOFFICE_OIDC_AGENCY_CLAIM": "instansi",
            "SMARTOFFICE_OIDC_AGENCY_MAP": json.dumps({"KEMENKO PMK": "kemenko-pmk"}),
            "SMARTOFFICE_OIDC_ROLE_MAP": json.dumps({"ikn-fasilitas": "facility_manager"}),
        },
        gateway_id=f"gw-{unique_name}",
    )
    p.register([])
    p.start_server()
    for code in ("kemenko-pmk", "kemenko-pangan"):
        assert p.api("POST", "/api/v1/agencies", json={"id": code, "name": code}).is_success
    yield p
    p.stop()


def test_a_providers_agency_claim_names_the_persons_agency_or_refuses_them(
    agency_platform: Platform, idp: Provider
) -> None:
    p = agency_platform
    # The provider's own name for the agency, mapped; or the code itself.
    dewi = idp.token(sub="nip-1", preferred_username="dewi", instansi="KEMENKO PMK")
    assert me(p, dewi).json()["agency"] == "kemenko-pmk"
    eko = idp.token(sub="nip-2", preferred_username="eko", instansi="kemenko-pangan")
    assert me(p, eko).json()["agency"] == "kemenko-pangan"
    # Moved at the provider: moved here at the next request, audited.
    moved = idp.token(sub="nip-1", preferred_username="dewi", instansi="kemenko-pangan")
    assert me(p, moved).json()["agency"] == "kemenko-pangan"
    log = p.api("GET", "/api/v1/audit", params={"target_id": "dewi"}).json()
    assert log[0]["action"] == "user.agency" and log[0]["detail"] == {
        "old": "kemenko-pmk",
        "new": "kemenko-pangan",
    }
    # An agency unknown here, or none named, is refused, saying which, in Indonesian.
    assert p.server is not None
    for claims, named in (({"instansi": "KEMENTERIAN X"}, "(KEMENTERIAN X)"), ({}, "(—)")):
        stranger = idp.token(sub="nip-3", preferred_username="tamu", **claims)
        refused = httpx.get(
            f"{p.server.url}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {stranger}", "Accept-Language": "id"},
        )
        assert refused.status_code == 401
        assert refused.json()["detail"] == (
            f"instansi Anda {named} tidak dikenal di sini: minta administrator menambahkannya"
        )
    accounts = [u["username"] for u in p.api("GET", "/api/v1/users").json()]
    assert "tamu" not in accounts  # refused before an account was made
    # Staff work for the platform: a manager's agency claim gives them none (yet).
    fm = idp.token(
        sub="nip-4", preferred_username="fajar", instansi="kemenko-pmk", groups=["ikn-fasilitas"]
    )
    assert me(p, fm).json()["agency"] is None
