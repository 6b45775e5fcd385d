"""Energy through the real chain: simulated PZEM meters on the firmware's own energy nodes ->
Mosquitto -> gateway -> server (InfluxDB) -> the summary API, with a meter reset on the
way; and the zones' commands back out on their retained zone topics."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from harness.observer import Observer
from harness.platform import Platform
from harness.services import Service, wait_for
from server.db import Database, init_schema
from server.registry.layout import import_layout
from server.spaces.loader import parse_layout
from smartoffice.fleet import Fleet, FleetThread, SimClock, parse_start
from tests.e2e.conftest import Influx

B = "kantor-energi"
WITA = ZoneInfo("Asia/Makassar")


def test_meters_to_the_summary_and_zone_commands_back(
    platform: Platform, mosquitto: Service, influx: Influx, unique_name: str
) -> None:
    fleet = Fleet(
        building=B,
        desks=10,
        host="127.0.0.1",
        port=mosquitto.port,
        base=unique_name,
        clock=SimClock(parse_start("10:00"), 1.0),
        home=platform.workdir / "fleet",
        energy_interval_s=5,
    )
    (platform.workdir / "server").mkdir(parents=True, exist_ok=True)
    db = Database(platform.database_url)
    init_schema(db.engine)
    with db.session() as s:
        import_layout(s, parse_layout(fleet.layout(B)))
    db.close()
    platform.register(fleet.devices, building=B)
    platform.server_env |= {
        "SMARTOFFICE_ENERGY_ACTIONS": "command",
        "SMARTOFFICE_ENERGY_SWEEP_S": "1",
    }
    platform.start_server()
    platform.start_gateway(mosquitto.port)
    bms = Observer(mosquitto.port, f"{unique_name}/v1/zone")
    try:
        check(platform, fleet, influx, bms)
    finally:
        bms.close()


def check(platform: Platform, fleet: Fleet, influx: Influx, bms: Observer) -> None:
    """Run the fleet for half a minute, then compare the summary with what flowed."""
    sim = FleetThread(fleet)
    started = datetime.now(WITA)
    sim.start()
    try:
        meters = 6  # two zones, three circuits each
        heard = 'SELECT "energy_wh", "circuit" FROM "energy" GROUP BY "device"'
        wait_for(
            lambda: len({(r["device"], r["circuit"]) for r in influx.rows(heard)}) == meters,
            "not every meter reached InfluxDB",
            timeout=60,
        )
        time.sleep(12)
        fleet.meters[(f"em-{B}-f1-north", 2)].reset()  # the HVAC meter's counter starts again
        time.sleep(16)
    finally:
        sim.stop()
    # Every reading the nodes took has reached the store when two looks a second apart agree.
    count = 'SELECT count("energy_wh") FROM "energy"'
    last = [-1]

    def settled() -> bool:
        time.sleep(1.5)
        now = influx.rows(count)[0]["count"]
        done, last[0] = now == last[0], now
        return bool(done)

    wait_for(settled, "readings kept arriving", timeout=60)
    # What really flowed, from the readings' own power and times (the simulated meters
    # integrate power the same way; their counters are whole Wh and one was reset).
    rows = influx.rows('SELECT "power_w", "circuit" FROM "energy" GROUP BY "device"')
    by_meter: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        by_meter[(r["device"], r["circuit"])].append((r["time"], r["power_w"]))
    assert len(by_meter) == meters
    true_kwh: dict[str, float] = defaultdict(float)
    for (_, circuit), pts in by_meter.items():
        pts.sort()
        pairs = zip(pts, pts[1:], strict=False)
        true_kwh[circuit] += sum((p0 + p1) / 2 * (t1 - t0) / 3.6e9 for (t0, p0), (t1, p1) in pairs)
    period = {
        "building": B,
        "start": (started - timedelta(hours=1)).isoformat(),
        "end": (datetime.now(WITA) + timedelta(minutes=5)).isoformat(),
    }
    assert (
        platform.api("GET", "/api/v1/energy/summary", "employee", params=period).status_code == 403
    )
    got = platform.api(
        "GET",
        "/api/v1/energy/summary",
        "facility_manager",
        params={**period, "by": "circuit", "every": "1h"},
    )
    assert got.status_code == 200, got.text
    summary = got.json()
    circuits = summary["totals"]["circuits"]
    assert set(circuits) == {"lighting", "hvac", "plugs"}
    for circuit, kwh in true_kwh.items():
        # Whole-Wh counters: under 1 Wh off per counted stretch of a meter (two meters per
        # circuit, one of the HVAC meters in two stretches around its reset).
        assert circuits[circuit] == pytest.approx(kwh, abs=0.004), circuit
    assert summary["totals"]["estimated_kwh"] > 0  # the reset interval, from power
    assert summary["totals"]["meters"] == meters
    csv_text = platform.api(
        "GET", "/api/v1/energy/summary", "facility_manager", params={**period, "format": "csv"}
    ).text
    assert csv_text.splitlines()[0].startswith("start,end,group,kwh,hvac_kwh,lighting_kwh")
    # The zones' decisions: the API's current ones are what the BMS reads on the broker.
    actions = platform.api(
        "GET", "/api/v1/energy/actions", "facility_manager", params={"building": B}
    ).json()
    assert actions["actions_mode"] == "command"
    current = {(a["zone"], a["channel"]): a for a in actions["current"]}
    assert set(current) == {(z, c) for z in ("f1-north", "f1-south") for c in ("hvac", "lighting")}

    def commands() -> dict[tuple[str, str], dict[str, object]]:
        out = {}
        for topic, payload in bms.messages:
            zone, _, channel = topic.split("/")[-3:]
            out[(zone, channel)] = json.loads(payload)
        return out

    wait_for(lambda: set(commands()) == set(current), "zone commands never reached the broker")

    def agree() -> bool:
        now = platform.api(
            "GET", "/api/v1/energy/actions", "facility_manager", params={"building": B}
        ).json()["current"]
        sent = commands()
        return all(
            (
                sent[(a["zone"], a["channel"])]["mode"],
                sent[(a["zone"], a["channel"])]["reason_code"],
            )
            == (a["mode"], a["reason_code"])
            for a in now
        )

    wait_for(agree, "the commands on the broker differ from the API's decisions")
    assert all(a["published"] for a in current.values())
