"""Free GC heap of a desk node (compiled .mpy) under MicroPython over a long busy run.

Run: ``python -m bench.firmware_memory [--heap 64K] [--minutes 5] [--tls]``. Each tenth of a
second the simulated desk sees motion or a still person, so a five-minute run carries
about the presence changes of a busy office day at one desk, plus a heartbeat every 2 s.
"""

from __future__ import annotations

import argparse
import json
import ssl
import tempfile
from pathlib import Path

from tests.firmware import memory
from tests.harness.services import broker_certs, free_port, mosquitto, running, tls_listener


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--heap", default="64K")
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--tls", action="store_true", help="MQTT over TLS, the CA pinned")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ikn-fwmem-") as tmp:
        extra, port, der = "", 0, None
        if args.tls:
            ca = broker_certs(Path(tmp) / "certs")
            port = free_port()
            extra = tls_listener(port, Path(tmp) / "certs")
            der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
        with running(mosquitto(Path(tmp) / "mq", extra_conf=extra)) as mq:
            r = memory.run(
                Path(tmp) / "node",
                broker_port=port or mq.port,
                heap=args.heap,
                steps=int(args.minutes * 600),
                ca_der=der,
            )
    s = r["samples"]
    print(
        json.dumps(
            {
                "heap": args.heap,
                "tls": args.tls,
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
