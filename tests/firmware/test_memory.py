"""The desk node runs in the ESP32's GC heap budget and its free heap stays flat."""

from __future__ import annotations

from pathlib import Path

from tests.firmware import memory
from tests.harness.services import Service


def test_desk_node_runs_in_64_kib_with_flat_free_heap(
    mosquitto: Service, tmp_path: Path
) -> None:
    result = memory.run(tmp_path, broker_port=mosquitto.port, heap="64K", steps=200)
    samples = result["samples"]
    assert result["seq"] >= 8 and result["dropped"] == 0  # heartbeats and presence went out
    # After the first second (connections, buffers), free heap neither shrinks nor leaks.
    settled = samples[1:]
    assert min(settled) > 2048
    assert settled[-1] >= settled[0] - 512, samples
