"""What a security review tried from outside, against a real server process on SQLite."""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from harness.layouts import one_floor
from harness.platform import Platform
from harness.services import wait_for
from server.config import ServerSettings
from server.exceptions import LayoutError
from server.spaces.plans import inert_svg

B = "kantor-h"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = Platform(tmp_path_factory.mktemp("hardening"), {}, gateway_id="gw-hardening")
    p.register([], building=B)
    p.start_server()
    assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", ["m1"])).is_success
    yield p
    p.stop()


def server_rss_kib(platform: Platform) -> int:
    assert platform.server is not None and platform.server.proc is not None
    status = Path(f"/proc/{platform.server.proc.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


def test_a_large_body_is_refused_before_it_is_read_or_authenticated(platform: Platform) -> None:
    """The review: an unauthenticated 40 MB POST grew the server by 123 MB before its 401."""
    assert platform.server is not None
    url = f"{platform.server.url}/api/v1/bookings"
    before = server_rss_kib(platform)
    big = b"x" * (40 * 1024 * 1024)
    declared = httpx.post(url, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert "too large" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * (1024 * 1024)

    try:
        streamed = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
    except httpx.TransportError:
        pass  # the server may close the connection before the client has sent it all
    assert server_rss_kib(platform) - before < 20 * 1024
    # A gateway's batch may be larger than an ordinary request, within its own limit.
    gateway = {"Authorization": f"Bearer {platform.gateway_token}"}
    batch = httpx.post(
        f"{platform.server.url}/api/v1/ingest", content=b"{" * 300_000, headers=gateway
    )
    assert batch.status_code == 422  # read and refused for its content, not its size


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/bookings"), ("PATCH", "/api/v1/auth/me"), ("POST", "/api/v1/users")],
)
def test_validation_errors_do_not_echo_the_input(
    platform: Platform, method: str, path: str
) -> None:
    """A 10 MB body came back as a 20-40 MB 422 answer (now refused at 256 KiB anyway)."""
    field = "x" * 60_000  # three of them: under the 256 KiB limit, so it is parsed
    answer = platform.api(method, path, json={"username": field, "desk": field, field: 1})
    assert answer.status_code == 422
    assert len(answer.content) < 4_000
    assert field[:100] not in answer.text
    assert all({"loc", "msg", "type"} >= set(e) for e in answer.json()["detail"])


def test_an_svg_plan_is_made_inert_and_served_so(platform: Platform) -> None:
    evil = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)" viewBox="0 0 10 10">'
        b"<script>alert(2)</script><style>@import url(https://x.example/a.css);</style>"
        b'<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>'
        b'<a xlink:href="javascript:alert(3)"><rect width="4" height="4" fill="url(#g)"/></a>'
        b'<image href="https://tracker.example/p.png" width="1" height="1"/>'
        b'<rect fill="url(https://x.example/f.svg#a)" onclick="alert(4)" width="2" height="2"/>'
        b'<use href="#g"/><text x="1" y="9">Lantai 1</text></svg>'
    )
    url = f"/api/v1/buildings/{B}/floors/l1/plan"
    put = platform.api(
        "PUT", url, "facility_manager", content=evil, headers={"Content-Type": "image/svg+xml"}
    )
    assert put.status_code == 204, put.text
    got = platform.api("GET", url, "employee")
    assert got.headers["content-type"].startswith("image/svg+xml")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "script-src" not in got.headers["content-security-policy"]
    assert "default-src 'none'" in got.headers["content-security-policy"]
    kept = got.text
    for gone in (
        "onload",
        "onclick",
        "<script",
        "alert",
        "@import",
        "foreignObject",
        "javascript:",
        "tracker.example",
        "x.example",
    ):
        assert gone not in kept, gone
    for stays in ("Lantai 1", 'fill="url(#g)"', 'href="#g"', 'viewBox="0 0 10 10"'):
        assert stays in kept, stays


def test_plans_are_checked_by_content_not_by_their_label(platform: Platform) -> None:
    url = f"/api/v1/buildings/{B}/floors/l1/plan"
    for kind, body in (
        ("image/png", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
        ("image/jpeg", b"\x89PNG\r\n\x1a\n...."),
        ("image/svg+xml", b"<html><script>alert(1)</script></html>"),
        ("image/svg+xml", b"<svg"),
        (
            "image/svg+xml",
            b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
        ),
    ):
        answer = platform.api(
            "PUT", url, "facility_manager", content=body, headers={"Content-Type": kind}
        )
        assert answer.status_code == 400, (kind, body, answer.text)
        assert answer.json()["detail"].startswith("plan: ")


def test_billion_laughs_is_refused_quickly() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg">&lol2;</svg>'
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(LayoutError, match="DTD"):
        inert_svg(bomb)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 10_000


@pytest.mark.parametrize("secret", ["changeme", "short-secret", "a" * 48, "abcabc" * 8])
def test_a_weak_explicit_jwt_secret_is_refused_in_every_environment(secret: str) -> None:
    for environment in ("development", "production"):
        with pytest.raises(ValueError, match="JWT_SECRET is") as caught:
            ServerSettings(environment=environment, jwt_secret=secret, _env_file=None)  # type: ignore[arg-type]
        assert secret not in str(caught.value)  # never echoed into a log
    ServerSettings(jwt_secret="kX9#pQ2vL8mN4rT6yW1zB3cD5fG7hJ0s", _env_file=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "path", "kw", "status"),
    [
        ("PATCH", "/api/v1/users/employee", {"json": {"role": None}}, 422),
        ("PATCH", "/api/v1/users/employee", {"json": {"active": None}}, 422),
        ("GET", "/api/v1/bookings", {"params": {"day": "9999-12-31"}}, 422),
        ("GET", "/api/v1/bookings/99999999999999999999999", {}, 422),
        ("POST", "/api/v1/bookings/18446744073709551616/check-in", {}, 422),
        ("POST", "/api/v1/closed-days", {"json": {"day": 0, "reason": "x"}}, 422),
        (
            "POST",
            "/api/v1/closed-days",
            {"json": {"day": "2026-12-31", "reason": "x", "building": "nope"}},
            404,
        ),
        (
            "GET",
            "/api/v1/reports/utilization",
            {"params": {"building": B, "start": "0001-01-01", "end": "2026-01-01"}},
            422,
        ),
        (
            "GET",
            "/api/v1/reports/utilization",
            {"params": {"building": B, "start": "2026-01-01T00:00", "end": "6984-01-01T00:00Z"}},
            422,
        ),
        (
            "GET",
            "/api/v1/reports/utilization",
            {"params": {"building": B, "start": "2026-01-01T00:00+08:00", "end": "2099-01-01"}},
            400,
        ),
        (
            "GET",
            "/api/v1/readings/latest",
            {"params": {"stream": "env", "field": "co2_ppm", "building": "a\x00b"}},
            422,
        ),
    ],
)
def test_what_the_review_sent_is_answered_4xx_naming_the_problem(
    platform: Platform, method: str, path: str, kw: dict[str, object], status: int
) -> None:
    answer = platform.api(method, path, **kw)
    assert answer.status_code == status, answer.text
    assert "InfluxDB" not in answer.text and "sqlite" not in answer.text.lower()


def test_a_mixed_naive_and_offset_period_is_read_in_the_buildings_zone(platform: Platform) -> None:
    span = {"building": B, "start": "2026-01-05T00:00", "end": "2026-01-06T00:00Z"}
    answer = platform.api("GET", "/api/v1/reports/utilization", "facility_manager", params=span)
    assert answer.status_code == 200, answer.text
    # Monday 5 January from midnight WITA to 08:00 WITA on the 6th: the desk is open 07:00 to
    # 19:00, so 12 + 1 hours (read as UTC, the naive start would leave 11 + 1).
    (whole,) = answer.json()
    assert whole["open_desk_hours"] == 13


def test_closing_a_day_twice_is_a_conflict_not_a_crash(platform: Platform) -> None:
    day = {"day": "2026-12-30", "reason": "Cuti bersama", "building": B}
    assert platform.api("POST", "/api/v1/closed-days", json=day).status_code == 201
    again = platform.api("POST", "/api/v1/closed-days", json=day)
    assert again.status_code == 409 and "already closed" in again.json()["detail"]


def test_event_streams_are_capped_per_person(platform: Platform) -> None:
    """One person cannot hold the server's streams open by the hundred."""
    assert platform.server is not None
    url = f"{platform.server.url}/api/v1/events"
    with httpx.Client(timeout=10, headers=platform.headers("employee")) as client:
        with ExitStack() as streams:
            readers = []  # kept: a line iterator that is dropped closes its stream
            for _ in range(5):
                stream = streams.enter_context(client.stream("GET", url))
                assert stream.status_code == 200
                readers.append(stream.iter_lines())
                assert next(readers[-1]) == ": connected"
            over = client.get(url)
            assert over.status_code == 429 and "too many" in over.json()["detail"]
            # Another person is not held up by it.
            assert platform.api("GET", "/api/v1/auth/me", "facility_manager").status_code == 200
        # Closed streams are given back.
        wait_for(lambda: _opens(client, url), "closed streams were not given back")


def _opens(client: httpx.Client, url: str) -> bool:
    with client.stream("GET", url) as again:
        return again.status_code == 200
