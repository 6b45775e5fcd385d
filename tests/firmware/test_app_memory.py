"""The desk node, started through main.py as on a board, fits its heap and does not leak.

Heap sizes are the unix port's (64-bit objects, larger than the ESP32's 32-bit ones); the
smallest that work are measured by bench/firmware_memory.py (docs/benchmarks.md).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from harness.firmware import memory
from harness.services import Service


def _flat(result: dict) -> None:
    beats = result["heap_free"]
    assert not result["stopped"], result["output"]
    assert len(beats) >= 4 and result["presence"] >= 3  # heartbeats and presence went out
    # From the second heartbeat on (connections and buffers made), free heap does not shrink.
    assert min(beats[1:]) > 4096, beats
    assert beats[-1] >= beats[1] - 512, beats


def test_desk_node_runs_in_80_kib_through_main(mosquitto: Service, tmp_path: Path) -> None:
    _flat(memory.run_main(tmp_path, broker_port=mosquitto.port, heap="80K", seconds=12))


def test_desk_node_runs_in_96_kib_over_tls(
    tls_broker: tuple[Service, int, trustme.CA], tmp_path: Path
) -> None:
    """The TLS handshake's peak needs about 8 KiB more than plain MQTT."""
    broker, tls, ca = tls_broker
    der = ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode())
    _flat(
        memory.run_main(
            tmp_path, broker_port=tls, listen_port=broker.port, heap="96K", seconds=12,
            ca_der=der,
        )
    )
