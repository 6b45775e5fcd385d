"""Fill the gateway's outbox with millions of readings, reopen it, and drain it.

Shows the outbox holds the 10-million-reading default (``OUTBOX_MAX_READINGS``), how big
the file gets, and how fast the uplink can read and delete it in batch-size slices.
Run: ``python -m bench.outbox [--readings N] [--sync full|normal]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from edge.outbox import Outbox

SLICE = 2_000
BATCH = 5_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--readings", type=int, default=10_000_000)
    ap.add_argument("--sync", choices=["full", "normal"], default="full")
    args = ap.parse_args()
    body = json.dumps(
        {
            "device": "desk-f3-001",
            "stream": "env",
            "boot": 12,
            "seq": 0,
            "ts": 1780000000000,
            "ts_source": "device",
            "received": 1780000000041,
            "space": {
                "building": "kemenpan-a",
                "floor": "f3",
                "zone": "f3-north",
                "space": "r-3-01",
                "space_kind": "room",
            },
            "data": {"co2_ppm": 812.0, "temp_c": 25.4, "rh_pct": 61.0, "lux": 420.0},
        },
        separators=(",", ":"),
    ).encode()
    with tempfile.TemporaryDirectory(prefix="ikn-outbox-") as tmp:
        path = Path(tmp) / "outbox.db"
        box = Outbox(path, sync=args.sync)
        t0 = time.monotonic()
        for start in range(0, args.readings, SLICE):
            n = min(SLICE, args.readings - start)
            with box.transaction() as tx:
                tx.claim([("desk-f3-001", 1, 0, start + i, 0) for i in range(n)])
                tx.enqueue([body] * n)
        fill_s = time.monotonic() - t0
        box.close()
        size_gb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e9
        t0 = time.monotonic()
        box = Outbox(path, sync=args.sync)
        reopen_s = time.monotonic() - t0
        if box.depth != args.readings:
            raise SystemExit(f"reopened outbox holds {box.depth}, not {args.readings}")
        t0 = time.monotonic()
        drained = 0
        while rows := box.peek(BATCH):
            box.remove_through(rows[-1][0])
            drained += len(rows)
        drain_s = time.monotonic() - t0
        if drained != args.readings or box.depth != 0:
            raise SystemExit(f"drained {drained} of {args.readings}; {box.depth} left")
        box.close()
    print(
        json.dumps(
            {
                "readings": args.readings,
                "sync": args.sync,
                "reading_bytes": len(body),
                "fill_per_s": round(args.readings / fill_s),
                "file_gb": round(size_gb, 2),
                "reopen_s": round(reopen_s, 2),
                "drain_per_s": round(args.readings / drain_s),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
