"""Small layout documents for tests that need a few real desks and rooms."""

from __future__ import annotations

from typing import Any


def one_floor(
    building: str, floor: str, desks: list[str], rooms: list[str] | None = None
) -> dict[str, Any]:
    """A building with one floor and one HVAC zone holding ``desks`` and ``rooms``."""
    zone = f"{floor}-a"
    return {
        "building": {"id": building, "name": building.replace("-", " ").title()},
        "floors": [
            {
                "id": floor,
                "name": f"Lantai {floor}",
                "level": 1,
                "width": 40,
                "height": 10,
                "zones": [{"id": zone, "name": "Zona A"}],
                "desks": [
                    {"id": d, "name": f"Meja {d}", "zone": zone, "x": i + 1, "y": 1}
                    for i, d in enumerate(desks)
                ],
                "rooms": [
                    {
                        "id": r,
                        "name": f"Ruang Rapat {r}",
                        "zone": zone,
                        "capacity": 6,
                        "x": 30,
                        "y": 1 + 3 * i,
                        "width": 4,
                        "height": 2,
                    }
                    for i, r in enumerate(rooms or [])
                ],
            }
        ],
    }


SHARED_TOWER = "menara-m"
"""A tower two agencies share (``shared_tower``)."""


def _agency_floor(code: str, name: str, agency: str | None, level: int) -> dict[str, Any]:
    zone = f"{code}-z"
    prefix = f"meja-{code.removeprefix('lt-')}-"
    return {
        "id": code,
        "name": name,
        "level": level,
        "width": 40,
        "height": 10,
        "agency": agency,
        "zones": [{"id": zone, "name": f"Zona {name}"}],
        "desks": [
            {"id": f"{prefix}{i}", "name": f"Meja {i}", "zone": zone, "x": 3 * i, "y": 2}
            for i in range(1, 7)
        ],
        "rooms": [],
    }


def shared_tower(a: str, b: str) -> dict[str, Any]:
    """Menara M: floor ``lt-a`` of agency ``a`` (desks meja-a-1..6), ``lt-b`` of ``b``
    (meja-b-1..6), and ``lt-s`` the building's own (meja-s-1..6)."""
    return {
        "building": {"id": SHARED_TOWER, "name": "Menara M"},
        "floors": [
            _agency_floor("lt-a", "Lantai 1 Sayap Utara", a, 1),
            _agency_floor("lt-b", "Lantai 2 Sayap Selatan", b, 2),
            _agency_floor("lt-s", "Lantai 3 Ruang Bersama", None, 3),
        ],
    }
