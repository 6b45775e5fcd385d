"""The gateway writes batch readings with the contract's models; the server reads them back."""

from __future__ import annotations

import json

from contracts.batch import (
    READING,
    IngestBatch,
    PresenceReading,
    StatusReading,
    batch_json,
    status_reading,
    uplink_reading,
)
from contracts.payloads import parse_status, parse_uplink
from contracts.registry import SpaceRef

T = 1_796_000_000_000
DESK = SpaceRef(building="kantor-b", floor="l1", zone="l1-a", space="m1", space_kind="desk")


def test_batch_json_is_an_ingest_batch_whose_readings_read_back() -> None:
    up = parse_uplink(
        "presence",
        b'{"v":1,"boot":3,"bid":77,"seq":5,"ts":%d,"occupied":true,"source":"pir"}' % T,
    )
    untimed = parse_uplink(
        "env", b'{"v":1,"boot":3,"seq":6,"co2_ppm":650,"temp_c":24.5,"rh_pct":55}'
    )
    status = parse_status(b'{"v":1,"state":"online","boot":3,"fw":"1.1.0","kind":"desk"}')
    rows = [
        uplink_reading("desk-1", "presence", up, received_ms=T + 40, space=DESK),
        uplink_reading("room-1", "env", untimed, received_ms=T + 50, space=None),
        status_reading("desk-1", status, received_ms=T + 60, space=DESK),
    ]
    batch = IngestBatch.model_validate_json(batch_json("gw-b", "gw-b-1-3", rows))
    assert (batch.gateway_id, batch.batch_id, len(batch.readings)) == ("gw-b", "gw-b-1-3", 3)

    presence, env, online = (READING.validate_python(r) for r in batch.readings)
    assert isinstance(presence, PresenceReading)
    assert (presence.boot, presence.bid, presence.seq, presence.ts) == (3, 77, 5, T)
    assert (presence.ts_source, presence.received, presence.space) == ("device", T + 40, DESK)
    # Only the stream's own fields travel in data: the envelope stays out of it.
    assert json.loads(rows[0])["data"] == {"occupied": True, "source": "pir"}
    assert (env.ts, env.ts_source, env.bid) == (T + 50, "gateway", 0)  # no device clock
    assert json.loads(rows[1])["data"] == {"co2_ppm": 650.0, "temp_c": 24.5, "rh_pct": 55.0}
    assert isinstance(online, StatusReading)
    assert (online.seq, online.data.state, online.data.fw) == (None, "online", "1.1.0")
