"""Time zones (server/clock.py): a zone is named as IANA names it, and shown as people call it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from server.clock import zone_name
from server.config import ServerSettings
from server.spaces.schemas import BuildingDoc


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "WITA"])
def test_a_zone_that_is_not_one_is_refused_with_its_name(name: str) -> None:
    with pytest.raises(ValueError, match="is not a time zone; use an IANA name"):
        ServerSettings(timezone=name, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="is not a time zone"):
        BuildingDoc(id="b", name="B", timezone=name)


def test_the_platform_and_a_building_take_any_iana_zone() -> None:
    assert ServerSettings(_env_file=None).timezone == "Asia/Makassar"  # type: ignore[call-arg]
    assert ServerSettings(timezone="Asia/Jayapura", _env_file=None).timezone == "Asia/Jayapura"  # type: ignore[call-arg]
    assert BuildingDoc(id="b", name="B", timezone="Asia/Jakarta").timezone == "Asia/Jakarta"


def test_zones_are_shown_as_people_in_indonesia_call_them() -> None:
    said = [zone_name(ZoneInfo(z)) for z in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")]
    assert said == ["WIB", "WITA", "WIT"]
