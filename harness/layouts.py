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
