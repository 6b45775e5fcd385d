"""Free GC heap of a desk node started through main.py (compiled .mpy) under MicroPython.

Run: ``python -m bench.firmware_memory [--heap 80K] [--minutes 5] [--tls]``, or
``--smallest`` to find, in 4 KiB steps, the smallest heap the node starts and keeps
running in for ``--minutes``. The simulated desk follows a scripted day: someone sits for
4 s of every 6 (moving now and then), then leaves for 2 s; the radar reports ten times a
second; a heartbeat goes out every 2 s carrying the node's free heap after gc.collect().
"""

from __future__ import annotations

import argparse
import json
import ssl
import tempfile
from pathlib import Path
from typing import Any

from harness.firmware import memory
from harness.services import broker_certs, free_port, mosquitto, running, tls_listener


def measure(heap: str, seconds: float, tls: bool) -> dict[str, Any]:
    """One run of the node under ``heap``, against a private Mosquitto."""
    with tempfile.TemporaryDirectory(prefix="ikn-fwmem-") as tmp:
        extra, port, der = "", 0, None
        if tls:
            ca = broker_certs(Path(tmp) / "certs")
            port = free_port()
            extra = tls_listener(port, Path(tmp) / "certs")
            der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
        with running(mosquitto(Path(tmp) / "mq", extra_conf=extra)) as mq:
            r = memory.run_main(
                Path(tmp) / "node",
                broker_port=port or mq.port,
                listen_port=mq.port,
                heap=heap,
                seconds=seconds,
                ca_der=der,
            )
    beats = r["heap_free"]
    ran = not r["stopped"] and len(beats) >= 2
    out: dict[str, Any] = {"heap": heap, "tls": tls, "seconds": seconds, "ran": ran}
    if ran:
        out |= {
            "heartbeats": len(beats),
            "presence_uplinks": r["presence"],
            "free_first": beats[0],
            "free_min": min(beats[1:]),
            "free_last": beats[-1],
        }
    else:
        out["error"] = r["output"].strip().splitlines()[-1:] or "no heartbeat arrived"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--heap", default="80K")
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--tls", action="store_true", help="MQTT over TLS, the CA pinned")
    ap.add_argument("--smallest", action="store_true", help="search down from --heap")
    args = ap.parse_args()
    seconds = args.minutes * 60
    if not args.smallest:
        print(json.dumps(measure(args.heap, seconds, args.tls), indent=2))
        return
    kib = int(args.heap.rstrip("Kk"))
    best = None
    while kib > 0:
        r = measure(f"{kib}K", seconds, args.tls)
        print(json.dumps(r), flush=True)
        if not r["ran"]:
            break
        best, kib = r, kib - 4
    print(json.dumps({"smallest": best and best["heap"], "tls": args.tls}))


if __name__ == "__main__":
    main()
