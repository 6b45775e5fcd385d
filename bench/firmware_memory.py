"""Free GC heap of a desk node (compiled .mpy) under MicroPython over a long busy run.

Run: ``python -m bench.firmware_memory [--heap 64K] [--minutes 5]``. Each tenth of a
second the simulated desk sees motion or a still person, so a five-minute run carries
about the presence changes of a busy office day at one desk, plus a heartbeat every 2 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tests.firmware import memory
from tests.harness.services import mosquitto, running


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--heap", default="64K")
    ap.add_argument("--minutes", type=float, default=5)
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ikn-fwmem-") as tmp,
        running(mosquitto(Path(tmp) / "mq")) as mq,
    ):
        r = memory.run(
            Path(tmp) / "node",
            broker_port=mq.port,
            heap=args.heap,
            steps=int(args.minutes * 600),
        )
    s = r["samples"]
    print(
        json.dumps(
            {
                "heap": args.heap,
                "minutes": args.minutes,
                "uplinks": r["seq"],
                "after_import": r["after_import"],
                "free_first": s[1],
                "free_min": min(s[1:]),
                "free_last": s[-1],
                "dropped": r["dropped"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
