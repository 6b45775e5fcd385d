"""`smartoffice sim`: the firmware's own Node, many per process, speaks the contract."""

from __future__ import annotations

import asyncio
from pathlib import Path

from contracts.credentials import verify
from contracts.payloads import parse_status, parse_uplink
from harness.observer import Observer
from harness.services import Service
from server.db import Database, init_schema
from server.registry.layout import import_layout
from server.registry.service import import_doc, parse_doc
from server.spaces.loader import parse_layout
from smartoffice.fleet import Fleet, SimClock, parse_start


def test_fleet_publishes_only_valid_messages(
    mosquitto: Service, unique_name: str, tmp_path: Path
) -> None:
    obs = Observer(mosquitto.port, unique_name)
    seen = obs.messages
    # Mid-morning of a working day, twenty simulated minutes a second.
    fleet = Fleet(
        building="kemenpan-a",
        desks=20,
        host="127.0.0.1",
        port=mosquitto.port,
        base=unique_name,
        clock=SimClock(parse_start("09:30"), 1200),
        home=tmp_path,
    )

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(6, stop.set)
        await fleet.run(stop)

    try:
        asyncio.run(run())
    finally:
        obs.close()

    doc = parse_doc(fleet.registry("gw-a"))
    assert len(doc.devices) == 20 + 2 + 2  # desks, a room per ten desks, a meter per zone
    streams: dict[str, int] = {}
    for topic, payload in seen:
        kind = topic.rsplit("/", 1)[1]
        if kind == "status":
            parse_status(payload)
        else:
            parse_uplink(kind, payload)
        streams[kind] = streams.get(kind, 0) + 1
    assert streams["status"] >= 24
    assert streams["presence"] >= 20 and streams["env"] >= 2 and streams["energy"] >= 6
    occupied = [parse_uplink("presence", p).occupied for t, p in seen if t.endswith("/presence")]
    assert any(occupied)  # people are at their desks at 09:30
    assert sum(n.sensor_errors for n in fleet.nodes) == 0


def test_the_fleet_brings_a_layout_its_devices_fit(tmp_path: Path) -> None:
    fleet = Fleet(
        building="kemenpan-a",
        desks=120,
        host="127.0.0.1",
        port=1,
        home=tmp_path,
        passwords=True,
    )
    db = Database(f"sqlite:///{tmp_path / 'smartoffice.db'}")
    init_schema(db.engine)
    with db.session() as s:
        changes = import_layout(s, parse_layout(fleet.layout("kemenpan-a")))
        assert changes.created["desks"] == 120 and changes.created["floors"] == 3
        # Every device's desk or room exists, so the registry import's check passes.
        counts = import_doc(s, parse_doc(fleet.registry("gw-a")))
        assert counts["created"] == len(fleet.devices)
    db.close()
    desk = next(d for d in parse_doc(fleet.registry("gw-a")).devices if d.kind == "desk")
    assert fleet.passwords is not None
    assert desk.mqtt_hash is not None and verify(fleet.passwords[desk.id], desk.mqtt_hash)
