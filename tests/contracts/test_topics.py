from __future__ import annotations

import pytest

from contracts.exceptions import TopicError
from contracts.topics import Topics


def test_build_and_parse_round_trip() -> None:
    t = Topics()
    assert t.uplink("desk-f3-001", "env") == "ikn/v1/dev/desk-f3-001/up/env"
    p = t.parse("ikn/v1/dev/desk-f3-001/up/env")
    assert (p.kind, p.device_id, p.stream) == ("up", "desk-f3-001", "env")
    assert t.parse(t.status("abc")).kind == "status"
    assert t.parse(t.down_cmd("abc")).channel == "cmd"
    assert t.parse(t.down_state("abc")).channel == "state"
    assert t.parse(t.gateway_status("gw-1")).gateway_id == "gw-1"
    assert t.uplink_filter == "ikn/v1/dev/+/up/+"


def test_configurable_base() -> None:
    t = Topics("ikn/gedung-a")
    assert t.status("dev-1") == "ikn/gedung-a/v1/dev/dev-1/status"
    assert t.parse("ikn/gedung-a/v1/dev/dev-1/up/people").stream == "people"
    with pytest.raises(TopicError, match="not under"):
        t.parse("ikn/v1/dev/dev-1/up/people")
    with pytest.raises(TopicError, match="invalid base"):
        Topics("a/+/b")


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("ikn/v1/dev/Desk_1/up/env", "invalid id"),
        ("ikn/v1/dev/ab/up/env", "invalid id"),
        ("ikn/v1/dev/-abc/up/env", "invalid id"),
        ("ikn/v1/dev/" + "a" * 33 + "/up/env", "invalid id"),
        ("ikn/v1/dev/desk-1/up/smell", "unknown stream"),
        ("ikn/v1/dev/desk-1/up", "does not match"),
        ("ikn/v1/dev/desk-1/up/env/extra", "does not match"),
        ("ikn/v2/dev/desk-1/up/env", "not under"),
        ("other/v1/dev/desk-1/up/env", "not under"),
        ("ikn/v1/gw/gw-1/state", "does not match"),
    ],
)
def test_bad_topics_say_why(topic: str, reason: str) -> None:
    with pytest.raises(TopicError, match=reason):
        Topics().parse(topic)


def test_building_refuses_bad_ids_and_streams() -> None:
    with pytest.raises(TopicError):
        Topics().uplink("BAD", "env")
    with pytest.raises(TopicError, match="unknown stream"):
        Topics().uplink("desk-1", "nope")
