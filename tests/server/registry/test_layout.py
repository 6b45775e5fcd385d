"""Layout import on SQLite and PostgreSQL: whole buildings, idempotent, errors that point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server.auth.service import Principal
from server.db import Database
from server.exceptions import LayoutError
from server.registry.devices import assign, register
from server.registry.layout import import_layout
from server.registry.schemas import Assignment, DeviceCreate
from server.registry.service import add_gateway
from server.spaces.loader import load_layout, parse_layout
from server.spaces.models import Desk, Floor, Room, Zone
from server.spaces.service import floor_map

INSTALLER = Principal("t", "installer", "Test installer")

EXAMPLE = Path(__file__).resolve().parents[3] / "docs/examples/kemenko-3/layout.json"


def example() -> dict[str, Any]:
    return dict(json.loads(EXAMPLE.read_text()))


def counts(db: Database) -> tuple[int, ...]:
    with db.session() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) or 0 for m in (Floor, Zone, Desk, Room)
        )


def test_the_example_building_imports_once_and_then_changes_nothing(db: Database) -> None:
    doc, plans = load_layout(EXAMPLE)
    assert set(plans) == {"l2", "l3", "l4", "l5"}
    assert all(kind == "image/svg+xml" for _, kind in plans.values())
    with db.session() as s:
        first = import_layout(s, doc, plans=plans)
    assert first.created == {"building": 1, "floors": 4, "zones": 24, "desks": 384, "rooms": 16}
    assert counts(db) == (4, 24, 384, 16)
    with db.session() as s:
        again = import_layout(s, doc, plans=plans)
    assert not again.changed
    assert again.unchanged["desks"] == 384
    with db.session() as s:
        plan = floor_map(s, "kemenko-3", "l3")
    assert plan.plan_url == "/api/v1/buildings/kemenko-3/floors/l3/plan"
    assert len(plan.desks) == 96 and len(plan.rooms) == 4
    desk = next(d for d in plan.desks if d.id == "l3-m001")
    assert (desk.zone, desk.lighting_zone, desk.neighbourhood) == (
        "l3-utara",
        "l3-utara-lampu",
        "l3-tim-pusdatin",
    )


def test_a_changed_layout_updates_adds_and_removes(db: Database) -> None:
    with db.session() as s:
        import_layout(s, parse_layout(example()))
    doc = example()
    floor = doc["floors"][0]
    floor["desks"][0]["x"] = 5.5  # moved
    floor["desks"][1]["standing"] = True  # changed
    del floor["desks"][2]  # taken out
    floor["rooms"].append(
        {
            "id": "l2-r5",
            "name": "Ruang Rapat Kutai",
            "zone": "l2-selatan",
            "capacity": 4,
            "x": 44,
            "y": 30,
            "width": 3,
            "height": 3,
        }
    )
    with db.session() as s:
        changes = import_layout(s, parse_layout(doc))
    assert changes.updated["desks"] == 2
    assert changes.removed["desks"] == 1
    assert changes.created["rooms"] == 1
    assert counts(db) == (4, 24, 383, 17)


def test_a_space_with_a_device_is_not_removed_silently(db: Database) -> None:
    with db.session() as s:
        import_layout(s, parse_layout(example()))
        add_gateway(s, gateway_id="gw-kemenko-3", building="kemenko-3")
        row, _ = register(s, actor=INSTALLER, new=DeviceCreate(kind="desk", id="desk-l2-m003"))
        assign(
            s,
            actor=INSTALLER,
            device_id=row.id,
            where=Assignment(building="kemenko-3", desk="l2-m003"),
        )
    doc = example()
    del doc["floors"][0]["desks"][2]
    with db.session() as s, pytest.raises(LayoutError, match=r"l2-m003 \(device desk-l2-m003\)"):
        import_layout(s, parse_layout(doc))
    assert counts(db) == (4, 24, 384, 16)


def test_a_desk_moved_to_another_zone_carries_its_device(db: Database) -> None:
    with db.session() as s:
        import_layout(s, parse_layout(example()))
        add_gateway(s, gateway_id="gw-k3", building="kemenko-3")
        row, _ = register(s, actor=INSTALLER, new=DeviceCreate(kind="desk", id="desk-move"))
        assign(
            s,
            actor=INSTALLER,
            device_id=row.id,
            where=Assignment(building="kemenko-3", desk="l2-m001"),
        )
    doc = example()
    doc["floors"][0]["desks"][0]["zone"] = "l2-selatan"
    with db.session() as s:
        import_layout(s, parse_layout(doc))
    from server.registry.models import Device

    with db.session() as s:
        device = s.get(Device, "desk-move")
        assert device is not None and device.zone == "l2-selatan"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["floors"][0]["desks"][4].update(zone="l9-utara"),
            "floors.0.desks.4.zone: zone 'l9-utara' is not a zone of floor 'l2'",
        ),
        (
            lambda d: d["floors"][0]["desks"][4].update(neighbourhood="l2-utara"),
            "floors.0.desks.4.neighbourhood: zone 'l2-utara' is a hvac zone, not neighbourhood",
        ),
        (
            lambda d: d["floors"][1]["desks"][0].update(id="l2-m001"),
            "floors.1.desks.0.id: 'l2-m001' is already used at floors.0.desks.0",
        ),
    ],
)
def test_references_are_checked_before_anything_changes(
    db: Database, edit: Any, message: str
) -> None:
    doc = example()
    edit(doc)
    with db.session() as s, pytest.raises(LayoutError) as err:
        import_layout(s, parse_layout(doc))
    assert message in str(err.value)
    assert counts(db) == (0, 0, 0, 0)


def test_json_errors_name_the_line_and_field(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('"capacity": 12', '"capacity": "dua belas"', 1)
    bad = tmp_path / "layout.json"
    bad.write_text(text)
    (tmp_path / "plans").symlink_to(EXAMPLE.parent / "plans")
    with pytest.raises(LayoutError) as err:
        load_layout(bad)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "dua belas" in s)
    assert f"line {line}, floors.0.rooms.1.capacity: Input should be a valid integer" in str(
        err.value
    )
    bad.write_text(text.replace('"level": 2,', '"level": 2', 1))
    with pytest.raises(LayoutError, match=r"line \d+, column \d+: not valid JSON or YAML"):
        load_layout(bad)


def test_a_missing_plan_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "layout.json").write_text(EXAMPLE.read_text())
    with pytest.raises(LayoutError, match="floors.0.plan: no file 'plans/l2.svg' beside"):
        load_layout(tmp_path / "layout.json")


HEADER = (
    "building,building_name,floor,level,floor_width,floor_height,kind,id,name,zone,"
    "neighbourhood,team,x,y,width,height,capacity,monitor,standing,accessible,quiet\n"
)
CSV = (
    HEADER
    + """\
kantor-b,Kantor B,l1,1,40,20,desk,l1-m01,,l1-barat,l1-tim-it,Pusdatin,2,2,,,,ya,tidak,,
kantor-b,Kantor B,l1,1,40,20,desk,l1-m02,,l1-barat,l1-tim-it,Pusdatin,4,2,,,,yes,no,yes,
kantor-b,Kantor B,l1,1,40,20,room,l1-r1,Ruang Rapat Mahakam,l1-timur,,,30,2,8,6,10,,,,
"""
)


def test_csv_layouts_import_and_errors_name_the_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(CSV)
    doc, _ = load_layout(path)
    with db.session() as s:
        changes = import_layout(s, doc)
    assert changes.created == {"building": 1, "floors": 1, "zones": 3, "desks": 2, "rooms": 1}
    with db.session() as s:
        plan = floor_map(s, "kantor-b", "l1")
    assert [(d.id, d.monitor, d.accessible) for d in plan.desks] == [
        ("l1-m01", True, False),
        ("l1-m02", True, True),
    ]
    path.write_text(
        CSV.replace(
            "l1-m02,,l1-barat,l1-tim-it,Pusdatin,4,", "l1-m02,,l1-barat,l1-tim-it,Pusdatin,empat,"
        )
    )
    with pytest.raises(LayoutError, match="line 3, x: expected a number, got 'empat'"):
        load_layout(path)
    path.write_text(CSV.replace(",30,2,8,6,10,", ",30,2,8,6,0,"))
    with pytest.raises(LayoutError, match=r"line 4, floors.0.rooms.0.capacity: Input should be"):
        load_layout(path)
