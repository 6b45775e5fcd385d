"""No page answers 5xx, whatever its address says: every query parameter of every page,
and the ids in its path, with the values a fuzzer (or a curious person) tries first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from harness.layouts import one_floor
from harness.pages import sign_in
from harness.platform import Platform
from harness.routes import api_routes
from server.app import create_app
from server.config import ServerSettings

B = "kantor-f"
EXTREMES = [
    "",
    "0",
    "-1",
    "0001-01-01",
    "9999-12-31",
    "2100-01-01",
    "99999999999999999999",
    "x" * 3000,
    "\x00",
    "../../etc/passwd",
    "2026-13-45",
    "24:61",
]
# Who opens each family of pages (the role that may).
ROLE = {"/app/admin": "admin", "/app/manage": "facility_manager", "/app/devices": "installer"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = Platform(tmp_path_factory.mktemp("inputs"), {}, gateway_id="gw-f")
    p.register([], building=B)
    p.start_server()
    layout = one_floor(B, "l1", ["f1", "f2"], rooms=["r1"])
    assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=layout).is_success
    yield p
    p.stop()


def _pages(tmp_path: Path) -> list[APIRoute]:
    app = create_app(ServerSettings(data_dir=tmp_path))
    return [
        r
        for r in api_routes(app.routes)
        if "GET" in r.methods
        and r.path.startswith(("/app", "/checkin", "/privacy", "/kiosk", "/calendar"))
        and "/login/sso" not in r.path
    ]


def _role(path: str) -> str:
    return next((role for prefix, role in ROLE.items() if path.startswith(prefix)), "admin")


def test_no_page_answers_a_server_error_for_any_value_in_its_address(
    site: Platform, tmp_path: Path
) -> None:
    assert site.server is not None
    failed: list[str] = []
    routes = _pages(tmp_path)
    assert len(routes) > 25
    for role in sorted({_role(r.path) for r in routes}):
        with sign_in(site.server.url, role.replace("_", "-")) as web:
            for route in (r for r in routes if _role(r.path) == role):
                names = [p.alias or p.name for p in route.dependant.query_params]
                for value in EXTREMES:
                    path = re.sub(r"\{[^}]+\}", lambda _, v=value: v or "x", route.path)
                    if "\x00" in path or ".." in path:
                        path = re.sub(r"\{[^}]+\}", "x", route.path)
                    asks = [{}] + [{n: value} for n in names]
                    for params in asks:
                        try:
                            answer = web.get(path, params=params)
                        except httpx.InvalidURL:
                            continue
                        except httpx.TransportError as exc:
                            failed.append(f"{type(exc).__name__} {path:.60} {params!r:.80}")
                            continue
                        if answer.status_code >= 500:
                            failed.append(f"{answer.status_code} {path} {params!r:.80}")
    assert failed == [], "\n".join(failed)
