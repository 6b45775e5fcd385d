"""No input makes the server answer 5xx: schemathesis over every operation of the OpenAPI,
with inputs that fit the schema and inputs that break it.

A real server process (SQLite) with a building, a floor, desks, a device and a booking to
find; an admin's token, so that every operation gets past its role check. The example
count is bounded (SCHEMATHESIS_EXAMPLES, default 12 per operation) so that the suite
stays quick; a longer run is the same test with a larger count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from harness.layouts import one_floor
from harness.platform import Platform

B = "kantor-f"
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
# Streams and long polls answer slowly by design; their inputs are tested elsewhere.
SKIP = {("GET", "/api/v1/events"), ("GET", "/api/v1/gateway/downlink")}


@pytest.fixture(scope="module")
def fuzz_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = Platform(tmp_path_factory.mktemp("fuzz"), {}, gateway_id="gw-fuzz")
    p.register([{"id": "desk-fz1", "kind": "desk"}], building=B)
    p.start_server()
    assert p.api("PUT", f"/api/v1/buildings/{B}/layout", json=one_floor(B, "l1", ["m1", "m2"]))
    day = date.today() + timedelta(days=1)
    slot = {"building": B, "desk": "m1", "start": f"{day}T09:00", "end": f"{day}T12:00"}
    p.api("POST", "/api/v1/bookings", "employee", json=slot)
    yield p
    p.stop()


def test_no_input_makes_the_server_fail(fuzz_platform: Platform) -> None:
    """Every operation, EXAMPLES generated cases each; all failures are reported at once."""
    server = fuzz_platform.server
    assert server is not None
    schema = schemathesis.openapi.from_dict(httpx.get(f"{server.url}/openapi.json").json())
    headers = fuzz_platform.headers("admin")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        operations += 1

        # Valid inputs, and inputs that break the schema on purpose (nulls, wrong types).
        @given(case=st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode)))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} "
                    f"{str(case.body)[:200]!r} -> {response.status_code} {response.text[:200]}"
                )
            elif len(response.content) > 1_000_000 and case.method.upper() != "GET":
                failures.append(f"{case.method} {case.formatted_path}: {len(response.content)} B")

        call()
    assert operations > 50
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"
