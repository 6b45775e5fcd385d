"""How fast the server checks a gateway's readings against the contract.

Run: ``python -m bench.validation [--readings 200000]``. A batch mixes the streams of a
desk floor (presence 60 %, heartbeat 20 %, env 10 %, energy 10 %), as the gateway sends
them; each reading is checked by ``server.ingest.service.validate``, the function the
ingest path runs on every reading. Best of five rounds.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from server.ingest.service import validate

T0 = 1_796_000_000_000


def reading(i: int) -> dict[str, Any]:
    """The i-th reading of a typical batch, as the gateway sends it."""
    kind = (
        "presence",
        "presence",
        "presence",
        "heartbeat",
        "presence",
        "env",
        "presence",
        "heartbeat",
        "energy",
        "presence",
    )[i % 10]
    data: dict[str, Any] = {
        "presence": {"occupied": i % 2 == 0, "source": "both", "distance_cm": 95},
        "heartbeat": {
            "uptime_s": 86_400 + i,
            "rssi_dbm": -67,
            "heap_free": 40_000,
            "fw": "1.1.0",
            "buffered": 0,
            "dropped": 0,
            "sensor_errors": 0,
        },
        "env": {"co2_ppm": 650, "temp_c": 24.5, "rh_pct": 55.0, "lux": 320.0},
        "energy": {
            "circuit": "lighting",
            "power_w": 420.5,
            "energy_wh": 12_345.6,
            "voltage_v": 229.8,
            "current_a": 1.9,
            "pf": 0.96,
        },
    }[kind]
    return {
        "device": f"desk-{i % 2000:04d}",
        "stream": kind,
        "boot": 3,
        "bid": 123456789,
        "seq": i,
        "ts": T0 + i,
        "ts_source": "device",
        "received": T0 + i + 40,
        "space": {
            "building": "kemenpan-a",
            "floor": "3",
            "zone": "3-a",
            "space": "d-3-001",
            "space_kind": "desk",
        },
        "data": data,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--readings", type=int, default=200_000)
    args = ap.parse_args()
    batch = [reading(i) for i in range(args.readings)]
    bad = [r for i, r in enumerate(batch) if not hasattr(validate(i, r), "reading")]
    assert not bad, f"the benchmark's own readings are refused: {validate(0, bad[0])}"
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for i, r in enumerate(batch):
            validate(i, r)
        best = min(best, time.perf_counter() - started)
    print(
        json.dumps(
            {
                "readings": args.readings,
                "seconds": round(best, 3),
                "readings_per_s": round(args.readings / best),
                "us_per_reading": round(best / args.readings * 1e6, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
